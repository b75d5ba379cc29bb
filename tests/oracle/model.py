#!/usr/bin/env python3
"""Reference model of toolwatch's rule engine in replay mode.

    python3 tests/oracle/model.py CFG.json STREAM.jsonl   # NDJSON on stdout

What `toolwatch replay --drain --format jsonl -c CFG STREAM` should print,
computed the slow and plain way from the product contract (SPEC.md §2, §3)
and docs/rules.md, docs/detectors.md only: the engine's sources were not
read to write it.  Each notification is
{"type", "rule", "kind", "key", "started_at", "resolved_at", "timestamp",
"value", "threshold"}.

How it works: rules are independent, and so are the groups of a rule,
but for max_keys: incarnations() (new_value_table()) first splits a
rule's events into the lives of its groups, a group evicted when a new
one needs its slot (SPEC section 2, docs/rules.md "A rule at max_keys"),
and a rule whose groups all have open alerts into its overflow group and
capacity warning (Overflowing).  For
each (rule, group) the kind gives a list of *points*, times at which the
group's condition is known to be FIRE (the kind's "fires when"), CLEAR (its
"clears when") or NEUTRAL (neither: between clear_threshold and the
threshold), recomputed from scratch from the group's events at each point.
The lifecycle (SPEC §2 "Lifecycle", docs/detectors.md "Alert lifecycle")
then runs over the points with its own timers (repeat, hold).

Ordering at one millisecond: the windows' edges that fall at time t,
then the lifecycle's timers (hold, repeat) due at t, then the events
stamped t, in input order.  (An event at t - window_s has left the window
(now - window_s, now] at now = t.)

Questions the documents leave open, and what this model decided, are
marked QUESTION below.
"""
import collections
import datetime
import json
import sys

NUMBER_FIELDS = ("response_payload_size_bytes", "execution_duration_ms",
                 "tokens_consumed", "cost_usd")
EVENT_TYPES = ("tool_call_request", "tool_call_response", "tool_call_error",
               "agent_session_start", "agent_session_end")
STATUSES = ("success", "error", "pending")

FIRE, CLEAR, NEUTRAL = "fire", "clear", "neutral"
# point order inside one millisecond: timers/edges first, then events
EDGE, EVENT = 0, 1

DEFAULT_HOLD_S = 60
DEFAULT_REPEAT_S = 3600


# ---- time -----------------------------------------------------------------

EPOCH = datetime.datetime(1970, 1, 1, tzinfo=datetime.timezone.utc)


def parse_ts(s):
    """Milliseconds since the epoch; finer digits are cut, not rounded.
    QUESTION: SPEC §1 shows microseconds; event time is milliseconds."""
    d = datetime.datetime.fromisoformat(s.replace("Z", "+00:00"))
    return (d - EPOCH) // datetime.timedelta(milliseconds=1)


