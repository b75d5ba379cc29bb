#!/bin/sh
# bench/run.sh - what `make bench` runs once everything is built (-O2, no
# sanitizers): the end-to-end driver (table on stdout, JSON in
# bench/results/latest.json), then the micro-benchmarks given as arguments.
#
# Environment:
#   BENCH_RUNS=N      runs of each end-to-end measurement (default 5)
#   BENCH_ROUNDS=N    rounds of run + baseline + replay (default 21)
#   BENCH_ROUNDS30=N  rounds of run with the 30-rule set + baseline
#                     (default 9)
#   BENCH_RULES30=F   the 30-rule set: a config with a "rules" list
#                     (default bench/rules30.json)
#   BENCH_SCALE30=F   its count/sum thresholds and baseline min_value are
#                     multiplied by F for the corpus's rate (default 20:
#                     1000 events/s against the 50 the set is written for)
#   BENCH_EVENTS=N    events in the throughput corpora (default 1000000)
#   BENCH_ONLY=LIST   subset: pipeline,replay,rules30,memory,memory30,
#                     latency,startup
#   BENCH_DATA=DIR    corpora and state (default build/bench-data; about
#                     1 GB, rewritten on every run)
set -e

runs=${BENCH_RUNS:-5}
rounds=${BENCH_ROUNDS:-21}
rounds30=${BENCH_ROUNDS30:-9}
rules30=${BENCH_RULES30:-bench/rules30.json}
scale30=${BENCH_SCALE30:-20}
events=${BENCH_EVENTS:-1000000}
data=${BENCH_DATA:-build/bench-data}
mkdir -p "$data" bench/results

only=""
[ -n "$BENCH_ONLY" ] && only="--only $BENCH_ONLY"

# shellcheck disable=SC2086
build/rel/bench/driver --toolwatch build/toolwatch \
    --baseline build/rel/bench/baseline_cjson \
    --corpus build/rel/bench/corpus --data "$data" \
    --rules "$rules30" --scale30 "$scale30" \
    --runs "$runs" --rounds "$rounds" --rounds30 "$rounds30" \
    --events "$events" \
    --json bench/results/latest.json $only

if [ -z "$BENCH_ONLY" ]; then
    echo
    echo "micro-benchmarks (best of several runs each):"
    for b in "$@"; do
        "$b" | sed 's/^/  /'
    done
fi
echo
echo "results: bench/results/latest.json"
