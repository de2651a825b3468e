/*
 * Byte buffers for one connection: a ring for the send and receive queues
 * (storage allocated on first use and returned when empty, so an idle
 * connection holds none), and a small set of sequence ranges that records
 * out-of-order data written into the receive ring ahead of rcv_nxt (the
 * reassembly queue: no allocation per segment, bounded by UTCP_REASS_MAX).
 */
#ifndef UTCP_BUF_H
#define UTCP_BUF_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "base/base.h"
#include "utcp/wire.h"

struct utcp_ring {
    uint8_t *data;  /* NULL until the first write */
    uint32_t cap;   /* capacity in bytes (the socket's buffer size) */
    uint32_t size;  /* bytes of storage held (0 with no storage): grows by
                       doubling up to cap as more bytes must be held */
    uint32_t hint;  /* size of the last storage released: storage taken
                       again starts there (a busy connection that empties
                       its ring often does not grow it again each time) */
    uint32_t head;  /* offset of the first byte in data */
    uint32_t len;   /* bytes stored from head */
    uint32_t ahead; /* bytes past the stored ones that write_at may have
                       filled (a high-water mark; appends and commits use it
                       up): while nonzero, consuming everything keeps head,
                       so that data stays where it was written */
};

/* Storage starts at this many bytes (or cap when smaller) and doubles when
 * more must be held: a connection that moves little data holds little. */
#define UTCP_RING_MIN 4096u

/* Sets up an empty ring of capacity cap (no storage yet). */
void utcp__ring_init(struct utcp_ring *r, uint32_t cap);
/* Frees the storage (the ring stays usable, empty: len, head and any data
 * held ahead are dropped). */
void utcp__ring_release(struct utcp_ring *r, const struct utcp_allocator *a);
/* Changes the capacity. Only allowed when empty (len == 0) and, for a new
 * capacity, when no storage is held (release it first: storage is freed
 * with its size); returns false otherwise. */
bool utcp__ring_set_cap(struct utcp_ring *r, uint32_t cap);
static inline uint32_t utcp__ring_free(const struct utcp_ring *r)
{
    return r->cap - r->len;
}
/* Appends up to n bytes from src; returns the count appended (0 when full
 * or when storage could not be allocated: check free space first to tell
 * them apart via utcp__ring_free). Storage is taken or grown as needed
 * (the bytes held move to the new storage). */
uint32_t utcp__ring_write(struct utcp_ring *r, const struct utcp_allocator *a,
                         const void *src, uint32_t n);
/* Zero-copy append: takes or grows storage so that up to want bytes more
 * (at most the free space) can be stored, points *p at the contiguous free
 * bytes after the stored ones and returns their count (may be less than
 * want when the free space wraps; 0 when full or storage could not be
 * allocated). The caller writes there and calls utcp__ring_commit. Only
 * for rings without bytes held ahead (send queues). */
uint32_t utcp__ring_reserve(struct utcp_ring *r, const struct utcp_allocator *a,
                           uint32_t want, uint8_t **p);
/* Copies n bytes from src just past the stored bytes (where the next
 * utcp__ring_write would put them) without storing them (len and the
 * held-ahead mark stay; utcp__ring_commit(n) later stores them), and
 * returns their Internet checksum partial sum added to sum (sum must cover
 * an even number of bytes): the receive path's copy and checksum
 * verification in one pass. Requires n <= free space and nothing held
 * ahead that matters (it is overwritten). False only if storage could not
 * be allocated. */
bool utcp__ring_place_csum(struct utcp_ring *r, const struct utcp_allocator *a,
                           const uint8_t *src, uint32_t n, uint32_t sum,
                           uint32_t *sum_out);
/* Writes n bytes at offset off past the end of the stored bytes (the byte
 * at len + off), without changing len: for out-of-order data. Requires
 * len + off + n <= cap. Returns false only if storage could not be
 * allocated. */
bool utcp__ring_write_at(struct utcp_ring *r, const struct utcp_allocator *a,
                        uint32_t off, const void *src, uint32_t n);
/* Makes n bytes previously written with write_at at offset 0.. part of the
 * stored bytes (len += n). */
void utcp__ring_commit(struct utcp_ring *r, uint32_t n);
/* Copies n bytes starting at offset off (off + n <= len) into dst. */
void utcp__ring_peek(const struct utcp_ring *r, uint32_t off, void *dst,
                    uint32_t n);
/* utcp__ring_peek that also returns the partial Internet checksum of the
 * bytes copied (utcp_csum_copy: one pass over the data). */
uint32_t utcp__ring_peek_csum(const struct utcp_ring *r, uint32_t off,
                              void *dst, uint32_t n);
/* The at most two contiguous spans holding bytes [off, off + n) (off + n <=
 * len); returns the number of spans: 0 when n == 0, 1 when the bytes are
 * contiguous (then *p2 = NULL, *n2 = 0), 2 when they wrap. The pointers are
 * valid until the next write, write_at, release or set_cap. */
int utcp__ring_spans(const struct utcp_ring *r, uint32_t off, uint32_t n,
                    const uint8_t **p1, uint32_t *n1, const uint8_t **p2,
                    uint32_t *n2);
/* Drops n bytes from the front (n <= len). When the ring becomes empty and
 * nothing is held ahead of it, head returns to 0 (the next bytes are stored
 * contiguously) and the caller may release it. */
void utcp__ring_consume(struct utcp_ring *r, uint32_t n);

#define UTCP_REASS_MAX 16

/* Disjoint, non-adjacent ranges [left, right) of sequence space, sorted.
 * recent/nrecent: left edges of the ranges reported most recently, newest
 * first, for a receiver's SACK blocks (RFC 2018 4; tcp/sack.c): kept with
 * the ranges, they go when the ranges do. The range functions here leave
 * them alone. */
struct utcp_ranges {
    uint8_t n;
    uint8_t nrecent;
    utcp_seq recent[UTCP_MAX_SACK_BLOCKS];
    struct {
        utcp_seq left, right;
    } r[UTCP_REASS_MAX];
};

static inline void utcp__ranges_init(struct utcp_ranges *s)
{
    s->n = 0;
    s->nrecent = 0;
}
/* Adds [left, right), merging with overlapping or adjacent ranges. Returns
 * false (and changes nothing) when the result would need more than
 * UTCP_REASS_MAX ranges (only a range disjoint from all others needs a new
 * slot). An empty range (right at or before left) adds nothing and returns
 * true. Sorting and merging are in sequence space relative to base (all
 * ranges, the new one included, lie in [base, base + 2^31)). */
bool utcp__ranges_add(struct utcp_ranges *s, utcp_seq base, utcp_seq left,
                     utcp_seq right);
/* If a range starts at or before `at` (and ends after it), removes it and
 * returns its right edge, else returns `at`. Ranges entirely before `at`
 * (right edge at or before it) are discarded. */
utcp_seq utcp__ranges_advance(struct utcp_ranges *s, utcp_seq at);
/* Discards everything before `at`: ranges ending at or before it go, and
 * a range that contains it is cut to start at it. */
void utcp__ranges_trim(struct utcp_ranges *s, utcp_seq at);
/* Whether [left, right) is entirely covered (an empty range always is). */
bool utcp__ranges_covers(const struct utcp_ranges *s, utcp_seq left,
                        utcp_seq right);

#endif
