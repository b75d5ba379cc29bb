#!/usr/bin/env bash
# Boot Debian bookworm under systemd (systemd-nspawn -b), install the
# toolwatch package in it and run the unit the way an administrator
# would, checking what issue 17 promises of it:
#   - the package installs (its dependencies resolved by apt) and
#     leaves the service disabled;
#   - `systemctl start` returns once READY=1 is sent: is-active is active;
#   - StatusText follows the stream ("stream connected");
#   - /readyz answers 200 inside the machine;
#   - `systemctl reload`: check-config, SIGHUP, RELOADING=1 then READY=1;
#     a bad file is refused by the ExecReload guard (the reload fails,
#     the service runs on, not signalled);
#   - the sandbox lets it write its state (/var/lib/toolwatch) and its
#     file sink (/var/log/toolwatch);
#   - WatchdogSec=30: it stays up past twice that with the same PID, and
#     a main loop that stops (SIGSTOP) is killed by the watchdog and
#     restarted (with WatchdogSec=3 for that check);
#   - `systemd-analyze security` on the running unit: 2.0 or less, OK;
#   - `systemctl stop`: STOPPING=1, exit status 0, Result=success.
# One PASS or FAIL line per check, then "unit_boot: N passed, M failed";
# exit 1 when a check failed.
#
#   sudo tests/system/unit_boot.sh
#
# Needs root and the network to a Debian mirror (DEBIAN_MIRROR, default
# deb.debian.org) the first time (debootstrap, ~250 MB in
# build/system/rootfs, kept) and on each run (apt-get update in a copy,
# the package's dependencies).  About 4 minutes once the root file
# system exists.  TOOLWATCH_DEB=path/to.deb tests that package instead
# of building one.  Not part of `make test` or CI.  The copy booted, its
# console and the unit's journal stay in build/system/boot/ until the
# next run.
# shellcheck source=tests/system/lib.sh
. "$(dirname "$0")/lib.sh"
sys_need_root
sys_need_tools debootstrap:debootstrap systemd-nspawn:systemd-container \
    nsenter:util-linux dpkg-buildpackage:dpkg-dev dh:debhelper \
    fakeroot:fakeroot

boot=$SYS_OUT/boot
rootfs=$SYS_OUT/rootfs
nspawn=""
leader=""

# inside CMD...: run CMD inside the booted machine (all its namespaces)
inside() { nsenter -t "$leader" -a "$@"; }

prop() { inside systemctl show -P "$1" toolwatch; }

# journal UNIT: its journal, messages only (read whole: grep -q in a pipe
# would end journalctl early, and pipefail count that as a failure)
journal() { inside journalctl --no-pager -o cat -u "$1"; }

# logged UNIT STRING: STRING is in UNIT's journal
logged() { grep -qF -- "$2" <<<"$(journal "$1")"; }

# count UNIT STRING: how many of UNIT's journal lines hold STRING
count() { grep -cF -- "$2" <<<"$(journal "$1")" || true; }

shutdown_machine() {
    [ -n "$nspawn" ] || return 0
    if [ -n "$leader" ] && kill -0 "$nspawn" 2>/dev/null; then
        inside journalctl --no-pager -u toolwatch -u tw-sim >"$boot/journal.txt" 2>&1 || true
        inside systemctl poweroff >/dev/null 2>&1 || true
    fi
    local deadline=$((SECONDS + 60))
    while kill -0 "$nspawn" 2>/dev/null && [ $SECONDS -lt $deadline ]; do
        sleep 0.2
    done
    kill -0 "$nspawn" 2>/dev/null && kill -KILL "$nspawn"
    nspawn=""
}
trap shutdown_machine EXIT

deb=${TOOLWATCH_DEB:-$(sys_build_deb)}
sys_say "package $(basename "$deb")"
sys_rootfs "$rootfs" minbase systemd,systemd-sysv,dbus,curl

# a fresh copy of the cached root file system for each run; the package's
# dependencies are downloaded into it now, while it can reach the mirror
# (booted, it has no network but its loopback: --private-network)
rm -rf "$boot"
mkdir -p "$boot"
cp -a "$rootfs" "$boot/root"
cp "$deb" "$boot/root/root/"
chroot "$boot/root" sh -c 'apt-get update -qq &&
    apt-get install -y -qq --download-only --no-install-recommends \
        /root/toolwatch_*.deb' >"$boot/apt.log" 2>&1 || {
    tail -n 20 "$boot/apt.log" >&2
    exit 1
}

