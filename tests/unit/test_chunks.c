/*
 * test_chunks.c - the chunk pool: settings refused, chunks handed out
 * untouched first then from the free list, running out, the high-water
 * mark; chains: push and pop across chunks, chunks given back as soon as
 * they empty, slots found from either end, the bound of chunks_chain_max,
 * against a plain array on random pushes and pops.
 */
#include "detectors/chunks.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

static void test_init(void **state)
{
    chunks_pool p;

    (void)state;
    assert_int_equal(chunks_init(&p, 4, 10, 0, 0), CHUNKS_EINVAL);
    assert_int_equal(chunks_init(&p, 12, 10, 0, 0), CHUNKS_EINVAL);
    assert_int_equal(chunks_init(&p, 65544, 10, 0, 0), CHUNKS_EINVAL);
    assert_int_equal(chunks_init(&p, 64, (uint64_t)CHUNKS_CAP_MAX + 1, 1, 0),
                     CHUNKS_EINVAL);
    assert_int_equal(chunks_init(&p, 64, 10, 16, 0), CHUNKS_EINVAL);
    assert_int_equal(chunks_init(&p, 64, 10, 0, 1), CHUNKS_EINVAL);
    chunks_fini(&p); /* a refused pool is empty */
    /* no chunks at all: nothing mapped, nothing handed out */
    assert_int_equal(chunks_init(&p, 64, 0, 14, 1), CHUNKS_OK);
    assert_int_equal(chunks_get(&p), 0);
    chunks_fini(&p);
    /* a large reservation (1 GiB) is address space only (not larger:
     * valgrind caps the address space it manages) */
    assert_int_equal(chunks_init(&p, 64, 1u << 24, 14, 1), CHUNKS_OK);
    assert_int_equal(p.cap, 1u << 24);
    assert_int_equal(p.hw, 0);
    chunks_fini(&p);
    chunks_fini(&p);
}

static void test_get_put(void **state)
{
    chunks_pool p;
    uint32_t a, b, c;

    (void)state;
    assert_int_equal(chunks_init(&p, 16, 3, 0, 0), CHUNKS_OK);
    a = chunks_get(&p);
    b = chunks_get(&p);
    assert_int_equal(a, 1);
    assert_int_equal(b, 2);
    memset(chunks_at(&p, a), 0xab, 16); /* the owner's bytes */
    memset(chunks_at(&p, b), 0xcd, 16);
    assert_ptr_equal((unsigned char *)chunks_at(&p, b),
                     (unsigned char *)chunks_at(&p, a) + 16);
    chunks_put(&p, a);
    assert_int_equal(p.used, 1);
    /* the one given back comes first, before an untouched one */
    assert_int_equal(chunks_get(&p), a);
    assert_int_equal(p.hw, 2);
    c = chunks_get(&p);
    assert_int_equal(c, 3);
    assert_int_equal(chunks_get(&p), 0); /* all in use */
    assert_int_equal(p.used, 3);
    chunks_put(&p, b);
    chunks_put(&p, c);
    assert_int_equal(chunks_get(&p), c); /* last given back, first out */
    assert_int_equal(chunks_get(&p), b);
    assert_int_equal(chunks_get(&p), 0);
    assert_int_equal(p.hw, 3);
    chunks_fini(&p);
}

/* A chain's chunk: links, then 3 slots. */
struct tchunk {
    uint32_t next, prev;
    uint32_t v[3];
    uint32_t pad;
};

static uint32_t *tslot(const chunks_pool *p, chunks_pos at)
{
    return &((struct tchunk *)chunks_at(p, at.c))->v[at.i];
}

static void push(chunks_pool *p, chunks_chain *ch, uint32_t v)
{
    chunks_pos at = {0, 0};

    assert_int_equal(chunks_push(p, ch, &at), CHUNKS_OK);
    *tslot(p, at) = v;
}

