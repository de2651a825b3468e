/*
 * TIME-WAIT records: what is left of a connection the application no longer
 * holds once it enters TIME-WAIT (RFC 9293 3.10.7.4, 3.10.8): 64 bytes
 * instead of a full connection. They sit in their own keyed hash table and
 * in one list ordered by expiry, so the stack needs a single timer for all
 * of them.
 */
#ifndef UTCP_TIMEWAIT_H
#define UTCP_TIMEWAIT_H

#include "base/base.h"
#include "stack/hash.h"
#include "utcp/wire.h"

struct utcp_twrec {
    struct utcp_twrec *hnext;         /* hash chain */
    struct utcp_twrec *qnext, *qprev; /* expiry order */
    uint64_t expires;
    struct utcp_4tuple key;
    utcp_seq snd_nxt, rcv_nxt;
    uint32_t id;                      /* the connection's trace id */
    uint32_t dur_ms;                  /* 2*MSL */
    uint16_t win;                     /* window field for our ACKs */
    uint8_t flags;                    /* UTCP_TWF_* */
};

_Static_assert(sizeof(struct utcp_twrec) <= 64,
               "a TIME_WAIT record must stay within 64 bytes");

enum {
    UTCP_TWF_PORT = 1, /* holds a TIME_WAIT count on its local port */
    UTCP_TWF_TS = 2,   /* timestamps were negotiated (RFC 7323 3.2) */
};

struct utcp_twtable {
    struct utcp_twrec **buckets;
    size_t mask, count;
    struct utcp_twrec *head, *tail; /* by expires, earliest first */
};

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
/* Ends the record (TIME_WAIT -> CLOSED with cause) and frees it. */
void utcp__tw_remove(struct utcp_stack *s, struct utcp_twrec *r, int cause);
/* Expires every record due at s->now and re-arms the stack's TIME_WAIT
 * timer. */
void utcp__tw_expire(struct utcp_stack *s);

#endif