sys_say "booting the machine (systemd-nspawn -b)"
systemd-nspawn -D "$boot/root" -b --private-network --machine=toolwatch-test \
    --register=no --keep-unit --console=read-only \
    >"$boot/console.log" 2>&1 &
nspawn=$!
# the container's PID 1 is nspawn's child
find_leader() {
    leader=$(pgrep -P "$nspawn" -x systemd | head -n 1)
    [ -n "$leader" ]
}
wait_for 30 find_leader || { sys_fail "boot: no systemd in the machine"; exit 1; }
manager_up() { inside test -S /run/systemd/private; }
wait_for 60 manager_up || { sys_fail "boot: no service manager socket"; exit 1; }
state=$(inside timeout 120 systemctl is-system-running --wait || true)
sys_say "machine booted: $state ($(inside systemctl --version | head -n 1))"
# the service manager's debug log holds the notifications it receives
inside systemd-analyze log-level debug

# --- install ------------------------------------------------------------
check_install() {
    inside apt-get install -y --no-install-recommends \
        /root/"$(basename "$deb")" >"$boot/install.log" 2>&1 &&
        inside getent passwd toolwatch >/dev/null &&
        [ "$(inside systemctl is-enabled toolwatch || true)" = disabled ] &&
        [ "$(inside systemctl is-active toolwatch || true)" = inactive ]
}
sys_check "install: apt-get installs the package; user toolwatch; the unit is disabled and stopped" check_install
if grep -qi 'warning' "$boot/install.log"; then
    sys_fail "install: no warnings ($(grep -i warning "$boot/install.log" | head -n 1))"
else
    sys_pass "install: no warnings"
fi

# --- a stream to read, and a configuration reading it -------------------
inside systemd-run --quiet --unit=tw-sim /usr/bin/toolwatch simulate \
    --scenario demo --phase-s 8 --quiet-s 4 --rate 80 --port 8081
# serving: a request is answered and stays open (an event stream; curl's
# 28 is its --max-time); the simulator's own log line cannot tell,
# journald puts it under init.scope when the manager logs at debug level
sim_serving() {
    local rc=0
    inside curl -s -m 1 -o /dev/null http://127.0.0.1:8081/stream || rc=$?
    [ "$rc" = 28 ]
}
sys_check "simulator: toolwatch simulate serves the stream on 127.0.0.1:8081" \
    wait_for 15 sim_serving
good='{
  "stream": {"url": "http://127.0.0.1:8081/stream"},
  "status": {"port": 9464},
  "sinks": [{"type": "file", "path": "/var/log/toolwatch/alerts.jsonl"}]
}'
printf '%s\n' "$good" | inside tee /etc/toolwatch/config.json >/dev/null

# notified PID TAG: the service manager logged TAG from PID (debug log)
notified() {
    grep -F "Got notification message from PID $1 (" <<<"$(journal toolwatch)" |
        grep -F "$2" >/dev/null
}

# --- start: READY -------------------------------------------------------
check_start() {
    inside systemctl start toolwatch &&
        [ "$(inside systemctl is-active toolwatch)" = active ]
}
sys_check "start: systemctl start returns, is-active = active" check_start
pid=$(prop MainPID)
sys_check "start: READY=1 received from the main process ($pid)" \
    notified "$pid" "READY=1"

status_is() { [ "$(prop StatusText)" = "$1" ]; }
if wait_for 15 status_is "stream connected"; then
    sys_pass "status: StatusText = \"stream connected\""
else
    sys_fail "status: StatusText = \"$(prop StatusText)\", not \"stream connected\""
fi

readyz() {
    [ "$(inside curl -s -o /dev/null -w '%{http_code}' \
        http://127.0.0.1:9464/readyz)" = 200 ]
}
sys_check "readyz: GET http://127.0.0.1:9464/readyz = 200 inside the machine" \
    wait_for 15 readyz

# --- reload -------------------------------------------------------------
reloads() { count toolwatch 'configuration reloaded'; }
before=$(reloads)
check_reload() {
    inside systemctl reload toolwatch &&
        [ "$(prop MainPID)" = "$pid" ] &&
        [ "$(inside systemctl is-active toolwatch)" = active ] &&
        wait_for 10 notified "$pid" "RELOADING=1" &&
        wait_for 10 notified "$pid" "READY=1, STATUS=reloaded" &&
        [ "$(reloads)" -gt "$before" ]
}
sys_check "reload: check-config, SIGHUP, RELOADING=1 then READY=1 (\"reloaded\"), same PID" \
    check_reload
