/*
 * Shared by the bench_*.c programs (header only; CMake builds bench_*.c):
 * an in-memory wire joining utcp stacks in one thread (one FIFO byte arena
 * per destination stack, a packet built by the stack straight into it
 * (utcp_config.output_buf) or copied there on output, handed to
 * utcp_input on delivery, optional seeded random loss), a counting
 * allocator, clocks, VmRSS and small helpers. No simulator, no logging.
 */
#ifndef UTCP_BENCH_MEMWIRE_H
#define UTCP_BENCH_MEMWIRE_H

#define _POSIX_C_SOURCE 200809L /* clock_gettime */

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "utcp/utcp.h"

/* ---- clocks ---- */
static inline double bw_now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static inline uint64_t bw_mono_us(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000u + (uint64_t)ts.tv_nsec / 1000u;
}

static inline uint64_t bw_mono_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

/* ---- a seeded PRNG (xorshift64*) ---- */
static inline uint64_t bw_rand(uint64_t *st)
{
    uint64_t x = *st;
    x ^= x >> 12;
    x ^= x << 25;
    x ^= x >> 27;
    *st = x;
    return x * 0x2545F4914F6CDD1DULL;
}

/* ---- resident memory (VmRSS of /proc/self/status), KiB; 0 if unknown ---- */
static inline long bw_rss_kib(void)
{
    FILE *f = fopen("/proc/self/status", "r");
    if (!f)
        return 0;
    char line[256];
    long kib = 0;
    while (fgets(line, sizeof line, f)) {
        if (strncmp(line, "VmRSS:", 6) == 0) {
            kib = strtol(line + 6, NULL, 10);
            break;
        }
    }
    fclose(f);
    return kib;
}

/* ---- a counting allocator (malloc/free underneath) ---- */
struct bw_count {
    size_t live, peak;          /* bytes */
    uint64_t nalloc, nfree;
};

static inline void *bw_count_alloc(void *ctx, size_t size)
{
    struct bw_count *c = ctx;
    void *p = malloc(size);
    if (p) {
        c->live += size;
        if (c->live > c->peak)
            c->peak = c->live;
        c->nalloc++;
    }
    return p;
}

static inline void bw_count_free(void *ctx, void *ptr, size_t size)
{
    struct bw_count *c = ctx;
    if (!ptr)
        return;
    c->live -= size;
    c->nfree++;
    free(ptr);
}

/* ---- a caching allocator: freed blocks are kept on a free list per exact
 * size and handed out again, never returned to malloc (what a slab or pool
 * in the engine would do); counts like bw_count ---- */
#define BW_POOL_CLASSES 64
struct bw_pool {
    struct bw_count count;
    struct {
        size_t size;
        void *head;
    } cls[BW_POOL_CLASSES];
    int ncls;
};

static inline void **bw_pool_list(struct bw_pool *p, size_t size)
{
    for (int i = 0; i < p->ncls; i++)
        if (p->cls[i].size == size)
            return &p->cls[i].head;
    if (p->ncls == BW_POOL_CLASSES)
        return NULL;
    p->cls[p->ncls].size = size;
    p->cls[p->ncls].head = NULL;
    return &p->cls[p->ncls++].head;
}

static inline void *bw_pool_alloc(void *ctx, size_t size)
{
    struct bw_pool *p = ctx;
    if (size < sizeof(void *))
        size = sizeof(void *);
    void **l = bw_pool_list(p, size);
    void *b;
    if (l && *l) {
        b = *l;
        memcpy(l, b, sizeof(void *));
    } else {
        b = malloc(size);
        if (!b)
            return NULL;
    }
    p->count.live += size;
    if (p->count.live > p->count.peak)
        p->count.peak = p->count.live;
    p->count.nalloc++;
    return b;
}

static inline void bw_pool_free(void *ctx, void *ptr, size_t size)
{
    struct bw_pool *p = ctx;
    if (!ptr)
        return;
    if (size < sizeof(void *))
        size = sizeof(void *);
    void **l = bw_pool_list(p, size);
    p->count.live -= size;
    p->count.nfree++;
    if (!l) {
        free(ptr);
        return;
    }
    memcpy(ptr, l, sizeof(void *));
    *l = ptr;
}

static inline void bw_pool_destroy(struct bw_pool *p)
{
    for (int i = 0; i < p->ncls; i++) {
        void *b = p->cls[i].head;
        while (b) {
            void *next;
            memcpy(&next, b, sizeof next);
            free(b);
            b = next;
        }
        p->cls[i].head = NULL;
    }
}

/* ---- the wire ---- */

/* One destination's queue: a byte arena of records {len, pad} + packet,
 * FIFO. Reset to the start whenever it empties, so a short queue stays hot
 * in cache. Pushing never happens to a queue being drained (a stack never
 * sends to itself), so the arena may grow by realloc. */
