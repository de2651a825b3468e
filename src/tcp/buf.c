/*
 * Connection byte buffers: the send/receive ring (storage taken from the
 * allocator on first write, doubled up to cap bytes as more must be held,
 * returned by release) and the
 * reassembly ranges (RFC 9293 3.10.7.4 "text", sequence arithmetic of 3.4).
 * Never allocates elsewhere, never touches memory outside [data, data + size).
 */
#include <assert.h>
#include <string.h>

#include "tcp/buf.h"
#include "utcp/wire.h"

/* ------------------------------------------------------------------------
 * Ring
 * ------------------------------------------------------------------------ */

/* Index in data of the byte at offset off from head (off <= size), computed
 * without ever forming head + off, which could overflow near 2^32. */
static uint32_t ring_pos(const struct utcp_ring *r, uint32_t off)
{
    uint32_t room = r->size - r->head;
    return off < room ? r->head + off : off - room;
}

/* Copies n bytes from src to offset off from head, wrapping at the end of the storage. */
static void ring_copy_in(struct utcp_ring *r, uint32_t off, const uint8_t *src,
                         uint32_t n)
{
    uint32_t pos = ring_pos(r, off);
    uint32_t first = utcp_min_u32(n, r->size - pos);
    memcpy(r->data + pos, src, first);
    if (n > first)
        memcpy(r->data, src + first, n - first);
}

/* Makes the storage hold at least need bytes from head (need <= cap):
 * takes it on first use, else doubles it, moving the bytes held (stored
 * and held ahead) to the start of the new storage. A failed allocation
 * leaves the ring as it was. */
static bool ring_storage(struct utcp_ring *r, const struct utcp_allocator *a,
                         uint32_t need)
{
    if (r->data && need <= r->size)
        return true;
    uint32_t size = r->size ? r->size : utcp_max_u32(UTCP_RING_MIN, r->hint);
    while (size < need && size < r->cap)
        size = size > UINT32_MAX / 2 ? UINT32_MAX : size * 2;
    size = utcp_min_u32(size, r->cap);
    uint8_t *p = utcp__alloc(a, size);
    if (!p)
        return false;
    if (r->data) {
        uint32_t held = r->len + r->ahead;
        uint32_t first = utcp_min_u32(held, r->size - r->head);
        memcpy(p, r->data + r->head, first);
        memcpy(p + first, r->data, held - first);
        utcp__free(a, r->data, r->size);
    }
    r->data = p;
    r->size = size;
    r->head = 0;
    return true;
}

/* n bytes more are stored: the region held ahead starts n bytes later. */
static void ring_grow(struct utcp_ring *r, uint32_t n)
{
    r->len += n;
    r->ahead = r->ahead > n ? r->ahead - n : 0;
}

void utcp__ring_init(struct utcp_ring *r, uint32_t cap)
{
    r->data = NULL;
    r->cap = cap;
    r->size = 0;
    r->hint = 0;
    r->head = 0;
    r->len = 0;
    r->ahead = 0;
}

void utcp__ring_release(struct utcp_ring *r, const struct utcp_allocator *a)
{
    utcp__free(a, r->data, r->size);
    if (r->data)
        r->hint = r->size;
    r->data = NULL;
    r->size = 0;
    r->head = 0;
    r->len = 0;
    r->ahead = 0;
}

bool utcp__ring_set_cap(struct utcp_ring *r, uint32_t cap)
{
    if (r->len != 0)
        return false;
    if (cap == r->cap)
        return true;
    /* The storage is freed with its size, so it must go first. */
    if (r->data)
        return false;
    r->cap = cap;
    r->head = 0;
    r->ahead = 0;
    return true;
}

uint32_t utcp__ring_write(struct utcp_ring *r, const struct utcp_allocator *a,
                         const void *src, uint32_t n)
{
    n = utcp_min_u32(n, utcp__ring_free(r));
    if (n == 0 || !ring_storage(r, a, r->len + n))
        return 0;
    ring_copy_in(r, r->len, src, n);
    ring_grow(r, n);
    return n;
}

