/*
 * The simulated network: stacks joined through the impairment filter on a
 * virtual clock, recording every segment, RFC 9293 3.3.2 state change, timer
 * and drop. Deterministic for a seed (ties: timers, lower node, send order).
 * Must never read a clock, sleep, do I/O or keep global state.
 */
#include "link/simnet.h"

#include <string.h>

#include "base/base.h"
#include "link/filter.h"
#include "utcp/wire.h"

struct sim_node {
    struct utcp_sim *net;
    unsigned idx;
    struct utcp_stack *st;
    bool pending_rtx; /* a RETRANSMIT trace came: flag the next SEG */
    uint32_t id_base; /* added to conn ids: distinct after a restart */
    struct utcp_config cfg; /* to create the stack again */
};

struct inflight {
    uint64_t at, order;
    unsigned to;
    size_t seg;
    bool corrupted;
    uint8_t *data;
    size_t len;
};

struct utcp_sim {
    struct utcp_allocator alloc;
    unsigned nnodes;
    uint32_t base_addr;
    struct sim_node node[UTCP_SIM_MAX_NODES];
    struct utcp_filter filter;
    struct utcp_prng rng;
    uint64_t now, order;
    struct inflight *q;
    size_t qlen, qcap;
    struct utcp_sim_event *ev;
    size_t nev, evcap;
    bool recording;
    int error;
    uint64_t same_instant; /* steps in a row at one instant (loop guard) */
    uint64_t illegal;
};

/* ---- memory ---- */

static void *sim_alloc(struct utcp_sim *n, size_t size)
{
    return utcp__alloc(&n->alloc, size);
}

static void sim_free(struct utcp_sim *n, void *p, size_t size)
{
    utcp__free(&n->alloc, p, size);
}

/* Grows *arr (elements of elem bytes, *cap of them) to hold one more. */
static bool grow(struct utcp_sim *n, void **arr, size_t *cap, size_t used,
                 size_t elem)
{
    if (used < *cap)
        return true;
    size_t ncap = *cap ? *cap * 2 : 64;
    void *p = sim_alloc(n, ncap * elem);
    if (!p)
        return false;
    if (*arr) {
        memcpy(p, *arr, used * elem);
        sim_free(n, *arr, *cap * elem);
    }
    *arr = p;
    *cap = ncap;
    return true;
}

static uint8_t *copy_bytes(struct utcp_sim *n, const void *src, size_t len)
{
    uint8_t *p = sim_alloc(n, len ? len : 1);
    if (p && len)
        memcpy(p, src, len);
    return p;
}

/* A new event at the current time, or NULL (error recorded). */
static struct utcp_sim_event *add_event(struct utcp_sim *n,
                                        enum utcp_sim_event_kind kind,
                                        unsigned node)
{
    if (!n->recording)
        return NULL;
    if (!grow(n, (void **)&n->ev, &n->evcap, n->nev, sizeof *n->ev)) {
        n->error = UTCP_ENOMEM;
        return NULL;
    }
    struct utcp_sim_event *e = &n->ev[n->nev++];
    memset(e, 0, sizeof *e);
    e->kind = kind;
    e->t = n->now;
    e->node = node;
    e->to = UTCP_SIM_NO_NODE;
    e->verdict.rule = -1;
    return e;
}

/* ---- the wire ---- */

static unsigned route(const struct utcp_sim *n, const uint8_t *pkt,
                      size_t len)
{
    if (len < UTCP_IPV4_HDR_LEN)
        return UTCP_SIM_NO_NODE;
    uint32_t dst = utcp_get32(pkt + 16);
    for (unsigned i = 0; i < n->nnodes; i++)
        if (dst == n->base_addr + i)
            return i;
    return UTCP_SIM_NO_NODE;
}

static bool enqueue(struct utcp_sim *n, unsigned to, size_t seg,
                    const uint8_t *pkt, size_t len, uint64_t at,
                    const struct utcp_filter_verdict *corrupt)
{
    if (!grow(n, (void **)&n->q, &n->qcap, n->qlen, sizeof *n->q))
        return false;
    uint8_t *data = copy_bytes(n, pkt, len);
    if (!data)
        return false;
    if (corrupt)
        utcp_filter_corrupt(corrupt, data, len);
    struct inflight *f = &n->q[n->qlen++];
    f->at = at;
    f->order = n->order++;
    f->to = to;
    f->seg = seg;
    f->corrupted = corrupt != NULL;
    f->data = data;
    f->len = len;
    return true;
}

