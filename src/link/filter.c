/*
 * The impairment filter (DESIGN.md "The simulator"): per-direction delay,
 * jitter, rate limit and queue, random and Gilbert-Elliott loss, duplication,
 * reordering, corruption, MTU, n-th-match rules; reads RFC 791 / RFC 9293 3.1
 * headers only to match rules. Must never read a clock, call rand() or the OS.
 */
#include "link/filter.h"

#include <string.h>

#include "utcp/errors.h"
#include "utcp/wire.h"

/* ---- PRNG: splitmix64 (Steele, Lea, Flood 2014) ---- */

void utcp_prng_seed(struct utcp_prng *r, uint64_t seed)
{
    r->s = seed;
}

uint64_t utcp_prng_next(struct utcp_prng *r)
{
    uint64_t z = (r->s += UINT64_C(0x9e3779b97f4a7c15));
    z = (z ^ (z >> 30)) * UINT64_C(0xbf58476d1ce4e5b9);
    z = (z ^ (z >> 27)) * UINT64_C(0x94d049bb133111eb);
    return z ^ (z >> 31);
}

uint64_t utcp_prng_below(struct utcp_prng *r, uint64_t n)
{
    if (n == 0)
        return 0;
    /* Rejection sampling: no modulo bias. */
    uint64_t limit = UINT64_MAX - UINT64_MAX % n;
    uint64_t x;
    do
        x = utcp_prng_next(r);
    while (x >= limit);
    return x % n;
}

bool utcp_prng_chance(struct utcp_prng *r, uint32_t ppm)
{
    if (ppm == 0)
        return false;
    if (ppm >= UTCP_PPM)
        return true;
    return utcp_prng_below(r, UTCP_PPM) < ppm;
}

/* ---- patterns ---- */

static struct utcp_filter_match pattern(int dir, uint8_t set, uint8_t clear,
                                        int payload)
{
    struct utcp_filter_match m;
    m.dir = dir;
    m.flags_set = set;
    m.flags_clear = clear;
    m.payload = payload;
    return m;
}

struct utcp_filter_match utcp_filter_match_any(int dir)
{
    return pattern(dir, 0, 0, UTCP_FILTER_ANY);
}

struct utcp_filter_match utcp_filter_match_syn(int dir)
{
    return pattern(dir, UTCP_TH_SYN, UTCP_TH_ACK, UTCP_FILTER_ANY);
}

struct utcp_filter_match utcp_filter_match_synack(int dir)
{
    return pattern(dir, UTCP_TH_SYN | UTCP_TH_ACK, 0, UTCP_FILTER_ANY);
}

struct utcp_filter_match utcp_filter_match_fin(int dir)
{
    return pattern(dir, UTCP_TH_FIN, 0, UTCP_FILTER_ANY);
}

struct utcp_filter_match utcp_filter_match_rst(int dir)
{
    return pattern(dir, UTCP_TH_RST, 0, UTCP_FILTER_ANY);
}

struct utcp_filter_match utcp_filter_match_ack_only(int dir)
{
    return pattern(dir, UTCP_TH_ACK, UTCP_TH_SYN | UTCP_TH_FIN | UTCP_TH_RST,
                   0);
}

struct utcp_filter_match utcp_filter_match_data(int dir)
{
    return pattern(dir, 0, 0, 1);
}

void utcp__filter_classify(const uint8_t *pkt, size_t len,
                           struct utcp__filter_pkt *out)
{
    memset(out, 0, sizeof *out);
    struct utcp_ipv4 ip;
    struct utcp_tcp th;
    /* The TCP checksum is not verified: a rule matches what the headers
     * say, as a middlebox would. */
    if (utcp_ipv4_parse(pkt, len, &ip) != UTCP_WIRE_OK ||
        ip.proto != UTCP_IPPROTO_TCP)
        return;
    if (utcp_tcp_parse(ip.payload, ip.payload_len, ip.src, ip.dst, false,
                       &th) != UTCP_WIRE_OK)
        return;
    out->is_tcp = true;
    out->flags = th.flags;
    out->payload_len = th.payload_len;
}

bool utcp__filter_matches(const struct utcp_filter_match *m, int dir,
                          const struct utcp__filter_pkt *p)
{
    if (m->dir != UTCP_FILTER_ANY && m->dir != dir)
        return false;
    if (m->flags_set == 0 && m->flags_clear == 0 &&
        m->payload == UTCP_FILTER_ANY)
        return true; /* matches any packet, TCP or not */
    if (!p->is_tcp)
        return false;
    if ((p->flags & m->flags_set) != m->flags_set)
        return false;
    if (p->flags & m->flags_clear)
        return false;
    if (m->payload == 1 && p->payload_len == 0)
        return false;
    if (m->payload == 0 && p->payload_len != 0)
        return false;
    return true;
}

/* ---- the filter ---- */

void utcp_filter_init(struct utcp_filter *f)
{
    memset(f, 0, sizeof *f);
}

int utcp_filter_add_rule(struct utcp_filter *f,
                         const struct utcp_filter_rule *rule)
{
    if (f->nrules >= UTCP_FILTER_MAX_RULES)
        return UTCP_ENOBUFS;
    int d = rule->match.dir;
    if (d != 0 && d != 1 && d != UTCP_FILTER_ANY)
        return UTCP_EINVAL;
    if (rule->action != UTCP_FILTER_ACT_DROP &&
        rule->action != UTCP_FILTER_ACT_DELAY)
        return UTCP_EINVAL;
    f->rules[f->nrules] = *rule;
    f->rules[f->nrules].seen = 0;
    return (int)f->nrules++;
}