def fmt_ts(ms):
    d = datetime.datetime.fromtimestamp(ms // 1000, datetime.timezone.utc)
    return d.strftime("%Y-%m-%dT%H:%M:%S") + ".%03dZ" % (ms % 1000)


# ---- fields and matching (docs/rules.md "Fields", "match and exclude") ----

def field_value(rec, name):
    """The value of a field, or None when the record lacks it."""
    if name == "completed":
        return rec.get("event_type") in ("tool_call_response",
                                         "tool_call_error")
    if name == "error":
        et = rec.get("event_type")
        return et == "tool_call_error" or (
            et == "tool_call_response" and rec.get("response_status") == "error")
    if name.startswith("metadata."):
        md = rec.get("metadata")
        v = md.get(name[9:]) if isinstance(md, dict) else None
        return v if isinstance(v, str) and v != "" else None
    v = rec.get(name)
    if name in NUMBER_FIELDS:
        if isinstance(v, bool) or not isinstance(v, (int, float)):
            return None
        return v
    if not isinstance(v, str) or v == "":
        return None          # a string field is absent when empty
    if name == "event_type" and v not in EVENT_TYPES:
        return None
    if name == "response_status" and v not in STATUSES:
        return None
    return v


def glob_match(pat, s):
    """`*` any run, `?` one byte, ASCII letters without regard to case."""
    p = pat.encode().lower()
    v = s.encode().lower()
    # plain dynamic programming: obviously right, slow enough
    m, n = len(p), len(v)
    dp = [[False] * (n + 1) for _ in range(m + 1)]
    dp[0][0] = True
    for i in range(1, m + 1):
        if p[i - 1:i] == b"*":
            dp[i][0] = dp[i - 1][0]
    for i in range(1, m + 1):
        c = p[i - 1:i]
        for j in range(1, n + 1):
            if c == b"*":
                dp[i][j] = dp[i - 1][j] or dp[i][j - 1]
            elif c == b"?" or c == v[j - 1:j]:
                dp[i][j] = dp[i - 1][j - 1]
    return dp[m][n]


def cond_met(value, cond):
    if value is None:
        return False         # a field the record lacks meets no condition
    if isinstance(cond, bool):
        return value is cond
    if isinstance(cond, str):
        return glob_match(cond, value)
    if isinstance(cond, list):
        return any(glob_match(g, value) for g in cond)
    if isinstance(cond, dict):
        for op, n in cond.items():
            if op == ">" and not value > n:
                return False
            if op == ">=" and not value >= n:
                return False
            if op == "<" and not value < n:
                return False
            if op == "<=" and not value <= n:
                return False
        return True
    raise ValueError("bad condition %r" % (cond,))


def match_obj(obj, rec):
    return all(cond_met(field_value(rec, f), c) for f, c in obj.items())


def rule_sees(rule, rec):
    if not match_obj(rule.get("match") or {}, rec):
        return False
    exc = rule.get("exclude") or {}
    if exc and match_obj(exc, rec):
        return False
    return True


# ---- groups -----------------------------------------------------------------

def group_values(rule, rec):
    # a record that lacks a group_by field is grouped under the empty value
    return tuple(field_value(rec, f) or "" for f in rule.get("group_by", []))


OVERFLOW = ("(overflow)",)   # the values of a rule's overflow group


def key_of(values):
    if values is OVERFLOW:
        return "(overflow)"
    if not values:
        return "global"
    return "/".join(v if v != "" else "(none)" for v in values)


def group_setting(rule, values):
    """(muted, threshold, clear_threshold) for a group (overrides); values
    OVERFLOW: the rule's overflow group, which no override applies to."""
    thr = rule.get("threshold")
    rule_clear = rule.get("clear_threshold", thr)
    if values is OVERFLOW:
        return False, thr, rule_clear
    gb = rule.get("group_by", [])
    for ov in rule.get("overrides", []):
        # QUESTION: an override's match is tried against the group's
        # values; a "(none)" value is an absent field, so it meets no
        # condition (as in match).
        vals = {f: (v if v != "" else None) for f, v in zip(gb, values)}
        if all(cond_met(vals.get(f), c) for f, c in ov["match"].items()):
            if ov.get("enabled") is False:
                return True, thr, rule_clear
            t = ov["threshold"]
            # "clears at or under the lower of the rule's clear_threshold
            # and its own threshold"
            c = None if rule_clear is None else min(rule_clear, t)
            return False, t, c
    return False, thr, rule_clear


# ---- kinds: points ------------------------------------------------------------
# Each returns a list of (t, order, seq, cond, value) for one group, given
# evs = [(t, seq, rec)] in input order and the group's settings.

def bucket_ms(window_s):
    """sum/ratio window buckets: window_s / 60, or the largest number of
    equal buckets under 60 that divides the window (docs/rules.md "sum").
    QUESTION: "divides" is read in milliseconds (a 1 s window is 50
    buckets of 20 ms), the unit of event time."""
    w = window_s * 1000
    for n in range(60, 0, -1):
        if w % n == 0:
            return w // n
    return w


def windowed_points(evs, leave_of, measure, judge):
    """Points at every event and at every time an event leaves the window.
    leave_of(t): the time an event stamped t leaves; measure(in_window)
    computes the group's quantity from the list of records in it;
    judge(q) -> (cond, value)."""
    times = [(t, EVENT, seq) for t, seq, _ in evs]
    times += [(leave_of(t), EDGE, -1) for t, _, _ in evs]
    times = sorted(set(times))
    pts = []
    for t, order, seq in times:
        inside = []
        for te, s2, rec in evs:
            if leave_of(te) <= t:
                continue                     # has left the window
            if te > t or (te == t and (order == EDGE or s2 > seq)):
                continue                     # not yet seen
            inside.append(rec)
        cond, value = judge(measure(inside))
        pts.append((t, order, seq, cond, value))
    return pts


def thr_judge(thr, clr):
    def judge(q):
        if q > thr:
            return FIRE, q
        if q <= clr:
            return CLEAR, q
        return NEUTRAL, q
    return judge


def largest_threshold(rule):
    """The rule's largest threshold, its own or an override's."""
    return max([rule["threshold"]] + [ov["threshold"] for ov in
                                      rule.get("overrides", [])
                                      if "threshold" in ov])


def points_count(rule, evs, thr, clr):
    w = rule["window_s"] * 1000
    # docs/rules.md "count": "From a threshold of 100000 on, the count is
    # kept in 60 buckets, as sum's window".  QUESTION: the rule's largest
    # threshold (its own or an override's) decides, for all its groups,
    # as for the memory of the count ("⌊largest threshold⌋ + 1").
    if largest_threshold(rule) >= 100000:
        b = bucket_ms(rule["window_s"])
        return windowed_points(evs, lambda t: (t // b) * b + w, len,
                               thr_judge(thr, clr))
    return windowed_points(evs, lambda t: t + w, len, thr_judge(thr, clr))


def points_sum(rule, evs, thr, clr):
    w = rule["window_s"] * 1000
    b = bucket_ms(rule["window_s"])
    f = rule["field"]

    def measure(recs):
        return sum(field_value(r, f) or 0 for r in recs)
    return windowed_points(evs, lambda t: (t // b) * b + w, measure,
                           thr_judge(thr, clr))


def points_ratio(rule, evs, thr, clr, opts):
    w = rule["window_s"] * 1000
    b = bucket_ms(rule["window_s"])
    num = rule["numerator"]
    mc = rule.get("min_count", 10)

    def measure(recs):
        return (sum(1 for r in recs if match_obj(num, r)), len(recs))

    def judge(q):
        n_num, n = q
        if n < mc:
            return CLEAR, (n_num / n if n else 0.0)
        r = n_num / n
        if r > thr:
            return FIRE, r
        if r <= clr:
            return CLEAR, r
        return NEUTRAL, r
    pts = windowed_points(evs, lambda t: (t // b) * b + w, measure, judge)
    return pts


def points_distinct(rule, evs, thr, clr):
    # QUESTION: docs do not say distinct's window is bucketed: it is taken
    # as exact to the millisecond, as count's.  An event without the field
    # adds no value.
    w = rule["window_s"] * 1000
    f = rule["field"]
    # docs/rules.md "Values of repeats and resolves": a group remembers
    # at most K = floor(largest threshold) + 1 values, so its value is
    # the distinct count up to K ("at least K" past it)
    k = int(largest_threshold(rule)) + 1

    def measure(recs):
        return min(k, len({field_value(r, f) for r in recs} - {None}))
    return windowed_points(evs, lambda t: t + w, measure,
                           thr_judge(thr, clr))


def fires_then_quiet(fires, w):
    """Points of a kind that fires on events and clears after w ms with
    no such event (max, sequence, new_value): fires = [(t, seq, value)]."""
    pts = []
    for i, (t, seq, v) in enumerate(fires):
        pts.append((t, EVENT, seq, FIRE, v))
        end = t + w
        if i + 1 == len(fires) or fires[i + 1][0] >= end:
            # the episode's value stays the newest firing event's
            pts.append((end, EDGE, -1, CLEAR, v))
    return pts


def points_max(rule, evs, thr, clr):
    w = rule.get("window_s", 300) * 1000
    f = rule["field"]
    viol = [(t, seq, field_value(rec, f)) for t, seq, rec in evs
            if field_value(rec, f) is not None and field_value(rec, f) > thr]
    # "clears after window_s of event time with no such event"
    return fires_then_quiet(viol, w)


def points_sequence(rule, evs, thr, clr):
    steps = rule["steps"]
    k = len(steps)
    within = rule["within_s"] * 1000
    w = rule.get("window_s", 300) * 1000
    # Fires when an event meets the last step and earlier events of the
    # group (since the last firing) met steps 1..k-1 in order, one event
    # per step of a chain, the first at most within_s before it.  The
    # newest such chain gives the value.  best[i]: the latest first-step
    # time of a chain that has met steps 1..i+1 (None: no chain).
    best = [None] * k
    fires = []
    for t, seq, rec in evs:
        met = [match_obj(s, rec) for s in steps]
        old = list(best)
        if met[k - 1] and old[k - 2] is not None and t - old[k - 2] <= within:
            fires.append((t, seq, (t - old[k - 2]) / 1000.0))
            # "after firing the chain starts over".  QUESTION: the event
            # that completed a chain does not also start a new one.
            best = [None] * k
            continue
        for i in range(k - 1, 0, -1):
            if met[i] and old[i - 1] is not None:
                if best[i] is None or old[i - 1] > best[i]:
                    best[i] = old[i - 1]
        if met[0]:
            best[0] = t
        # chains that can no longer complete within within_s are dropped
        best = [b if b is not None and t - b <= within else None
                for b in best]
    return fires_then_quiet(fires, w)


def median(xs):
    # QUESTION: the median of an even number of values is the mean of the
    # two middle ones.
    s = sorted(xs)
    n = len(s)
    if n % 2:
        return s[n // 2]
    return (s[n // 2 - 1] + s[n // 2]) / 2.0


def points_baseline(rule, evs, thr, clr, opts):
    b = rule["bucket_s"] * 1000
    hist = rule.get("history", 60)
    dev = rule.get("deviation", 6)
    minv = rule.get("min_value", 1)
    f = rule.get("field")
    if f is not None:
        # QUESTION: with a field, an event without it adds nothing, and
        # is not the group's first event either (as for new_value)
        evs = [e for e in evs if field_value(e[2], f) is not None]
    if not evs:
        return []
    b0 = evs[0][0] // b
    vals = {}

    def amount(rec):
        if f is None:
            return 1
        return field_value(rec, f) or 0

    def band(cur):
        hv = [vals.get(i, 0) for i in range(cur - hist, cur)]
        med = median(hv)
        mad = median([abs(x - med) for x in hv])
        return med + dev * max(1.4826 * mad, 0.1 * med, 1)

    def judged(cur):
        # "once the group has `history` closed buckets since its first
        # event".  QUESTION: the bucket of the first event, partial, is one
        # of them (opts.baseline_partial_first).
        closed = cur - b0 if opts.get("baseline_partial_first", True) \
            else cur - b0 - 1
        return closed >= hist

    pts = []
    last_b = evs[-1][0] // b
    ei = 0
    # bucket closes from the first bucket to two past the last event's
    for cur in range(b0, last_b + 3):
        start = cur * b
        # the close of bucket cur-1 (at start), before the events stamped then
        if cur > b0 and judged(cur - 1):
            v = vals.get(cur - 1, 0)
            bd = band(cur - 1)
            # a resolve's value: the closed bucket that cleared it and its
            # band; a repeat's: the current bucket's running value and its
            # band (docs/rules.md "Values of repeats and resolves")
            pts.append((start, EDGE, -1, CLEAR if v <= bd else NEUTRAL,
                        (v, bd)))
            if judged(cur):
                pts.append((start, EDGE, -1, NEUTRAL, (0, band(cur))))
        while ei < len(evs) and evs[ei][0] // b == cur:
            t, seq, rec = evs[ei]
            vals[cur] = vals.get(cur, 0) + amount(rec)
            if judged(cur):
                v = vals[cur]
                bd = band(cur)
                # the alert's value and threshold: the bucket's value and
                # the band (SPEC §3)
                pts.append((t, EVENT, seq, FIRE if v >= minv and v > bd
                            else NEUTRAL, (v, bd)))
            ei += 1
    return pts


class Since:
    """A FIRE point's episode start, when it is not the point's time
    (absence: the deadline the silence passed)."""
    __slots__ = ("t",)

    def __init__(self, t):
        self.t = t


def absence_points(rule, evs, end_t, thr, lateness):
    """Absence over a group: its silence passes the threshold at its
    deadline, last event + threshold s + 1 ms (the episode's start), and
    it fires allowed_lateness_s after that (docs/rules.md "absence":
    records up to that late do not make it fire), unless its next event
    comes first stamped past the deadline: that event fires it, from the
    deadline, and clears it at once; or the input ends first: no record
    is to come, and it fires then.  Only up to the last event of the
    input: its end is not an absence.
    QUESTION: "more than threshold s" at millisecond resolution passes
    at last + threshold s + 1 ms."""
    T = thr * 1000           # the group's threshold (overrides)
    pts = []
    for i, (t, seq, rec) in enumerate(evs):
        if i > 0:
            pts.append((t, EVENT, seq, CLEAR, None))
        due = t + T + 1
        fire_t = due + lateness
        nxt = evs[i + 1] if i + 1 < len(evs) else None
        if (nxt is None or nxt[0] >= fire_t) and fire_t <= end_t:
            pts.append((fire_t, EDGE, -1, FIRE, Since(due)))
        elif nxt is not None and nxt[0] >= due:
            # before the CLEAR of the same event (the sort is stable)
            pts.append((nxt[0], EVENT, nxt[1], FIRE, Since(due)))
        elif nxt is None and due <= end_t:
            # the input ended within the wait: no record is to come, and
            # it fires after the last event (det_engine_input_end)
            pts.append((end_t, EVENT, float("inf"), FIRE, Since(due)))
    return pts


# ---- the lifecycle ------------------------------------------------------------

LAST = float("inf")


class Later:
    """The value of a repeat or a resolve: `value` what the documents say
    it is, `at_send` the group's value when it was sent (the same for a
    repeat; for a resolve, the value at the end of hold_s)."""
    __slots__ = ("value", "at_send")

    def __init__(self, value, at_send):
        self.value, self.at_send = value, at_send


def timer_key(t):
    """A lifecycle timer due at t runs after the window edges at t and
    before the events stamped t (points sort by (t, order, seq))."""
    return (t, EDGE, LAST)


def lifecycle(pts, hold, repeat, stop_at=None, fire_until=None,
              until=None, keys=None):
    """Returns the notifications [(type, timestamp, started, resolved_at,
    value)] and the state at the end.  stop_at: no timers past it
    (absence rules in drain); open episodes then resolve last (run()).
    fire_until: no new episode starts past it (the end of the drain:
    run()).  until: a key (t, order, seq); only what comes before it
    runs (the state a group is in when an event at that key arrives).
    keys: a list, given the key of each notification's moment, to cut at
    just after it (a timer's: after that millisecond's timers; a resolve
    with hold_s 0: just after the event that cleared)."""
    pts = sorted(pts, key=lambda p: (p[0], p[1], p[2]))
    out = []
    state = "idle"
    started = cleared = None
    next_rep = None      # a key (t, order, seq), see timer_key()
    # docs/rules.md "Values of repeats and resolves": a repeat carries
    # the group's value at its time (the last point's: a point is made at
    # every change), a resolve the value when it cleared
    cur = clear_val = None
    last_pt = None
    i = 0
    while True:
        k_pt = pts[i][:3] if i < len(pts) else None
        k_tm = None
        if state == "holding":
            k_tm = timer_key(cleared + hold)
        elif state == "firing":
            k_tm = next_rep
        if k_tm is not None and stop_at is not None and k_tm[0] > stop_at:
            k_tm = None
        if until is not None:
            if k_pt is not None and k_pt >= until:
                k_pt = None
            if k_tm is not None and k_tm >= until:
                k_tm = None
        if k_pt is None and k_tm is None:
            break
        if k_pt is None and state == "firing" and until is None and \
                stop_at is None:
            # every kind's points end clear (but absence's: stop_at)
            raise AssertionError("a group that never clears")
        # at one millisecond: the window edges first (an event that left
        # the window at t has left it for a repeat due at t), then the
        # lifecycle's own timers, then the events stamped t
        if k_tm is not None and (k_pt is None or k_tm < k_pt):
            t_tm = k_tm[0]
            if keys is not None:
                keys.append((t_tm, EVENT, -1) if last_pt is None or
                            last_pt < k_tm else
                            (last_pt[0], last_pt[1], last_pt[2] + 0.5))
            if state == "holding":
                out.append(("alert.resolved", t_tm, started, cleared,
                            Later(clear_val, cur)))
                state = "idle"
            elif k_tm[1] == EVENT:
                # one that fell due in the hold, sent after an event of
                # that millisecond: after which of them (an event the
                # kind passes over) is the engine's; its value is not
                # compared
                out.append(("alert.firing", t_tm, started, None,
                            Later(None, None)))
                next_rep = timer_key(t_tm + repeat)
            else:
                out.append(("alert.firing", t_tm, started, None,
                            Later(cur, cur)))
                next_rep = timer_key(t_tm + repeat)
            continue
        t, _, seq, cond, value = pts[i]
        last_pt = pts[i][:3]
        i += 1
        if state != "idle" and not (cond == FIRE and fire_until is not None
                                    and t > fire_until):
            cur = value
        if state == "idle" and cond == FIRE and fire_until is not None \
                and t > fire_until:
            continue
        if state == "idle" and cond == FIRE:
            state, cleared = "firing", None
            started = value.t if isinstance(value, Since) else t
            next_rep = timer_key(t + repeat)
            out.append(("alert.firing", t, started, None, value))
            if keys is not None:
                keys.append((last_pt[0], last_pt[1], last_pt[2] + 0.5))
            cur = value
        elif state == "firing" and cond == CLEAR:
            state, cleared = "holding", t
            clear_val = value
        elif state == "holding" and cond == FIRE:
            # QUESTION: a repeat that fell due while the episode was
            # clearing (inside hold_s) is sent when it fires again, at the
            # engine's next pass over the group's timers: right after the
            # group's next event stamped the same millisecond that its
            # kind looks at (if the episode still holds then), else 1 ms
            # later; the next one repeat_interval_s after that.  (What the
            # engine does; a reminder that it holds again is not lost.)
            state = "firing"
            if next_rep[0] <= t:
                same = [p for p in pts[i:] if p[0] == t and p[1] == EVENT]
                next_rep = ((t, EVENT, same[0][2] + 0.5) if same
                            else timer_key(t + 1))
    return out, state, started, cleared


POINTS = {"count": points_count, "sum": points_sum, "ratio": points_ratio,
          "distinct": points_distinct, "max": points_max,
          "sequence": points_sequence, "baseline": points_baseline}


# ---- the whole run --------------------------------------------------------------

def decode(records):
    """The events [(t, seq, rec)]: records whose id was seen before are
    not events."""
    seen_ids = set()
    events = []  # (t, seq, rec)
    for seq, rec in enumerate(records):
        rid = rec.get("record_id")
        if isinstance(rid, str):
            if rid in seen_ids:
                continue     # a record id already seen is not an event
            seen_ids.add(rid)
        events.append((parse_ts(rec["timestamp"]), seq, rec))
    return events


def check_groups(rule, records, det=None, opts=None):
    """Raises Overflow when the rule's groups do what is not modelled
    (gen.set_max_keys())."""
    det = det or {}
    opts = dict(opts or {})
    opts["allowed_lateness_s"] = det.get("allowed_lateness_s", 5)
    events = decode(records)
    end_t = max((t for t, _, _ in events), default=0)
    hold = rule.get("hold_s", det.get("hold_s", DEFAULT_HOLD_S)) * 1000
    repeat = rule.get("repeat_interval_s",
                      det.get("repeat_interval_s", DEFAULT_REPEAT_S)) * 1000
    seen = [e for e in events if rule_sees(rule, e[2])]
    mk = rule.get("max_keys", det.get("max_keys", 10000))
    if rule["kind"] == "new_value":
        new_value_table(rule, seen, mk, hold, repeat, opts or {})
    else:
        incarnations(rule, seen, mk, end_t, hold, repeat, opts or {})


def run(cfg, records, opts=None):
    rules = cfg["rules"]
    det = cfg.get("detectors", {})
    opts = dict(opts or {})
    opts["allowed_lateness_s"] = det.get("allowed_lateness_s", 5)
    events = decode(records)
    end_t = max((t for t, _, _ in events), default=0)

    # --drain runs event time on "until every open alert has resolved"
    # (SPEC section 4): past the input, a window's edge (a ratio) starts a
    # new episode only while another is still open.  The drain's end is
    # found by raising it until it stands: each pass lets the episodes
    # that start before it run, whose resolves may move it later.
    drain_end = end_t
    while True:
        notes = run_units(rules, det, events, end_t, drain_end, opts)
        new_end = max([n[0] for n in notes
                       if n[0] is not None and
                       (n[1] < 0 or rules[n[1]]["kind"] != "absence")] +
                      [end_t])
        if new_end <= drain_end:
            break
        drain_end = new_end
    last = max((n[0] for n in notes if n[0] is not None), default=end_t)
    result = []
    for ts, ri, key, typ, st, res, value, thr in notes:
        if ri < 0:
            rule = {"name": "rule_capacity", "kind": "capacity"}
        else:
            rule = rules[ri]
        if ts is None:
            ts = max(last, end_t)
            if res is None:
                res = ts
        result.append({"type": typ, "rule": rule["name"],
                       "kind": rule["kind"], "key": key,
                       "started_at": fmt_ts(st),
                       "resolved_at": None if res is None else fmt_ts(res),
                       "timestamp": fmt_ts(ts), "_ts": ts,
                       "value": value, "threshold": thr})
    result.sort(key=lambda n: (n["_ts"], n["rule"], n["key"], n["type"]))
    for n in result:
        del n["_ts"]
    return result


def run_units(rules, det, events, end_t, drain_end, opts):
    """Every (rule, group)'s notifications [(timestamp or None for "when
    the drain ends", rule index, key, type, started, resolved_at, value,
    threshold)], no new episode starting after drain_end."""
    notes = []
    for ri, rule in enumerate(rules):
        kind = rule["kind"]
        hold = rule.get("hold_s", det.get("hold_s", DEFAULT_HOLD_S)) * 1000
        repeat = rule.get("repeat_interval_s",
                          det.get("repeat_interval_s", DEFAULT_REPEAT_S)) * 1000
        seen = [(t, seq, rec) for t, seq, rec in events
                if rule_sees(rule, rec)]
        max_keys = rule.get("max_keys", det.get("max_keys", 10000))
        units = []   # (key, pts, threshold, events)
        if kind == "new_value" and opts.get("new_value_table", True):
            units = new_value_table(rule, seen, max_keys, hold, repeat, opts)
            seen = []
        cap = []     # the capacity warning's [(fired, resolved or None)]
        for values, evs, cut in incarnations(rule, seen, max_keys, end_t,
                                             hold, repeat, opts, cap):
            if kind == "new_value":
                if not group_setting(rule, values)[0]:
                    units += new_value_units(rule, values, evs)
                continue
            u = group_unit(rule, values, evs, end_t, opts)
            if u is None:
                continue
            key, pts, thr = u
            if cut is not None:
                # evicted: what it would have done after that is lost
                pts = [p for p in pts if p[:3] < cut]
            units.append((key, pts, thr, evs))
        for fired, resolved in cap:
            # docs/rules.md "A rule at max_keys": rule_capacity, group
            # {"rule": name}, value and threshold max_keys
            notes.append((fired, -1 - ri, rule["name"], "alert.firing",
                          fired, None, max_keys, max_keys))
            notes.append((resolved, -1 - ri, rule["name"], "alert.resolved",
                          fired, resolved, max_keys, max_keys))
        for key, pts, thr, evs in units:
            stop = end_t if kind == "absence" else None
            out, state, started, cleared = lifecycle(pts, hold, repeat, stop,
                                                     drain_end)
            for typ, ts, st, res, value in out:
                t_n = thr
                if isinstance(value, Later):
                    value, t_n = later_value(rule, value, evs, ts, st,
                                             opts, thr, res)
                elif kind == "absence":
                    value = absence_gap(evs, st, ts)
                elif isinstance(value, tuple):
                    value, t_n = value
                if kind == "sequence":
                    t_n = rule["within_s"]
                notes.append((ts, ri, key, typ, st, res, value, t_n))
            if kind == "absence" and state != "idle":
                # docs/detectors.md: with --drain the absence rules do not
                # run; "their episodes still open at that point resolve
                # last (one that had cleared ... at the time it cleared)".
                # QUESTION: one still firing resolves when the drain ends
                # (the time of the last notification of the run), which is
                # also its resolved_at: it never cleared.
                res = cleared if state == "holding" else None
                # its value: the longest gap up to the end of the input
                gap = None if opts.get("absence_drain_value_agreed") \
                    else absence_gap(evs, started, end_t)
                notes.append((None, ri, key, "alert.resolved", started, res,
                              gap, thr))
    return notes


def later_value(rule, lv, evs, ts, started, opts, thr, resolve=None):
    """(value, threshold) of a repeat or a resolve sent at ts
    (docs/rules.md "Values of repeats and resolves"); None where it is
    not compared."""
    kind = rule["kind"]
    if kind == "absence":
        return absence_gap(evs, started, ts, current=resolve is None), thr
    if kind == "new_value" or lv.value is None:
        return None, thr
    if opts.get("resolve_value_agreed") and (
            lv.value != lv.at_send or (kind == "baseline" and
                                       lv.value is not lv.at_send)):
        # an excluded class decides it (gen.model_opts()); a baseline's
        # resolve whenever it is not sent as it cleared (hold_s 0)
        return None, (None if kind == "baseline" else thr)
    if kind == "baseline":
        return lv.value     # the bucket's value and its band
    if kind == "count" and largest_threshold(rule) < 100000 and \
            lv.value > int(largest_threshold(rule)) + 1:
        return None, thr    # exact only up to floor(threshold) + 1
    return lv.value, thr


def absence_gap(evs, started, ts, current=True):
    """An absence episode's value at ts: its longest gap in seconds, the
    gap that started it, those its events ended since, and (current) the
    ongoing one (events stamped ts come after the timers of ts).  A
    resolve shows the gaps its events ended: the silence since its last
    event, over the threshold but not yet past the rule's wait for late
    records when hold_s ends, is not the episode's."""
    times = [t for t, _, _ in evs if t < ts]
    gaps = [b - a for a, b in zip(times, times[1:]) if b >= started]
    if times and (current or not gaps):
        gaps.append(ts - times[-1])
    return max(gaps) / 1000.0 if gaps else None


def group_unit(rule, values, evs, end_t, opts):
    """(key, points, threshold) of one group over its events, or None
    when an override mutes it."""
    kind = rule["kind"]
    muted, thr, clr = group_setting(rule, values)
    if muted:
        return None
    if kind == "absence":
        # the stream's own absence ([] over every event) is on the
        # stream clock, which measures arrivals: it waits for nothing
        stream = not rule.get("group_by") and not rule.get("match") and \
            not rule.get("exclude")
        pts = absence_points(rule, evs, end_t, thr, 0 if stream else
                             opts.get("allowed_lateness_s", 5) * 1000)
    elif kind in ("ratio", "baseline"):
        pts = POINTS[kind](rule, evs, thr, clr, opts)
    else:
        pts = POINTS[kind](rule, evs, thr, clr)
    return key_of(values), pts, thr


class Overflow(Exception):
    """Every group of an absence or new_value rule at max_keys had an open
    alert when a new group came (or of a kind an excluded class keeps
    from it: gen.model_opts()): not modelled (gen.py makes cases where
    this cannot happen)."""


def timer_rank(notes, busy, evs, pts=()):
    """Where a group seen last at busy stands among the groups seen in
    that millisecond (docs/rules.md "A rule at max_keys"): a resolve sent
    by a timer (its hold timer, after it cleared; or, with no hold_s, the
    window's edge or bucket close that cleared it: a CLEAR point at the
    edge) comes before the events of the millisecond, and such resolves
    in the order their episodes opened (the episode's start, then its
    first event then); else the events' order (1,)."""
    edges = {p[0] for p in pts if p[1] == EDGE and p[3] == CLEAR}
    for n in notes:
        if n[0] == "alert.resolved" and n[1] == busy and n[3] is not None \
                and (n[1] > n[3] or n[3] in edges):
            # opened: when its first firing was sent (an absence episode
            # starts at its deadline, before it fires), and by which of
            # the group's events then
            opened = min([m[1] for m in notes if m[0] == "alert.firing"
                          and m[2] == n[2]] or [n[2]])
            first = min([sq for (tt, sq, _) in evs if tt == opened] or [0])
            return (0, opened, first)
    return (1,)


def incarnations(rule, seen, max_keys, end_t, hold, repeat, opts,
                 cap=None):
    """The groups of a rule as [(values, events, cut)]: SPEC section 2
    "Each rule keeps at most max_keys groups; past that it evicts the least
    recently seen group that has no open alert"; docs/rules.md "A rule at
    max_keys": "an evicted group starts over if its values come back".  A
    group evicted when the event at key cut = (t, EVENT, seq) came lives
    on only as what it did before cut; its values, when they come back,
    are a new group (a new entry).  An open alert: fired and not yet
    resolved (firing, or clearing within hold_s).
    docs/rules.md: "A group is seen at each of its events and when an
    episode of it resolves", and "A group is made by an event that can
    change it": a sequence group by an event that meets a step; an absence
    rule keeps no muted group.  An idle group is kept until it is
    evicted.
    When every group has an open alert, the events of a new group go to
    the rule's overflow group (values OVERFLOW), and the capacity warning
    fires; appended to cap as (fired, resolved): see overflow()."""
    groups = collections.OrderedDict()   # values -> events; LRU first
    for t, seq, rec in seen:
        groups.setdefault(group_values(rule, rec), []).append((t, seq, rec))
    if len(groups) <= max_keys:
        return [(v, evs, None) for v, evs in groups.items()]
    if rule["kind"] == "new_value":
        raise ValueError("new_value: see new_value_table()")
    out = []
    live = collections.OrderedDict()     # values -> events, LRU first
    units_cache = {}     # (values, first seq, events) -> group_unit()
    # QUESTION: an event without the field a sum, distinct or baseline
    # rule measures adds nothing: it neither makes its group nor counts
    # as a sighting of it (the engine's reading).
    f = rule.get("field") if rule["kind"] in ("sum", "distinct",
                                              "baseline") else None
    seen_at = {}         # values -> the time of its last sighting
    # docs/rules.md "A rule at max_keys": a max group is made (and seen)
    # by an event whose value is over the rule's lowest threshold
    lowest = min([rule.get("threshold") or 0] +
                 [ov["threshold"] for ov in rule.get("overrides", [])
                  if "threshold" in ov and ov.get("enabled", True)])
    ovf = Overflowing(rule, hold, repeat, end_t, opts, cap)

    def unit_of(w, evs):
        ck = (w, evs[0][1], len(evs))
        if ck not in units_cache:
            units_cache[ck] = group_unit(rule, w, evs, end_t, opts)
        return units_cache[ck]

    for t, seq, rec in seen:
        v = group_values(rule, rec)
        cut = (t, EVENT, seq)
        if ovf.open_since is not None:
            # the warning resolves when a group's alert resolves (room)
            ovf.settle(live, unit_of, cut, out)
        if f is not None and field_value(rec, f) is None:
            if v in live:
                live[v].append((t, seq, rec))
            continue
        if rule["kind"] == "sequence" and \
                not any(match_obj(st, rec) for st in rule["steps"]):
            continue     # meets no step: changes no chain, takes no room
        if rule["kind"] == "max" and \
                not (field_value(rec, rule["field"]) or 0) > lowest:
            continue     # no value over any group's threshold: no room
        if rule["kind"] == "absence" and group_setting(rule, v)[0]:
            continue     # muted: an absence rule keeps no such group
        if v in live:
            live[v].append((t, seq, rec))
            live.move_to_end(v)
            seen_at[v] = t
            continue
        if len(live) >= max_keys:
            cands = []       # (last seen, last alert activity, values)
            for w, evs in live.items():
                u = unit_of(w, evs)
                busy = seen_at[w]
                if u is not None:
                    notes, state, _, cleared = lifecycle(u[1], hold, repeat,
                                                         until=cut)
                    if state != "idle":
                        continue     # an open alert: never evicted
                    busy = max([busy] + [n[1] for n in notes] +
                               [n[3] for n in notes if n[3] is not None])
                    rank = timer_rank(notes, busy, evs, u[1])
                else:
                    rank = (1,)
                cands.append((evs[-1][0], busy, w, rank))
            if not cands:
                ovf.take(v, t, seq, rec, out, unit_of)
                continue
            # the least recently seen: at its events and its resolves
            # (busy); in one millisecond the resolves made by hold timers
            # first, in the order their episodes opened, then the events
            # (timer_rank); min() keeps the LRU order among equals
            victim = min(cands, key=lambda c: (c[1], c[3]))[2]
            out.append((victim, live.pop(victim), cut))
        live[v] = [(t, seq, rec)]
        seen_at[v] = t
    if ovf.open_since is not None:
        ovf.settle(live, unit_of, None, out)
    ovf.close(None, out)
    out += [(v, evs, None) for v, evs in live.items()]
    return out


class Overflowing:
    """A rule's overflow group and capacity warning (docs/rules.md "A
    rule at max_keys"): when every group has an open alert, the events of
    a new group go to the overflow group, "judged like any group with the
    rule's threshold" (key "(overflow)"), and the warning fires (once
    while the rule is full).  The warning resolves when the rule has room
    again: when one of its groups' alerts resolves (the overflow group's
    own does not make room).  Then an idle overflow group is dropped (its
    timers of that millisecond run first); an open one lives on and takes
    the events of new groups when the rule is full again, until its alert
    resolves, when it goes.  A muted group's events (its first matching
    override has "enabled": false) go nowhere and do not make the rule
    full.  absence and new_value rules run no overflow group: the model
    raises Overflow there (not modelled)."""

    def __init__(self, rule, hold, repeat, end_t, opts, cap):
        self.rule, self.hold, self.repeat = rule, hold, repeat
        self.end_t, self.opts = end_t, opts
        self.cap = cap if cap is not None else []
        self.open_since = None   # the warning's start, while it is open
        self.open_key = None     # the key of the event that opened it
        self.evs = None          # the overflow group's events
        self.opened_at = None    # the first of them

    def take(self, v, t, seq, rec, out, unit_of):
        rule = self.rule
        if rule["kind"] in ("absence", "new_value") or \
                rule["kind"] in self.opts.get("no_overflow", ()):
            raise Overflow(rule["name"])     # not modelled, or excluded
        if group_setting(rule, v)[0]:
            return               # muted: counted nowhere
        if self.open_since is None:
            self.open_since = t
            self.open_key = (t, EVENT, seq)
            self.cap.append([t, None])
        if self.evs is not None:
            # an overflow group whose alert resolved has gone
            q = self.resolved_before((t, EVENT, seq))
            if q is not None:
                self.close(q, out)
        if self.evs is None:
            self.evs = []
        self.evs.append((t, seq, rec))

    def resolved_before(self, cut):
        """The key just after the overflow group's alert resolved, if
        before cut, or None."""
        u = group_unit(self.rule, OVERFLOW, self.evs, self.end_t, self.opts)
        keys = []
        notes, _, _, _ = lifecycle(u[1], self.hold, self.repeat, until=cut,
                                   keys=keys)
        res = [k for n, k in zip(notes, keys) if n[0] == "alert.resolved"]
        return res[0] if res else None

    def close(self, cut, out):
        """The overflow group goes (dropped at cut, or at the end: then
        just after its alert's resolve, if any)."""
        if self.evs is None:
            return
        q = self.resolved_before(None)
        if q is not None and (cut is None or q < cut):
            cut = q
        out.append((OVERFLOW, self.evs, cut))
        self.evs = None

    def settle(self, live, unit_of, cut, out):
        """Resolves the warning at the first resolve of a live group's
        alert since it fired, if before cut (None: at any time)."""
        at = None        # the key just after the first resolve
        for w, evs in live.items():
            u = unit_of(w, evs)
            if u is None:
                continue
            keys = []
            notes, _, _, _ = lifecycle(u[1], self.hold, self.repeat,
                                       until=cut, keys=keys)
            for n, k in zip(notes, keys):
                # after the event that found the rule full: a resolve by
                # a timer of its millisecond came before it (no room then)
                if n[0] == "alert.resolved" and k > self.open_key:
                    if at is None or k < at:
                        at = k
                    break
        if at is None:
            return
        self.cap[-1][1] = at[0]
        self.open_since = None
        if self.evs is not None:
            _, state, _, _ = lifecycle(
                group_unit(self.rule, OVERFLOW, self.evs, self.end_t,
                           self.opts)[1], self.hold, self.repeat, until=at)
            if state == "idle":
                self.close(at, out)     # idle (or gone): dropped


def new_value_units(rule, values, evs):
    """new_value: the alert group is group_by + the value; each alert
    group fires on the value being new and clears window_s after its last
    new sighting."""
    f = rule["field"]
    learn = rule["learn_s"] * 1000
    maxv = rule.get("max_values", 1000)
    w = rule.get("window_s", 300) * 1000
    # QUESTION: "the group's first event" is its first event that has the
    # field: events without it teach nothing, so learning starts with the
    # first value (the engine's reading too).
    first_t = None
    remembered = []          # LRU order, oldest first
    fires = {}               # value -> [(t, seq)]
    for t, seq, rec in evs:
        v = field_value(rec, f)
        if v is None:
            continue
        if first_t is None:
            first_t = t
        if v in remembered:
            remembered.remove(v)
            remembered.append(v)
            continue
        if t - first_t >= learn:
            fires.setdefault(v, []).append((t, seq))
        remembered.append(v)
        if len(remembered) > maxv:
            remembered.pop(0)
    units = []
    for v, fl in fires.items():
        pts = fires_then_quiet([(t, seq, None) for t, seq in fl], w)
        # QUESTION: with group_by [] the key is the value alone
        mine = [e for e in evs if field_value(e[2], f) == v]
        units.append((key_of(values + (v,)) if values else v, pts, None,
                      mine))
    return units


def new_value_table(rule, seen, max_keys, hold, repeat, opts):
    """new_value units [(key, points, None, events)] with the rule's
    table of max_keys groups: docs/rules.md "A rule at max_keys": "A
    new_value rule's alert group (group_by + the new value) is a group
    too: making it can evict the event's own group when that is the only
    one without an open alert; the alert still fires", and an evicted
    group "learns again for learn_s".  A group (group_by values) is seen
    by its events that have the field (QUESTION, as for sum and
    distinct); an alert group when its value is new again.  It is made
    after the event's group has been seen and has judged the value."""
    f = rule["field"]
    learn = rule["learn_s"] * 1000
    maxv = rule.get("max_values", 1000)
    w = rule.get("window_s", 300) * 1000
    live = collections.OrderedDict()   # ("L", values) / ("A", values, v)
    done = []                          # alert groups evicted
    state = {}                         # entry -> learning / alert state

    def room(cut):
        # an alert group lives while its alert is open: it is removed when
        # the alert resolves (docs/rules.md "A rule at max_keys"), and
        # takes no room after that
        for e in [e for e in live if e[0] == "A"]:
            pts = fires_then_quiet(state[e]["fires"], w)
            notes, st, _, _ = lifecycle(pts, hold, repeat, until=cut)
            if st == "idle" and notes:
                del live[e]
                done.append((e, state[e]))
                del state[e]
        if len(live) < max_keys:
            return
        cands = []
        for e in live:
            last = state[e]["last"]
            busy = last
            if e[0] == "A":
                pts = fires_then_quiet(state[e]["fires"], w)
                notes, st, _, _ = lifecycle(pts, hold, repeat, until=cut)
                if st != "idle":
                    continue
                busy = max([busy] + [n[1] for n in notes] +
                           [n[3] for n in notes if n[3] is not None])
            cands.append((last, busy, e))
        if not cands:
            raise Overflow(rule["name"])
        victim = min(cands, key=lambda c: c[1])[2]   # seen: events, resolves
        del live[victim]
        if victim[0] == "A":
            done.append((victim, state[victim]))
        del state[victim]

    for t, seq, rec in seen:
        v = field_value(rec, f)
        if v is None:
            continue
        g = group_values(rule, rec)
        cut = (t, EVENT, seq)
        lk = ("L", g)
        if lk not in live:
            room(cut)
            live[lk] = True
            state[lk] = {"first": t, "remembered": [], "last": t}
        live.move_to_end(lk)
        ls = state[lk]
        ls["last"] = t
        if v in ls["remembered"]:
            ls["remembered"].remove(v)
            ls["remembered"].append(v)
            continue
        ls["remembered"].append(v)
        if len(ls["remembered"]) > maxv:
            ls["remembered"].pop(0)
        if t - ls["first"] < learn or group_setting(rule, g)[0]:
            continue
        ak = ("A", g, v)
        if ak not in live:
            room(cut)
            live[ak] = True
            state[ak] = {"fires": [], "last": t}
        live.move_to_end(ak)
        state[ak]["last"] = t
        state[ak]["fires"].append((t, seq, None))
    done += [(e, state[e]) for e in live if e[0] == "A"]
    units = []
    for (_, g, v), st in done:
        pts = fires_then_quiet(st["fires"], w)
        units.append((key_of(g + (v,)) if g else v, pts, None, []))
    return units


def main(argv):
    if len(argv) != 3:
        sys.stderr.write("usage: model.py CFG STREAM\n")
        return 2
    with open(argv[1]) as fh:
        cfg = json.load(fh)
    with open(argv[2]) as fh:
        recs = [json.loads(line) for line in fh if line.strip()]
    for n in run(cfg, recs):
        sys.stdout.write(json.dumps(n) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
