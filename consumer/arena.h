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
#define ARENA_NO_ASAN __attribute__((no_sanitize_address))
#else
#define ARENA_NO_ASAN
#endif

/* cJSON trees built on this thread from here to arena_end() use the arena
 * (the first call in the process installs the hooks).  The arena is empty
 * at this point. */
void arena_begin(void);

/* Done with the tree `root` (NULL: none) built since arena_begin(): its
 * malloc'd blocks, if any, are freed (cJSON_Delete, whose free hook
 * ignores the arena's), and every arena block goes at once.  Afterwards
 * this thread's cJSON allocations are malloc's again. */
void arena_end(cJSON *root);

#endif
