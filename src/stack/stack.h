/*
 * The stack: every connection, listener, TIME_WAIT record, port and timer of
 * one utcp instance, and the counters. Internal; the public face is
 * include/utcp/utcp.h.
 */
#ifndef UTCP_STACK_H
#define UTCP_STACK_H

#include "base/base.h"
#include "stack/hash.h"
#include "stack/timerwheel.h"
#include "stack/timewait.h"
#include "tcp/conn.h"

/* Freed blocks of variable size (ring storage, range sets, transmit
 * records) kept for reuse: a free list per size, for at most this many
 * sizes at once, and at most utcp_config.buf_cache_bytes bytes in all
 * (default below). */
#define UTCP_BUF_CACHE_CLASSES 12
#define UTCP_BUF_CACHE_DEFAULT (4u << 20)

/* Connections, and the BBR state of a connection that uses BBR, come from
 * small per-stack free lists before the allocator (TIME_WAIT records have
 * their slab, timewait.h): no allocator call per connection in steady
 * state. At most utcp_config.obj_cache (default UTCP_OBJ_CACHE) of each
 * are kept. */
#define UTCP_OBJ_CACHE 256

/* The largest utcp_config.tso_max: a TSO segment with a 20-byte IPv4
 * header and a 60-byte TCP header still fits the 16-bit total length. */
#define UTCP_TSO_MAX_LIMIT (65535u - 20u - 60u)
enum { UTCP_OBJ_CONN, UTCP_OBJ_BBR, UTCP_OBJ_KINDS };

/* RFC 5961 7: challenge ACKs per second, per stack (Linux's old default). */
#define UTCP_CHALLENGE_ACK_LIMIT 1000

struct utcp_sock_slot {
    uint32_t gen;              /* bumped when the slot is released */
    uint32_t next_free;        /* free list link (index + 1) */
    struct utcp_conn *conn;    /* NULL: free */
};

/* Per-port bookkeeping for bind and ephemeral selection. */
struct utcp_port_use {
    uint32_t active;   /* sockets and connections holding the port */
    uint32_t timewait; /* connections in TIME_WAIT on the port */
};

struct utcp_stack {
    struct utcp_config cfg;
    struct utcp_allocator alloc;
    /* Buffers of send and receive rings go through a small cache of freed
     * blocks (stack.c): a ring returns its storage whenever it drains, and
     * without the cache a busy connection would free and allocate (and
     * page-fault) its buffers over and over. */
    struct utcp_allocator buf_alloc;
    struct {
        size_t size;     /* 0: the class is unused */
        void *head;      /* blocks of this size (first word: next) */
        uint64_t used;   /* buf_cache_clock when a block was last freed
                            here: the class freed into longest ago is
                            emptied first to make room */
    } buf_cache[UTCP_BUF_CACHE_CLASSES];
    uint64_t buf_cache_clock;
    size_t buf_cache_bytes;
    void *obj_free[UTCP_OBJ_KINDS];  /* free lists (first word: next) */
    uint32_t obj_free_n[UTCP_OBJ_KINDS];
    struct utcp_rng rng;
    uint8_t isn_key[16], hash_key[16], port_key[16];
    utcp_time now;
    uint32_t runs; /* utcp_input/utcp_tick calls: a send reservation
                      lasts until the next one */
    /* The payload of the segment being processed, already copied into
     * its connection's receive ring (past the stored bytes, not stored)
     * while its checksum was verified: the data step then only stores it
     * (stack.c place_payload). Valid during one utcp_input_ex call. */
    struct {
        const struct utcp_conn *c;
        const uint8_t *data;
        utcp_seq seq;
        uint32_t len;
    } placed;
    /* Connections holding an ACK during an input batch (utcp_input_batch_
     * begin/end); a freed connection's slot is emptied (conn.c). */
    bool batching;
    uint8_t batch_n;
    struct utcp_conn *batch_acks[32];
    /* The connection the last segment was for (NULL: none): a bulk flow's
     * segments find it without hashing. Cleared when it leaves the table
     * (utcp__table_remove). */
    struct utcp_conn *last_conn;
    uint32_t next_conn_id;
    uint32_t next_ephemeral;
    uint16_t ip_id;
    /* draft-cheng-iccrg-delivery-rate-estimation 3.4: the rate sample of
     * the ACK being processed, made by utcp__rack_ack for cc->on_rate
     * (scratch of one ACK: no connection keeps one). */
    struct utcp_rate_sample rs;

    /* The last 4-tuple hashed for the tables and its hash: a segment's
     * lookup, the insertion of the connection it opens, and connect's
     * checks of both tables hash one 4-tuple once (utcp__tuple_hash). */
    struct utcp_4tuple memo_key;
    uint32_t memo_hash;
    struct utcp_htable conns;     /* synchronized + SYN states by 4-tuple */
    struct utcp_htable listeners; /* by (addr, port, 0, 0) */
    struct utcp_twheel wheel;
    /* Connections whose deadline changed since the wheel was last brought
     * up to date (timer.c): the wheel is armed once, before it is read. A
     * freed connection leaves its slot empty (conn.c detach). Room for the
     * connections a whole burst of segments touches: most short ones then
     * live and die without a wheel operation. */
    uint8_t tdirty_n;
    struct utcp_conn *tdirty[255];
    struct utcp_twtable tw;       /* TIME_WAIT records (timewait.c) */
    struct utcp_tnode tw_timer;   /* armed at the earliest record expiry */

    struct utcp_sock_slot *socks;
    uint32_t socks_cap, socks_free; /* free list head (index + 1) */

