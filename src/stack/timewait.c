/*
 * TIME-WAIT records (RFC 9293 3.10.7.4 and 3.10.8, RFC 1337, RFC 6191):
 * re-ACK the peer's retransmitted FIN and restart 2*MSL, ignore RST, let a
 * new SYN above the old sequence space reopen the 4-tuple, answer anything
 * else with an ACK. One list in expiry order, one stack timer for all.
 * With timestamps (RFC 7323 3.2) the ACKs carry TSopt: the clock offset is
 * recomputed from the 4-tuple, and TSecr is the TSval of the segment
 * answered (the record keeps no TS.Recent). Never keeps more than the
 * 64-byte record; never answers a RST.
 */
#include <string.h>

#include "stack/stack.h"
#include "stack/timewait.h"
#include "tcp/conn.h"


/* The same hash as the connection table (same key), so the input path
 * hashes a packet's 4-tuple once for both. */
static size_t bucket_of(const struct utcp_stack *s,
                        const struct utcp_4tuple *k)
{
    return (size_t)utcp__ht_hash(s->hash_key, k) & s->tw.mask;
}

int utcp__tw_init(struct utcp_stack *s)
{
    size_t n = 64;
    s->tw.buckets = utcp__alloc(&s->alloc, n * sizeof *s->tw.buckets);
    if (!s->tw.buckets)
        return UTCP_ENOMEM;
    memset(s->tw.buckets, 0, n * sizeof *s->tw.buckets);
    s->tw.mask = n - 1;
    s->tw.count = 0;
    s->tw.head = s->tw.tail = NULL;
    utcp__wheel_node_init(&s->tw_timer);
    return 0;
}

static void grow(struct utcp_stack *s)
{
    size_t n = (s->tw.mask + 1) * 2;
    struct utcp_twrec **nb = utcp__alloc(&s->alloc, n * sizeof *nb);
    if (!nb)
        return; /* longer chains, still correct */
    memset(nb, 0, n * sizeof *nb);
    size_t old = s->tw.mask + 1;
    struct utcp_twrec **ob = s->tw.buckets;
    s->tw.buckets = nb;
    s->tw.mask = n - 1;
    for (size_t i = 0; i < old; i++) {
        struct utcp_twrec *r = ob[i];
        while (r) {
            struct utcp_twrec *next = r->hnext;
            size_t b = bucket_of(s, &r->key);
            r->hnext = nb[b];
            nb[b] = r;
            r = next;
        }
    }
    utcp__free(&s->alloc, ob, old * sizeof *ob);
}

struct utcp_twrec *utcp__tw_find(struct utcp_stack *s,
                                 const struct utcp_4tuple *k)
{
    return utcp__tw_find_h(s, k, utcp__ht_hash(s->hash_key, k));
}

struct utcp_twrec *utcp__tw_find_h(struct utcp_stack *s,
                                   const struct utcp_4tuple *k, uint32_t h)
{
    if (!s->tw.count)
        return NULL;
    for (struct utcp_twrec *r = s->tw.buckets[h & s->tw.mask]; r;
         r = r->hnext)
        if (utcp_4tuple_eq(&r->key, k))
            return r;
    return NULL;
}

/* Keeps the list sorted by expires; equal durations make this O(1). */
static void queue_insert(struct utcp_twtable *t, struct utcp_twrec *r)
{
    struct utcp_twrec *after = t->tail;
    while (after && after->expires > r->expires)
        after = after->qprev;
    r->qprev = after;
    r->qnext = after ? after->qnext : t->head;
    if (r->qnext)
        r->qnext->qprev = r;
    else
        t->tail = r;
    if (after)
        after->qnext = r;
    else
        t->head = r;
}

static void queue_remove(struct utcp_twtable *t, struct utcp_twrec *r)
{
    if (r->qprev)
        r->qprev->qnext = r->qnext;
    else
        t->head = r->qnext;
    if (r->qnext)
        r->qnext->qprev = r->qprev;
    else
        t->tail = r->qprev;
    r->qnext = r->qprev = NULL;
}

