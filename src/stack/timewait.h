/*
 * TIME-WAIT records: what is left of a connection the application no longer
 * holds once it enters TIME-WAIT (RFC 9293 3.10.7.4, 3.10.8): at most 64
 * bytes instead of a full connection (48 in a slab, plus its share of the
 * index). They sit in their own keyed table and in one list ordered by
 * expiry, so the stack needs a single timer for all of them.
 */
#ifndef UTCP_TIMEWAIT_H
#define UTCP_TIMEWAIT_H

#include "base/base.h"
#include "stack/hash.h"
#include "utcp/wire.h"

/* A record lives in a slab (struct utcp_twtable) at a dense index: the
 * last record moves into the place of one removed, so a pointer to a
 * record stays valid only until the next record is added or removed. */
struct utcp_twrec {
    uint64_t expires;
    struct utcp_4tuple key;
    utcp_seq snd_nxt, rcv_nxt;
    uint32_t id;                      /* the connection's trace id */
    uint32_t dur_ms;                  /* 2*MSL */
    uint32_t qnext, qprev;            /* expiry order: index + 1, 0 none */
    uint16_t win;                     /* window field for our ACKs */
    uint8_t flags;                    /* UTCP_TWF_* */
};

_Static_assert(sizeof(struct utcp_twrec) <= 48,
               "a TIME_WAIT record must stay within 48 bytes (64 with its "
               "share of the index)");

enum {
    UTCP_TWF_PORT = 1, /* holds a TIME_WAIT count on its local port */
    UTCP_TWF_TS = 2,   /* timestamps were negotiated (RFC 7323 3.2) */
};

/* Records per slab chunk once the first chunk has grown to this size. */
#define UTCP_TW_CHUNK_LOG2 12u
#define UTCP_TW_CHUNK (1u << UTCP_TW_CHUNK_LOG2)

/* The table: records in a slab of chunks, found through an open-addressing
 * index (linear probing) whose 64-bit slots hold a record's 32-bit table
 * hash and its index + 1 (0: empty), with a byte per slot apart (a 7-bit
 * tag of the hash): a lookup that misses, the common case, reads the tag
 * bytes alone, an array an eighth of the slots' size (fewer cache and TLB
 * misses); growth rehashes from the stored hashes without touching the
 * records. Keyed hashes (hash.h) keep an attacker
 * from choosing probe clusters. The records are also linked in expiry
 * order, so one stack timer serves them all. */
struct utcp_twtable {
    uint64_t *slots;
    uint8_t *ctrl;                  /* per slot: 0 empty, else 0x80 | the
                                       hash's top 7 bits (after slots[],
                                       same allocation) */
    size_t mask;                    /* slots - 1 (power of two) */
    struct utcp_twrec **chunks;     /* chunk i: records i * UTCP_TW_CHUNK.. */
    size_t nchunks, dircap;
    size_t cap0;                    /* records in chunk 0 (grows to CHUNK) */
    size_t count;
    uint32_t head, tail;            /* expiry order, index + 1 */
    /* The table hash (utcp__ht_hash in a stack; tests may plug in a
     * colliding one) and its key. */
    uint32_t (*hash)(const uint8_t key[16], const struct utcp_4tuple *k);
    const uint8_t *hkey;
    const struct utcp_allocator *alloc;
};

/* ---- The table alone (no stack, no tracing). */
int utcp__twt_init(struct utcp_twtable *t, const struct utcp_allocator *a,
                   uint32_t (*hash)(const uint8_t key[16],
                                    const struct utcp_4tuple *k),
                   const uint8_t *hkey);
/* Frees the index and the slab (records need no freeing of their own). */
void utcp__twt_destroy(struct utcp_twtable *t);
/* The record with key k whose hash is h (= t->hash(t->hkey, k)), or NULL. */
struct utcp_twrec *utcp__twt_find(const struct utcp_twtable *t,
                                  const struct utcp_4tuple *k, uint32_t h);
/* A new record for k (no record with k present: the caller checks), all
 * zero but its key and expires, queued in expiry order. NULL without
 * memory (the table is unchanged). */
