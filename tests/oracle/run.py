#!/usr/bin/env python3
"""Differential oracle: toolwatch's rule engine against tests/oracle/model.py.

    python3 tests/oracle/run.py [--cases N] [--first S] [--all] [--keep DIR]
                                [--seed S]

For seeds S..S+N-1 (N: --cases, else $ORACLE_CASES, else 150), generates a
case (gen.py), computes what the model says and what
`$TOOLWATCH_BIN replay --drain --format jsonl -c cfg.json stream.jsonl`
(default build/asan/toolwatch) prints, and compares the notifications:
(type, rule, key, started_at, resolved_at, timestamp) in timestamp order
(notifications with one timestamp compared as a set), and the value and
threshold of every notification where the documents say they are exact
(docs/rules.md "Values of repeats and resolves").

On a mismatch it shrinks the case (drops rules, then records, while a
mismatch remains), prints the shrunk config, stream and both outputs,
writes them under --keep DIR (default build/oracle/SEED) and exits 1.
--all generates the engine bug classes gen.EXCLUDE skips as well.
"""
import argparse
import collections
import json
import os
import subprocess
import sys
import tempfile
import time

sys.dont_write_bytecode = True   # no __pycache__ in the source tree
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import gen    # noqa: E402
import model  # noqa: E402

# kinds whose first firing's value the documents give exactly:
# count (exact up to floor(threshold) + 1, which is where it fires),
# distinct, max (the event's value), sequence (first to last step),
# baseline (the bucket's value, and the band as threshold), sum and ratio
# (bucketed windows, modelled bucket for bucket).
# Repeats and resolves too (docs/rules.md "Values of repeats and
# resolves"), absence (the episode's longest gap) and the capacity
# warning (max_keys); the model gives None where a value is not compared.
VALUE_KINDS = ("count", "sum", "ratio", "distinct", "max", "sequence",
               "baseline", "absence", "capacity")
# kinds whose threshold is the group's own in every notification (SPEC
# section 3: "value, threshold, window_s are the kind's own"; sequence:
# within_s), repeats and resolves too.
THRESHOLD_KINDS = ("count", "sum", "ratio", "distinct", "max", "sequence",
                   "absence", "capacity")


def run_engine(binary, cfg, recs, workdir):
    gen.write_case(cfg, recs, workdir)
    p = subprocess.run([binary, "replay", "--drain", "--format", "jsonl",
                        "-c", "cfg.json", "stream.jsonl"],
                       cwd=workdir, capture_output=True, text=True,
                       timeout=120)
    if p.returncode != 0:
        return None, p.stderr
    out = []
    for line in p.stdout.splitlines():
        if line.strip():
            out.append(json.loads(line))
    return out, p.stderr


def norm_engine(doc):
    d = doc["data"]
    return {"type": doc["type"], "rule": d["rule"], "kind": d["kind"],
            "key": d["key"], "started_at": d["started_at"],
            "resolved_at": d["resolved_at"], "timestamp": doc["timestamp"],
            "value": d.get("value"), "threshold": d.get("threshold")}


def ident(n):
    return (n["timestamp"], n["type"], n["rule"], n["key"], n["started_at"],
            n["resolved_at"] or "")


def close(a, b):
    if a is None or b is None:
        return a is None and b is None
    return abs(float(a) - float(b)) <= 1e-6 * max(1.0, abs(float(a)))