static const char *const reason_names[] = {
#define UTCP_X_(name, text) #name,
    UTCP_FILTER_REASONS(UTCP_X_)
#undef UTCP_X_
};
static const char *const reason_texts[] = {
#define UTCP_X_(name, text) text,
    UTCP_FILTER_REASONS(UTCP_X_)
#undef UTCP_X_
};

const char *utcp_filter_reason_name(int r)
{
    return r >= 0 && r < UTCP_FILTER_REASON_COUNT ? reason_names[r] : "?";
}

const char *utcp_filter_reason_text(int r)
{
    return r >= 0 && r < UTCP_FILTER_REASON_COUNT ? reason_texts[r]
                                                  : "unknown filter reason";
}

/* Whether rule r acts on this match (after counting it). */
static bool rule_acts(struct utcp_filter_rule *r)
{
    r->seen++;
    if (r->nth == 0)
        return true;
    uint32_t count = r->count ? r->count : 1;
    return r->seen >= r->nth && r->seen - r->nth < count;
}

/* Steps the Gilbert-Elliott channel of one direction and says whether this
 * packet is lost. */
static bool ge_lost(struct utcp_filter *f, struct utcp_prng *rng, int dir)
{
    const struct utcp_filter_dir *d = &f->dir[dir];
    if (f->ge_bad[dir]) {
        if (utcp_prng_chance(rng, d->ge_r_ppm))
            f->ge_bad[dir] = false;
    } else if (utcp_prng_chance(rng, d->ge_p_ppm)) {
        f->ge_bad[dir] = true;
    }
    return utcp_prng_chance(rng, f->ge_bad[dir] ? d->ge_loss_bad_ppm
                                                : d->ge_loss_good_ppm);
}

/* The bottleneck: when the packet has been sent, queueing included, or
 * false when the queue has no room for it. */
static bool rate_limit(struct utcp_filter *f, int dir, uint64_t now,
                       size_t len, uint64_t *done)
{
    const struct utcp_filter_dir *d = &f->dir[dir];
    uint64_t start = f->busy_until[dir] > now ? f->busy_until[dir] : now;
    /* Bytes still waiting ahead of this packet (the one being sent
     * included), from the time the link needs to send them. */
    uint64_t wait = start - now;
    uint64_t ahead = wait > UINT64_MAX / d->rate_bps
                         ? UINT64_MAX
                         : wait * d->rate_bps / 8000000u;
    if (d->queue_bytes && (ahead >= d->queue_bytes ||
                           len > d->queue_bytes - ahead))
        return false;
    uint64_t bits = (uint64_t)len * 8u;
    uint64_t tx = (bits * 1000000u + d->rate_bps - 1) / d->rate_bps;
    f->busy_until[dir] = start + tx;
    *done = start + tx;
    return true;
}

static void drop(struct utcp_filter_verdict *v, int reason)
{
    v->drop = true;
    v->reason = reason;
    v->copies = 0;
}

void utcp_filter_decide(struct utcp_filter *f, struct utcp_prng *rng, int dir,
                        uint64_t now, const uint8_t *pkt, size_t len,
                        struct utcp_filter_verdict *v)
{
    if (dir != 1)
        dir = 0;
    const struct utcp_filter_dir *d = &f->dir[dir];
    memset(v, 0, sizeof *v);
    v->rule = -1;

    /* Targeted rules first: every matching rule counts the packet; the
     * first that acts decides. */
    struct utcp__filter_pkt info;
    utcp__filter_classify(pkt, len, &info);
    uint64_t rule_delay = 0;
    for (size_t i = 0; i < f->nrules; i++) {
        struct utcp_filter_rule *r = &f->rules[i];
        if (!utcp__filter_matches(&r->match, dir, &info))
            continue;
        if (!rule_acts(r) || v->rule >= 0)
            continue;
        v->rule = (int)i;
        if (r->action == UTCP_FILTER_ACT_DELAY)
            rule_delay = r->delay_us;
    }
    if (v->rule >= 0 &&
        f->rules[v->rule].action == UTCP_FILTER_ACT_DROP) {
        drop(v, UTCP_FILTER_RULE);
        return;
    }
    if (d->mtu && len > d->mtu) {
        drop(v, UTCP_FILTER_MTU);
        return;
    }
    if (utcp_prng_chance(rng, d->loss_ppm)) {
        drop(v, UTCP_FILTER_LOSS);
        return;
    }
    if (d->ge_p_ppm && ge_lost(f, rng, dir)) {
        drop(v, UTCP_FILTER_BURST);
        return;
    }

    uint64_t held = rule_delay, sent = now;
    if (d->rate_bps && !rate_limit(f, dir, now, len, &sent)) {
        drop(v, UTCP_FILTER_QUEUE);
        return;
    }
    held += sent - now;
    if (d->jitter_us)
        held += utcp_prng_below(rng, d->jitter_us + 1);
    if (utcp_prng_chance(rng, d->reorder_ppm)) {
        v->reordered = true;
        held += d->reorder_us;
    }
    if (len && utcp_prng_chance(rng, d->corrupt_ppm)) {
        v->corrupted = true;
        v->corrupt_bit = (size_t)utcp_prng_below(rng, (uint64_t)len * 8u);
    }
    v->copies = 1;
    v->held_us = held;
    v->at[0] = now + d->delay_us + held;
    if (utcp_prng_chance(rng, d->dup_ppm)) {
        v->copies = 2;
        v->at[1] = v->at[0] + (d->dup_gap_us ? d->dup_gap_us : 1);
    }
}

void utcp_filter_corrupt(const struct utcp_filter_verdict *v, uint8_t *pkt,
                         size_t len)
{
    if (!v->corrupted || v->corrupt_bit / 8 >= len)
        return;
    pkt[v->corrupt_bit / 8] ^= (uint8_t)(0x80u >> (v->corrupt_bit % 8));
}
