# shellcheck shell=bash
# Shared by tests/system/unit_boot.sh and tests/system/docker_build.sh
# (sourced, not run): the Debian package built from the work tree, cached
# Debian root file systems, and the PASS/FAIL lines.
#
# Everything these scripts make is under build/system/ (ignored by git):
#   rootfs/       Debian bookworm with systemd (unit_boot.sh), kept
#   docker-base/  Debian bookworm minbase, imported as debian:bookworm-slim
#   src/          a copy of the tree the package is built from, and the .deb
# Remove build/system/ to start from nothing.

set -euo pipefail

SYS_TOP=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
SYS_OUT=$SYS_TOP/build/system
SYS_MIRROR=${DEBIAN_MIRROR:-http://deb.debian.org/debian}
SYS_PASSED=0
SYS_FAILED=0
export DEBIAN_FRONTEND=noninteractive

sys_say() { printf '%s: %s\n' "$(basename "$0" .sh)" "$*"; }

sys_pass() {
    printf 'PASS %s\n' "$*"
    SYS_PASSED=$((SYS_PASSED + 1))
}

sys_fail() {
    printf 'FAIL %s\n' "$*"
    SYS_FAILED=$((SYS_FAILED + 1))
}

# check NAME COMMAND...: one PASS or FAIL line
sys_check() {
    local name=$1
    shift
    if "$@"; then sys_pass "$name"; else sys_fail "$name"; fi
}

# the last line: the counts, and the exit status (1 when a check failed)
sys_summary() {
    echo "$(basename "$0" .sh): $SYS_PASSED passed, $SYS_FAILED failed"
    [ "$SYS_FAILED" = 0 ]
}

# wait_for SECONDS CMD...: poll CMD every 0.2 s until it succeeds, for at
# most SECONDS (1: it never did)
wait_for() {
    local deadline=$((SECONDS + $1))
    shift
    until "$@" 2>/dev/null; do
        [ $SECONDS -lt $deadline ] || return 1
        sleep 0.2
    done
}

sys_need_root() {
    if [ "$(id -u)" != 0 ]; then
        echo "$(basename "$0"): needs root (debootstrap, dpkg, namespaces)" >&2
        exit 2
    fi
}

# sys_need_tools "tool:package" ...: apt-get install what is missing
sys_need_tools() {
    local missing="" spec
    for spec in "$@"; do
        command -v "${spec%%:*}" >/dev/null 2>&1 || missing="$missing ${spec#*:}"
    done
    if [ -n "$missing" ]; then
        sys_say "installing$missing"
        apt-get update -qq
        # shellcheck disable=SC2086
        apt-get install -y -qq --no-install-recommends $missing >/dev/null
    fi
}

# sys_build_deb: the package from a copy of the tree (tracked files and
# new ones not ignored, as they are now), so the .deb and its build files
# land in build/system/src/ and not beside the work tree.  Prints the
# .deb's path.
sys_build_deb() {
    local src=$SYS_OUT/src
    rm -rf "$src"
    mkdir -p "$src/toolwatch"
    (cd "$SYS_TOP" && git ls-files -co --exclude-standard -z |
        tar --null -T - -cf -) | tar -C "$src/toolwatch" -xf -
    (cd "$src/toolwatch" && dpkg-buildpackage -us -uc -b) \
        >"$src/build.log" 2>&1 || {
        tail -n 30 "$src/build.log" >&2
        echo "dpkg-buildpackage failed: $src/build.log" >&2
        return 1
    }
    ls "$src"/toolwatch_"$(cat "$SYS_TOP/VERSION")"_*.deb
}

# sys_rootfs DIR VARIANT [INCLUDE]: debootstrap bookworm into DIR once;
# later runs reuse it (DIR/.complete marks a finished one).
sys_rootfs() {
    local dir=$1 variant=$2 include=${3:-}
    [ -e "$dir/.complete" ] && return 0
    rm -rf "$dir.tmp"
    sys_say "debootstrap bookworm into $dir (a few minutes, once)"
    debootstrap --variant="$variant" ${include:+--include="$include"} \
        bookworm "$dir.tmp" "$SYS_MIRROR" >"$dir.log" 2>&1 || {
        tail -n 20 "$dir.log" >&2
        return 1
    }
    rm -rf "$dir"
    mv "$dir.tmp" "$dir"
    touch "$dir/.complete"
}
