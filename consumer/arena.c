/*
 * arena.c - cJSON's allocation hooks over a per-thread bump arena (see
 * arena.h for why and the invariants).
 *
 * The state is one thread-local struct: `left` is 0 outside a begin/end
 * pair, which is what sends the hooks to malloc there, and `spilled`
 * records whether the current tree has blocks outside the arena (only
 * then must arena_end() walk it).  The hooks run about 40 times per record:
 * the fast path of the allocator is two compares and two adds.
 */
#include "consumer/arena.h"

#include <pthread.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

#ifdef ARENA_ASAN
#include <sanitizer/asan_interface.h>
#define REDZONE 16u
#else
#define ASAN_POISON_MEMORY_REGION(a, n) ((void)(a), (void)(n))
#define ASAN_UNPOISON_MEMORY_REGION(a, n) ((void)(a), (void)(n))
#define REDZONE 0u
#endif

struct arena {
    size_t left;          /* bytes still free; 0 outside a begin/end pair */
    unsigned char *next;  /* the next free byte */
    int spilled;          /* a block of this tree came from malloc */
    int hooks_seen;       /* this thread saw the hooks installed */
    _Alignas(ARENA_ALIGN) unsigned char mem[ARENA_BYTES];
};

static _Thread_local struct arena arena;
static pthread_once_t hooks_once = PTHREAD_ONCE_INIT;

/* cJSON's allocator: a bump of `next` while this thread is inside a
 * begin/end pair (left > 0) and the block fits, else malloc. */
__attribute__((hot))
static void *tree_alloc(size_t n)
{
    struct arena *a = &arena;

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
    uintptr_t u = (uintptr_t)p, lo = (uintptr_t)arena.mem;

    if (u - lo < ARENA_BYTES)
        return; /* arena blocks go all at once, in arena_end() */
    free(p);
}

/* Once per process. */
static void install_hooks(void)
{
    cJSON_Hooks h = {tree_alloc, tree_free};

    cJSON_InitHooks(&h);
}

__attribute__((hot))
void arena_begin(void)
{
    struct arena *a = &arena;

    if (!a->hooks_seen) { /* no call into libc per record */
        pthread_once(&hooks_once, install_hooks);
        a->hooks_seen = 1;
    }
    a->next = a->mem;
    a->left = ARENA_BYTES;
    a->spilled = 0;
    ASAN_POISON_MEMORY_REGION(a->mem, ARENA_BYTES);
}

__attribute__((hot))
void arena_end(cJSON *root)
{
    struct arena *a = &arena;

    if (a->spilled)
        cJSON_Delete(root);
    a->next = NULL;
    a->left = 0;
    ASAN_POISON_MEMORY_REGION(a->mem, ARENA_BYTES);
}
