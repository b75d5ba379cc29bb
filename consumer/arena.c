/*
 * arena.c - cJSON's allocation hooks over a per-thread bump arena (see
 * arena.h for why and the invariants).
 *
 * The state is one thread-local struct (struct arena_state): `left` is 0
 * outside a begin/end pair, which is what sends the hooks to malloc there,
 * and `spilled` records whether the current tree has blocks outside the
 * arena (only then must arena_end() walk it).  arena_begin() and
 * arena_end() are inline in arena.h (once per record each); here are the
 * hooks, which run about 40 times per record: the fast path of the
 * allocator is two compares and two adds.
 */
#include "consumer/arena.h"

#include <pthread.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

#ifdef ARENA_ASAN
#define REDZONE 16u
#else
#define ASAN_UNPOISON_MEMORY_REGION(a, n) ((void)(a), (void)(n))
#define REDZONE 0u
#endif

_Thread_local struct arena_state arena_state;
static pthread_once_t hooks_once = PTHREAD_ONCE_INIT;

/* cJSON's allocator: a bump of `next` while this thread is inside a
 * begin/end pair (left > 0) and the block fits, else malloc. */
__attribute__((hot))
static void *tree_alloc(size_t n)
{
    struct arena_state *a = &arena_state;

    if (n < a->left) {
        size_t need = (n + REDZONE + ARENA_ALIGN - 1) &
                      ~(size_t)(ARENA_ALIGN - 1);
        if (need <= a->left) {
            void *p = a->next;
            a->next += need;
            a->left -= need;
            ASAN_UNPOISON_MEMORY_REGION(p, n);
            return p;
        }
    }
    a->spilled |= a->next != NULL;
    return malloc(n);
}

__attribute__((hot))
static void tree_free(void *p)
{
    uintptr_t u = (uintptr_t)p, lo = (uintptr_t)arena_state.mem;

    if (u - lo < ARENA_BYTES)
        return; /* arena blocks go all at once, in arena_end() */
    free(p);
}

static void install_hooks(void)
{
    cJSON_Hooks h = {tree_alloc, tree_free};

    cJSON_InitHooks(&h);
}

void arena_hooks_install(void)
{
    pthread_once(&hooks_once, install_hooks);
    arena_state.hooks_seen = 1;
}
