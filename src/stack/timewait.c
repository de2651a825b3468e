/*
 * TIME-WAIT records (RFC 9293 3.10.7.4 and 3.10.8, RFC 1337, RFC 6191):
 * re-ACK the peer's retransmitted FIN and restart 2*MSL, ignore RST, let a
 * new SYN above the old sequence space reopen the 4-tuple, answer anything
 * else with an ACK. One list in expiry order, one stack timer for all.
 * With timestamps (RFC 7323 3.2) the ACKs carry TSopt: the clock offset is
 * recomputed from the 4-tuple, and TSecr is the TSval of the segment
 * answered (the record keeps no TS.Recent). Records live in a dense slab
 * behind an open-addressing index (timewait.h). Never keeps more than the
 * 48-byte record and its index slot; never answers a RST.
 */
#include <string.h>

#include "stack/stack.h"
#include "stack/timewait.h"
#include "tcp/conn.h"


/* ---- The table: a slab of records and an open-addressing index. */

#define TW_FIRST_CHUNK 4u /* records in chunk 0 at first */
#define TW_MIN_SLOTS 8u
#define SLOT_BYTES (sizeof(uint64_t) + 1u) /* a slot and its tag byte */

static inline uint64_t slot_make(uint32_t h, size_t idx)
{
    return (uint64_t)(idx + 1u) << 32 | h;
}

static inline size_t slot_idx(uint64_t v)
{
    return (size_t)(v >> 32) - 1u;
}

static inline uint8_t tag_of(uint32_t h)
{
    return (uint8_t)(0x80u | h >> 25);
}

static inline struct utcp_twrec *rec_at(const struct utcp_twtable *t,
                                        size_t i)
{
    return &t->chunks[i >> UTCP_TW_CHUNK_LOG2][i & (UTCP_TW_CHUNK - 1u)];
}

int utcp__twt_init(struct utcp_twtable *t, const struct utcp_allocator *a,
                   uint32_t (*hash)(const uint8_t key[16],
                                    const struct utcp_4tuple *k),
                   const uint8_t *hkey)
{
    memset(t, 0, sizeof *t);
    t->alloc = a;
    t->hash = hash;
    t->hkey = hkey;
    return 0; /* everything is allocated with the first record */
}

static size_t slab_cap(const struct utcp_twtable *t)
{
    return t->nchunks <= 1 ? t->cap0 : t->nchunks * UTCP_TW_CHUNK;
}

void utcp__twt_destroy(struct utcp_twtable *t)
{
    for (size_t i = 0; i < t->nchunks; i++)
        utcp__free(t->alloc, t->chunks[i],
                   (i ? UTCP_TW_CHUNK : t->cap0) * sizeof(struct utcp_twrec));
    utcp__free(t->alloc, t->chunks, t->dircap * sizeof *t->chunks);
    if (t->slots)
        utcp__free(t->alloc, t->slots, (t->mask + 1u) * SLOT_BYTES);
    utcp__twt_init(t, t->alloc, t->hash, t->hkey);
}

size_t utcp__twt_bytes(const struct utcp_twtable *t)
{
    size_t n = t->dircap * sizeof *t->chunks +
               slab_cap(t) * sizeof(struct utcp_twrec);
    return t->slots ? n + (t->mask + 1u) * SLOT_BYTES : n;
}

struct utcp_twrec *utcp__twt_find(const struct utcp_twtable *t,
                                  const struct utcp_4tuple *k, uint32_t h)
{
    if (!t->count)
        return NULL;
    uint8_t tag = tag_of(h);
    for (size_t p = h & t->mask;; p = (p + 1u) & t->mask) {
        uint8_t c = t->ctrl[p];
        if (!c)
            return NULL;
        if (c == tag && (uint32_t)t->slots[p] == h) {
            struct utcp_twrec *r = rec_at(t, slot_idx(t->slots[p]));
            if (utcp_4tuple_eq(&r->key, k))
                return r;
        }
    }
}