/* A packet leaves node `from`: record it, ask the filter, queue copies. */
static void transmit(struct utcp_sim *n, unsigned from, const uint8_t *pkt,
                     size_t len, bool injected)
{
    struct utcp_filter_verdict v;
    int dir = from == 0 ? 0 : 1;
    utcp_filter_decide(&n->filter, &n->rng, dir, n->now, pkt, len, &v);
    unsigned to = route(n, pkt, len);
    size_t seg = n->nev;
    struct utcp_sim_event *e = add_event(n, UTCP_SIM_SEG, from);
    if (e) {
        e->pkt = copy_bytes(n, pkt, len);
        if (!e->pkt) {
            n->error = UTCP_ENOMEM;
            n->nev--;
            e = NULL;
        }
    }
    if (e) {
        e->len = len;
        e->to = to;
        e->injected = injected;
        e->retransmit = n->node[from].pending_rtx && !injected;
        e->verdict = v;
    }
    if (!injected)
        n->node[from].pending_rtx = false;
    if (to == UTCP_SIM_NO_NODE || v.drop)
        return;
    for (unsigned i = 0; i < v.copies && i < 2; i++) {
        const struct utcp_filter_verdict *c = i == 0 && v.corrupted ? &v : NULL;
        if (!enqueue(n, to, seg, pkt, len, v.at[i], c))
            n->error = UTCP_ENOMEM;
    }
}

static void node_output(void *ctx, const uint8_t *pkt, size_t len)
{
    struct sim_node *nd = ctx;
    transmit(nd->net, nd->idx, pkt, len, false);
}

static void node_trace(void *ctx, const struct utcp_trace_event *tev)
{
    struct sim_node *nd = ctx;
    struct utcp_sim *n = nd->net;
    struct utcp_sim_event *e = NULL;
    switch (tev->kind) {
    case UTCP_TRACE_STATE:
        if (!utcp_transition_legal(tev->old_state, tev->new_state))
            n->illegal++;
        e = add_event(n, UTCP_SIM_STATE, nd->idx);
        if (e) {
            e->old_state = tev->old_state;
            e->new_state = tev->new_state;
            e->cause = tev->cause;
        }
        break;
    case UTCP_TRACE_TIMER:
    case UTCP_TRACE_TIMER_SET:
        e = add_event(n, tev->kind == UTCP_TRACE_TIMER ? UTCP_SIM_TIMER
                                                        : UTCP_SIM_TIMER_SET,
                      nd->idx);
        if (e) {
            e->timer = tev->timer;
            e->expires = tev->expires;
        }
        break;
    case UTCP_TRACE_RETRANSMIT:
        nd->pending_rtx = true;
        e = add_event(n, UTCP_SIM_RETRANSMIT, nd->idx);
        break;
    case UTCP_TRACE_DROP:
        e = add_event(n, UTCP_SIM_DROP, nd->idx);
        if (e) {
            e->drop_reason = tev->drop_reason;
            e->wire_reason = tev->wire_reason;
        }
        break;
    case UTCP_TRACE_SEG_IN:
    case UTCP_TRACE_SEG_OUT:
        break; /* recorded by the wire itself (transmit, deliver) */
    }
    if (e)
        e->conn_id = tev->conn_id ? tev->conn_id + nd->id_base : 0;
}

/* ---- life cycle ---- */

void utcp_sim_config_init(struct utcp_sim_config *c)
{
    memset(c, 0, sizeof *c);
    utcp_config_init(&c->stack);
    utcp_filter_init(&c->filter);
}

/* Seeds of the parts of a run, derived from the one seed. */
static uint64_t derive_seed(uint64_t seed, uint64_t part)
{
    struct utcp_prng r;
    utcp_prng_seed(&r, seed ^ (part * UINT64_C(0xd1342543de82ef95)));
    return utcp_prng_next(&r);
}

int utcp_sim_create(const struct utcp_sim_config *c, struct utcp_sim **out)
{
    unsigned nodes = c->nodes ? c->nodes : 2;
    if (nodes < 2 || nodes > UTCP_SIM_MAX_NODES)
        return UTCP_EINVAL;
    const struct utcp_allocator *a =
        c->stack.allocator ? c->stack.allocator : &utcp__default_allocator;
    struct utcp_sim *n = utcp__alloc(a, sizeof *n);
    if (!n)
        return UTCP_ENOMEM;
    memset(n, 0, sizeof *n);
    n->alloc = *a;
    n->nnodes = nodes;
    n->base_addr = c->base_addr ? c->base_addr : UTCP_SIM_BASE_ADDR;
    n->filter = c->filter;
    n->recording = true;
    utcp_prng_seed(&n->rng, derive_seed(c->seed, 0));
    for (unsigned i = 0; i < nodes; i++) {
        struct sim_node *nd = &n->node[i];
        nd->net = n;
        nd->idx = i;
        struct utcp_config sc = c->node_stack_set[i] ? c->node_stack[i]
                                                      : c->stack;
        sc.addr = n->base_addr + i;
        sc.output = node_output;
        sc.output_ctx = nd;
        sc.trace = node_trace;
        sc.trace_ctx = nd;
        sc.seed = derive_seed(c->seed, i + 1u);
        nd->cfg = sc;
        int rc = utcp_stack_create(&sc, &nd->st);
        if (rc != 0) {
            utcp_sim_destroy(n);
            return rc;
        }
    }
    *out = n;
    return 0;
}

