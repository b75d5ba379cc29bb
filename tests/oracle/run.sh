#!/bin/sh
# The rule-engine oracle as one test of `make test` (tests/run.sh): seeded
# random cases, the engine ($TOOLWATCH_BIN, default build/asan/toolwatch)
# against the reference model (tests/oracle/model.py).  ORACLE_CASES=N
# runs N cases (default 200: about 20 s under ASan); on a
# mismatch the shrunk case is printed and kept under build/oracle/SEED.
set -e
cd "$(dirname "$0")/../.."
exec python3 tests/oracle/run.py --cases "${ORACLE_CASES:-200}"