/* The slot of record r (in the table), whose hash is h. */
static size_t slot_of(const struct utcp_twtable *t,
                      const struct utcp_twrec *r, uint32_t h)
{
    size_t p = h & t->mask;
    while ((uint32_t)t->slots[p] != h || rec_at(t, slot_idx(t->slots[p])) != r)
        p = (p + 1u) & t->mask;
    return p;
}

static void slot_put(uint64_t *slots, uint8_t *ctrl, size_t mask, uint64_t v)
{
    size_t p = (uint32_t)v & mask;
    while (ctrl[p])
        p = (p + 1u) & mask;
    slots[p] = v;
    ctrl[p] = tag_of((uint32_t)v);
}

/* Linear probing's deletion without tombstones (Knuth 6.4, Algorithm R):
 * later slots of the run move back into the hole unless their home lies
 * cyclically in (hole, slot]. */
static void slot_delete(struct utcp_twtable *t, size_t hole)
{
    size_t mask = t->mask;
    for (size_t j = (hole + 1u) & mask; t->ctrl[j]; j = (j + 1u) & mask) {
        size_t home = (uint32_t)t->slots[j] & mask;
        bool stays = hole <= j ? (hole < home && home <= j)
                               : (hole < home || home <= j);
        if (!stays) {
            t->slots[hole] = t->slots[j];
            t->ctrl[hole] = t->ctrl[j];
            hole = j;
        }
    }
    t->slots[hole] = 0;
    t->ctrl[hole] = 0;
}

/* Keeps the load of the index at most 3/4 after one more record: twice
 * the slots, rehashed from the hashes they hold. */
static bool index_room(struct utcp_twtable *t)
{
    size_t n = t->slots ? t->mask + 1u : 0;
    if (n && (t->count + 1u) * 4u <= n * 3u)
        return true;
    size_t nn = n ? n * 2u : TW_MIN_SLOTS;
    if (nn > SIZE_MAX / SLOT_BYTES)
        return t->count + 2u <= n; /* fuller, still one empty slot */
    uint64_t *ns = utcp__alloc(t->alloc, nn * SLOT_BYTES);
    if (!ns)
        return t->count + 2u <= n;
    memset(ns, 0, nn * SLOT_BYTES);
    uint8_t *nc = (uint8_t *)(ns + nn);
    for (size_t i = 0; i < n; i++)
        if (t->ctrl[i])
            slot_put(ns, nc, nn - 1u, t->slots[i]);
    if (t->slots)
        utcp__free(t->alloc, t->slots, n * SLOT_BYTES);
    t->slots = ns;
    t->ctrl = nc;
    t->mask = nn - 1u;
    return true;
}

/* Chunk 0 doubles (copied) up to UTCP_TW_CHUNK records, then whole chunks
 * are added: a stack with a few records holds a few hundred bytes. */
static bool slab_room(struct utcp_twtable *t)
{
    size_t rs = sizeof(struct utcp_twrec);
    if (t->count < slab_cap(t))
        return true;
    if (t->count >= UINT32_MAX - 1u)
        return false; /* indexes + 1 are 32-bit */
    if (t->nchunks == 1 && t->cap0 < UTCP_TW_CHUNK) {
        struct utcp_twrec *c = utcp__alloc(t->alloc, 2u * t->cap0 * rs);
        if (!c)
            return false;
        memcpy(c, t->chunks[0], t->count * rs);
        utcp__free(t->alloc, t->chunks[0], t->cap0 * rs);
        t->chunks[0] = c;
        t->cap0 *= 2u;
        return true;
    }
    if (t->nchunks == t->dircap) {
        size_t nd = t->dircap ? t->dircap * 2u : 4u;
        struct utcp_twrec **d = utcp__alloc(t->alloc, nd * sizeof *d);
        if (!d)
            return false;
        if (t->nchunks)
            memcpy(d, t->chunks, t->nchunks * sizeof *d);
        utcp__free(t->alloc, t->chunks, t->dircap * sizeof *d);
        t->chunks = d;
        t->dircap = nd;
    }
    size_t n = t->nchunks ? UTCP_TW_CHUNK : TW_FIRST_CHUNK;
    struct utcp_twrec *c = utcp__alloc(t->alloc, n * rs);
    if (!c)
        return false;
    if (!t->nchunks)
        t->cap0 = n;
    t->chunks[t->nchunks++] = c;
    return true;
}