void utcp_sim_destroy(struct utcp_sim *n)
{
    if (!n)
        return;
    n->recording = false;
    for (unsigned i = 0; i < n->nnodes; i++) {
        utcp_stack_destroy(n->node[i].st);
        n->node[i].st = NULL;
    }
    for (size_t i = 0; i < n->qlen; i++)
        sim_free(n, n->q[i].data, n->q[i].len ? n->q[i].len : 1);
    sim_free(n, n->q, n->qcap * sizeof *n->q);
    for (size_t i = 0; i < n->nev; i++) {
        struct utcp_sim_event *e = &n->ev[i];
        if (e->kind == UTCP_SIM_SEG)
            sim_free(n, (void *)(uintptr_t)e->pkt, e->len ? e->len : 1);
        else if (e->kind == UTCP_SIM_NOTE)
            sim_free(n, (void *)(uintptr_t)e->text, strlen(e->text) + 1);
    }
    sim_free(n, n->ev, n->evcap * sizeof *n->ev);
    struct utcp_allocator a = n->alloc;
    utcp__free(&a, n, sizeof *n);
}

struct utcp_stack *utcp_sim_stack(struct utcp_sim *n, unsigned node)
{
    return node < n->nnodes ? n->node[node].st : NULL;
}

uint32_t utcp_sim_addr(const struct utcp_sim *n, unsigned node)
{
    return n->base_addr + node;
}

unsigned utcp_sim_nodes(const struct utcp_sim *n)
{
    return n->nnodes;
}

struct utcp_filter *utcp_sim_filter(struct utcp_sim *n)
{
    return &n->filter;
}

uint64_t utcp_sim_now(const struct utcp_sim *n)
{
    return n->now;
}

/* ---- the event loop ---- */

/* Index of the earliest in-flight packet (ties: send order), or -1. */
static long earliest(const struct utcp_sim *n)
{
    long best = -1;
    for (size_t i = 0; i < n->qlen; i++) {
        const struct inflight *f = &n->q[i], *b = best >= 0 ? &n->q[best] : 0;
        if (!b || f->at < b->at || (f->at == b->at && f->order < b->order))
            best = (long)i;
    }
    return best;
}

static void deliver(struct utcp_sim *n, size_t qi)
{
    struct inflight f = n->q[qi];
    n->q[qi] = n->q[--n->qlen];
    struct utcp_sim_event *e = add_event(n, UTCP_SIM_DELIVER, f.to);
    if (e) {
        e->seg = f.seg;
        e->corrupted = f.corrupted;
    }
    utcp_input(n->node[f.to].st, n->now, f.data, f.len);
    sim_free(n, f.data, f.len ? f.len : 1);
}

/* Performs the next event due at or before t; false when there is none.
 * At equal times timers fire before deliveries, lower nodes first. */
static bool step(struct utcp_sim *n, uint64_t t)
{
    long p = earliest(n);
    uint64_t next = p >= 0 ? n->q[p].at : UINT64_MAX;
    unsigned tick = UTCP_SIM_NO_NODE;
    for (unsigned i = 0; i < n->nnodes; i++) {
        uint64_t d = utcp_next_deadline(n->node[i].st);
        if (d != UINT64_MAX && (d < next || (d == next && tick == UTCP_SIM_NO_NODE))) {
            next = d;
            tick = i;
        }
    }
    if (next == UINT64_MAX || next > t)
        return false;
    if (next > n->now) {
        n->now = next;
        n->same_instant = 0;
    } else if (++n->same_instant > UTCP_SIM_MAX_STEPS_PER_INSTANT) {
        /* A stack whose deadline never moves past now: stop, not hang. */
        n->error = UTCP_EBUSY;
        return false;
    }
    if (tick != UTCP_SIM_NO_NODE)
        utcp_tick(n->node[tick].st, n->now);
    else
        deliver(n, (size_t)p);
    return true;
}

