/*
 * A counting allocator for tests (struct utcp_allocator): the bytes and
 * blocks outstanding, and an optional failure after a number of
 * allocations. Test support only.
 */
#ifndef UTCP_TEST_COUNTALLOC_H
#define UTCP_TEST_COUNTALLOC_H

#include <stdlib.h>

#include "utcp/utcp.h"

struct counting {
    long long bytes, blocks;
    long long fail_after; /* allocations left before failing; -1: never */
};

static inline void *counting_alloc(void *ctx, size_t n)
{
    struct counting *k = ctx;
    if (k->fail_after == 0)
        return NULL;
    if (k->fail_after > 0)
        k->fail_after--;
    void *p = malloc(n);
    if (p) {
        k->bytes += (long long)n;
        k->blocks++;
    }
    return p;
}

static inline void counting_free(void *ctx, void *p, size_t n)
{
    struct counting *k = ctx;
    k->bytes -= (long long)n;
    k->blocks--;
    free(p);
}

/* An allocator over k, which starts empty and never failing. */
static inline struct utcp_allocator counting_allocator(struct counting *k)
{
    *k = (struct counting){0, 0, -1};
    return (struct utcp_allocator){counting_alloc, counting_free, k};
}

#endif