/* Frees the last chunk once the records left fill the others to half a
 * chunk below their end (no freeing and allocating at one boundary), and
 * everything once the table is empty. */
static void slab_shrink(struct utcp_twtable *t)
{
    size_t rs = sizeof(struct utcp_twrec);
    if (t->nchunks > 1 &&
        t->count + UTCP_TW_CHUNK / 2u <= (t->nchunks - 1u) * UTCP_TW_CHUNK)
        utcp__free(t->alloc, t->chunks[--t->nchunks], UTCP_TW_CHUNK * rs);
    else if (t->count == 0)
        utcp__twt_destroy(t);
}

/* Queues r (index + 1 ri) in expiry order; equal durations make this
 * O(1), from the tail. */
static void q_insert(struct utcp_twtable *t, struct utcp_twrec *r, uint32_t ri)
{
    uint32_t after = t->tail;
    while (after && rec_at(t, after - 1u)->expires > r->expires)
        after = rec_at(t, after - 1u)->qprev;
    r->qprev = after;
    r->qnext = after ? rec_at(t, after - 1u)->qnext : t->head;
    if (r->qnext)
        rec_at(t, r->qnext - 1u)->qprev = ri;
    else
        t->tail = ri;
    if (after)
        rec_at(t, after - 1u)->qnext = ri;
    else
        t->head = ri;
}

static void q_unlink(struct utcp_twtable *t, struct utcp_twrec *r)
{
    if (r->qprev)
        rec_at(t, r->qprev - 1u)->qnext = r->qnext;
    else
        t->head = r->qnext;
    if (r->qnext)
        rec_at(t, r->qnext - 1u)->qprev = r->qprev;
    else
        t->tail = r->qprev;
    r->qnext = r->qprev = 0;
}

struct utcp_twrec *utcp__twt_add(struct utcp_twtable *t,
                                 const struct utcp_4tuple *k, uint32_t h,
                                 uint64_t expires)
{
    if (!slab_room(t) || !index_room(t)) {
        if (t->count == 0)
            utcp__twt_destroy(t);
        return NULL;
    }
    size_t i = t->count++;
    struct utcp_twrec *r = rec_at(t, i);
    memset(r, 0, sizeof *r);
    r->key = *k;
    r->expires = expires;
    slot_put(t->slots, t->ctrl, t->mask, slot_make(h, i));
    q_insert(t, r, (uint32_t)(i + 1u));
    return r;
}

void utcp__twt_remove(struct utcp_twtable *t, struct utcp_twrec *r)
{
    size_t pos = slot_of(t, r, t->hash(t->hkey, &r->key));
    size_t i = slot_idx(t->slots[pos]);
    slot_delete(t, pos);
    q_unlink(t, r);
    size_t last = t->count - 1u;
    if (i != last) {
        /* the last record fills the hole: the slab stays dense */
        struct utcp_twrec *m = rec_at(t, last);
        uint32_t mh = t->hash(t->hkey, &m->key);
        size_t mp = slot_of(t, m, mh);
        t->slots[mp] = slot_make(mh, i);
        *r = *m;
        if (r->qprev)
            rec_at(t, r->qprev - 1u)->qnext = (uint32_t)(i + 1u);
        else
            t->head = (uint32_t)(i + 1u);
        if (r->qnext)
            rec_at(t, r->qnext - 1u)->qprev = (uint32_t)(i + 1u);
        else
            t->tail = (uint32_t)(i + 1u);
    }
    t->count--;
    slab_shrink(t);
}

void utcp__twt_requeue(struct utcp_twtable *t, struct utcp_twrec *r,
                       uint64_t expires)
{
    size_t pos = slot_of(t, r, t->hash(t->hkey, &r->key));
    q_unlink(t, r);
    r->expires = expires;
    q_insert(t, r, (uint32_t)(slot_idx(t->slots[pos]) + 1u));
}

