/*
 * alloc_hook.h - count the allocations a stretch of code makes, for tests
 * of "allocates nothing": under AddressSanitizer a malloc hook counts
 * while hook_on() .. hook_off() are in force (the memcheck build has no
 * hook: the code runs, mallocs stays 0).
 *
 * Header-only (static functions): each test binary includes it once.
 */
#ifndef TW_TEST_ALLOC_HOOK_H
#define TW_TEST_ALLOC_HOOK_H

#include <stddef.h>

#if defined(__SANITIZE_ADDRESS__)
/* the sanitizer's hooks cannot be removed: they count while `counting` */
int __sanitizer_install_malloc_and_free_hooks(
    void (*malloc_hook)(const volatile void *, size_t),
    void (*free_hook)(const volatile void *));
static volatile int counting;
static volatile unsigned long mallocs;
static void count_malloc(const volatile void *p, size_t n)
{
    (void)p;
    (void)n;
    mallocs += counting ? 1 : 0;
}
static void ignore_free(const volatile void *p)
{
    (void)p;
}
static void hook_on(void)
{
    static int installed;

    if (!installed)
        installed = __sanitizer_install_malloc_and_free_hooks(count_malloc,
                                                              ignore_free);
    assert_true(installed);
    counting = 1;
}
static void hook_off(void)
{
    counting = 0;
}
#else
static volatile unsigned long mallocs;
static void hook_on(void)
{
}
static void hook_off(void)
{
}
#endif

#endif
