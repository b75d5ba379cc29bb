/*
 * fuzz_checkpoint.c - libFuzzer target for the checkpoint decoder
 * (detectors/checkpoint.c) and each kind's load op, through
 * det_engine_restore() into an engine that runs a rule of every kind.
 *
 * Input: a checkpoint image.  The frame's digest would stop almost every
 * mutation at the door, so the target seals the input first (the length
 * field and the BLAKE2b digest made right, as someone who writes the
 * state directory can do) unless its byte 3 is not 'K' (then the frame's
 * own checks are fuzzed).  Checked, abort() on failure:
 *  - det_engine_restore() returns one of the documented codes;
 *  - after CKPT_OK the engine runs: a few events fed, a tick, a drain, its
 *    open episodes listed, and its checkpoint, written again, restores
 *    into another new engine with the same groups and episodes;
 *  - ASan/UBSan: no read outside the input, no overflow, whatever it
 *    says.
 *
 * Seeds (tests/fuzz/corpus/fuzz_checkpoint/) are real checkpoints of this
 * engine at several points of a synthetic stream with open episodes of
 * every kind; FUZZ_CHECKPOINT_SEEDS=<dir> makes the binary write them
 * there and exit (how they were made).
 */
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>
#include <sodium.h>

#include "detectors/engine.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerInitialize(int *argc, char ***argv);

static const char rules_json[] =
    "[{\"name\":\"c\",\"kind\":\"count\",\"severity\":\"info\","
    "\"group_by\":[\"tool_name\"],\"window_s\":3,\"threshold\":5,"
    "\"overrides\":[{\"match\":{\"tool_name\":\"dd\"},\"threshold\":2},"
    "{\"match\":{\"tool_name\":\"e5\"},\"enabled\":false}]},"
    "{\"name\":\"s\",\"kind\":\"sum\",\"severity\":\"info\","
    "\"field\":\"execution_duration_ms\",\"group_by\":[\"agent_id\"],"
    "\"window_s\":3,\"threshold\":3000},"
    "{\"name\":\"r\",\"kind\":\"ratio\",\"severity\":\"info\","
    "\"numerator\":{\"error\":true},\"window_s\":3,\"threshold\":0.1},"
    "{\"name\":\"d\",\"kind\":\"distinct\",\"severity\":\"info\","
    "\"field\":\"tool_name\",\"window_s\":3,\"threshold\":4},"
    "{\"name\":\"m\",\"kind\":\"max\",\"severity\":\"info\","
    "\"field\":\"execution_duration_ms\",\"group_by\":[\"tool_name\"],"
    "\"threshold\":1000,\"window_s\":2,"
    "\"overrides\":[{\"match\":{\"tool_name\":\"c3\"},\"threshold\":1200}]},"
    "{\"name\":\"q\",\"kind\":\"sequence\",\"severity\":\"info\","
    "\"group_by\":[\"agent_id\"],\"steps\":[{\"tool_name\":\"a1\"},"
    "{\"tool_name\":\"x\"},{\"tool_name\":\"b2\"}],\"within_s\":4,"
    "\"window_s\":2},"
    "{\"name\":\"n\",\"kind\":\"new_value\",\"severity\":\"info\","
    "\"field\":\"tool_name\",\"group_by\":[\"agent_id\"],\"learn_s\":2,"
    "\"window_s\":2},"
    "{\"name\":\"b\",\"kind\":\"baseline\",\"severity\":\"info\","
    "\"group_by\":[\"tool_name\"],\"bucket_s\":1,\"history\":3,"
    "\"deviation\":2},"
    "{\"name\":\"a\",\"kind\":\"absence\",\"severity\":\"info\","
    "\"group_by\":[\"agent_id\",\"session_id\"],\"threshold\":2},"
    "{\"name\":\"g\",\"kind\":\"absence\",\"severity\":\"info\","
    "\"threshold\":3}]";

static struct rule_set *rules;
static struct det_engine_params params;

static void fail_at(int line)
{
    fprintf(stderr, "fuzz_checkpoint.c:%d: check failed\n", line);
    abort();
}

#define check(c) ((c) ? (void)0 : fail_at(__LINE__))

static void on_alert(void *ud, const struct alert *a)
{
    (void)ud;
    check(a->id[0] != '\0' && a->rule != NULL);
}

static const struct det_engine_callbacks cb = {.on_alert = on_alert};

static det_engine *engine(void)
{
    det_engine *e = det_engine_create(&params, rules, "toolwatch", &cb, NULL);

    check(e != NULL);
    return e;
}

/* Event i of a synthetic stream from t0 (ms). */
static struct event event_at(unsigned i, int64_t t0)
{
    static const char *const tools[] = {"a1", "x", "b2", "c3", "dd", "e5"};
    struct event ev;

    memset(&ev, 0, sizeof ev);
    ev.has = EVENT_HAS_TIMESTAMP | EVENT_HAS_DURATION;
    ev.type = i % 7 ? EVENT_TOOL_CALL_RESPONSE : EVENT_TOOL_CALL_ERROR;
    ev.status = i % 7 ? EVENT_STATUS_SUCCESS : EVENT_STATUS_ERROR;
    ev.ts_ms = t0 + (int64_t)i * 97 + (i % 50 == 49 ? 4000 : 0);
    ev.duration_ms = i % 13 == 0 ? 1500 : 100;
    snprintf(ev.record_id, sizeof ev.record_id, "r%u-%lld", i,
             (long long)t0);
    snprintf(ev.tool_name, sizeof ev.tool_name, "%s", tools[(i * 7) % 6]);
    snprintf(ev.agent_id, sizeof ev.agent_id, "g%u", i % 4);
    snprintf(ev.session_id, sizeof ev.session_id, "s%u", i % 3);
    return ev;
}