struct utcp_twrec *utcp__twt_add(struct utcp_twtable *t,
                                 const struct utcp_4tuple *k, uint32_t h,
                                 uint64_t expires);
/* Removes r; the last record moves into its place. */
void utcp__twt_remove(struct utcp_twtable *t, struct utcp_twrec *r);
/* Sets r's expiry and moves it to its place in the expiry order. */
void utcp__twt_requeue(struct utcp_twtable *t, struct utcp_twrec *r,
                       uint64_t expires);
/* The record expiring first, and the one after r (NULL at the end). */
struct utcp_twrec *utcp__twt_first(const struct utcp_twtable *t);
struct utcp_twrec *utcp__twt_next(const struct utcp_twtable *t,
                                  const struct utcp_twrec *r);
/* Starts fetching the tag bytes where a lookup or insertion of hash h
 * begins, to overlap the cache miss with other work. */
static inline void utcp__twt_prefetch(const struct utcp_twtable *t, uint32_t h)
{
    if (t->ctrl)
        UTCP_PREFETCH(&t->ctrl[h & t->mask]);
}
/* The same for an insertion of hash h coming: the tag byte and the slot
 * it will most likely take, for writing. */
static inline void utcp__twt_prefetch_put(const struct utcp_twtable *t,
                                          uint32_t h)
{
    if (t->ctrl) {
        UTCP_PREFETCH_W(&t->ctrl[h & t->mask]);
        UTCP_PREFETCH_W(&t->slots[h & t->mask]);
    }
}
/* Bytes the table holds (index, chunk directory, slab). */
size_t utcp__twt_bytes(const struct utcp_twtable *t);

struct utcp_stack;
struct utcp_conn;

/* What a segment means to a connection in TIME-WAIT (full connection or
 * record alike): RFC 9293 3.10.7.4, RFC 1337, RFC 6191. */
enum utcp_tw_action {
    UTCP_TW_IGNORE_RST, /* RFC 1337: no assassination */
    UTCP_TW_REOPEN,     /* a SYN above the old sequence space */
    UTCP_TW_FIN_AGAIN,  /* the peer's FIN again: ACK, restart 2*MSL */
    UTCP_TW_ACK,        /* anything else unexpected: ACK (challenge) */
    UTCP_TW_NOTHING,    /* a duplicate ACK */
};
enum utcp_tw_action utcp__tw_decide(const struct utcp_tcp *th,
                                    utcp_seq rcv_nxt);

int utcp__tw_init(struct utcp_stack *s);
/* Frees every record (traced as TIME_WAIT -> CLOSED, STACK_DESTROY). */
void utcp__tw_destroy(struct utcp_stack *s);
struct utcp_twrec *utcp__tw_find(struct utcp_stack *s,
                                 const struct utcp_4tuple *k);
/* The same with h = utcp__ht_hash(s->hash_key, k) already computed. */
struct utcp_twrec *utcp__tw_find_h(struct utcp_stack *s,
                                   const struct utcp_4tuple *k, uint32_t h);
/* Replaces the orphaned connection c (state TIME_WAIT) by a record with the
 * rest of its 2*MSL, and frees c. Without memory for a record, c stays as
 * it is (still correct, only bigger). */
void utcp__tw_from_conn(struct utcp_stack *s, struct utcp_conn *c);
/* A segment for a record. Returns true when it was a new SYN that ended
 * the record (RFC 6191): the caller hands the segment to a listener. */
bool utcp__tw_input(struct utcp_stack *s, struct utcp_twrec *r,
                    const struct utcp_ipv4 *ip, const struct utcp_tcp *th);
/* Ends the record (TIME_WAIT -> CLOSED with cause) and frees it (other
 * record pointers go stale: see struct utcp_twrec). */
void utcp__tw_remove(struct utcp_stack *s, struct utcp_twrec *r, int cause);
/* Expires every record due at s->now and re-arms the stack's TIME_WAIT
 * timer. */
void utcp__tw_expire(struct utcp_stack *s);

#endif
