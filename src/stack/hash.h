/*
 * Keyed hashing and the structures built on it: SipHash-2-4, the 4-tuple
 * hash table for connection lookup (O(1), keyed so an attacker cannot choose
 * collisions), RFC 6528 initial sequence numbers, RFC 6056 ephemeral ports,
 * and a seeded PRNG (xoshiro256**) for everything else random.
 */
#ifndef UTCP_HASH_H
#define UTCP_HASH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "utcp/utcp.h"

/* SipHash-2-4 of msg[0..len) under a 128-bit key. */
uint64_t utcp__siphash24(const uint8_t key[16], const void *msg, size_t len);

struct utcp_4tuple {
    uint32_t laddr, raddr; /* host byte order */
    uint16_t lport, rport;
};

static inline bool utcp_4tuple_eq(const struct utcp_4tuple *a,
                                  const struct utcp_4tuple *b)
{
    return a->laddr == b->laddr && a->raddr == b->raddr &&
           a->lport == b->lport && a->rport == b->rport;
}

/* Intrusive hash node: embed in the owner, set key, insert. */
struct utcp_hnode {
    struct utcp_hnode *next, **pprev;
    struct utcp_4tuple key;
    uint32_t hash; /* utcp__ht_hash of key, set by insert (kept for growth) */
};

struct utcp_htable {
    struct utcp_hnode **buckets;
    size_t mask;   /* buckets - 1 (power of two) */
    size_t count;
    uint8_t key[16];
    const struct utcp_allocator *alloc;
};

/* Initialises an empty table with 2^log2_buckets buckets (min 16). Returns 0
 * or UTCP_ENOMEM. */
int utcp__ht_init(struct utcp_htable *t, const struct utcp_allocator *a,
                 const uint8_t key[16], unsigned log2_buckets);
/* Frees the bucket array (not the nodes). */
void utcp__ht_destroy(struct utcp_htable *t);
/* Inserts n (n->key set, no equal key present: the caller checks). Doubles
 * the bucket array when count exceeds the bucket count; if that allocation
 * fails the table keeps working with longer chains. */
void utcp__ht_insert(struct utcp_htable *t, struct utcp_hnode *n);
/* utcp__ht_insert with n->key's hash already computed by utcp__ht_hash. */
void utcp__ht_insert_h(struct utcp_htable *t, struct utcp_hnode *n,
                       uint32_t h);
/* The node with key k, or NULL. */
struct utcp_hnode *utcp__ht_find(const struct utcp_htable *t,
                                const struct utcp_4tuple *k);
/* The table hash of k: SipHash-1-3 of the packed 4-tuple under the table
 * key (SipHash-1-3 is the flooding-resistant table hash of Rust's standard
 * library; the PRF uses below, ISNs and ports, keep SipHash-2-4). Tables
 * built with the same key share it, so one packet needs one hash. */
uint32_t utcp__ht_hash(const uint8_t key[16], const struct utcp_4tuple *k);
/* utcp__ht_find with the hash already computed by utcp__ht_hash. */
struct utcp_hnode *utcp__ht_find_h(const struct utcp_htable *t,
                                  const struct utcp_4tuple *k, uint32_t h);
/* Removes n (which is in t). */
void utcp__ht_remove(struct utcp_htable *t, struct utcp_hnode *n);
/* Iteration: start with *bucket = 0 and cur = NULL; returns the next node
 * or NULL at the end. The table must not change during an iteration, except
 * that the node just returned may be removed. */
struct utcp_hnode *utcp__ht_iter(const struct utcp_htable *t, size_t *bucket,
                                struct utcp_hnode *cur);

/* RFC 6528 section 3: ISN = M + F(localip, localport, remoteip, remoteport,
 * secretkey), M a 4-microsecond timer (now_us / 4), F SipHash-2-4 truncated
 * to 32 bits. */
/* RFC 7323 5.4 / 7.1: the per-connection offset of the timestamp clock,
 * the same keyed function as the ISN (RFC 6528 3) in another domain. */
uint32_t utcp__ts_offset(const uint8_t key[16], const struct utcp_4tuple *t);
uint32_t utcp__isn(const uint8_t key[16], const struct utcp_4tuple *t,
                  uint64_t now_us);
/* utcp__isn and utcp__ts_offset from one PRF computation. */
uint32_t utcp__isn_ts(const uint8_t key[16], const struct utcp_4tuple *t,
                      uint64_t now_us, uint32_t *ts_offset);

/* A seeded PRNG (xoshiro256**, seeded through splitmix64). */
struct utcp_rng {
    uint64_t s[4];
};
void utcp__rng_seed(struct utcp_rng *r, uint64_t seed);
uint64_t utcp__rng_next(struct utcp_rng *r);
/* Uniform in [0, n) without modulo bias; n > 0. */
uint32_t utcp__rng_below(struct utcp_rng *r, uint32_t n);

/* RFC 6056 section 3.3.3 (Algorithm 3, "Simple Hash-Based Port Selection"):
 * picks a local port in [lo, hi] for a connection from laddr to
 * (raddr, rport): offset = F(laddr, raddr, rport, key); tries
 * lo + (offset + *next_ephemeral + i) mod (hi - lo + 1) for i = 0.. until
 * in_use(ctx, port) is false, then advances *next_ephemeral past it.
 * Returns the port, or UTCP_EADDRNOTAVAIL when every port is in use. */
int utcp__port_pick(const uint8_t key[16], uint32_t laddr, uint32_t raddr,
                   uint16_t rport, uint16_t lo, uint16_t hi,
                   uint32_t *next_ephemeral,
                   bool (*in_use)(void *ctx, uint16_t port), void *ctx);

#endif
