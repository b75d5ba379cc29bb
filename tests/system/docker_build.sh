#!/usr/bin/env bash
# Build the Dockerfile for real and run the image:
#   - docker build (the build stage makes the Debian package, the final
#     stage installs it on debian:bookworm-slim);
#   - toolwatch --version, as the user toolwatch;
#   - check-config on the configuration the package installs;
#   - toolwatch demo: the whole pipeline, every rule fired and resolved,
#     every signature verified;
#   - the default command (toolwatch run) against `toolwatch simulate` in
#     a second container: /readyz 200, state written in the volume,
#     `docker stop` ends it with exit status 0.
# One PASS or FAIL line per check, then "docker_build: N passed, M failed";
# exit 1 when a check failed.
#
#   sudo tests/system/docker_build.sh        # TESTS=1 in the environment
#                                            # passes --build-arg TESTS=1
#
# Needs root and the network to a Debian mirror.  Uses the Docker daemon
# that answers, else starts dockerd (overlay2, else vfs) and stops it at
# the end.  Without a debian:bookworm-slim image (Docker Hub unreachable)
# it makes one: debootstrap --variant=minbase bookworm, docker import.
# 3 minutes with the build tools' layer cached, about 10 from nothing
# (the package's optimised build, the 2-minute demo).  Not part of `make
# test` or CI.
# shellcheck source=tests/system/lib.sh
. "$(dirname "$0")/lib.sh"
sys_need_root
sys_need_tools dockerd:docker.io debootstrap:debootstrap nsenter:util-linux

image=toolwatch:system-test
log=$SYS_OUT/docker
mkdir -p "$log"
dockerd_pid=""
containers=""

cleanup() {
    local c
    for c in $containers; do
        docker rm -f "$c" >/dev/null 2>&1 || true
    done
    docker volume rm -f tw-system-state >/dev/null 2>&1 || true
    if [ -n "$dockerd_pid" ]; then
        kill "$dockerd_pid" 2>/dev/null || true
        wait "$dockerd_pid" 2>/dev/null || true
    fi
}
trap cleanup EXIT

docker_up() { docker info >/dev/null 2>&1; }

start_dockerd() {
    dockerd "$@" >"$log/dockerd.log" 2>&1 &
    dockerd_pid=$!
    if wait_for 30 docker_up; then return 0; fi
    kill "$dockerd_pid" 2>/dev/null || true
    wait "$dockerd_pid" 2>/dev/null || true
    dockerd_pid=""
    return 1
}

if ! docker_up; then
    sys_say "starting dockerd"
    start_dockerd || start_dockerd --storage-driver=vfs || {
        tail -n 20 "$log/dockerd.log" >&2
        sys_fail "dockerd: does not start (see $log/dockerd.log)"
        exit 1
    }
fi
sys_say "docker $(docker version -f '{{.Server.Version}}') ($(docker info -f '{{.Driver}}'))"

if ! docker image inspect debian:bookworm-slim >/dev/null 2>&1 &&
    ! timeout 60 docker pull -q debian:bookworm-slim >/dev/null 2>&1; then
    sys_say "no debian:bookworm-slim: making it with debootstrap"
    sys_rootfs "$SYS_OUT/docker-base" minbase
    tar -C "$SYS_OUT/docker-base" --exclude=./.complete -c . |
        docker import -c 'CMD ["bash"]' - debian:bookworm-slim >/dev/null
fi

# --- build ------------------------------------------------------------------
start=$SECONDS
if docker build --build-arg TESTS="${TESTS:-0}" -t "$image" "$SYS_TOP" \
    >"$log/build.log" 2>&1; then
    sys_pass "build: docker build (TESTS=${TESTS:-0}) in $((SECONDS - start)) s, image $(docker image inspect -f '{{.Size}}' "$image" | awk '{ printf "%.0f MB", $1 / 1e6 }')"
else
    tail -n 30 "$log/build.log"
    sys_fail "build: docker build (see $log/build.log)"
    sys_summary
    exit 1
fi

# --- the image's commands ---------------------------------------------------
version=$(docker run --rm "$image" --version 2>&1 || true)
want="toolwatch $(cat "$SYS_TOP/VERSION")"
if [ "${version%% (*}" = "$want" ] || [ "$version" = "$want" ]; then
    sys_pass "run: toolwatch --version = $version"
else
    sys_fail "run: toolwatch --version = \"$version\", not \"$want\""
fi
check_user() {
    [ "$(docker run --rm --entrypoint id "$image" -un)" = toolwatch ]
}
sys_check "run: the image runs as the user toolwatch" check_user
sys_check "run: check-config -c /etc/toolwatch/config.json (the package's) passes" \
    docker run --rm "$image" check-config -c /etc/toolwatch/config.json
check_demo() {
    docker run --rm "$image" demo --duration 120 >"$log/demo.log" 2>&1 &&
        grep -q 'signatures verified, 0 rejected' "$log/demo.log"
}
sys_check "run: toolwatch demo exits 0 (every rule fired and resolved, signatures verified)" \
    check_demo
grep 'signatures verified' "$log/demo.log" || true

# --- the default command against a simulated stream ---------------------------
# toolwatch run (the image's CMD) in the simulator's network namespace: the
# stream and the status server are on its 127.0.0.1
cfg=$log/etc
mkdir -p "$cfg"
cat >"$cfg/config.json" <<'JSON'
{
  "stream": {"url": "http://127.0.0.1:8081/stream"},
  "sinks": [{"type": "stdout"}]
}
JSON
chmod 0644 "$cfg/config.json"
docker rm -f tw-system-sim tw-system-run >/dev/null 2>&1 || true
containers="tw-system-sim tw-system-run"
docker run -d --name tw-system-sim "$image" simulate --scenario demo \
    --phase-s 8 --quiet-s 4 --rate 80 --port 8081 >/dev/null
docker run -d --name tw-system-run --network container:tw-system-sim \
    -v "$cfg:/etc/toolwatch:ro" -v tw-system-state:/var/lib/toolwatch \
    "$image" >/dev/null
run_pid=$(docker inspect -f '{{.State.Pid}}' tw-system-run)
readyz() {
    [ "$(nsenter -t "$run_pid" -n curl -s -o /dev/null -w '%{http_code}' \
        http://127.0.0.1:9464/readyz)" = 200 ]
}
sys_check "run: the default command (toolwatch run) answers /readyz 200" \
    wait_for 30 readyz
check_state() {
    docker exec tw-system-run test -s /var/lib/toolwatch/position
}
sys_check "run: state written in the volume /var/lib/toolwatch" \
    wait_for 15 check_state
check_stop() {
    docker stop -t 20 tw-system-run >/dev/null &&
        [ "$(docker inspect -f '{{.State.ExitCode}}' tw-system-run)" = 0 ]
}
sys_check "run: docker stop (SIGTERM) ends it with exit status 0" check_stop
docker logs tw-system-run >"$log/run.log" 2>&1 || true

sys_summary