def compare(expected, actual):
    """A list of differences (strings); empty when they agree.  The
    notifications are compared as multisets of ident() (one timestamp's
    in any order; hold_s 0 can make two alike), and values in order."""
    diffs = []
    ec = collections.Counter(ident(n) for n in expected)
    ac = collections.Counter(ident(n) for n in actual)
    missing = ec - ac
    extra = ac - ec
    # A repeat that fell due while the episode was clearing goes out when
    # it fires again, at the engine's next pass over the group's timers:
    # the same millisecond or the next (model.py's lifecycle).  A repeat
    # (a firing whose timestamp is after started_at) 1 ms apart is the
    # same notification.
    for k in sorted(missing):
        if k[1] != "alert.firing" or k[0] == k[4]:
            continue
        for d in (-1, 1):
            other = (model.fmt_ts(model.parse_ts(k[0]) + d),) + k[1:]
            while missing[k] and extra[other]:
                missing[k] -= 1
                extra[other] -= 1
    for k in sorted(+missing):
        diffs.append("missing: %s%s" % (k, " x%d" % missing[k]
                                         if missing[k] > 1 else ""))
    for k in sorted(+extra):
        diffs.append("extra:   %s%s" % (k, " x%d" % extra[k]
                                         if extra[k] > 1 else ""))
    em = collections.defaultdict(list)
    for n in expected:
        em[ident(n)].append(n)
    for x in actual:
        k = ident(x)
        if not em.get(k):
            continue
        m = em[k].pop(0)
        if m["kind"] in THRESHOLD_KINDS and m["threshold"] is not None and \
                not close(m["threshold"], x["threshold"]):
            diffs.append("threshold %r, model %r: %s"
                         % (x["threshold"], m["threshold"], k))
            continue
        if m["value"] is None or m["kind"] not in VALUE_KINDS:
            continue
        if not close(m["value"], x["value"]):
            diffs.append("value %r, model %r: %s" % (x["value"], m["value"], k))
        if m["threshold"] is not None and not close(m["threshold"],
                                                    x["threshold"]):
            diffs.append("threshold %r, model %r: %s"
                         % (x["threshold"], m["threshold"], k))
    return diffs


def check(binary, cfg, recs, workdir, opts=None):
    try:
        expected = model.run(cfg, recs, opts)
    except model.Overflow:
        # a rule at max_keys with every group alerting (or an eviction an
        # excluded class decides): not modelled, so not a failure (only a
        # shrink step gets here; gen.py does not make such cases)
        return [], [], []
    actual, err = run_engine(binary, cfg, recs, workdir)
    if actual is None:
        return ["engine failed: " + err.strip()[-2000:]], expected, []
    actual = [norm_engine(d) for d in actual]
    return compare(expected, actual), expected, actual


