/*
 * The stack: creation and destruction, the IPv4 input path and TCP
 * demultiplexing (4-tuple table, then listeners, else a RST per RFC 9293
 * 3.10.7.1), ICMP echo (RFC 792, RFC 1122 3.2.2.6), timers, tracing,
 * ports and counters. Bad packets are counted and dropped, never trusted.
 */
#include <string.h>

#include "stack/stack.h"
#include "wire/csum_impl.h"

void utcp_config_init(struct utcp_config *cfg)
{
    memset(cfg, 0, sizeof *cfg);
}

#define DEF(field, v)                                                          \
    do {                                                                       \
        if (!c->field)                                                         \
            c->field = (v);                                                    \
    } while (0)

static void apply_defaults(struct utcp_config *c)
{
    DEF(mtu, 1500);
    DEF(ttl, 64);
    DEF(msl_ms, 30000);
    DEF(rto_min_ms, 200);
    DEF(rto_max_ms, 120000);
    DEF(rto_initial_ms, 1000);
    DEF(delack_ms, 40);
    DEF(fin_wait2_ms, 60000);
    DEF(sndbuf, 65536);
    DEF(rcvbuf, 65536);
    DEF(syn_retries, 6);
    DEF(synack_retries, 5);
    DEF(data_retries, 15);
    DEF(ephemeral_lo, 49152);
    DEF(ephemeral_hi, 65535);
}
#undef DEF

/* The block cache (see stack.h): a free list per size, O(1) to take a
 * block of a size seen before; the block freed last always finds room
 * (a ring taken again starts at the size it last had), made by returning
 * whole lists, the one freed into longest ago first. */
static void *buf_cache_alloc(void *ctx, size_t size)
{
    struct utcp_stack *s = ctx;
    for (unsigned i = 0; i < UTCP_BUF_CACHE_CLASSES; i++) {
        void *p = s->buf_cache[i].head;
        if (s->buf_cache[i].size != size || !p)
            continue;
        void *next;
        memcpy(&next, p, sizeof next);
        s->buf_cache[i].head = next;
        s->buf_cache_bytes -= size;
        return p;
    }
    return utcp__alloc(&s->alloc, size);
}

/* Returns every block of class i to the allocator. */
static void buf_cache_drop_class(struct utcp_stack *s, unsigned i)
{
    void *p = s->buf_cache[i].head;
    while (p) {
        void *next;
        memcpy(&next, p, sizeof next);
        utcp__free(&s->alloc, p, s->buf_cache[i].size);
        s->buf_cache_bytes -= s->buf_cache[i].size;
        p = next;
    }
    s->buf_cache[i].head = NULL;
    s->buf_cache[i].size = 0;
}

/* The class holding blocks of size (claiming an unused one), or -1. */
static int buf_cache_class(struct utcp_stack *s, size_t size)
{
    int unused = -1;
    for (unsigned i = 0; i < UTCP_BUF_CACHE_CLASSES; i++) {
        if (s->buf_cache[i].size == size)
            return (int)i;
        if (unused < 0 && !s->buf_cache[i].head)
            unused = (int)i;
    }
    if (unused >= 0)
        s->buf_cache[unused].size = size;
    return unused;
}

/* The class holding blocks freed into longest ago, other than skip; -1
 * when no other class holds any. */
static int buf_cache_oldest(const struct utcp_stack *s, int skip)
{
    int old = -1;
    for (unsigned i = 0; i < UTCP_BUF_CACHE_CLASSES; i++) {
        if (!s->buf_cache[i].head || (int)i == skip)
            continue;
        if (old < 0 || s->buf_cache[i].used < s->buf_cache[old].used)
            old = (int)i;
    }
    return old;
}