static void rearm(struct utcp_stack *s)
{
    if (s->tw.head)
        utcp__wheel_arm(&s->wheel, &s->tw_timer, s->tw.head->expires);
    else
        utcp__wheel_cancel(&s->wheel, &s->tw_timer);
}

static void trace_timer(struct utcp_stack *s, const struct utcp_twrec *r,
                        int kind, enum utcp_trace_kind tk)
{
    struct utcp_trace_event ev = {0};
    ev.kind = tk;
    utcp__ev_conn(&ev, r->id, &r->key);
    ev.timer = kind;
    ev.expires = r->expires;
    utcp__trace(s, &ev);
}

void utcp__tw_from_conn(struct utcp_stack *s, struct utcp_conn *c)
{
    struct utcp_twrec *r = utcp__obj_alloc(s, UTCP_OBJ_TWREC, sizeof *r);
    if (!r)
        return;
    memset(r, 0, sizeof *r);
    r->key = c->tuple;
    r->snd_nxt = c->snd_nxt;
    r->rcv_nxt = c->rcv_nxt;
    r->id = c->id;
    r->dur_ms = 2u * c->opt.msl_ms;
    r->expires = c->t_keep;
    uint32_t w = seq_gt(c->rcv_adv, c->rcv_nxt)
                     ? (uint32_t)seq_diff(c->rcv_adv, c->rcv_nxt) >> c->rcv_wscale
                     : 0;
    r->win = (uint16_t)(w > 65535 ? 65535 : w);
    if (c->ts_ok)
        r->flags |= UTCP_TWF_TS;
    if (c->bound && c->port_tw) {
        r->flags |= UTCP_TWF_PORT;
        c->bound = false; /* the record holds the port now */
        c->port_tw = false;
    }
    /* The connection leaves without a state change: the record goes on
     * being its TIME-WAIT. */
    utcp__conn_free(s, c);
    s->ctr.ConnsFree--; /* the connection lives on as the record */
    if (s->tw.count >= s->tw.mask + 1)
        grow(s);
    size_t b = bucket_of(s, &r->key);
    r->hnext = s->tw.buckets[b];
    s->tw.buckets[b] = r;
    s->tw.count++;
    queue_insert(&s->tw, r);
    rearm(s);
}

void utcp__tw_remove(struct utcp_stack *s, struct utcp_twrec *r, int cause)
{
    struct utcp_twrec **pp = &s->tw.buckets[bucket_of(s, &r->key)];
    while (*pp && *pp != r)
        pp = &(*pp)->hnext;
    if (*pp)
        *pp = r->hnext;
    s->tw.count--;
    queue_remove(&s->tw, r);
    if ((r->flags & UTCP_TWF_PORT) && s->ports &&
        s->ports[r->key.lport].timewait)
        s->ports[r->key.lport].timewait--;
    if (!utcp__legal(s, UTCP_TIME_WAIT, UTCP_CLOSED, cause))
        s->ctr.IllegalTransitions++;
    utcp__trace_state(s, r->id, &r->key, UTCP_TIME_WAIT, UTCP_CLOSED, cause);
    utcp__obj_free(s, UTCP_OBJ_TWREC, r, sizeof *r);
    s->ctr.ConnsFree++;
    rearm(s);
}

void utcp__tw_expire(struct utcp_stack *s)
{
    while (s->tw.head && s->tw.head->expires <= s->now) {
        struct utcp_twrec *r = s->tw.head;
        trace_timer(s, r, UTCP_TIMER_TIME_WAIT, UTCP_TRACE_TIMER);
        utcp__tw_remove(s, r, UTCP_CAUSE_TIMEOUT_2MSL);
    }
    rearm(s);
}

void utcp__tw_destroy(struct utcp_stack *s)
{
    while (s->tw.head)
        utcp__tw_remove(s, s->tw.head, UTCP_CAUSE_STACK_DESTROY);
    utcp__free(&s->alloc, s->tw.buckets,
               (s->tw.mask + 1) * sizeof *s->tw.buckets);
    s->tw.buckets = NULL;
}