wait_for 10 status_is "stream connected" || true

printf '{"stream": {"url": 5}}\n' | inside tee /etc/toolwatch/config.json >/dev/null
before=$(reloads)
sighups() { count toolwatch "PID $pid (RELOADING=1"; }
hups=$(sighups)
check_bad_reload() {
    ! inside systemctl reload toolwatch 2>/dev/null &&
        [ "$(inside systemctl is-active toolwatch)" = active ] &&
        [ "$(prop MainPID)" = "$pid" ] &&
        [ "$(sighups)" = "$hups" ] &&
        logged toolwatch 'stream.url: expected'
}
sys_check "reload: a bad file fails the reload (ExecReload check-config), the service runs on unsignalled" \
    check_bad_reload
printf '%s\n' "$good" | inside tee /etc/toolwatch/config.json >/dev/null

# --- the sandbox lets it write its state and its logs --------------------
alerts_written() { inside test -s /var/log/toolwatch/alerts.jsonl; }
sys_check "sandbox: the file sink writes /var/log/toolwatch/alerts.jsonl" \
    wait_for 60 alerts_written
check_state() {
    inside test -s /var/lib/toolwatch/position &&
        inside test -s /var/lib/toolwatch/checkpoint &&
        [ "$(inside stat -c '%U %a' /var/lib/toolwatch)" = "toolwatch 700" ]
}
sys_check "sandbox: state written in /var/lib/toolwatch (position, checkpoint; toolwatch 0700)" \
    check_state

# --- security, while it runs ---------------------------------------------
score=$(inside systemd-analyze security toolwatch | tail -n 1)
sys_say "${score#→ }"
exposure_ok() { echo "$score" | awk '/exposure level/ { ok = ($(NF-2) + 0 <= 2.0 && $(NF-1) == "OK") } END { exit !ok }'; }
sys_check "security: systemd-analyze security on the running unit <= 2.0 OK" exposure_ok

# --- watchdog --------------------------------------------------------------
wd=$(prop WatchdogUSec)
wd_s=${wd%s}
ping0=$(prop WatchdogTimestampMonotonic)
sys_say "watchdog $wd: waiting $((2 * wd_s + 1)) s"
sleep $((2 * wd_s + 1))
check_watchdog() {
    [ "$(inside systemctl is-active toolwatch)" = active ] &&
        [ "$(prop MainPID)" = "$pid" ] &&
        [ "$(prop NRestarts)" = 0 ] &&
        [ "$(prop WatchdogTimestampMonotonic)" -gt "$ping0" ]
}
sys_check "watchdog: up past 2 x WatchdogSec=$wd, same PID, no restart, pings received" \
    check_watchdog

inside mkdir -p /run/systemd/system/toolwatch.service.d
printf '[Service]\nWatchdogSec=3\n' |
    inside tee /run/systemd/system/toolwatch.service.d/watchdog.conf >/dev/null
inside systemctl daemon-reload
inside systemctl restart toolwatch
stopped_pid=$(prop MainPID)
restarts=$(prop NRestarts)
inside sh -c "kill -STOP $stopped_pid"
restarted() {
    [ "$(prop NRestarts)" = $((restarts + 1)) ] &&
        [ "$(prop MainPID)" != "$stopped_pid" ] &&
        [ "$(inside systemctl is-active toolwatch)" = active ]
}
check_watchdog_kill() {
    wait_for 20 restarted &&
        logged toolwatch 'Watchdog timeout'
}
sys_check "watchdog: a stopped main loop is killed (watchdog timeout) and restarted (WatchdogSec=3)" \
    check_watchdog_kill
inside rm /run/systemd/system/toolwatch.service.d/watchdog.conf
inside systemctl daemon-reload
inside systemctl restart toolwatch
pid=$(prop MainPID)

# --- stop -----------------------------------------------------------------
check_stop() {
    inside systemctl stop toolwatch &&
        [ "$(inside systemctl is-active toolwatch || true)" = inactive ] &&
        [ "$(prop Result)" = success ] &&
        [ "$(prop ExecMainStatus)" = 0 ] &&
        notified "$pid" "STOPPING=1"
}
sys_check "stop: STOPPING=1, exit status 0, Result=success" check_stop

shutdown_machine
sys_summary