static void buf_cache_free(void *ctx, void *p, size_t size)
{
    struct utcp_stack *s = ctx;
    if (!p)
        return;
    size_t limit = s->cfg.buf_cache_bytes ? s->cfg.buf_cache_bytes
                                          : UTCP_BUF_CACHE_DEFAULT;
    if (s->cfg.buf_cache_bytes == SIZE_MAX)
        limit = 0; /* caching switched off */
    if (size > limit || size < sizeof(void *)) {
        utcp__free(&s->alloc, p, size);
        return;
    }
    int c = buf_cache_class(s, size);
    if (c < 0) {
        /* every class holds blocks of other sizes: the oldest goes */
        buf_cache_drop_class(s, (unsigned)buf_cache_oldest(s, -1));
        c = buf_cache_class(s, size);
    }
    while (s->buf_cache_bytes + size > limit) {
        int old = buf_cache_oldest(s, c);
        if (old < 0) { /* only this block's own list is left */
            buf_cache_drop_class(s, (unsigned)c);
            s->buf_cache[c].size = size;
            break;
        }
        buf_cache_drop_class(s, (unsigned)old);
    }
    memcpy(p, &s->buf_cache[c].head, sizeof(void *));
    s->buf_cache[c].head = p;
    s->buf_cache[c].used = ++s->buf_cache_clock;
    s->buf_cache_bytes += size;
}

void *utcp__obj_alloc(struct utcp_stack *s, int kind, size_t size)
{
    void *p = s->obj_free[kind];
    if (!p)
        return utcp__alloc(&s->alloc, size);
    memcpy(&s->obj_free[kind], p, sizeof(void *));
    s->obj_free_n[kind]--;
    return p;
}

void utcp__obj_free(struct utcp_stack *s, int kind, void *p, size_t size)
{
    uint32_t limit = s->cfg.obj_cache ? s->cfg.obj_cache : UTCP_OBJ_CACHE;
    if (s->cfg.obj_cache == UINT32_MAX || s->obj_free_n[kind] >= limit) {
        utcp__free(&s->alloc, p, size);
        return;
    }
    memcpy(p, &s->obj_free[kind], sizeof(void *));
    s->obj_free[kind] = p;
    s->obj_free_n[kind]++;
}

static void obj_cache_release(struct utcp_stack *s, int kind, size_t size)
{
    while (s->obj_free[kind]) {
        void *p = s->obj_free[kind];
        memcpy(&s->obj_free[kind], p, sizeof(void *));
        utcp__free(&s->alloc, p, size);
    }
    s->obj_free_n[kind] = 0;
}

static void derive_key(struct utcp_rng *r, uint8_t key[16])
{
    uint64_t a = utcp__rng_next(r), b = utcp__rng_next(r);
    memcpy(key, &a, 8);
    memcpy(key + 8, &b, 8);
}

int utcp_stack_create(const struct utcp_config *cfg, struct utcp_stack **out)
{
    if (!cfg || !out || (!cfg->output && !cfg->output_ex) || cfg->addr == 0)
        return UTCP_EINVAL;
    struct utcp_config c = *cfg;
    apply_defaults(&c);
    if (c.mtu < 68 || c.ephemeral_lo == 0 || c.ephemeral_lo > c.ephemeral_hi ||
        c.rto_min_ms > c.rto_max_ms || c.delack_ms > 500 || c.ttl > 255 ||
        c.sndbuf < 1 || c.rcvbuf < 1 ||
        (c.offload & ~(unsigned)(UTCP_OFFLOAD_TX_CSUM | UTCP_OFFLOAD_RX_CSUM)))
        return UTCP_EINVAL;
    /* TSO segments leave with a partial checksum, through output_ex (the
     * link must learn the segment size), and fit one IPv4 packet with the
     * largest headers. */
    if (c.tso_max &&
        (!c.output_ex || !(c.offload & UTCP_OFFLOAD_TX_CSUM) ||
         c.tso_max > UTCP_TSO_MAX_LIMIT))
        return UTCP_EINVAL;
    const struct utcp_allocator *a =
        c.allocator ? c.allocator : &utcp__default_allocator;
    struct utcp_stack *s = utcp__alloc(a, sizeof *s);
    if (!s)
        return UTCP_ENOMEM;
    memset(s, 0, sizeof *s);
    s->cfg = c;
    s->alloc = *a;
    s->buf_alloc.alloc = buf_cache_alloc;
    s->buf_alloc.free = buf_cache_free;
    s->buf_alloc.ctx = s;
    utcp__rng_seed(&s->rng, c.seed);
    static const uint8_t zero[16];
    if (memcmp(c.secret, zero, 16) != 0)
        memcpy(s->isn_key, c.secret, 16);
    else
        derive_key(&s->rng, s->isn_key);
    derive_key(&s->rng, s->hash_key);
    s->memo_hash = utcp__ht_hash(s->hash_key, &s->memo_key); /* all zero */
    derive_key(&s->rng, s->port_key);
    s->ip_id = (uint16_t)utcp__rng_next(&s->rng);
    s->next_ephemeral = (uint32_t)utcp__rng_next(&s->rng);
    s->pkt_cap = (size_t)c.mtu + 64;
    if (s->pkt_cap < 65535 + 64)
        s->pkt_cap = 65535 + 64;
    s->pkt = utcp__alloc(a, s->pkt_cap);
    utcp__wheel_init(&s->wheel, 0);
    utcp__fsm_masks(s->fsm_mask);
    if (!s->pkt ||
        utcp__ht_init(&s->conns, &s->alloc, s->hash_key, 8) != 0 ||
        utcp__ht_init(&s->listeners, &s->alloc, s->hash_key, 4) != 0 ||
        utcp__tw_init(s) != 0) {
        utcp_stack_destroy(s);
        return UTCP_ENOMEM;
    }
    *out = s;
    return 0;
}