bool utcp_sim_step(struct utcp_sim *n, uint64_t t)
{
    return step(n, t);
}

void utcp_sim_run_until(struct utcp_sim *n, uint64_t t)
{
    while (step(n, t))
        ;
    if (t > n->now && t != UINT64_MAX)
        n->now = t;
    for (unsigned i = 0; i < n->nnodes; i++)
        utcp_tick(n->node[i].st, n->now);
}

void utcp_sim_run_for(struct utcp_sim *n, uint64_t d)
{
    utcp_sim_run_until(n, d > UINT64_MAX - n->now ? UINT64_MAX - 1
                                                  : n->now + d);
}

bool utcp_sim_run_idle(struct utcp_sim *n, uint64_t limit)
{
    while (step(n, limit))
        ;
    if (n->qlen)
        return false;
    for (unsigned i = 0; i < n->nnodes; i++)
        if (utcp_next_deadline(n->node[i].st) != UINT64_MAX)
            return false;
    return true;
}

int utcp_sim_restart(struct utcp_sim *n, unsigned node)
{
    if (node >= n->nnodes)
        return UTCP_EINVAL;
    struct sim_node *nd = &n->node[node];
    utcp_stack_destroy(nd->st); /* recorded: STACK_DESTROY transitions */
    nd->st = NULL;
    nd->pending_rtx = false;
    nd->id_base += UTCP_SIM_RESTART_IDS;
    nd->cfg.seed = derive_seed(nd->cfg.seed, nd->id_base);
    int rc = utcp_stack_create(&nd->cfg, &nd->st);
    if (rc == 0)
        utcp_tick(nd->st, n->now);
    return rc;
}

int utcp_sim_inject(struct utcp_sim *n, unsigned from, const uint8_t *pkt,
                    size_t len)
{
    if (from >= n->nnodes || !pkt)
        return UTCP_EINVAL;
    int before = n->error;
    transmit(n, from, pkt, len, true);
    return n->error && !before ? n->error : 0;
}

int utcp_sim_note(struct utcp_sim *n, unsigned node, const char *text)
{
    struct utcp_sim_event *e = add_event(n, UTCP_SIM_NOTE, node);
    if (!e)
        return n->recording ? UTCP_ENOMEM : 0;
    e->text = (const char *)copy_bytes(n, text, strlen(text) + 1);
    if (!e->text) {
        n->nev--;
        n->error = UTCP_ENOMEM;
        return UTCP_ENOMEM;
    }
    return 0;
}

/* ---- reading the record ---- */

size_t utcp_sim_events(const struct utcp_sim *n,
                       const struct utcp_sim_event **out)
{
    *out = n->ev;
    return n->nev;
}

int utcp_sim_error(const struct utcp_sim *n)
{
    return n->error;
}

size_t utcp_sim_conn_ids(const struct utcp_sim *n, unsigned node,
                         uint32_t *ids, size_t max)
{
    size_t k = 0;
    for (size_t i = 0; i < n->nev; i++) {
        const struct utcp_sim_event *e = &n->ev[i];
        if (e->kind != UTCP_SIM_STATE || e->node != node)
            continue;
        bool seen = false;
        for (size_t j = 0; j < k && j < max; j++)
            seen |= ids[j] == e->conn_id;
        if (seen)
            continue;
        if (k < max)
            ids[k] = e->conn_id;
        k++;
    }
    return k;
}

/* Appends str to buf[0..cap), keeping it terminated. */
static void append(char *buf, size_t cap, size_t *used, const char *str)
{
    size_t len = strlen(str);
    if (*used + 1 >= cap)
        return;
    if (len > cap - 1 - *used)
        len = cap - 1 - *used;
    memcpy(buf + *used, str, len);
    *used += len;
    buf[*used] = '\0';
}

const char *utcp_sim_state_path(const struct utcp_sim *n, unsigned node,
                                uint32_t conn_id, char *buf, size_t cap)
{
    size_t used = 0;
    if (cap == 0)
        return buf;
    buf[0] = '\0';
    for (size_t i = 0; i < n->nev; i++) {
        const struct utcp_sim_event *e = &n->ev[i];
        if (e->kind != UTCP_SIM_STATE || e->node != node ||
            e->conn_id != conn_id)
            continue;
        if (used == 0)
            append(buf, cap, &used, utcp_state_name(e->old_state));
        append(buf, cap, &used, ">");
        append(buf, cap, &used, utcp_state_name(e->new_state));
    }
    return buf;
}

uint64_t utcp_sim_illegal_transitions(const struct utcp_sim *n)
{
    return n->illegal;
}