    struct utcp_port_use *ports;    /* 65536 entries, allocated on first
                                       bind */
    struct utcp_conn *ev_head, *ev_tail;

    utcp_time challenge_window_start; /* RFC 5961 7 rate limit */
    uint32_t challenge_count;
    uint32_t fsm_mask[UTCP_STATE_COUNT][UTCP_STATE_COUNT]; /* fsm.c table */
    struct utcp_counters ctr;
    uint8_t *pkt;                   /* output scratch: one packet */
    size_t pkt_cap;
};

/* Whether from -> to for this cause is a row of the transition table. */
static inline bool utcp__legal(const struct utcp_stack *s, int from, int to,
                               int cause)
{
    return from >= 0 && from < UTCP_STATE_COUNT && to >= 0 &&
           to < UTCP_STATE_COUNT && cause >= 0 && cause < 32 &&
           (s->fsm_mask[from][to] >> cause & 1u);
}
void utcp__fsm_masks(uint32_t m[UTCP_STATE_COUNT][UTCP_STATE_COUNT]);

/* Names the connection of a trace event: its id and 4-tuple. */
static inline void utcp__ev_conn(struct utcp_trace_event *ev, uint32_t id,
                                 const struct utcp_4tuple *t)
{
    ev->conn_id = id;
    ev->local_addr = t->laddr;
    ev->remote_addr = t->raddr;
    ev->local_port = t->lport;
    ev->remote_port = t->rport;
}

/* Emits a state-change event for connection id (the caller has checked the
 * transition and keeps the counters). */
void utcp__trace_state(struct utcp_stack *s, uint32_t id,
                       const struct utcp_4tuple *t, int old, int st,
                       int cause);

/* Fixed-size objects from the per-stack free lists (see UTCP_OBJ_CACHE). */
void *utcp__obj_alloc(struct utcp_stack *s, int kind, size_t size);
void utcp__obj_free(struct utcp_stack *s, int kind, void *p, size_t size);
/* The IPv4 header fields of a packet this stack sends from laddr to
 * raddr (options-free, DF, the next identification). */
static inline void utcp__ip_out(struct utcp_stack *s, struct utcp_ipv4 *ip,
                                uint32_t laddr, uint32_t raddr)
{
    *ip = (struct utcp_ipv4){0};
    ip->src = laddr;
    ip->dst = raddr;
    ip->ttl = (uint8_t)s->cfg.ttl;
    ip->id = s->ip_id++;
    ip->df = true;
}

/* Emits a trace event (fills now). */
void utcp__trace(struct utcp_stack *s, struct utcp_trace_event *ev);
/* Trace a drop of a segment for connection c (may be NULL). */
void utcp__trace_drop(struct utcp_stack *s, const struct utcp_conn *c,
                      const struct utcp_ipv4 *ip, int reason);
/* Hands a finished packet to the output callback, traced and counted. */
void utcp__emit(struct utcp_stack *s, const struct utcp_conn *c,
                const uint8_t *pkt, size_t len);
/* The same with the metadata output_ex receives (utcp__emit: all zero). */
void utcp__emit_meta(struct utcp_stack *s, const struct utcp_conn *c,
                     const uint8_t *pkt, size_t len,
                     const struct utcp_output_meta *meta);

/* Ports: the per-port table is allocated on first use; false: no memory. */
bool utcp__ports_ensure(struct utcp_stack *s);
void utcp__port_hold(struct utcp_stack *s, uint16_t port);
/* Releases c's hold on its local port (c->bound must be set). */
void utcp__port_release(struct utcp_stack *s, struct utcp_conn *c);

/* The table hash of k (utcp__ht_hash under s->hash_key), remembered for
 * the next call. */
static inline uint32_t utcp__tuple_hash(struct utcp_stack *s,
                                        const struct utcp_4tuple *k)
{
    if (!utcp_4tuple_eq(k, &s->memo_key)) {
        s->memo_key = *k;
        s->memo_hash = utcp__ht_hash(s->hash_key, k);
    }
    return s->memo_hash;
}

/* The listener table's hash of (laddr, lport): not keyed, unlike the
 * connection table's. Only utcp_listen puts entries there, so a peer
 * cannot choose what collides (hash flooding needs colliding entries, not
 * lookups), and a SYN then costs no SipHash for its listener. A
 * multiplicative mix (Knuth's 2^32 / phi), its high bits folded down to
 * the bucket bits. */
static inline uint32_t utcp__listen_hash(uint32_t laddr, uint16_t lport)
{
    uint32_t h = (laddr ^ (uint32_t)lport * 0x9E3779B1u) * 0x85EBCA6Bu;
    return h ^ (h >> 16);
}

/* The listener on (laddr, lport), or NULL. */
static inline struct utcp_conn *utcp__listener_find(struct utcp_stack *s,
                                                    uint32_t laddr,
                                                    uint16_t lport)
{
    struct utcp_4tuple k = {laddr, 0, lport, 0};
    struct utcp_hnode *n =
        utcp__ht_find_h(&s->listeners, &k, utcp__listen_hash(laddr, lport));
    return n ? UTCP_CONTAINER_OF(n, struct utcp_conn, hnode) : NULL;
}

/* Connection table membership */
void utcp__table_insert(struct utcp_stack *s, struct utcp_conn *c);
void utcp__table_remove(struct utcp_stack *s, struct utcp_conn *c);
struct utcp_conn *utcp__table_find(struct utcp_stack *s,
                                   const struct utcp_4tuple *t);


#endif