void utcp_stack_destroy(struct utcp_stack *s)
{
    if (!s)
        return;
    /* Nobody will collect events any more. */
    while (s->ev_head)
        utcp__ev_unlink(s, s->ev_head);
    /* Every connection, orphaned or not, is in the socket table or in a
     * table or queue; free them all. */
    for (uint32_t i = 0; i < s->socks_cap; i++) {
        struct utcp_conn *c = s->socks[i].conn;
        if (!c)
            continue;
        s->socks[i].conn = NULL;
        c->sock_idx = 0;
        if (c->state == UTCP_LISTEN) {
            /* children first */
            while (c->synq_head)
                utcp__conn_close(s, c->synq_head, UTCP_CAUSE_STACK_DESTROY, 0);
            while (c->accq_head)
                utcp__conn_close(s, c->accq_head, UTCP_CAUSE_STACK_DESTROY, 0);
        }
        utcp__conn_close(s, c, UTCP_CAUSE_STACK_DESTROY, 0);
    }
    if (s->conns.buckets) {
        /* Orphaned connections (closed by the application, still ending). */
        size_t b = 0;
        struct utcp_hnode *n = utcp__ht_iter(&s->conns, &b, NULL);
        while (n) {
            /* fetch the next node before this one is freed */
            struct utcp_hnode *next = utcp__ht_iter(&s->conns, &b, n);
            struct utcp_conn *c = UTCP_CONTAINER_OF(n, struct utcp_conn, hnode);
            utcp__conn_close(s, c, UTCP_CAUSE_STACK_DESTROY, 0);
            n = next;
        }
    }
    if (s->tw.alloc)
        utcp__tw_destroy(s);
    utcp__ht_destroy(&s->conns);
    utcp__ht_destroy(&s->listeners);
    utcp__free(&s->alloc, s->socks, sizeof *s->socks * s->socks_cap);
    utcp__free(&s->alloc, s->ports, sizeof *s->ports * 65536u);
    utcp__free(&s->alloc, s->pkt, s->pkt_cap);
    obj_cache_release(s, UTCP_OBJ_CONN, sizeof(struct utcp_conn));
    obj_cache_release(s, UTCP_OBJ_BBR, sizeof(struct utcp_bbr));
    for (unsigned i = 0; i < UTCP_BUF_CACHE_CLASSES; i++)
        buf_cache_drop_class(s, i);
    struct utcp_allocator a = s->alloc;
    utcp__free(&a, s, sizeof *s);
}

void utcp__trace(struct utcp_stack *s, struct utcp_trace_event *ev)
{
    if (!s->cfg.trace)
        return;
    ev->now = s->now;
    s->cfg.trace(s->cfg.trace_ctx, ev);
}

void utcp__trace_state(struct utcp_stack *s, uint32_t id,
                       const struct utcp_4tuple *t, int old, int st,
                       int cause)
{
    if (!s->cfg.trace)
        return;
    struct utcp_trace_event ev = {0};
    ev.kind = UTCP_TRACE_STATE;
    utcp__ev_conn(&ev, id, t);
    ev.old_state = old;
    ev.new_state = st;
    ev.cause = cause;
    utcp__trace(s, &ev);
}

