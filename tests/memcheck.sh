#!/bin/sh
# Run test binaries under valgrind memcheck.  Usage:
#   memcheck.sh TOOLWATCH TEST...
# TOOLWATCH is the non-sanitized binary (build/memcheck/toolwatch); the
# integration tests spawn it through a wrapper script, given to them as
# TOOLWATCH_BIN, that runs it under valgrind too, each child logging to its
# own file.  Each TEST runs through tests/run.sh with valgrind as
# TEST_WRAPPER, so its summary is the usual "N passed, M failed".
#
# An error is any memcheck error (invalid access, uninitialised value,
# bad free, ...) or a definitely/indirectly lost block; still-reachable and
# possibly-lost blocks of libcurl/OpenSSL/libmicrohttpd one-time
# initialisation are not errors.  tests/valgrind.supp holds suppressions,
# for third-party code only.
#
# The last line is "memcheck: P processes, E with errors"; the exit status
# is non-zero on any test failure or any error.
set -u
tw=$1
shift
root=$(pwd)
dir=build/memcheck
logs=$dir/logs
rm -rf "$logs"
mkdir -p "$logs"

vg="valgrind -q --error-exitcode=99 --leak-check=full \
--errors-for-leak-kinds=definite,indirect --track-fds=no --num-callers=30 \
--suppressions=$root/tests/valgrind.supp"

# The child wrapper: exec keeps the pid, so the tests' signals reach it.
wrapper=$dir/toolwatch-vg
cat >"$wrapper" <<EOF
#!/bin/sh
exec $vg --log-file=$root/$logs/child-%p.log $root/$tw "\$@"
EOF
chmod +x "$wrapper"

TEST_WRAPPER="$vg" TOOLWATCH_BIN="$root/$wrapper" TEST_LOG_DIR="$logs" \
    sh tests/run.sh "$@"
status=$?

# A test process with errors exits 99 (run.sh reports it); a child's
# errors are in its log file, which -q leaves empty when clean.
children=0
bad=0
for f in "$logs"/child-*.log; do
    [ -e "$f" ] || continue
    children=$((children + 1))
    if [ -s "$f" ]; then
        bad=$((bad + 1))
        echo "---- toolwatch child with valgrind errors: $f"
        head -n 40 "$f"
    fi
done
tests=$#
badtests=$(grep -l 'exited with status 99' "$logs"/*.log 2>/dev/null | wc -l)
echo "memcheck: $((tests + children)) processes ($tests tests, $children" \
     "toolwatch children), $((badtests + bad)) with errors"
[ $status -eq 0 ] && [ $bad -eq 0 ]