static void setup(void)
{
    char err[512];
    cJSON *j;

    if (rules != NULL)
        return;
    check(sodium_init() >= 0);
    j = cJSON_Parse(rules_json);
    check(j != NULL);
    check(rule_set_compile(&rules, j, "rules", err, sizeof err) == RULE_OK);
    cJSON_Delete(j);
    det_engine_params_defaults(&params);
    params.max_keys = 32;
    params.dedupe_window = 32;
    params.hold_s = 1;
}

/* What a restored engine holds, to compare with its copy. */
struct held {
    uint64_t groups, open;
};

static struct held holding(const det_engine *e)
{
    struct held h = {0, 0};
    struct det_rule_info ri;

    for (uint32_t i = 0; det_engine_rule_info(e, i, &ri) == 0; i++) {
        h.groups += ri.groups;
        h.open += ri.open;
    }
    return h;
}

static void count_open(void *ud, const struct alert *a)
{
    check(!a->resolved);
    (*(uint64_t *)ud)++;
}

/* The restored engine written again restores alike, then runs. */
static void exercise(det_engine *e, const struct det_restore_info *info)
{
    struct det_restore_info again;
    struct held h1, h2;
    det_engine *f;
    uint64_t open = 0;
    int64_t now = det_engine_now(e);
    buf b;

    h1 = holding(e);
    det_engine_foreach_open(e, count_open, &open);
    check(open == h1.open && open == info->episodes);
    buf_init(&b, 64u << 20);
    check(det_engine_checkpoint(e, info->ck.position, info->ck.position_len,
                                0, &b) == CKPT_OK);
    f = engine();
    check(det_engine_restore(f, b.data, b.len, &again) == CKPT_OK);
    h2 = holding(f);
    check(h1.groups == h2.groups && h1.open == h2.open);
    check(det_engine_seq(f) == det_engine_seq(e));
    det_engine_destroy(f);
    buf_free(&b);
    if (now == INT64_MIN)
        now = 1773108000000LL;
    for (unsigned i = 0; i < 40; i++) {
        struct event ev = event_at(i, now - 3000);
        det_engine_feed(e, &ev, 0);
    }
    det_engine_tick(e, now + 20000);
    det_engine_drain(e);
}

/* Seal data (a copy) as a frame: the length and digest made right. */
static void seal(unsigned char *p, size_t n)
{
    crypto_generichash_state h;
    uint64_t len = n - CKPT_HEADER_SIZE;

    for (int i = 0; i < 8; i++)
        p[8 + i] = (unsigned char)(len >> (8 * i));
    crypto_generichash_init(&h, NULL, 0, 32);
    crypto_generichash_update(&h, p, 16);
    crypto_generichash_update(&h, p + CKPT_HEADER_SIZE, n - CKPT_HEADER_SIZE);
    crypto_generichash_final(&h, p + 16, 32);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct det_restore_info info;
    unsigned char *p = malloc(size > 0 ? size : 1);
    det_engine *e;
    int rc;

    setup();
    check(p != NULL);
    if (size > 0)
        memcpy(p, data, size);
    if (size >= CKPT_HEADER_SIZE && p[3] == 'K')
        seal(p, size);
    e = engine();
    rc = det_engine_restore(e, p, size, &info);
    check(rc == CKPT_OK || rc == CKPT_EINVAL || rc == CKPT_EVERSION ||
          rc == CKPT_EINSTANCE);
    if (rc == CKPT_OK)
        exercise(e, &info);
    det_engine_destroy(e);
    free(p);
    return 0;
}

/* FUZZ_CHECKPOINT_SEEDS=<dir>: write real checkpoints there, then exit. */
int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    const char *dir = getenv("FUZZ_CHECKPOINT_SEEDS");
    static const unsigned points[] = {0, 5, 60, 200, 400, 700};
    det_engine *e;

    (void)argc;
    (void)argv;
    setup();
    if (dir == NULL)
        return 0;
    e = engine();
    for (unsigned k = 0, i = 0; k < sizeof points / sizeof points[0]; k++) {
        char path[512], pos[32];
        FILE *f;
        buf b;

        for (; i < points[k]; i++) {
            struct event ev = event_at(i, 1773108000000LL);
            det_engine_feed(e, &ev, 0);
        }
        snprintf(pos, sizeof pos, "%u", i);
        buf_init(&b, 64u << 20);
        check(det_engine_checkpoint(e, pos, strlen(pos), 1773108000000LL,
                                    &b) == CKPT_OK);
        snprintf(path, sizeof path, "%s/at-%u", dir, i);
        f = fopen(path, "wb");
        check(f != NULL && fwrite(b.data, 1, b.len, f) == b.len);
        fclose(f);
        buf_free(&b);
    }
    det_engine_destroy(e);
    exit(0);
}
