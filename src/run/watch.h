/*
 * The runtime's table of watched sockets: utcp_sock -> callback, open
 * addressing with linear probing and tombstones, sized for the live
 * entries (churn never grows it). Internal to src/run.
 */
#ifndef UTCP_RUN_WATCH_H
#define UTCP_RUN_WATCH_H

#include <stddef.h>
#include <stdint.h>

#include "utcp/run.h"

#define UTCP__WATCH_TOMB UINT64_MAX /* a deleted slot's sk (0: empty) */

struct run_watch {
    utcp_sock sk; /* 0: empty; UTCP__WATCH_TOMB: deleted */
    utcp_run_sock_fn fn;
    void *ctx;
};

struct utcp__watch_map {
    struct run_watch *slot;
    size_t cap, count, tomb;
};

/* The entry of sk, or NULL. */
struct run_watch *utcp__watch_find(const struct utcp__watch_map *m,
                                   utcp_sock sk);
/* Adds or replaces sk's callback. Returns 0, UTCP_EINVAL (sk 0 or the
 * tombstone value, fn NULL) or UTCP_ENOMEM. */
int utcp__watch_put(struct utcp__watch_map *m, utcp_sock sk,
                    utcp_run_sock_fn fn, void *ctx);
/* Removes sk. Returns 0 or UTCP_ENOENT. */
int utcp__watch_del(struct utcp__watch_map *m, utcp_sock sk);
/* Frees the table (the map is empty and reusable afterwards). */
void utcp__watch_free(struct utcp__watch_map *m);

#endif
