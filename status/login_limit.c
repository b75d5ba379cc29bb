/*
 * login_limit.c - the per-address limit on wrong login tokens (see
 * login_limit.h).  A linear scan of STATUS_LOGIN_CLIENTS slots: it runs
 * once per POST /login, never on the event path.
 */
#include "status/login_limit.h"

#include <string.h>

void status_login_limit_init(struct status_login_limit *l)
{
    memset(l, 0, sizeof *l);
}

/* addr's slot, or -1. */
static int find(const struct status_login_limit *l,
                const unsigned char addr[16])
{
    for (int i = 0; i < STATUS_LOGIN_CLIENTS; i++)
        if (l->c[i].fails > 0 && memcmp(l->c[i].addr, addr, 16) == 0)
            return i;
    return -1;
}

unsigned status_login_wait_s(const struct status_login_limit *l,
                             const unsigned char addr[16], int64_t now_ms)
{
    int i = find(l, addr);
    int64_t left;

    if (i < 0 || l->c[i].fails < STATUS_LOGIN_FAILS_MAX)
        return 0;
    left = l->c[i].first_ms + STATUS_LOGIN_WINDOW_MS - now_ms;
    return left <= 0 ? 0 : (unsigned)((left + 999) / 1000);
}

unsigned status_login_failed(struct status_login_limit *l,
                             const unsigned char addr[16], int64_t now_ms)
{
    int i = find(l, addr);

    if (i < 0) {
        /* a free slot, else the least recently failed address's */
        i = 0;
        for (int j = 0; j < STATUS_LOGIN_CLIENTS && l->c[i].fails > 0; j++)
            if (l->c[j].fails == 0 || l->c[j].seq < l->c[i].seq)
                i = j;
        memcpy(l->c[i].addr, addr, 16);
        l->c[i].fails = 0;
    }
    if (l->c[i].fails == 0 ||
        now_ms - l->c[i].first_ms >= STATUS_LOGIN_WINDOW_MS) {
        l->c[i].fails = 0;
        l->c[i].first_ms = now_ms;
    }
    l->c[i].fails++;
    l->c[i].seq = ++l->seq;
    return l->c[i].fails;
}

void status_login_forget(struct status_login_limit *l,
                         const unsigned char addr[16])
{
    int i = find(l, addr);

    if (i >= 0)
        memset(&l->c[i], 0, sizeof l->c[i]);
}