def shrink(binary, cfg, recs, workdir, opts):
    """Greedy: drop rules, then chunks of records, while it still fails."""
    def fails(c, r):
        return bool(check(binary, c, r, workdir, opts)[0])
    changed = True
    while changed:
        changed = False
        for i in range(len(cfg["rules"])):
            if len(cfg["rules"]) <= 1:
                break
            c2 = {"rules": cfg["rules"][:i] + cfg["rules"][i + 1:]}
            if i < len(cfg["rules"]) and fails(c2, recs):
                cfg, changed = c2, True
                break
    chunk = max(1, len(recs) // 2)
    while chunk >= 1:
        i = 0
        progress = False
        while i < len(recs):
            r2 = recs[:i] + recs[i + chunk:]
            if r2 and fails(cfg, r2):
                recs = r2
                progress = True
            else:
                i += chunk
        if not progress:
            chunk //= 2
    # rules may have become droppable once records went
    for i in range(len(cfg["rules"]) - 1, -1, -1):
        if len(cfg["rules"]) > 1:
            c2 = {"rules": cfg["rules"][:i] + cfg["rules"][i + 1:]}
            if fails(c2, recs):
                cfg = c2
    return cfg, recs


def dump(path, rows):
    with open(path, "w") as fh:
        for n in rows:
            fh.write(json.dumps(n) + "\n")


def check_case(binary, d, keep=None):
    with open(os.path.join(d, "cfg.json")) as fh:
        cfg = json.load(fh)
    with open(os.path.join(d, "stream.jsonl")) as fh:
        recs = [json.loads(line) for line in fh if line.strip()]
    # the excluded classes but the case's own (pending/<class>/) are
    # hidden, as in the random cases
    name = os.path.basename(os.path.normpath(d))
    opts = gen.model_opts(gen.EXCLUDE - {name})
    with tempfile.TemporaryDirectory(prefix="oracle.") as tmp:
        diffs, expected, actual = check(binary, cfg, recs, tmp, opts)
    if keep:
        os.makedirs(keep, exist_ok=True)
        dump(os.path.join(keep, "expected.ndjson"), expected)
        dump(os.path.join(keep, "actual.ndjson"), actual)
    for x in diffs:
        print(x)
    print("%s: %s" % (d, "%d differences" % len(diffs) if diffs
                      else "the engine agrees with the model"))
    return 1 if diffs else 0


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--cases", type=int,
                    default=int(os.environ.get("ORACLE_CASES", "150")))
    ap.add_argument("--first", type=int, default=1)
    ap.add_argument("--seed", type=int, help="run this seed only")
    ap.add_argument("--all", action="store_true",
                    help="also the engine bug classes gen.EXCLUDE skips")
    ap.add_argument("--keep", help="directory for the shrunk case")
    ap.add_argument("--case", metavar="DIR", action="append",
                    help="check the case in DIR (cfg.json, stream.jsonl; "
                    "may be given again); with --keep K, write "
                    "K/expected.ndjson and K/actual.ndjson; exit 1 when "
                    "they differ (tests/oracle/cases/ hold the fixed "
                    "classes' cases)")
    ap.add_argument("--no-shrink", action="store_true")
    ap.add_argument("--keep-going", action="store_true",
                    help="report every failing seed, do not stop at the first")
    args = ap.parse_args()
    binary = os.path.abspath(os.environ.get("TOOLWATCH_BIN",
                                            "build/asan/toolwatch"))
    if not os.access(binary, os.X_OK):
        print("oracle: no binary %s (set TOOLWATCH_BIN)" % binary)
        return 2
    if args.case:
        return max(check_case(binary, d, args.keep) for d in args.case)
    exclude = set() if args.all or os.environ.get("ORACLE_ALL") else \
        gen.EXCLUDE
    opts = gen.model_opts(exclude)
    seeds = [args.seed] if args.seed is not None else \
        range(args.first, args.first + args.cases)
    t0 = time.time()
    failed = []
    nalerts = ncap = novf = 0
    with tempfile.TemporaryDirectory(prefix="oracle.") as tmp:
        for seed in seeds:
            cfg, recs = gen.gen(seed, exclude)
            diffs, expected, _ = check(binary, cfg, recs, tmp, opts)
            nalerts += len(expected)
            ncap += sum(1 for n in expected if n["kind"] == "capacity")
            novf += sum(1 for n in expected if n["key"] == "(overflow)")
            if not diffs:
                continue
            failed.append(seed)
            print("seed %d: %d differences, e.g. %s" % (seed, len(diffs),
                                                       diffs[0]))
            if args.no_shrink:
                if args.keep_going:
                    continue
                break
            cfg, recs = shrink(binary, cfg, recs, tmp, opts)
            diffs, expected, actual = check(binary, cfg, recs, tmp, opts)
            keep = args.keep or os.path.join("build", "oracle", str(seed))
            gen.write_case(cfg, recs, keep)
            dump(os.path.join(keep, "expected.ndjson"), expected)
            dump(os.path.join(keep, "actual.ndjson"), actual)
            print("shrunk to %d rule(s), %d record(s); kept in %s"
                  % (len(cfg["rules"]), len(recs), keep))
            print("--- cfg.json")
            print(json.dumps(cfg, indent=1))
            print("--- stream.jsonl")
            for rec in recs:
                print(json.dumps(rec, separators=(",", ":")))
            print("--- model (expected)")
            for n in expected:
                print(json.dumps(n))
            print("--- engine (actual)")
            for n in actual:
                print(json.dumps(n))
            print("--- differences")
            for d in diffs:
                print(d)
            if not args.keep_going:
                break
    ran = len(seeds) if not failed or args.keep_going else \
        list(seeds).index(failed[0]) + 1
    print("oracle: %d case(s), %d notification(s) expected (%d of "
          "capacity warnings, %d of overflow groups), %d failed, %.1f s"
          % (ran, nalerts, ncap, novf, len(failed), time.time() - t0))
    if failed:
        print("failing seeds: %s" % " ".join(map(str, failed)))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
