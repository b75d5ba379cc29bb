/*
 * fuzz_rules.c - libFuzzer target for the rule compiler (detectors/rule.c,
 * detectors/match.c, detectors/glob.c).
 *
 * Input: JSON text (copied into a heap buffer of exactly its size).  When
 * it parses, the root is compiled as a `rules` list (or, when the root is
 * an object with a "rules" member, that member).  Checked, abort() on
 * failure:
 *  - rule_set_compile() returns RULE_OK, RULE_EINVAL or RULE_ENOMEM; on
 *    error the set is NULL and the message non-empty and NUL-terminated;
 *  - on success, every match of every rule (match, exclude, numerator,
 *    steps, overrides) is evaluated against a few fixed events, and the
 *    prefilter agrees with evaluation: an event a match accepts has a type
 *    in its `types`, a type in `types_sure` is accepted whatever the
 *    event, an event the rule sees has a type in the rule's `types`;
 *  - every compiled glob matches its own text, and agrees with a
 *    reference matcher on the events' strings;
 *  - the index of rules by exact values (detectors/index.h) is sound:
 *    an event a rule sees is let through to it;
 *  - the dump compiles again, to the same dump.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <stdio.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "detectors/index.h"
#include "detectors/rule.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define ERR_SIZE 1024
#define NEVENTS 8

static void check(int cond)
{
    if (!cond)
        abort();
}

static struct event events[NEVENTS];

static void make_events(void)
{
    static const char *const tools[] = {"postgres_query", "Vault_Get_Secret",
                                        "", "http_get"};
    static int made;

    if (made)
        return;
    made = 1;
    for (int i = 0; i < NEVENTS; i++) {
        struct event *ev = &events[i];
        memset(ev, 0, sizeof *ev);
        ev->type = (enum event_type)(i % (EVENT_SESSION_END + 1));
        ev->status = (enum event_status)(i % 4);
        snprintf(ev->tool_name, sizeof ev->tool_name, "%s", tools[i % 4]);
        snprintf(ev->agent_id, sizeof ev->agent_id, "%s", i % 2 ? "agent-7" : "ci-runner");
        snprintf(ev->session_id, sizeof ev->session_id, "%s", "s1");
        snprintf(ev->error_code, sizeof ev->error_code, "%s", i % 3 ? "" : "E_TIMEOUT");
        snprintf(ev->downstream_system, sizeof ev->downstream_system, "%s", "postgres");
        ev->has = (unsigned)(i * 5) & 0x1f;
        ev->payload_bytes = 1000L * i * i * i;
        ev->duration_ms = 250.5 * i;
        ev->tokens = 10 * i;
        ev->cost_usd = 0.01 * i;
        ev->meta_has = (unsigned)(0xa5 >> (i % 4));
        for (int s = 0; s < EVENT_META_MAX; s++) {
            ev->meta[s][0] = (char)('a' + (i + s) % 3);
            ev->meta[s][1] = '\0';
        }
    }
}

static unsigned char lower(unsigned char c)
{
    return (c >= 'A' && c <= 'Z') ? (unsigned char)(c + 32) : c;
}

/* Dynamic programme over pattern x string, one row at a time. */
static int ref_match(const char *p, const char *s)
{
    size_t np = strlen(p), ns = strlen(s);
    unsigned char row[EVENT_TEXT_MAX + 2], next[EVENT_TEXT_MAX + 2];

    check(ns <= EVENT_TEXT_MAX);
    /* row = p[i..] against s[j..], from the end of the pattern */
    memset(row, 0, ns + 1);
    row[ns] = 1;
    for (size_t i = np; i-- > 0;) {
        for (size_t j = ns + 1; j-- > 0;) {
            if (p[i] == '*')
                next[j] = row[j] || (j < ns && next[j + 1]);
            else
                next[j] = j < ns && row[j + 1] &&
                          (p[i] == '?' || (unsigned char)p[i] ==
                                              lower((unsigned char)s[j]));
        }
        memcpy(row, next, ns + 1);
    }
    return row[0];
}

static void check_globs(const struct match *m)
{
    for (uint32_t i = 0; i < m->nglob; i++) {
        const struct glob *g = &m->glob[i];
        check(glob_match(g, glob_text(g)));
        for (int e = 0; e < NEVENTS; e += 3) {
            check(glob_match(g, events[e].tool_name) ==
                  ref_match(glob_text(g), events[e].tool_name));
            check(glob_match(g, events[e].agent_id) ==
                  ref_match(glob_text(g), events[e].agent_id));
        }
    }
}

static void check_match(const struct match *m)
{
    check_globs(m);
    for (int t = 0; t <= EVENT_SESSION_END; t++) {
        int all = 1;
        for (int e = 0; e < NEVENTS; e++) {
            struct event ev = events[e];
            int hold;
            ev.type = (enum event_type)t;
            hold = match_eval(m, &ev);
            if (hold)
                check(m->types & MATCH_TYPE_BIT(t));
            all &= hold;
        }
        if (m->types_sure & MATCH_TYPE_BIT(t))
            check(all);
    }
    check((m->types_sure & ~m->types) == 0);
}

