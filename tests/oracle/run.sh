#!/bin/sh
# The rule-engine oracle as one test of `make test` (tests/run.sh): the
# shrunk cases of the engine faults it found (tests/oracle/cases/), then
# seeded random cases, the engine ($TOOLWATCH_BIN, default
# build/asan/toolwatch) against the reference model
# (tests/oracle/model.py).  ORACLE_CASES=N runs N random cases (default
# 150: about 15 s under ASan on an idle machine, 30 s on a loaded one); on
# a mismatch the shrunk case is printed and kept under build/oracle/SEED.
set -e
cd "$(dirname "$0")/../.."
for d in tests/oracle/cases/*/; do
    set -- "$@" --case "$d"
done
python3 tests/oracle/run.py "$@"
exec python3 tests/oracle/run.py --cases "${ORACLE_CASES:-150}"
