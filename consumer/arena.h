/*
 * arena.h - the memory of the cJSON trees parsed on the event path: a
 * per-thread bump arena behind cJSON's allocation hooks.
 *
 * Why: cJSON allocates one block per value and one per string (about 45
 * for a typical audit record), and with the C library's malloc/free those
 * calls cost as much as the parsing itself.  cJSON only takes process-wide
 * hooks (cJSON_InitHooks), so they are installed once, at the first
 * arena_begin() of the process, and serve blocks from the calling thread's
 * arena only between that thread's arena_begin() and arena_end(); at any
 * other time, on any thread, they are plain malloc/free, so cJSON used
 * elsewhere (configuration, journal) is unaffected.
 *
 * Invariants:
 *  - memory stays bounded: ARENA_BYTES per thread that parses; a tree
 *    larger than that continues in malloc'd blocks, which the free hook
 *    tells apart by address and cJSON_Delete frees;
 *  - arena_end() releases every arena block at once: nothing is freed
 *    block by block, and a tree wholly in the arena is not even walked by
 *    cJSON_Delete; no pointer into the tree is valid after it;
 *  - every block starts ARENA_ALIGN-aligned (the arena's by construction,
 *    malloc's on x86-64), which the decoder's aligned 16-byte loads rely
 *    on (consumer/decode.c);
 *  - under AddressSanitizer the arena is poisoned except for live blocks,
 *    each followed by a poisoned red zone, so overflows and stale pointers
 *    are still caught; code that reads whole aligned 16-byte granules past
 *    a string's end must be marked ARENA_NO_ASAN.
 *
 * One begin/end pair at a time per thread (no nesting).  Not for trees
 * that must outlive the pair.
 */
#ifndef TW_ARENA_H
#define TW_ARENA_H

#include <cjson/cJSON.h>

/* 32 KB holds the tree of a record of about 8 KB of JSON (a typical audit
 * record is 0.5 KB and its tree 2.5 KB). */
#define ARENA_BYTES (32u * 1024u)
#define ARENA_ALIGN 16u

#if defined(__SANITIZE_ADDRESS__)
#define ARENA_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define ARENA_ASAN 1
#endif
#endif

/* For a function that loads aligned 16-byte granules of a tree's strings
 * beyond their NUL: those bytes may be a red zone (see above). */
#ifdef ARENA_ASAN
#include <sanitizer/asan_interface.h>
#define ARENA_NO_ASAN __attribute__((no_sanitize_address))
#define ARENA_POISON(p, n) ASAN_POISON_MEMORY_REGION((p), (n))
#else
#define ARENA_NO_ASAN
#define ARENA_POISON(p, n) ((void)(p), (void)(n))
#endif

/* The calling thread's arena.  Private: only arena_begin(), arena_end()
 * and arena.c touch it.  It is visible (not behind a function) because the
 * decoder enters and leaves it once per record: the two calls inline to a
 * few stores (out of line they cost 20 instructions per record,
 * bench_event).  A thread-local global, not a context pointer, because
 * cJSON's hooks are process-wide and take no context.  The local-exec TLS
 * model (one %fs-relative access, no GOT load) holds because this code is
 * only ever linked into executables (the service, tests, benchmarks,
 * fuzzers); linked into a shared library it would fail at link time, not
 * misbehave. */
struct arena_state {
    size_t left;          /* bytes still free; 0 outside a begin/end pair */
    unsigned char *next;  /* the next free byte */
    int spilled;          /* a block of this tree came from malloc */
    int hooks_seen;       /* this thread saw the hooks installed */
    _Alignas(ARENA_ALIGN) unsigned char mem[ARENA_BYTES];
};

extern _Thread_local struct arena_state arena_state
    __attribute__((tls_model("local-exec")));

/* arena_begin()'s first call on each thread: installs cJSON's hooks once
 * per process (pthread_once) and marks the thread as having seen them.
 * Not for other callers. */
void arena_hooks_install(void);

/* cJSON trees built on this thread from here to arena_end() use the arena
 * (the first call in the process installs the hooks).  The arena is empty
 * at this point. */
__attribute__((hot))
static inline void arena_begin(void)
{
    struct arena_state *a = &arena_state;

    if (!a->hooks_seen) /* no call into libc per record */
        arena_hooks_install();
    a->next = a->mem;
    a->left = ARENA_BYTES;
    a->spilled = 0;
    ARENA_POISON(a->mem, ARENA_BYTES);
}

/* Done with the tree `root` (NULL: none) built since arena_begin(): its
 * malloc'd blocks, if any, are freed (cJSON_Delete, whose free hook
 * ignores the arena's), and every arena block goes at once.  Afterwards
 * this thread's cJSON allocations are malloc's again. */
__attribute__((hot))
static inline void arena_end(cJSON *root)
{
    struct arena_state *a = &arena_state;

    if (a->spilled)
        cJSON_Delete(root);
    a->next = NULL;
    a->left = 0;
    ARENA_POISON(a->mem, ARENA_BYTES);
}

#endif
