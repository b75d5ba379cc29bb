#!/bin/sh
# Install the Debian packages toolwatch needs to build and test, only when
# something is missing.  Safe to run on every build: when everything is
# present it runs a few pkg-config/command checks and exits.
set -e

PKGS="libcurl libcjson libmicrohttpd openssl libsodium libsystemd cmocka"
DEBS="build-essential pkg-config libcurl4-openssl-dev libcjson-dev \
libmicrohttpd-dev libssl-dev libsodium-dev libsystemd-dev libcmocka-dev \
clang libclang-rt-14-dev valgrind ca-certificates systemd scdoc mandoc \
chromium python3"

missing=0
command -v pkg-config >/dev/null 2>&1 || missing=1
if [ $missing -eq 0 ]; then
    pkg-config --exists $PKGS || missing=1
fi
# chromium (~100 MB with its libraries) loads the status page in
# tests/integration/test_page.c; not optional: that test fails without it.
# python3 runs the rule-engine oracle (tests/oracle/run.sh).
for tool in cc make clang valgrind systemd-analyze scdoc mandoc chromium \
    python3; do
    command -v $tool >/dev/null 2>&1 || missing=1
done

# promtool checks /metrics in tests/unit/test_render.c.  It comes from the
# Debian package prometheus, which also holds the Prometheus server (and
# would start it as a service): so the package is only downloaded
# (apt-get download, ~19 MB) and promtool alone is taken out of it into
# build/tools/promtool, where test_render looks first (then PATH: a
# promtool already installed is used as it is); nothing is installed, no
# service started.  Optional: without it that one check is
# skipped with a message.  Tried once per build tree, so a machine where it
# cannot be fetched does not pay for apt-get on every build.
want_promtool=0
if ! command -v promtool >/dev/null 2>&1 && [ ! -x build/tools/promtool ] &&
    [ ! -e build/.no-promtool ]; then
    want_promtool=1
fi

# prometheus-alertmanager (~30 MB): tests/integration/test_alertmanager.c
# starts /usr/bin/prometheus-alertmanager on 127.0.0.1 by PID and stops it.
# Debian starts and enables its service on install; it is installed here
# with a policy-rc.d that forbids starting services (unless one is already
# there) and then disabled, so no Alertmanager is left bound to :9093 and
# :9094.
want_am=0
[ -x /usr/bin/prometheus-alertmanager ] || want_am=1
[ $missing -eq 0 ] && [ $want_promtool -eq 0 ] && [ $want_am -eq 0 ] && \
    exit 0

echo "deps: installing Debian packages: $DEBS" >&2
SUDO=""
if [ "$(id -u)" != 0 ]; then
    SUDO="sudo"
fi
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update
if [ $missing -eq 1 ]; then
    # shellcheck disable=SC2086
    $SUDO apt-get install -y --no-install-recommends $DEBS
fi
if [ $want_am -eq 1 ]; then
    rcd=0
    if [ ! -e /usr/sbin/policy-rc.d ]; then
        printf '#!/bin/sh\nexit 101\n' | $SUDO tee /usr/sbin/policy-rc.d \
            >/dev/null
        $SUDO chmod 755 /usr/sbin/policy-rc.d
        rcd=1
    fi
    am_rc=0
    $SUDO apt-get install -y --no-install-recommends \
        prometheus-alertmanager || am_rc=$?
    [ $rcd -eq 1 ] && $SUDO rm -f /usr/sbin/policy-rc.d
    if command -v systemctl >/dev/null 2>&1; then
        $SUDO systemctl disable --now prometheus-alertmanager.service \
            >/dev/null 2>&1 || true
    fi
    [ $am_rc -eq 0 ] || exit $am_rc
fi
if [ $want_promtool -eq 1 ]; then
    dl=$(mktemp -d)
    if (cd "$dl" && apt-get download prometheus) &&
        mkdir -p build/tools &&
        dpkg-deb --fsys-tarfile "$dl"/prometheus_*.deb |
            tar -x -O ./usr/bin/promtool >build/tools/promtool.tmp &&
        chmod 755 build/tools/promtool.tmp &&
        build/tools/promtool.tmp --version >/dev/null 2>&1; then
        mv build/tools/promtool.tmp build/tools/promtool
        echo "deps: promtool extracted into build/tools/promtool" >&2
    else
        rm -f build/tools/promtool.tmp
        mkdir -p build && touch build/.no-promtool
        echo "deps: promtool not available; test_render will skip its" \
             "exposition-format check" >&2
    fi
    rm -rf "$dl"
fi
