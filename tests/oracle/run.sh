#!/bin/sh
# The rule-engine oracle as one test of `make test` (tests/run.sh): seeded
# random cases, the engine ($TOOLWATCH_BIN, default build/asan/toolwatch)
# against the reference model (tests/oracle/model.py).  ORACLE_CASES=N
# runs N cases (default 150: about 15 s under ASan on an idle machine,
# 30 s on a loaded one); on a mismatch the shrunk case is printed and kept
# under build/oracle/SEED.
set -e
cd "$(dirname "$0")/../.."
exec python3 tests/oracle/run.py --cases "${ORACLE_CASES:-150}"