struct utcp_twrec *utcp__twt_first(const struct utcp_twtable *t)
{
    return t->head ? rec_at(t, t->head - 1u) : NULL;
}

struct utcp_twrec *utcp__twt_next(const struct utcp_twtable *t,
                                  const struct utcp_twrec *r)
{
    return r->qnext ? rec_at(t, r->qnext - 1u) : NULL;
}

/* ---- TIME-WAIT in the stack. */

int utcp__tw_init(struct utcp_stack *s)
{
    utcp__wheel_node_init(&s->tw_timer);
    return utcp__twt_init(&s->tw, &s->alloc, utcp__ht_hash, s->hash_key);
}

/* The same hash as the connection table (same key), so the input path
 * hashes a packet's 4-tuple once for both. */
struct utcp_twrec *utcp__tw_find(struct utcp_stack *s,
                                 const struct utcp_4tuple *k)
{
    if (!s->tw.count)
        return NULL;
    return utcp__twt_find(&s->tw, k, utcp__tuple_hash(s, k));
}

struct utcp_twrec *utcp__tw_find_h(struct utcp_stack *s,
                                   const struct utcp_4tuple *k, uint32_t h)
{
    return utcp__twt_find(&s->tw, k, h);
}

static void rearm(struct utcp_stack *s)
{
    const struct utcp_twrec *r = utcp__twt_first(&s->tw);
    /* records are mostly added behind the first: its instant stays */
    utcp__wheel_set(&s->wheel, &s->tw_timer, r ? r->expires : UINT64_MAX);
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
    /* a connection in the table has its hash of the 4-tuple already */
    uint32_t h = c->in_table ? c->hnode.hash : utcp__tuple_hash(s, &c->tuple);
    struct utcp_twrec *r = utcp__twt_add(&s->tw, &c->tuple, h, c->t_keep);
    if (!r)
        return;
    r->snd_nxt = c->snd_nxt;
    r->rcv_nxt = c->rcv_nxt;
    r->id = c->id;
    r->dur_ms = 2u * c->opt.msl_ms;
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
    rearm(s);
}

/* The end of record r's TIME-WAIT, except taking it out of the table:
 * its port's TIME-WAIT count, the transition to CLOSED (checked and
 * traced), the connection count. */
static void tw_end(struct utcp_stack *s, const struct utcp_twrec *r, int cause)
{
    if ((r->flags & UTCP_TWF_PORT) && s->ports &&
        s->ports[r->key.lport].timewait)
        s->ports[r->key.lport].timewait--;
    if (!utcp__legal(s, UTCP_TIME_WAIT, UTCP_CLOSED, cause))
        s->ctr.IllegalTransitions++;
    utcp__trace_state(s, r->id, &r->key, UTCP_TIME_WAIT, UTCP_CLOSED, cause);
    s->ctr.ConnsFree++;
}

void utcp__tw_remove(struct utcp_stack *s, struct utcp_twrec *r, int cause)
{
    tw_end(s, r, cause);
    utcp__twt_remove(&s->tw, r);
    rearm(s);
}

void utcp__tw_expire(struct utcp_stack *s)
{
    struct utcp_twrec *r;
    while ((r = utcp__twt_first(&s->tw)) != NULL && r->expires <= s->now) {
        trace_timer(s, r, UTCP_TIMER_TIME_WAIT, UTCP_TRACE_TIMER);
        utcp__tw_remove(s, r, UTCP_CAUSE_TIMEOUT_2MSL);
    }
    rearm(s);
}

void utcp__tw_destroy(struct utcp_stack *s)
{
    /* every record ends as utcp__tw_remove would end it, then the table
     * goes at once (no compaction, no rehashing record by record) */
    for (struct utcp_twrec *r = utcp__twt_first(&s->tw); r;
         r = utcp__twt_next(&s->tw, r))
        tw_end(s, r, UTCP_CAUSE_STACK_DESTROY);
    utcp__twt_destroy(&s->tw);
    rearm(s);
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
        utcp__twt_requeue(&s->tw, r, s->now + UTCP_MS(r->dur_ms));
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