static void check_rule(const struct rule *r)
{
    check(r->types != 0);
    check_match(&r->match);
    check_match(&r->exclude);
    check_match(&r->p.numerator);
    for (uint32_t i = 0; i < r->p.nsteps; i++)
        check_match(&r->p.steps[i]);
    for (uint32_t i = 0; i < r->noverrides; i++)
        check_match(&r->overrides[i].match);
    for (int e = 0; e < NEVENTS; e++) {
        const struct event *ev = &events[e];
        if (!match_seen(&r->match, &r->exclude, ev))
            continue;
        check(match_seen_types(&r->match, &r->exclude) &
              MATCH_TYPE_BIT(ev->type));
        if (r->kind != RULE_K_SEQUENCE)
            check(r->types & MATCH_TYPE_BIT(ev->type));
        for (uint32_t i = 0; i < r->p.nsteps; i++)
            if (match_eval(&r->p.steps[i], ev))
                check(r->types & MATCH_TYPE_BIT(ev->type));
    }
}

/* Every rule the engine would index, in one index: each event a rule
 * sees must be let through to it. */
static void check_index(const struct rule_set *s)
{
    det_index *x = det_index_create();
    const char *lit[MATCH_GLOBS_MAX];
    int in[RULE_MAX] = {0};

    check(x != NULL);
    for (uint32_t i = 0; i < s->n; i++) {
        struct match_field f;
        uint32_t n = match_exact_values(&s->rules[i].match, &f, lit,
                                        MATCH_GLOBS_MAX);
        int rc = n > 0 ? det_index_add(x, f, lit, n, i) : DET_INDEX_EFULL;

        check(rc == DET_INDEX_OK || rc == DET_INDEX_EFULL ||
              rc == DET_INDEX_ENOMEM);
        in[i] = rc == DET_INDEX_OK;
    }
    for (int e = 0; e < NEVENTS; e++) {
        struct det_rset hit = {{0}};

        det_index_lookup(x, &events[e], &hit);
        for (uint32_t i = 0; i < s->n; i++)
            if (in[i] && match_seen(&s->rules[i].match, &s->rules[i].exclude,
                                    &events[e]))
                check(det_rset_has(&hit, i));
        for (uint32_t i = s->n; i < DET_RULES_MAX; i++)
            check(!det_rset_has(&hit, i));
    }
    det_index_destroy(x);
}

static char *dump(const struct rule_set *s)
{
    cJSON *j;
    char *t;

    check(rule_set_dump(s, &j) == RULE_OK);
    t = cJSON_PrintUnformatted(j);
    check(t != NULL);
    cJSON_Delete(j);
    return t;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static char err[ERR_SIZE];
    struct rule_set *s = (struct rule_set *)1, *s2 = NULL;
    char *text = malloc(size > 0 ? size : 1), *d1, *d2;
    cJSON *root, *rules;
    int rc;

    check(text != NULL);
    memcpy(text, data, size);
    make_events();
    root = cJSON_ParseWithLength(text, size);
    free(text);
    if (root == NULL)
        return 0;
    rules = root;
    if (cJSON_IsObject(root) && cJSON_GetObjectItem(root, "rules") != NULL)
        rules = cJSON_GetObjectItem(root, "rules");
    memset(err, 0x5a, sizeof err);
    err[0] = '\0';
    rc = rule_set_compile(&s, rules, "rules", err, sizeof err);
    check(rc == RULE_OK || rc == RULE_EINVAL || rc == RULE_ENOMEM);
    check(memchr(err, '\0', sizeof err) != NULL);
    if (rc != RULE_OK) {
        check(s == NULL);
        check(err[0] != '\0');
        cJSON_Delete(root);
        return 0;
    }
    check(s != NULL && s->n <= RULE_MAX && s->meta.n <= EVENT_META_MAX);
    for (uint32_t i = 0; i < s->n; i++)
        check_rule(&s->rules[i]);
    check_index(s);
    /* the dump is a rules list with the same meaning */
    d1 = dump(s);
    cJSON_Delete(root);
    root = cJSON_Parse(d1);
    check(root != NULL);
    rc = rule_set_compile(&s2, root, "rules", err, sizeof err);
    check(rc == RULE_OK);
    d2 = dump(s2);
    check(strcmp(d1, d2) == 0);
    check(s2->n == s->n && s2->meta.n == s->meta.n);
    for (uint32_t i = 0; i < s->n; i++)
        check(s2->rules[i].types == s->rules[i].types);
    cJSON_free(d1);
    cJSON_free(d2);
    cJSON_Delete(root);
    rule_set_destroy(s);
    rule_set_destroy(s2);
    return 0;
}