void utcp__trace_drop(struct utcp_stack *s, const struct utcp_conn *c,
                      const struct utcp_ipv4 *ip, int reason)
{
    if (!s->cfg.trace)
        return;
    struct utcp_trace_event ev = {0};
    ev.kind = UTCP_TRACE_DROP;
    ev.drop_reason = reason;
    if (c) {
        utcp__ev_conn(&ev, c->id, &c->tuple);
    }
    if (ip) {
        ev.pkt = ip->payload - ip->hdr_len;
        ev.pkt_len = ip->total_len;
    }
    utcp__trace(s, &ev);
}

void utcp__emit(struct utcp_stack *s, const struct utcp_conn *c,
                const uint8_t *pkt, size_t len)
{
    static const struct utcp_output_meta plain = {0, 0, false};
    utcp__emit_meta(s, c, pkt, len, &plain);
}

void utcp__emit_meta(struct utcp_stack *s, const struct utcp_conn *c,
                     const uint8_t *pkt, size_t len,
                     const struct utcp_output_meta *meta)
{
    if (s->cfg.trace) {
        struct utcp_trace_event ev = {0};
        ev.kind = UTCP_TRACE_SEG_OUT;
        ev.pkt = pkt;
        ev.pkt_len = len;
        if (c) {
            utcp__ev_conn(&ev, c->id, &c->tuple);
        }
        utcp__trace(s, &ev);
    }
    if (s->cfg.output_ex)
        s->cfg.output_ex(s->cfg.output_ctx, pkt, len, meta);
    else
        s->cfg.output(s->cfg.output_ctx, pkt, len);
}

/* ---- ports ---- */
bool utcp__ports_ensure(struct utcp_stack *s)
{
    if (s->ports)
        return true;
    s->ports = utcp__alloc(&s->alloc, sizeof *s->ports * 65536u);
    if (!s->ports)
        return false;
    memset(s->ports, 0, sizeof *s->ports * 65536u);
    return true;
}

void utcp__port_hold(struct utcp_stack *s, uint16_t port)
{
    if (utcp__ports_ensure(s))
        s->ports[port].active++;
}

void utcp__port_release(struct utcp_stack *s, struct utcp_conn *c)
{
    struct utcp_port_use *u = s->ports ? &s->ports[c->tuple.lport] : NULL;
    if (u && c->port_tw && u->timewait)
        u->timewait--;
    else if (u && !c->port_tw && u->active)
        u->active--;
    c->bound = false;
    c->port_tw = false;
}

/* ---- tables ---- */
void utcp__table_insert(struct utcp_stack *s, struct utcp_conn *c)
{
    c->hnode.key = c->tuple;
    if (c->state == UTCP_LISTEN) { /* a listener, keyed by its port */
        c->hnode.key.raddr = 0;
        c->hnode.key.rport = 0;
        utcp__ht_insert_h(&s->listeners, &c->hnode,
                          utcp__listen_hash(c->tuple.laddr, c->tuple.lport));
    } else {
        utcp__ht_insert_h(&s->conns, &c->hnode,
                          utcp__tuple_hash(s, &c->tuple));
    }
    c->in_table = true;
}

void utcp__table_remove(struct utcp_stack *s, struct utcp_conn *c)
{
    bool listener = c->hnode.key.raddr == 0 && c->hnode.key.rport == 0;
    utcp__ht_remove(listener ? &s->listeners : &s->conns, &c->hnode);
    c->in_table = false;
    if (s->last_conn == c)
        s->last_conn = NULL;
}

struct utcp_conn *utcp__table_find(struct utcp_stack *s,
                                   const struct utcp_4tuple *t)
{
    struct utcp_hnode *n =
        utcp__ht_find_h(&s->conns, t, utcp__tuple_hash(s, t));
    return n ? UTCP_CONTAINER_OF(n, struct utcp_conn, hnode) : NULL;
}