struct bw_queue {
    uint8_t *buf;
    size_t cap, head, tail;
    uint64_t npkts;            /* packets pushed, ever */
};

#define BW_REC_HDR 16u

/* Room for a record of len packet bytes at the tail; returns where the
 * packet goes (valid until the next reserve or push to this queue). */
static inline uint8_t *bw_queue_reserve(struct bw_queue *q, size_t len)
{
    size_t need = BW_REC_HDR + ((len + 15u) & ~(size_t)15u);
    if (q->tail + need > q->cap) {
        size_t ncap = q->cap ? q->cap * 2 : (size_t)1 << 20;
        while (ncap < q->tail + need)
            ncap *= 2;
        uint8_t *nb = realloc(q->buf, ncap);
        if (!nb) {
            fprintf(stderr, "memwire: out of memory\n");
            exit(1);
        }
        q->buf = nb;
        q->cap = ncap;
    }
    return q->buf + q->tail + BW_REC_HDR;
}

/* Appends the record whose len packet bytes are in place at the tail (at
 * the pointer bw_queue_reserve returned, for at least len bytes). */
static inline void bw_queue_commit(struct bw_queue *q, size_t len)
{
    uint32_t l32 = (uint32_t)len;
    memcpy(q->buf + q->tail, &l32, sizeof l32);
    q->tail += BW_REC_HDR + ((len + 15u) & ~(size_t)15u);
    q->npkts++;
}

static inline void bw_queue_push(struct bw_queue *q, const uint8_t *pkt,
                                 size_t len)
{
    memcpy(bw_queue_reserve(q, len), pkt, len);
    bw_queue_commit(q, len);
}

/* Pops the oldest packet: its bytes stay valid until the next push to this
 * queue. */
static inline bool bw_queue_pop(struct bw_queue *q, const uint8_t **pkt,
                                size_t *len)
{
    if (q->head == q->tail) {
        q->head = q->tail = 0;
        return false;
    }
    uint32_t l32;
    memcpy(&l32, q->buf + q->head, sizeof l32);
    *pkt = q->buf + q->head + BW_REC_HDR;
    *len = l32;
    q->head += BW_REC_HDR + ((l32 + 15u) & ~(size_t)15u);
    return true;
}

struct bw_wire;
struct bw_end {
    struct bw_wire *w;
    int idx;
    uint8_t *res;               /* the buffer lent by bw_output_buf, or
                                   NULL */
    int res_dst;                /* the queue it is in */
};

/* Stacks 0..n-1 have addresses base_addr + i. */
struct bw_wire {
    int n;
    uint32_t base_addr;
    struct utcp_stack **st;
    struct bw_end *ends;
    struct bw_queue *q;         /* q[i]: packets on their way to stack i */
    uint64_t loss_thresh;       /* drop when bw_rand() < loss_thresh */
    uint64_t rng;
    uint64_t dropped, unroutable, delivered;
    uint64_t data_pkts[2];      /* packets carrying payload, sent by stack
                                   0 / by any other, dropped included */
    uint64_t now;               /* the time handed to utcp_input */
};

static inline uint32_t bw_get32(const uint8_t *p)
{
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 |
           p[3];
}

/* Payload bytes of an IPv4+TCP packet (0 when not TCP). */
static inline size_t bw_tcp_payload(const uint8_t *pkt, size_t len)
{
    if (len < 40 || pkt[9] != 6)
        return 0;
    size_t ihl = (size_t)(pkt[0] & 15u) * 4u;
    if (len < ihl + 20)
        return 0;
    size_t doff = (size_t)(pkt[ihl + 12] >> 4) * 4u;
    size_t tot = (size_t)pkt[2] << 8 | pkt[3];
    return tot > ihl + doff ? tot - ihl - doff : 0;
}

/* utcp_config.output_buf: the stack builds its packet for dst straight
 * into that destination's arena; bw_output then commits it. Never into
 * the sender's own queue, which may be being drained. */
static inline uint8_t *bw_output_buf(void *ctx, uint32_t dst, size_t len)
{
    struct bw_end *e = ctx;
    uint32_t d = dst - e->w->base_addr;
    e->res = NULL;
    if (d >= (uint32_t)e->w->n || (int)d == e->idx)
        return NULL;
    e->res = bw_queue_reserve(&e->w->q[d], len);
    e->res_dst = (int)d;
    return e->res;
}

