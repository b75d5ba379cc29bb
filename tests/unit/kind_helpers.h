/*
 * kind_helpers.h - shared by the tests of the windowed rule kinds (count,
 * distinct): random rule parameters and a random stream of event stamps,
 * mostly in order, some late, some out of order, some after now, to
 * compare a kind's state with a brute force that keeps every event.
 *
 * Header-only (static functions): each test binary includes it once.
 */
#ifndef TW_TEST_KIND_HELPERS_H
#define TW_TEST_KIND_HELPERS_H

#include <math.h>
#include <stdint.h>
#include <stdlib.h>

#define T0 1773108000000LL /* 2026-03-10T02:00:00Z */

struct rand_rule {
    int64_t w;  /* window, ms */
    double thr; /* threshold */
    double clr; /* clear threshold, <= thr */
    int64_t now;
};

/* A window of 1 .. max_w ms (half the time a multiple of 60, so that the
 * buckets of a win_ring are exact), a threshold of 0 .. max_thr - 1 plus
 * `frac` half the time, a whole clear threshold under it, and a start
 * time near T0 or below 0. */
static void rand_rule(struct rand_rule *r, int max_w, int max_thr,
                      double frac)
{
    r->w = 1 + rand() % max_w;
    if (rand() % 2)
        r->w = 60 * (1 + rand() % (max_w / 60 + 1));
    r->thr = (double)(rand() % max_thr) + (rand() % 2 ? frac : 0);
    r->clr = floor(r->thr * (rand() % 100) / 100.0);
    r->now = (rand() % 2 ? T0 : -5000) + rand() % 100;
}

/* Move *now on (mostly by a few ms, now and then by up to two windows)
 * and return the stamp of the next event: up to a window and a quarter
 * before now (so some are late), and one time in 20 `ahead` ms later
 * (after now when it is more than that). */
static int64_t rand_stamp(int64_t *now, int64_t w, int64_t ahead)
{
    *now += rand() % 4 == 0 ? rand() % (2 * w) : rand() % 5;
    return *now - rand() % (w + w / 4 + 2) + (rand() % 20 == 0 ? ahead : 0);
}

#endif