/* ---- input ---- */
static void drop_wire(struct utcp_stack *s, const uint8_t *pkt, size_t len,
                      enum utcp_wire_reason r)
{
    if (!s->cfg.trace)
        return;
    struct utcp_trace_event ev = {0};
    ev.kind = UTCP_TRACE_DROP;
    ev.drop_reason = UTCP_DROP_WIRE;
    ev.wire_reason = (int)r;
    ev.pkt = pkt;
    ev.pkt_len = len;
    utcp__trace(s, &ev);
}

static void icmp_input(struct utcp_stack *s, const struct utcp_ipv4 *ip)
{
    struct utcp_icmp m;
    enum utcp_wire_reason r = utcp_icmp_parse(ip->payload, ip->payload_len, &m);
    if (r != UTCP_WIRE_OK) {
        s->ctr.InIpErrs++;
        drop_wire(s, ip->payload - ip->hdr_len, ip->total_len, r);
        return;
    }
    s->ctr.InIcmp++;
    if (m.type == UTCP_ICMP_ECHO_REQUEST) {
        /* RFC 1122 3.2.2.6: answer with the same identifier, sequence and
         * data. */
        struct utcp_icmp rep = m;
        rep.type = UTCP_ICMP_ECHO_REPLY;
        rep.code = 0;
        size_t room = s->pkt_cap - UTCP_IPV4_HDR_LEN;
        size_t n = utcp_icmp_echo_build(s->pkt + UTCP_IPV4_HDR_LEN, room, &rep);
        if (!n)
            return;
        struct utcp_ipv4 oip;
        utcp__ip_out(s, &oip, ip->dst, ip->src);
        oip.df = false;
        oip.proto = UTCP_IPPROTO_ICMP;
        if (!utcp_ipv4_build(s->pkt, s->pkt_cap, &oip, n))
            return;
        s->ctr.OutIcmp++;
        utcp__emit(s, NULL, s->pkt, n + UTCP_IPV4_HDR_LEN);
    }
    /* Destination unreachable: RFC 1122 4.2.3.9 says soft errors must not
     * abort a connection; hard errors (protocol/port unreachable) may in
     * SYN states. Handled with connection lookup below. */
    if (m.type == UTCP_ICMP_DEST_UNREACH && m.quoted.proto == UTCP_IPPROTO_TCP &&
        m.quoted.src == s->cfg.addr) {
        struct utcp_4tuple k = {m.quoted.src, m.quoted.dst, m.q_sport,
                                m.q_dport};
        struct utcp_conn *c = utcp__table_find(s, &k);
        if (c && c->state == UTCP_SYN_SENT &&
            (m.code == UTCP_ICMP_UNREACH_PROTO ||
             m.code == UTCP_ICMP_UNREACH_PORT) &&
            seq_in(m.q_seq, c->snd_una, c->snd_max)) {
            utcp__conn_close(s, c, UTCP_CAUSE_ICMP_ERROR, UTCP_ECONNREFUSED);
        }
    }
}

void utcp_input(struct utcp_stack *s, uint64_t now, const uint8_t *pkt,
                size_t len)
{
    utcp_input_ex(s, now, pkt, len, 0);
}

/* The common case of a data segment: the next bytes expected, in order,
 * on a connection that takes data, with room for them. Its payload is
 * copied to its place in the receive ring while the checksum is summed (one
 * pass over the data instead of two); the data step stores it if the
 * segment is accepted (input.c step_text). Returns whether the checksum was
 * verified this way and is good; false sends the caller to the ordinary
 * check (also when the segment does not qualify). Nothing here changes
 * what the connection holds: the bytes lie past the stored ones. */
static bool place_payload(struct utcp_stack *s, struct utcp_conn *c,
                          const struct utcp_ipv4 *ip, const struct utcp_tcp *th)
{
    uint32_t n = (uint32_t)th->payload_len;
    if (n == 0 || (th->flags & (UTCP_TH_SYN | UTCP_TH_RST)) ||
        th->seq != c->rcv_nxt || c->ooo->n != 0 || c->rd_shut ||
        (c->state != UTCP_ESTABLISHED && c->state != UTCP_FIN_WAIT_1 &&
         c->state != UTCP_FIN_WAIT_2) ||
        n > utcp__ring_free(&c->rcvq) || ip->payload_len > 0xffffu)
        return false;
    uint32_t sum = utcp__csum_pseudo(ip->src, ip->dst, UTCP_IPPROTO_TCP,
                                     (uint16_t)ip->payload_len);
    /* The header is a whole number of 32-bit words: the payload's sum
     * chains on at an even offset. */
    sum = utcp_csum_partial(ip->payload, th->hdr_len, sum);
    if (!utcp__ring_place_csum(&c->rcvq, &s->buf_alloc, th->payload, n, sum,
                               &sum))
        return false;
    if (utcp_csum_fold(sum) != 0)
        return false; /* the ordinary check finds it bad too */
    s->placed.c = c;
    s->placed.data = th->payload;
    s->placed.seq = th->seq;
    s->placed.len = n;
    return true;
}

