/*
 * The runtime's transmit thread: the stack's packets go into a
 * single-producer single-consumer byte ring and a second thread writes them
 * to the TUN device (through a callback), so the kernel's processing of each written packet (its
 * whole TCP receive path, in the writer's context) runs beside the stack
 * instead of inside its loop. Order is kept; nothing is dropped for lack
 * of room: the producer waits while the ring is full, as a blocking write
 * would (the device's own refusals are counted as dropped). The
 * stack may build a packet in the ring itself (reserve, then commit).
 */
#define _GNU_SOURCE
#include "run/txq.h"

#include <errno.h>
#include <linux/futex.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "utcp/errors.h"

#define REC_ALIGN 64u /* records start on cache lines */
#define HUGE_PAGE (2u << 20)

/* The producer hands its records over (stores head, the line the writer
 * reads) every this many records, and at utcp_txq_flush: storing head for
 * each packet moved that cache line between the cores once per packet,
 * 15% of the stack thread's time in a plain-TUN upload. */
#define PUBLISH_EVERY 8u

/* A record in the ring: this header, then len bytes of packet. A header
 * with len == REC_PAD says "the rest up to the end is padding", REC_STOP
 * "write nothing more: end". */
#define REC_PAD UINT32_MAX
#define REC_STOP (UINT32_MAX - 1)
struct rec {
    uint32_t len;
    uint16_t gso_size, hdr_len;
    uint8_t has_meta, csum_partial;
};

struct utcp_txq {
    utcp_txq_write_fn write;
    void *ctx;
    uint8_t *ring;
    uint32_t size; /* a power of two */
    /* byte positions, growing modulo 2^32 (the futex words) */
    _Alignas(64) _Atomic uint32_t head; /* written by the producer */
    _Atomic uint32_t cons_waiting;
    _Alignas(64) _Atomic uint32_t tail; /* written by the consumer */
    _Atomic uint32_t prod_waiting;
    _Alignas(64) _Atomic uint64_t packets, bytes, dropped, errors;
    pthread_t thread;
    /* the producer's reservation (utcp_txq_reserve): the packet's place,
     * its largest length and the padding in front of its record */
    uint8_t *res;
    uint32_t res_len, res_pad;
    /* the producer's own view: the end of its records (head lags it by
     * the records not yet handed over, unpub of them), and tail as last
     * read (the writer only moves it forward: room seen there is there) */
    uint32_t ph, tcache, unpub;
};

static void futex_wait(_Atomic uint32_t *w, uint32_t val)
{
    syscall(SYS_futex, (uint32_t *)w, FUTEX_WAIT_PRIVATE, val, NULL, NULL,
            0);
}

static void futex_wake(_Atomic uint32_t *w)
{
    syscall(SYS_futex, (uint32_t *)w, FUTEX_WAKE_PRIVATE, 1, NULL, NULL, 0);
}

static uint32_t rec_space(uint32_t len)
{
    return (uint32_t)((sizeof(struct rec) + len + REC_ALIGN - 1) &
                      ~(REC_ALIGN - 1));
}

static void write_one(struct utcp_txq *q, const struct rec *h,
                      const uint8_t *pkt)
{
    struct utcp_output_meta meta = {h->gso_size, h->hdr_len,
                                    h->csum_partial != 0};
    long n = q->write(q->ctx, pkt, h->len, h->has_meta ? &meta : NULL);
    if (n >= 0) {
        atomic_fetch_add_explicit(&q->packets, 1, memory_order_relaxed);
        atomic_fetch_add_explicit(&q->bytes, h->len, memory_order_relaxed);
    } else if (n == UTCP_EAGAIN) {
        atomic_fetch_add_explicit(&q->dropped, 1, memory_order_relaxed);
    } else {
        atomic_fetch_add_explicit(&q->errors, 1, memory_order_relaxed);
    }
}

/* Whether a waiting producer is woken now, with head h and tail t: once a
 * quarter of the ring is free, or nothing is left to write. Woken for every
 * record it would take a futex call on each side per packet while a bulk
 * sender keeps the ring full; a record takes at most half the ring, so
 * what it waits for is there by then. */
static bool woken_room(const struct utcp_txq *q, uint32_t h, uint32_t t)
{
    return h == t || q->size - (h - t) >= q->size / 4;
}

