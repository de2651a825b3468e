/*
 * Internal basics shared by every part of the library: time and sequence
 * types with wrap-safe comparison (RFC 9293 3.4), the pluggable allocator,
 * and small helpers. Nothing here has state.
 */
#ifndef UTCP_BASE_H
#define UTCP_BASE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "utcp/utcp.h"

/* Instants and durations in microseconds (the engine never reads a clock:
 * every instant comes from the caller). */
typedef uint64_t utcp_time;
typedef uint64_t utcp_dur;
#define UTCP_TIME_NEVER UINT64_MAX
#define UTCP_MS(x) ((utcp_dur)(x) * 1000u)
#define UTCP_SEC(x) ((utcp_dur)(x) * 1000000u)

/* Sequence numbers live modulo 2^32 (RFC 9293 3.4): compare only through
 * these helpers, never with < or >. */
typedef uint32_t utcp_seq;
static inline int32_t seq_diff(utcp_seq a, utcp_seq b)
{
    return (int32_t)(a - b);
}
static inline bool seq_lt(utcp_seq a, utcp_seq b)
{
    return seq_diff(a, b) < 0;
}
static inline bool seq_leq(utcp_seq a, utcp_seq b)
{
    return seq_diff(a, b) <= 0;
}
static inline bool seq_gt(utcp_seq a, utcp_seq b)
{
    return seq_diff(a, b) > 0;
}
static inline bool seq_geq(utcp_seq a, utcp_seq b)
{
    return seq_diff(a, b) >= 0;
}
/* a <= x < b in sequence space (the window test of RFC 9293 3.10.7.4). */
static inline bool seq_in(utcp_seq x, utcp_seq a, utcp_seq b)
{
    return seq_leq(a, x) && seq_lt(x, b);
}
static inline utcp_seq seq_max(utcp_seq a, utcp_seq b)
{
    return seq_gt(a, b) ? a : b;
}
static inline utcp_seq seq_min(utcp_seq a, utcp_seq b)
{
    return seq_lt(a, b) ? a : b;
}

static inline size_t utcp_min_sz(size_t a, size_t b)
{
    return a < b ? a : b;
}
static inline uint32_t utcp_min_u32(uint32_t a, uint32_t b)
{
    return a < b ? a : b;
}
static inline uint32_t utcp_max_u32(uint32_t a, uint32_t b)
{
    return a > b ? a : b;
}
static inline uint64_t utcp_min_u64(uint64_t a, uint64_t b)
{
    return a < b ? a : b;
}
static inline uint64_t utcp_max_u64(uint64_t a, uint64_t b)
{
    return a > b ? a : b;
}

/* The allocator given at stack creation (or malloc/free). Every allocation
 * passes its size to free so pool allocators need no headers. */
static inline void *utcp__alloc(const struct utcp_allocator *a, size_t size)
{
    return a->alloc(a->ctx, size);
}
static inline void utcp__free(const struct utcp_allocator *a, void *p,
                              size_t size)
{
    if (p)
        a->free(a->ctx, p, size);
}
/* The default allocator: malloc and free. */
extern const struct utcp_allocator utcp__default_allocator;

/* A hint that the cache line at p will be read (UTCP_PREFETCH) or written
 * (UTCP_PREFETCH_W) soon (GCC and Clang; no effect elsewhere). */
#if defined(__GNUC__) || defined(__clang__)
#define UTCP_PREFETCH(p) __builtin_prefetch(p)
#define UTCP_PREFETCH_W(p) __builtin_prefetch(p, 1)
#else
#define UTCP_PREFETCH(p) ((void)(p))
#define UTCP_PREFETCH_W(p) ((void)(p))
#endif
#define UTCP_ARRAY_LEN(a) (sizeof(a) / sizeof((a)[0]))
#define UTCP_CONTAINER_OF(ptr, type, member)                                   \
    ((type *)(void *)((char *)(ptr)-offsetof(type, member)))

#endif