uint32_t utcp__ring_reserve(struct utcp_ring *r, const struct utcp_allocator *a,
                           uint32_t want, uint8_t **p)
{
    assert(r->ahead == 0);
    want = utcp_min_u32(utcp_max_u32(want, 1), utcp__ring_free(r));
    if (want == 0 || !ring_storage(r, a, r->len + want))
        return 0;
    uint32_t tail = ring_pos(r, r->len);
    *p = r->data + tail;
    /* Free bytes run from tail to the end of the storage, or to head when
     * the stored bytes wrap (tail is then before head). */
    return tail >= r->head ? r->size - tail : r->head - tail;
}

bool utcp__ring_place_csum(struct utcp_ring *r, const struct utcp_allocator *a,
                           const uint8_t *src, uint32_t n, uint32_t sum,
                           uint32_t *sum_out)
{
    assert(n <= utcp__ring_free(r));
    if (n == 0) {
        *sum_out = sum;
        return true;
    }
    if (!ring_storage(r, a, r->len + n))
        return false;
    uint32_t pos = ring_pos(r, r->len);
    uint32_t first = utcp_min_u32(n, r->size - pos);
    if (first == n || (first & 1u) == 0) {
        sum = utcp_csum_copy(r->data + pos, src, first, sum);
        if (first < n)
            sum = utcp_csum_copy(r->data, src + first, n - first, sum);
    } else {
        /* Sums chain only at even offsets (RFC 1071 byte pairs): the
         * rare odd split is summed from the source, then copied. */
        sum = utcp_csum_partial(src, n, sum);
        ring_copy_in(r, r->len, src, n);
    }
    *sum_out = sum;
    return true;
}

bool utcp__ring_write_at(struct utcp_ring *r, const struct utcp_allocator *a,
                        uint32_t off, const void *src, uint32_t n)
{
    assert((uint64_t)r->len + off + n <= r->cap);
    if (n == 0)
        return true;
    if (!ring_storage(r, a, r->len + off + n))
        return false;
    ring_copy_in(r, r->len + off, src, n);
    if (off + n > r->ahead)
        r->ahead = off + n;
    return true;
}

void utcp__ring_commit(struct utcp_ring *r, uint32_t n)
{
    assert(n <= utcp__ring_free(r));
    ring_grow(r, n);
}

void utcp__ring_peek(const struct utcp_ring *r, uint32_t off, void *dst,
                    uint32_t n)
{
    const uint8_t *p1, *p2;
    uint32_t n1, n2;
    int k = utcp__ring_spans(r, off, n, &p1, &n1, &p2, &n2);
    if (k >= 1)
        memcpy(dst, p1, n1);
    if (k == 2)
        memcpy((uint8_t *)dst + n1, p2, n2);
}

uint32_t utcp__ring_peek_csum(const struct utcp_ring *r, uint32_t off,
                              void *dst, uint32_t n)
{
    const uint8_t *p1, *p2;
    uint32_t n1, n2;
    int k = utcp__ring_spans(r, off, n, &p1, &n1, &p2, &n2);
    if (k == 0)
        return 0;
    if (k == 2 && (n1 & 1u)) {
        /* Sums chain only at even offsets (RFC 1071 byte pairs): copy, then
         * sum the contiguous copy. */
        memcpy(dst, p1, n1);
        memcpy((uint8_t *)dst + n1, p2, n2);
        return utcp_csum_partial(dst, n, 0);
    }
    uint32_t s = utcp_csum_copy(dst, p1, n1, 0);
    if (k == 2)
        s = utcp_csum_copy((uint8_t *)dst + n1, p2, n2, s);
    return s;
}

