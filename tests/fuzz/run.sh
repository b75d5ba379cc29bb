#!/bin/sh
# Run each libFuzzer target for SECONDS seconds and report its executions
# and coverage.  Usage: run.sh SECONDS TARGET...
# Seeds come from tests/fuzz/corpus/<target>/ when present; the working
# corpus lives in build/fuzz/corpus/<target>/.  Any crash input is left in
# build/fuzz/ and makes the script fail.
secs=$1
shift
status=0
for bin in "$@"; do
    name=$(basename "$bin")
    work="build/fuzz/corpus/$name"
    seeds="tests/fuzz/corpus/$name"
    mkdir -p "$work"
    [ -d "$seeds" ] || seeds=""
    log="build/fuzz/$name.log"
    "$bin" -max_total_time="$secs" -print_final_stats=1 \
        -artifact_prefix="build/fuzz/$name-" "$work" $seeds >"$log" 2>&1
    rc=$?
    execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log")
    cov=$(grep -o 'cov: [0-9]*' "$log" | tail -n 1)
    if [ $rc -ne 0 ]; then
        status=1
        echo "$name: FAILED (exit $rc), see $log"
        grep -E 'ERROR|SUMMARY|artifact' "$log" | head -n 5
    else
        echo "$name: ${execs:-?} execs in ${secs}s, $cov"
    fi
done
exit $status
