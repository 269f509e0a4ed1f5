/* lf_failalloc.c - ld --wrap hooks for malloc, calloc and realloc (see lf_failalloc.h). */
#include "lf_failalloc.h"

#include <stddef.h>

void *__real_malloc(size_t n);
void *__real_calloc(size_t k, size_t n);
void *__real_realloc(void *p, size_t n);
void *__wrap_malloc(size_t n);
void *__wrap_calloc(size_t k, size_t n);
void *__wrap_realloc(void *p, size_t n);

static uint64_t calls, fail_from = UINT64_MAX, fail_to = UINT64_MAX, failed;
static __thread uint64_t t_calls, t_fail_from = UINT64_MAX, t_fail_to = UINT64_MAX;

void lf_failalloc_arm(uint64_t skip, uint64_t count)
{
    uint64_t now = __atomic_load_n(&calls, __ATOMIC_SEQ_CST);
    fail_from = now + skip;
    fail_to = fail_from + count;
}

void lf_failalloc_arm_this_thread(uint64_t skip, uint64_t count)
{
    t_fail_from = t_calls + skip;
    t_fail_to = t_fail_from + count;
}

void lf_failalloc_disarm(void)
{
    fail_from = fail_to = UINT64_MAX;
    t_fail_from = t_fail_to = UINT64_MAX;
}

uint64_t lf_failalloc_calls(void)
{
    return __atomic_load_n(&calls, __ATOMIC_SEQ_CST);
}

uint64_t lf_failalloc_failed(void)
{
    return __atomic_load_n(&failed, __ATOMIC_SEQ_CST);
}

static int should_fail(void)
{
    uint64_t k = __atomic_fetch_add(&calls, 1, __ATOMIC_SEQ_CST);
    uint64_t tk = t_calls++;
    if ((k >= fail_from && k < fail_to) || (tk >= t_fail_from && tk < t_fail_to)) {
        __atomic_fetch_add(&failed, 1, __ATOMIC_SEQ_CST);
        return 1;
    }
    return 0;
}

void *__wrap_malloc(size_t n)
{
    return should_fail() ? NULL : __real_malloc(n);
}

void *__wrap_calloc(size_t k, size_t n)
{
    return should_fail() ? NULL : __real_calloc(k, n);
}

void *__wrap_realloc(void *p, size_t n)
{
    return should_fail() ? NULL : __real_realloc(p, n);
}
