/* lf_failalloc.h - allocation-failure injection for tests (no production code changes).
 *
 * A test executable linked with lf_failalloc_dep has malloc, calloc and realloc wrapped
 * (ld --wrap) in every object linked into it, the core library included; libc's own
 * allocations are not affected. By default every call goes through. lf_failalloc_arm(k, n)
 * makes the k-th call from now (0 = the next one) and the n-1 after it return NULL, so a
 * test can fail exactly the allocation it aims at and check that nothing is lost. Calls are
 * counted so a test can first measure how many allocations a step makes.
 * lf_failalloc_arm counts every thread's calls; lf_failalloc_arm_this_thread only the
 * arming thread's.
 */
#ifndef LF_FAILALLOC_H
#define LF_FAILALLOC_H

#include <stdint.h>

/* Fails `count` allocations starting `skip` calls from now. */
void lf_failalloc_arm(uint64_t skip, uint64_t count);
/* The same, counting and failing only the calling thread's allocations (other threads,
 * e.g. an output's worker, are never failed): deterministic in multi-threaded tests. */
void lf_failalloc_arm_this_thread(uint64_t skip, uint64_t count);
/* Lets every allocation through again (both kinds of arming). */
void lf_failalloc_disarm(void);
/* Allocation calls (malloc, calloc, realloc) seen since the start of the process. */
uint64_t lf_failalloc_calls(void);
/* Allocations failed on purpose since the start of the process. */
uint64_t lf_failalloc_failed(void);

#endif
