/*
 * The runtime's watched-socket table (watch.h): utcp_sock handles to
 * callbacks, O(1) expected per operation. Must never grow for tombstones
 * (a server's connection churn), nor lose an entry on a rehash.
 */
#include "run/watch.h"

#include <stdlib.h>

#include "utcp/errors.h"

static size_t slot_of(utcp_sock sk, size_t cap)
{
    uint64_t h = sk * UINT64_C(0x9e3779b97f4a7c15);
    return (size_t)(h >> 17) & (cap - 1);
}

struct run_watch *utcp__watch_find(const struct utcp__watch_map *m,
                                   utcp_sock sk)
{
    if (!m->cap || sk == 0 || sk == UTCP__WATCH_TOMB)
        return NULL;
    for (size_t i = slot_of(sk, m->cap), n = 0; n < m->cap;
         i = (i + 1) & (m->cap - 1), n++) {
        if (m->slot[i].sk == 0)
            return NULL;
        if (m->slot[i].sk == sk)
            return &m->slot[i];
    }
    return NULL;
}

/* Rehashes into a table sized for the live entries (load <= 1/4), which
 * also clears the tombstones. */
static int rehash(struct utcp__watch_map *m)
{
    size_t ncap = 64;
    while (ncap < (m->count + 1) * 4)
        ncap *= 2;
    struct run_watch *ns = calloc(ncap, sizeof *ns);
    if (!ns)
        return UTCP_ENOMEM;
    for (size_t i = 0; i < m->cap; i++) {
        const struct run_watch *w = &m->slot[i];
        if (w->sk == 0 || w->sk == UTCP__WATCH_TOMB)
            continue;
        size_t j = slot_of(w->sk, ncap);
        while (ns[j].sk)
            j = (j + 1) & (ncap - 1);
        ns[j] = *w;
    }
    free(m->slot);
    m->slot = ns;
    m->cap = ncap;
    m->tomb = 0;
    return 0;
}

int utcp__watch_put(struct utcp__watch_map *m, utcp_sock sk,
                    utcp_run_sock_fn fn, void *ctx)
{
    if (sk == 0 || sk == UTCP__WATCH_TOMB || !fn)
        return UTCP_EINVAL;
    struct run_watch *w = utcp__watch_find(m, sk);
    if (w) {
        w->fn = fn;
        w->ctx = ctx;
        return 0;
    }
    /* Used slots (live and deleted) stay under half the table. */
    if ((m->count + m->tomb + 1) * 2 > m->cap) {
        int rc = rehash(m);
        if (rc)
            return rc;
    }
    size_t i = slot_of(sk, m->cap);
    while (m->slot[i].sk != 0 && m->slot[i].sk != UTCP__WATCH_TOMB)
        i = (i + 1) & (m->cap - 1);
    if (m->slot[i].sk == UTCP__WATCH_TOMB)
        m->tomb--;
    m->slot[i].sk = sk;
    m->slot[i].fn = fn;
    m->slot[i].ctx = ctx;
    m->count++;
    return 0;
}

int utcp__watch_del(struct utcp__watch_map *m, utcp_sock sk)
{
    struct run_watch *w = utcp__watch_find(m, sk);
    if (!w)
        return UTCP_ENOENT;
    w->sk = UTCP__WATCH_TOMB;
    w->fn = NULL;
    w->ctx = NULL;
    m->count--;
    m->tomb++;
    return 0;
}

void utcp__watch_free(struct utcp__watch_map *m)
{
    free(m->slot);
    m->slot = NULL;
    m->cap = m->count = m->tomb = 0;
}