static void *writer(void *arg)
{
    struct utcp_txq *q = arg;
    uint32_t t = atomic_load_explicit(&q->tail, memory_order_relaxed);
    for (;;) {
        uint32_t h = atomic_load_explicit(&q->head, memory_order_acquire);
        if (h == t) {
            /* Empty: announce the wait, then look again (the producer
             * stores head, then reads cons_waiting: one of us sees the
             * other). */
            atomic_store(&q->cons_waiting, 1);
            h = atomic_load(&q->head);
            if (h == t)
                futex_wait(&q->head, h);
            atomic_store(&q->cons_waiting, 0);
            continue;
        }
        while (t != h) {
            uint32_t off = t & (q->size - 1);
            struct rec r;
            memcpy(&r, q->ring + off, sizeof r);
            if (r.len == REC_PAD) {
                t += q->size - off;
                continue;
            }
            if (r.len == REC_STOP)
                return NULL;
            write_one(q, &r, q->ring + off + sizeof r);
            t += rec_space(r.len);
            /* Free the space record by record: the producer may be
             * waiting for it. Sequentially consistent, as the producer's
             * "store prod_waiting, load tail": a release store could pass
             * the load of prod_waiting below, and both sides sleep. */
            atomic_store(&q->tail, t);
            if (atomic_load(&q->prod_waiting) && woken_room(q, h, t))
                futex_wake(&q->tail);
        }
    }
    return NULL;
}

int utcp_txq_start(struct utcp_txq **out, utcp_txq_write_fn write, void *ctx,
                   uint32_t ring_bytes)
{
    uint32_t size = 1u << 16;
    while (size < ring_bytes && size < (1u << 30))
        size <<= 1;
    struct utcp_txq *q = calloc(1, sizeof *q);
    if (!q)
        return UTCP_ENOMEM;
    /* A ring of 2 MiB or more in huge pages where the kernel offers them
     * (transparent huge pages on request): 2 page faults instead of 1024
     * for 4 MiB as it first fills, and fewer TLB misses on both sides. */
    size_t align = size >= HUGE_PAGE ? HUGE_PAGE : REC_ALIGN;
    if (posix_memalign((void **)&q->ring, align, size) != 0) {
        free(q);
        return UTCP_ENOMEM;
    }
    if (align == HUGE_PAGE)
        (void)madvise(q->ring, size, MADV_HUGEPAGE); /* a hint: may fail */
    q->write = write;
    q->ctx = ctx;
    q->size = size;
    /* The thread takes no signals: the runtime reads them from a
     * signalfd in its own thread, and a signal handed to this one would
     * take the default action instead. */
    sigset_t all, old;
    sigfillset(&all);
    pthread_sigmask(SIG_SETMASK, &all, &old);
    int e = pthread_create(&q->thread, NULL, writer, q);
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    if (e) {
        free(q->ring);
        free(q);
        return e == EAGAIN ? UTCP_EAGAIN : UTCP_ENOMEM;
    }
    *out = q;
    return 0;
}

/* Waits for room for a record of need bytes at the head, with the padding
 * in front of it, which it returns: a record never wraps, so one that would
 * not fit before the end of the ring starts at offset 0. */
static uint32_t wait_room(struct utcp_txq *q, uint32_t need)
{
    uint32_t h = q->ph;
    uint32_t off = h & (q->size - 1);
    uint32_t pad = q->size - off < need ? q->size - off : 0;
    if (q->size - (h - q->tcache) >= pad + need)
        return pad; /* without touching the writer's cache line */
    for (;;) {
        q->tcache = atomic_load_explicit(&q->tail, memory_order_acquire);
        if (q->size - (h - q->tcache) >= pad + need)
            break;
        /* Full: what is not handed over yet must be, or the writer
         * never frees the room awaited. */
        utcp_txq_flush(q);
        /* Announce the wait, then look again (the consumer stores tail,
         * then reads prod_waiting: one of us sees the other). */
        atomic_store(&q->prod_waiting, 1);
        uint32_t t = atomic_load(&q->tail);
        if (q->size - (h - t) < pad + need)
            futex_wait(&q->tail, t);
        atomic_store(&q->prod_waiting, 0);
    }
    return pad;
}

/* Where the packet of the next record goes, after pad bytes of padding. */
static uint8_t *next_pkt(struct utcp_txq *q, uint32_t pad)
{
    return q->ring + ((q->ph + pad) & (q->size - 1)) + sizeof(struct rec);
}

void utcp_txq_flush(struct utcp_txq *q)
{
    if (!q->unpub)
        return;
    q->unpub = 0;
    /* Sequentially consistent: the store of head must come before the
     * load of cons_waiting (the writer stores cons_waiting, then loads
     * head: one of us sees the other). */
    atomic_store(&q->head, q->ph);
    if (atomic_load(&q->cons_waiting))
        futex_wake(&q->head);
}

