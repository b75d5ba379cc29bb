/*
 * login_limit.h - how many wrong tokens POST /login takes from one client
 * address: after STATUS_LOGIN_FAILS_MAX within STATUS_LOGIN_WINDOW_MS of
 * the first, the address is refused (429, Retry-After) until that window
 * ends, whatever it sends.  A right token forgets the address's failures.
 *
 * The table is bounded: STATUS_LOGIN_CLIENTS addresses, the one whose last
 * failure is the oldest making room for a new one, so a flood of
 * addresses costs no memory (it can only make the limiter forget).
 *
 * Pure: no clock (now_ms is a parameter, monotonic), no I/O, no lock; a
 * visible value type the server embeds, zeroed to start
 * (status_login_limit_init).  One thread uses it (the server's).
 * Addresses are 16 bytes: IPv6, IPv4 as v4-mapped.
 */
#ifndef TW_STATUS_LOGIN_LIMIT_H
#define TW_STATUS_LOGIN_LIMIT_H

#include <stdint.h>

#define STATUS_LOGIN_FAILS_MAX 5
#define STATUS_LOGIN_WINDOW_MS 60000
#define STATUS_LOGIN_CLIENTS 256

struct status_login_limit {
    /* private */
    struct {
        unsigned char addr[16];
        unsigned fails;          /* in the window; 0: a free slot */
        int64_t first_ms;        /* the window's start */
        uint64_t seq;            /* the last failure's: the LRU order */
    } c[STATUS_LOGIN_CLIENTS];
    uint64_t seq;
};

void status_login_limit_init(struct status_login_limit *l);

/* Seconds addr must still wait before a login of its is looked at, at
 * now_ms (rounded up); 0: it may try. */
unsigned status_login_wait_s(const struct status_login_limit *l,
                             const unsigned char addr[16], int64_t now_ms);

/* A wrong token from addr at now_ms: counted in its window (a new window
 * once the last one has ended).  Returns the failures in the window: the
 * one that returns STATUS_LOGIN_FAILS_MAX starts the refusal. */
unsigned status_login_failed(struct status_login_limit *l,
                             const unsigned char addr[16], int64_t now_ms);

/* A right token from addr: its failures are forgotten. */
void status_login_forget(struct status_login_limit *l,
                         const unsigned char addr[16]);

#endif