static void send_ack(struct utcp_stack *s, const struct utcp_twrec *r,
                     const struct utcp_tcp *in)
{
    struct utcp_ipv4 ip;
    utcp__ip_out(s, &ip, r->key.laddr, r->key.raddr);
    struct utcp_tcp th = {0};
    th.sport = r->key.lport;
    th.dport = r->key.rport;
    th.seq = r->snd_nxt;
    th.ack = r->rcv_nxt;
    th.flags = UTCP_TH_ACK;
    th.win = r->win;
    if (r->flags & UTCP_TWF_TS) {
        /* RFC 7323 3.2: TSopt in every segment once negotiated. TSecr:
         * for the retransmitted FIN, its TSval is what R3 (5.3) would
         * have put in TS.Recent. */
        th.opts.present = UTCP_OPT_TS;
        th.opts.ts_val =
            utcp__ts_now(s->now, utcp__ts_offset(s->isn_key, &r->key));
        th.opts.ts_ecr =
            (in->opts.present & UTCP_OPT_TS) ? in->opts.ts_val : 0;
    }
    size_t n = utcp_ipv4_tcp_build(s->pkt, s->pkt_cap, &ip, &th, NULL, 0);
    if (!n)
        return;
    s->ctr.OutSegs++;
    utcp__emit(s, NULL, s->pkt, n);
}

static void drop(struct utcp_stack *s, const struct utcp_ipv4 *ip, int why)
{
    s->ctr.DroppedSegs++;
    utcp__trace_drop(s, NULL, ip, why);
}

enum utcp_tw_action utcp__tw_decide(const struct utcp_tcp *th,
                                    utcp_seq rcv_nxt)
{
    uint8_t f = th->flags;
    utcp_seq seq = th->seq;
    uint32_t len = (uint32_t)th->payload_len;
    if (f & UTCP_TH_RST) /* RFC 1337 section 3 */
        return UTCP_TW_IGNORE_RST;
    /* RFC 9293 3.10.7.4 / RFC 6191 2: a SYN above the old sequence space
     * may open a new incarnation of the 4-tuple. */
    if ((f & UTCP_TH_SYN) && !(f & UTCP_TH_ACK) && seq_gt(seq, rcv_nxt))
        return UTCP_TW_REOPEN;
    /* RFC 9293 3.10.7.4: the only thing that can arrive is the remote FIN
     * again: acknowledge it and restart the 2*MSL timeout. */
    if ((f & UTCP_TH_FIN) && seq + len + 1 == rcv_nxt)
        return UTCP_TW_FIN_AGAIN;
    /* An unacceptable segment gets an ACK (first check); a SYN a challenge
     * ACK (RFC 5961 4), which is the same segment. */
    if (len || (f & (UTCP_TH_SYN | UTCP_TH_FIN)) || seq != rcv_nxt)
        return UTCP_TW_ACK;
    return UTCP_TW_NOTHING;
}

bool utcp__tw_input(struct utcp_stack *s, struct utcp_twrec *r,
                    const struct utcp_ipv4 *ip, const struct utcp_tcp *th)
{
    switch (utcp__tw_decide(th, r->rcv_nxt)) {
    case UTCP_TW_IGNORE_RST:
        drop(s, ip, UTCP_DROP_TIME_WAIT_RST);
        return false;
    case UTCP_TW_REOPEN:
        s->ctr.TimeWaitRecycled++;
        utcp__tw_remove(s, r, UTCP_CAUSE_RCV_SYN);
        return true;
    case UTCP_TW_FIN_AGAIN:
        queue_remove(&s->tw, r);
        r->expires = s->now + UTCP_MS(r->dur_ms);
        queue_insert(&s->tw, r);
        rearm(s);
        trace_timer(s, r, UTCP_TIMER_TIME_WAIT, UTCP_TRACE_TIMER_SET);
        send_ack(s, r, th);
        return false;
    case UTCP_TW_ACK:
        drop(s, ip, UTCP_DROP_OUT_OF_WINDOW);
        send_ack(s, r, th);
        return false;
    default:
        drop(s, ip, UTCP_DROP_NONE);
        return false;
    }
}