int utcp__ring_spans(const struct utcp_ring *r, uint32_t off, uint32_t n,
                    const uint8_t **p1, uint32_t *n1, const uint8_t **p2,
                    uint32_t *n2)
{
    assert((uint64_t)off + n <= r->len);
    *p2 = NULL;
    *n2 = 0;
    if (n == 0) {
        *p1 = NULL;
        *n1 = 0;
        return 0;
    }
    uint32_t pos = ring_pos(r, off);
    uint32_t first = utcp_min_u32(n, r->size - pos);
    *p1 = r->data + pos;
    *n1 = first;
    if (first == n)
        return 1;
    *p2 = r->data;
    *n2 = n - first;
    return 2;
}

void utcp__ring_consume(struct utcp_ring *r, uint32_t n)
{
    assert(n <= r->len);
    r->head = ring_pos(r, n);
    r->len -= n;
    /* Bytes held ahead sit at fixed places in data: keep head for them. */
    if (r->len == 0 && r->ahead == 0)
        r->head = 0;
}

/* ------------------------------------------------------------------------
 * Ranges. Every comparison in add is of offsets from base (unsigned, exact
 * for the 2^31 span the contract allows); advance and covers have no base
 * and compare with the wrap-safe seq_* helpers (RFC 9293 3.4).
 * ------------------------------------------------------------------------ */

bool utcp__ranges_add(struct utcp_ranges *s, utcp_seq base, utcp_seq left,
                     utcp_seq right)
{
    uint32_t l = left - base, rr = right - base;
    size_t n = s->n, i = 0, j;

    if (rr <= l)
        return true;
    /* [i, j): the ranges that overlap or touch [left, right). */
    while (i < n && s->r[i].right - base < l)
        i++;
    j = i;
    while (j < n && s->r[j].left - base <= rr)
        j++;

    if (i == j) {
        /* Disjoint: the only case that needs one more slot. */
        if (n >= UTCP_REASS_MAX)
            return false;
        memmove(&s->r[i + 1], &s->r[i], (n - i) * sizeof s->r[0]);
        s->r[i].left = left;
        s->r[i].right = right;
        s->n = (uint8_t)(n + 1);
        return true;
    }
    if (s->r[i].left - base < l)
        left = s->r[i].left;
    if (s->r[j - 1].right - base > rr)
        right = s->r[j - 1].right;
    s->r[i].left = left;
    s->r[i].right = right;
    memmove(&s->r[i + 1], &s->r[j], (n - j) * sizeof s->r[0]);
    s->n = (uint8_t)(n - (j - i - 1));
    return true;
}

utcp_seq utcp__ranges_advance(struct utcp_ranges *s, utcp_seq at)
{
    size_t n = s->n, k = 0;
    utcp_seq next = at;

    while (k < n && seq_leq(s->r[k].right, at))
        k++;
    /* Ranges never touch, so at most one range continues from here. */
    if (k < n && seq_leq(s->r[k].left, at)) {
        next = s->r[k].right;
        k++;
    }
    if (k > 0) {
        memmove(&s->r[0], &s->r[k], (n - k) * sizeof s->r[0]);
        s->n = (uint8_t)(n - k);
    }
    return next;
}

void utcp__ranges_trim(struct utcp_ranges *s, utcp_seq at)
{
    size_t n = s->n, k = 0;
    while (k < n && seq_leq(s->r[k].right, at))
        k++;
    if (k > 0) {
        memmove(&s->r[0], &s->r[k], (n - k) * sizeof s->r[0]);
        s->n = (uint8_t)(n - k);
    }
    if (s->n > 0 && seq_lt(s->r[0].left, at))
        s->r[0].left = at;
}

bool utcp__ranges_covers(const struct utcp_ranges *s, utcp_seq left,
                        utcp_seq right)
{
    if (seq_leq(right, left))
        return true;
    /* Merged ranges never touch: a covered span lies in a single range. */
    for (size_t i = 0; i < s->n; i++) {
        if (seq_gt(s->r[i].left, left))
            break;
        if (seq_geq(s->r[i].right, right))
            return true;
    }
    return false;
}