static void test_chain(void **state)
{
    chunks_pool p;
    chunks_chain ch;
    chunks_pos at = {0, 0};

    (void)state;
    memset(&ch, 0, sizeof ch); /* zeroed: empty */
    assert_int_equal(chunks_init(&p, sizeof(struct tchunk), 4, 3, 1),
                     CHUNKS_OK);
    for (uint32_t v = 1; v <= 7; v++)
        push(&p, &ch, v);
    assert_int_equal(ch.len, 7);
    assert_int_equal(p.used, 3);
    at = chunks_back(&ch);
    assert_int_equal(*tslot(&p, at), 7);
    chunks_prev(&p, &at);
    assert_int_equal(*tslot(&p, at), 6);
    chunks_prev(&p, &at); /* into the chunk before */
    assert_int_equal(*tslot(&p, at), 5);
    for (uint32_t i = 0; i < 7; i++)
        assert_int_equal(*tslot(&p, chunks_nth(&p, &ch, i)), i + 1);
    /* popping the third frees the first chunk */
    chunks_pop(&p, &ch);
    chunks_pop(&p, &ch);
    assert_int_equal(p.used, 3);
    chunks_pop(&p, &ch);
    assert_int_equal(p.used, 2);
    assert_int_equal(*tslot(&p, chunks_front(&ch)), 4);
    /* 4 .. 7 and 8, 9: the pool of 4 has room */
    push(&p, &ch, 8);
    push(&p, &ch, 9);
    push(&p, &ch, 10);
    assert_int_equal(p.used, 3);
    for (uint32_t i = 0; i < ch.len; i++)
        assert_int_equal(*tslot(&p, chunks_nth(&p, &ch, i)), i + 4);
    chunks_chain_free(&p, &ch);
    assert_int_equal(ch.len, 0);
    assert_int_equal(ch.first, 0);
    assert_int_equal(p.used, 0);
    /* the last slot popped gives its chunk back */
    push(&p, &ch, 1);
    chunks_pop(&p, &ch);
    assert_int_equal(p.used, 0);
    assert_int_equal(ch.first + ch.last + ch.start, 0);
    chunks_fini(&p);
}

static void test_chain_max(void **state)
{
    (void)state;
    assert_int_equal(chunks_chain_max(14, 0), 0);
    assert_int_equal(chunks_chain_max(14, 1), 1);
    assert_int_equal(chunks_chain_max(14, 2), 2);
    assert_int_equal(chunks_chain_max(14, 15), 2);
    assert_int_equal(chunks_chain_max(14, 16), 3);
    assert_int_equal(chunks_chain_max(6, 60), 11);
    assert_int_equal(chunks_chain_max(14, 101), 9);
}

/* Random pushes and pops against an array; never more chunks than
 * chunks_chain_max of the length, with or without back links. */
static void test_chain_random(void **state)
{
    (void)state;
    srand(3);
    for (int back = 0; back < 2; back++) {
        for (unsigned per = 1; per <= 3; per++) {
            enum { MAXLEN = 40 };
            chunks_pool p;
            chunks_chain ch;
            uint32_t ref[4096], head = 0, tail = 0, next = 1;

            memset(&ch, 0, sizeof ch);
            assert_int_equal(chunks_init(&p, sizeof(struct tchunk),
                                         chunks_chain_max(per, MAXLEN), per,
                                         back),
                             CHUNKS_OK);
            for (int i = 0; i < 4000; i++) {
                uint32_t len = tail - head;

                if (len < MAXLEN && (len == 0 || rand() % 2)) {
                    chunks_pos at = {0, 0};
                    assert_int_equal(chunks_push(&p, &ch, &at), CHUNKS_OK);
                    *tslot(&p, at) = next;
                    ref[tail++ % 4096] = next++;
                } else {
                    assert_int_equal(*tslot(&p, chunks_front(&ch)),
                                     ref[head % 4096]);
                    chunks_pop(&p, &ch);
                    head++;
                }
                len = tail - head;
                assert_int_equal(ch.len, len);
                assert_true(p.used <= chunks_chain_max(per, len));
                if (len > 0) {
                    uint32_t k = (uint32_t)rand() % len;
                    assert_int_equal(*tslot(&p, chunks_nth(&p, &ch, k)),
                                     ref[(head + k) % 4096]);
                    assert_int_equal(*tslot(&p, chunks_back(&ch)),
                                     ref[(tail - 1) % 4096]);
                }
            }
            chunks_chain_free(&p, &ch);
            assert_int_equal(p.used, 0);
            chunks_fini(&p);
        }
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_init),
        cmocka_unit_test(test_get_put),
        cmocka_unit_test(test_chain),
        cmocka_unit_test(test_chain_max),
        cmocka_unit_test(test_chain_random),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