/* Appends the padding and the record r (its packet bytes already in
 * place, at next_pkt(q, pad)), room for both made by wait_room, and hands
 * them over every PUBLISH_EVERY records. */
static void append(struct utcp_txq *q, const struct rec *r, uint32_t pad)
{
    uint32_t len = r->len == REC_STOP ? 0 : r->len;
    uint32_t h = q->ph;
    uint32_t off = h & (q->size - 1);
    if (pad) {
        struct rec p = {REC_PAD, 0, 0, 0, 0};
        memcpy(q->ring + off, &p, sizeof p);
        h += pad;
        off = 0;
    }
    memcpy(q->ring + off, r, sizeof *r);
    q->ph = h + rec_space(len);
    if (++q->unpub >= PUBLISH_EVERY)
        utcp_txq_flush(q);
}

/* Appends a record (header r, then r->len bytes of pkt unless it is a
 * stop record), waiting while the ring is full. */
static void put(struct utcp_txq *q, struct rec *r, const uint8_t *pkt)
{
    uint32_t len = r->len == REC_STOP ? 0 : r->len;
    q->res = NULL; /* voids a reservation */
    uint32_t pad = wait_room(q, rec_space(len));
    if (len && pkt) /* a stop record has neither */
        memcpy(next_pkt(q, pad), pkt, len);
    append(q, r, pad);
}

static struct rec make_rec(size_t len, const struct utcp_output_meta *meta)
{
    struct rec r = {(uint32_t)len, 0, 0, meta != NULL, 0};
    if (meta) {
        r.gso_size = meta->gso_size;
        r.hdr_len = meta->hdr_len;
        r.csum_partial = meta->csum_partial;
    }
    return r;
}

static bool too_long(const struct utcp_txq *q, size_t len)
{
    return len >= REC_STOP || rec_space((uint32_t)len) > q->size / 2;
}

int utcp_txq_push(struct utcp_txq *q, const uint8_t *pkt, size_t len,
                  const struct utcp_output_meta *meta)
{
    if (too_long(q, len))
        return UTCP_EINVAL;
    struct rec r = make_rec(len, meta);
    put(q, &r, pkt);
    return 0;
}

uint8_t *utcp_txq_reserve(struct utcp_txq *q, size_t len)
{
    q->res = NULL;
    if (too_long(q, len))
        return NULL;
    q->res_pad = wait_room(q, rec_space((uint32_t)len));
    q->res_len = (uint32_t)len;
    q->res = next_pkt(q, q->res_pad);
    return q->res;
}

int utcp_txq_commit(struct utcp_txq *q, size_t len,
                    const struct utcp_output_meta *meta)
{
    if (!q->res || len > q->res_len)
        return UTCP_EINVAL;
    q->res = NULL;
    struct rec r = make_rec(len, meta);
    append(q, &r, q->res_pad);
    return 0;
}

bool utcp_txq_over(struct utcp_txq *q, uint32_t limit)
{
    /* tcache only lags tail: a queue short by it is short */
    if (q->ph - q->tcache < limit)
        return false;
    q->tcache = atomic_load_explicit(&q->tail, memory_order_acquire);
    return q->ph - q->tcache >= limit;
}

bool utcp_txq_idle(const struct utcp_txq *q)
{
    struct utcp_txq *m = (struct utcp_txq *)(uintptr_t)q;
    /* tail moves past a record only after its write returned */
    return atomic_load_explicit(&m->tail, memory_order_acquire) == m->ph;
}

void utcp_txq_get_stats(const struct utcp_txq *q, struct utcp_txq_stats *out)
{
    struct utcp_txq *m = (struct utcp_txq *)(uintptr_t)q;
    out->packets = atomic_load_explicit(&m->packets, memory_order_relaxed);
    out->bytes = atomic_load_explicit(&m->bytes, memory_order_relaxed);
    out->dropped = atomic_load_explicit(&m->dropped, memory_order_relaxed);
    out->errors = atomic_load_explicit(&m->errors, memory_order_relaxed);
}

void utcp_txq_stop(struct utcp_txq *q)
{
    if (!q)
        return;
    /* Everything queued is written first, in order. */
    struct rec r = {REC_STOP, 0, 0, 0, 0};
    put(q, &r, NULL);
    utcp_txq_flush(q);
    pthread_join(q->thread, NULL);
    free(q->ring);
    free(q);
}