bool utcp__batch_hold_ack(struct utcp_stack *s, struct utcp_conn *c)
{
    if (!c->ack_held) {
        if (s->batch_n == UTCP_ARRAY_LEN(s->batch_acks))
            return false;
        s->batch_acks[s->batch_n++] = c;
        c->ack_held = true;
    }
    if (c->t_delack == UTCP_TIME_NEVER) {
        c->t_delack = s->now + UTCP_MS(s->cfg.delack_ms);
        utcp__timer_update(s, c);
    }
    return true;
}

void utcp_input_batch_begin(struct utcp_stack *s)
{
    s->batching = true;
}

void utcp_input_batch_end(struct utcp_stack *s)
{
    s->batching = false;
    /* RFC 5681 4.2: the ACKs held over the burst, one per connection. */
    for (unsigned i = 0; i < s->batch_n; i++) {
        struct utcp_conn *c = s->batch_acks[i];
        if (c && c->ack_held) {
            c->ack_held = false;
            if (c->state != UTCP_CLOSED) /* not reset meanwhile */
                utcp__send_ack(s, c);
        }
    }
    s->batch_n = 0;
}

void utcp_input_ex(struct utcp_stack *s, uint64_t now, const uint8_t *pkt,
                   size_t len, unsigned flags)
{
    s->runs++;
    if (now > s->now)
        s->now = now;
    s->ctr.InPackets++;
    struct utcp_ipv4 ip;
    enum utcp_wire_reason r = utcp_ipv4_parse(pkt, len, &ip);
    if (r != UTCP_WIRE_OK) {
        /* An IPv6 packet (the kernel sends router solicitations to a TUN
         * device) is not a malformed IPv4 one: counted apart. */
        if (r == UTCP_WIRE_IP_FRAGMENT)
            s->ctr.InIpFragments++;
        else if (r == UTCP_WIRE_IP_VERSION && len > 0 && pkt[0] >> 4 == 6)
            s->ctr.InOtherIpVersion++;
        else
            s->ctr.InIpErrs++;
        drop_wire(s, pkt, len, r);
        return;
    }
    if (ip.dst != s->cfg.addr ||
        (ip.proto != UTCP_IPPROTO_TCP && ip.proto != UTCP_IPPROTO_ICMP)) {
        s->ctr.InNotForUs++;
        utcp__trace_drop(s, NULL, &ip, UTCP_DROP_NOT_FOR_US);
        return;
    }
    if (ip.proto == UTCP_IPPROTO_ICMP) {
        icmp_input(s, &ip);
        return;
    }
    s->ctr.InSegs++;
    struct utcp_tcp th;
    bool verify = !(flags & UTCP_INPUT_CSUM_OK) &&
                  !(s->cfg.offload & UTCP_OFFLOAD_RX_CSUM);
    /* The structure first; the checksum below, once we know whether the
     * payload can be verified while it is copied to its place. */
    r = utcp_tcp_parse(ip.payload, ip.payload_len, ip.src, ip.dst, false,
                       &th);
    if (r != UTCP_WIRE_OK) {
        /* A corrupted segment is reported as such, whatever the damage
         * made of its header. */
        if (verify && !utcp_tcp_csum_ok(ip.payload, ip.payload_len, ip.src,
                                        ip.dst))
            r = UTCP_WIRE_TCP_CHECKSUM;
        s->ctr.InErrs++;
        drop_wire(s, pkt, len, r);
        return;
    }
    struct utcp_4tuple k = {ip.dst, ip.src, th.dport, th.sport};
    struct utcp_conn *c = s->last_conn;
    uint32_t kh = 0;
    if (!c || !utcp_4tuple_eq(&c->hnode.key, &k)) {
        kh = utcp__tuple_hash(s, &k); /* for both tables */
        struct utcp_hnode *cn = utcp__ht_find_h(&s->conns, &k, kh);
        c = cn ? UTCP_CONTAINER_OF(cn, struct utcp_conn, hnode) : NULL;
        if (c)
            s->last_conn = c;
        else /* the TIME_WAIT lookup below: its miss under the checksum */
            utcp__twt_prefetch(&s->tw, kh);
    }
    s->placed.c = NULL;
    if (verify && !(c && place_payload(s, c, &ip, &th)) &&
        !utcp_tcp_csum_ok(ip.payload, ip.payload_len, ip.src, ip.dst)) {
        s->ctr.InErrs++;
        drop_wire(s, pkt, len, UTCP_WIRE_TCP_CHECKSUM);
        return;
    }
    if (s->cfg.trace) {
        struct utcp_trace_event ev = {0};
        ev.kind = UTCP_TRACE_SEG_IN;
        ev.pkt = pkt;
        ev.pkt_len = ip.total_len;
        ev.local_addr = ip.dst;
        ev.remote_addr = ip.src;
        ev.local_port = th.dport;
        ev.remote_port = th.sport;
        ev.conn_id = c ? c->id : 0;
        utcp__trace(s, &ev);
    }
    if (th.flags & UTCP_TH_RST)
        s->ctr.InRsts++;
    if (c) {
        /* A FIN that may end in TIME-WAIT: the table's slot, fetched
         * while the segment is processed (a miss each, in a table of a
         * million records) */
        if ((th.flags & UTCP_TH_FIN) && utcp__state_may_time_wait(c->state))
            utcp__twt_prefetch_put(&s->tw, c->hnode.hash);
        utcp__tcp_input(s, c, &ip, &th);
        s->placed.c = NULL;
        return;
    }
    struct utcp_twrec *tw = utcp__tw_find_h(s, &k, kh);
    utcp_seq floor = 0;
    if (tw) {
        /* as for a full TIME-WAIT connection: above the old SND.NXT plus a
         * maximum window (RFC 6191 2) */
        floor = tw->snd_nxt + 65537u;
        if (!utcp__tw_input(s, tw, &ip, &th))
            return;
    }
    struct utcp_conn *l = utcp__listener_find(s, ip.dst, th.dport);
    if (l) {
        utcp__listen_input(s, l, &ip, &th, tw ? &floor : NULL);
        return;
    }
    /* RFC 9293 3.10.7.1: CLOSED. */
    s->ctr.DroppedSegs++;
    if (th.flags & UTCP_TH_RST) {
        utcp__trace_drop(s, NULL, &ip, UTCP_DROP_RST_NO_SOCKET);
        return;
    }
    utcp__trace_drop(s, NULL, &ip, UTCP_DROP_NO_SOCKET);
    utcp__send_rst_reply(s, &ip, &th);
}

uint64_t utcp_tick(struct utcp_stack *s, uint64_t now)
{
    s->runs++;
    if (now > s->now)
        s->now = now;
    for (;;) {
        /* a fired timer may move any deadline, to now too: bring the wheel
         * up to date before each read of it (timer.c) */
        utcp__timers_flush(s);
        struct utcp_tnode *n = utcp__wheel_pop(&s->wheel, s->now);
        if (!n)
            break;
        if (n == &s->tw_timer) {
            utcp__tw_expire(s);
            continue;
        }
        struct utcp_conn *c = UTCP_CONTAINER_OF(n, struct utcp_conn, tnode);
        utcp__timer_fire(s, c);
    }
    return utcp__wheel_next(&s->wheel);
}

uint64_t utcp_next_deadline(struct utcp_stack *s)
{
    utcp__timers_flush(s);
    return utcp__wheel_next(&s->wheel);
}

uint64_t utcp_now(const struct utcp_stack *s)
{
    return s->now;
}

void utcp_get_counters(const struct utcp_stack *s, struct utcp_counters *out)
{
    *out = s->ctr;
}
