#!/bin/sh
# Run test binaries and add up their results.
#
# Each argument is a cmocka binary, or a shell script (*.sh) that counts as
# one test: passed when it exits 0.  Its "[  PASSED  ] N test(s)." and
# "[  FAILED  ] M test(s)" lines are summed; a binary that exits non-zero
# without reporting a failure (a crash, a sanitizer abort) counts as one
# failure.  The last line printed is "N passed, M failed"; the exit status is
# non-zero when M > 0.
#
# TEST_WRAPPER, when set, is a command put before each binary (word-split),
# e.g. "valgrind -q --error-exitcode=1" (tests/memcheck.sh).
passed=0
failed=0
logdir=${TEST_LOG_DIR:-build/test-logs}
mkdir -p "$logdir"
for bin in "$@"; do
    name=$(basename "$bin")
    log="$logdir/$name.log"
    # stdout and stderr apart: cmocka writes its summary to stderr, and a
    # buffered stdout merged into the same file could split its lines
    # shellcheck disable=SC2086
    case "$bin" in
    *.sh)
        sh "$bin" >"$log" 2>&1
        rc=$?
        if [ $rc -eq 0 ]; then p=1; f=0; else p=0; f=1; fi
        ;;
    *)
        ${TEST_WRAPPER:-} "$bin" >"$log.out" 2>"$log.err"
        rc=$?
        cat "$log.out" "$log.err" >"$log"
        rm -f "$log.out" "$log.err"
        p=$(sed -n 's/^\[  PASSED  \] \([0-9]*\) test.*/\1/p' "$log" | tail -n 1)
        f=$(sed -n 's/^\[  FAILED  \] \([0-9]*\) test.*/\1/p' "$log" | tail -n 1)
        ;;
    esac
    p=${p:-0}
    f=${f:-0}
    if [ $rc -ne 0 ] && [ "$f" -eq 0 ]; then
        f=1
        echo "$name: exited with status $rc without reporting a failure" >>"$log"
    fi
    if [ "$f" -ne 0 ]; then
        echo "---- $name: $p passed, $f failed (log: $log)"
        grep -E '^\[  (FAILED|ERROR)|^\[  ERROR|Assert|ERROR: |runtime error|test_.*Failure|failed|SUMMARY|may not include|== (Invalid|Conditional|Use of|Syscall|Mismatched|Source and|[0-9,]+ bytes in)' "$log" | head -n 40
    else
        echo "$name: $p passed"
    fi
    passed=$((passed + p))
    failed=$((failed + f))
done
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