static inline void bw_output(void *ctx, const uint8_t *pkt, size_t len)
{
    struct bw_end *e = ctx;
    struct bw_wire *w = e->w;
    bool built = pkt == e->res; /* in the arena, by output_buf's grace */
    e->res = NULL;
    if (len < 20) {
        w->unroutable++;
        return;
    }
    if (bw_tcp_payload(pkt, len))
        w->data_pkts[e->idx == 0 ? 0 : 1]++;
    if (w->loss_thresh && bw_rand(&w->rng) < w->loss_thresh) {
        w->dropped++;
        return;
    }
    uint32_t dst = bw_get32(pkt + 16) - w->base_addr;
    if (dst >= (uint32_t)w->n) {
        w->unroutable++;
        return;
    }
    if (built && (int)dst == e->res_dst)
        bw_queue_commit(&w->q[dst], len);
    else
        bw_queue_push(&w->q[dst], pkt, len);
}

/* Creates n stacks from cfg (address, output and seed filled in per
 * stack); allocs[i] (may be NULL) is stack i's allocator. Exits on error. */
static inline void bw_wire_init(struct bw_wire *w, int n, uint32_t base_addr,
                                const struct utcp_config *cfg,
                                const struct utcp_allocator *allocs)
{
    memset(w, 0, sizeof *w);
    w->n = n;
    w->base_addr = base_addr;
    w->st = calloc((size_t)n, sizeof *w->st);
    w->ends = calloc((size_t)n, sizeof *w->ends);
    w->q = calloc((size_t)n, sizeof *w->q);
    if (!w->st || !w->ends || !w->q) {
        fprintf(stderr, "memwire: out of memory\n");
        exit(1);
    }
    w->rng = 0x9E3779B97F4A7C15ULL;
    for (int i = 0; i < n; i++) {
        w->ends[i].w = w;
        w->ends[i].idx = i;
        struct utcp_config c = *cfg;
        c.addr = base_addr + (uint32_t)i;
        c.output = bw_output;
        c.output_buf = bw_output_buf;
        c.output_ctx = &w->ends[i];
        c.seed = cfg->seed * 1000003u + (uint64_t)i + 1u;
        if (allocs)
            c.allocator = &allocs[i];
        int r = utcp_stack_create(&c, &w->st[i]);
        if (r != 0) {
            fprintf(stderr, "memwire: utcp_stack_create: %d\n", r);
            exit(1);
        }
    }
}

static inline void bw_wire_destroy(struct bw_wire *w)
{
    for (int i = 0; i < w->n; i++) {
        utcp_stack_destroy(w->st[i]);
        free(w->q[i].buf);
    }
    free(w->st);
    free(w->ends);
    free(w->q);
}

/* Delivers everything in flight (and whatever that provokes) at w->now.
 * Returns the number of packets delivered. */
static inline uint64_t bw_pump(struct bw_wire *w)
{
    uint64_t total = 0;
    for (;;) {
        uint64_t moved = 0;
        for (int i = 0; i < w->n; i++) {
            const uint8_t *pkt;
            size_t len;
            while (bw_queue_pop(&w->q[i], &pkt, &len)) {
                utcp_input(w->st[i], w->now, pkt, len);
                moved++;
            }
        }
        if (!moved)
            break;
        total += moved;
    }
    w->delivered += total;
    return total;
}

/* Ticks every stack whose deadline has come; returns the earliest next
 * deadline of all (UINT64_MAX: none). */
static inline uint64_t bw_tick_due(struct bw_wire *w)
{
    uint64_t next = UINT64_MAX;
    for (int i = 0; i < w->n; i++) {
        uint64_t d = utcp_next_deadline(w->st[i]);
        if (d <= w->now)
            d = utcp_tick(w->st[i], w->now);
        if (d < next)
            next = d;
    }
    return next;
}

static inline bool bw_wire_idle(const struct bw_wire *w)
{
    for (int i = 0; i < w->n; i++)
        if (w->q[i].head != w->q[i].tail)
            return false;
    return true;
}

/* ---- command line ---- */
static inline bool bw_arg_double(const char *prog, const char *name,
                                 const char *v, double lo, double hi,
                                 double *out)
{
    char *end;
    double x = strtod(v, &end);
    if (*end != '\0' || !(x >= lo && x <= hi)) {
        fprintf(stderr, "%s: %s wants a number in [%g, %g]\n", prog, name, lo,
                hi);
        return false;
    }
    *out = x;
    return true;
}

/* The command line as one string (for "command:" lines). */
static inline const char *bw_cmdline(int argc, char **argv)
{
    static char buf[1024];
    size_t used = 0;
    buf[0] = 0;
    for (int i = 0; i < argc && used < sizeof buf; i++) {
        int k = snprintf(buf + used, sizeof buf - used, "%s%s", i ? " " : "",
                         argv[i]);
        if (k < 0)
            break;
        used += (size_t)k;
    }
    return buf;
}

#endif
