/*
 * utcp impairment filter: decides the fate of each IPv4 packet crossing a
 * link, per direction: fixed delay, jitter, a rate limit with a queue,
 * random loss, Gilbert-Elliott bursty loss, duplication, reordering,
 * corruption, an MTU, and targeted
 * rules ("drop the 2nd ACK-only segment from A to B"). Used by the in-memory
 * simulator (sim.h) and meant for real links too.
 *
 * No I/O, no clock, no globals: time, the packet and a seeded PRNG are
 * arguments, so a seed replays a run exactly. The filter keeps only its own
 * small state (the Gilbert-Elliott channel state, when each direction's
 * rate-limited link is next free, and the rule match counts).
 */
#ifndef UTCP_FILTER_H
#define UTCP_FILTER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* ------------------------------------------------------------------------
 * A small deterministic PRNG (splitmix64): 8 bytes of state, one seed gives
 * one sequence on every platform. (Separate from the stack's internal
 * generator, which is not part of the public API.)
 * ------------------------------------------------------------------------ */
struct utcp_prng {
    uint64_t s;
};

/* Seeds r; any value (0 included) is a valid seed. */
void utcp_prng_seed(struct utcp_prng *r, uint64_t seed);
/* The next 64 random bits. */
uint64_t utcp_prng_next(struct utcp_prng *r);
/* A value uniform in [0, n) (0 when n is 0). */
uint64_t utcp_prng_below(struct utcp_prng *r, uint64_t n);
/* True with probability ppm / 1,000,000 (never for 0, always for >= 1e6). */
bool utcp_prng_chance(struct utcp_prng *r, uint32_t ppm);

#define UTCP_PPM 1000000u /* probabilities are parts per million */

/* ------------------------------------------------------------------------
 * Configuration of one direction. All zero: no impairment at all (delivery
 * at `now`, nothing lost).
 * ------------------------------------------------------------------------ */
struct utcp_filter_dir {
    uint64_t delay_us;       /* fixed one-way delay */
    uint64_t jitter_us;      /* extra delay uniform in [0, jitter_us] (may
                                reorder packets, as on a real path) */
    uint32_t loss_ppm;       /* independent random loss */
    /* Gilbert-Elliott two-state bursty loss, enabled when ge_p_ppm > 0:
     * per packet, GOOD -> BAD with probability p, BAD -> GOOD with r; a
     * packet is lost with loss_good in GOOD and loss_bad in BAD (the
     * Gilbert model is loss_good 0, loss_bad 1e6). Mean loss:
     * (r*loss_good + p*loss_bad) / (p + r). */
    uint32_t ge_p_ppm, ge_r_ppm;
    uint32_t ge_loss_good_ppm, ge_loss_bad_ppm;
    uint32_t dup_ppm;        /* a second copy is delivered ... */
    uint64_t dup_gap_us;     /* ... this long after the first (0: 1 us) */
    uint32_t reorder_ppm;    /* this fraction of packets is held ... */
    uint64_t reorder_us;     /* ... this much longer, so later ones pass */
    uint32_t corrupt_ppm;    /* one bit of the packet is flipped */
    uint32_t mtu;            /* packets longer than this are dropped (0:
                                no limit) */
    /* A bottleneck: packets leave one after the other at rate_bps bits per
     * second (0: no limit), waiting in a FIFO queue of at most queue_bytes
     * bytes (0: unbounded); a packet that does not fit is dropped
     * (tail drop). Queueing and serialisation add to the delay. */
    uint64_t rate_bps;
    uint32_t queue_bytes;
};

/* ------------------------------------------------------------------------
 * Targeted rules: act on the n-th packet matching a pattern.
 * ------------------------------------------------------------------------ */
enum utcp_filter_action {
    UTCP_FILTER_ACT_DROP,   /* lose the packet */
    UTCP_FILTER_ACT_DELAY,  /* hold it delay_us longer than the others */
};

enum {
    UTCP_FILTER_ANY = -1,   /* dir or payload: either */
};

struct utcp_filter_match {
    int dir;              /* 0, 1 or UTCP_FILTER_ANY */
    uint8_t flags_set;    /* UTCP_TH_* bits that must all be set */
    uint8_t flags_clear;  /* UTCP_TH_* bits that must all be clear */
    int payload;          /* 1: carries data; 0: carries none; ANY */
};

struct utcp_filter_rule {
    struct utcp_filter_match match;
    uint32_t nth;         /* act on the nth match (1-based); 0: on every
                             match */
    uint32_t count;       /* how many more times to act from the nth on
                             (0 counts as 1); ignored when nth is 0 */
    enum utcp_filter_action action;
    uint64_t delay_us;    /* for UTCP_FILTER_ACT_DELAY */
    uint32_t seen;        /* state: matches so far (set to 0 when added) */
};

/* Ready-made patterns. "ACK-only": ACK set; SYN, FIN, RST clear; no data. */
struct utcp_filter_match utcp_filter_match_any(int dir);
struct utcp_filter_match utcp_filter_match_syn(int dir);     /* SYN, no ACK */
struct utcp_filter_match utcp_filter_match_synack(int dir);  /* SYN+ACK */
struct utcp_filter_match utcp_filter_match_fin(int dir);     /* FIN set */
struct utcp_filter_match utcp_filter_match_rst(int dir);     /* RST set */
struct utcp_filter_match utcp_filter_match_ack_only(int dir);
struct utcp_filter_match utcp_filter_match_data(int dir);    /* payload */

#define UTCP_FILTER_MAX_RULES 16

struct utcp_filter {
    struct utcp_filter_dir dir[2];
    struct utcp_filter_rule rules[UTCP_FILTER_MAX_RULES];
    size_t nrules;
    bool ge_bad[2];       /* state: the Gilbert-Elliott channel is BAD */
    uint64_t busy_until[2]; /* state: the rate-limited link is sending
                               until then */
};

/* All zero: no impairment, no rules. */
void utcp_filter_init(struct utcp_filter *f);

/* Appends a rule (copied; its `seen` reset). Returns its index (>= 0), or
 * UTCP_ENOBUFS when UTCP_FILTER_MAX_RULES are in place, UTCP_EINVAL for a
 * bad direction or action. Rules are tried in order; the first that acts
 * decides (a match still counts for every rule it matches). */
int utcp_filter_add_rule(struct utcp_filter *f,
                         const struct utcp_filter_rule *rule);

/* Why a packet was dropped. */
#define UTCP_FILTER_REASONS(X)                                                 \
    X(NONE, "delivered")                                                       \
    X(RULE, "dropped by a targeted rule")                                      \
    X(MTU, "larger than the link MTU")                                         \
    X(LOSS, "random loss")                                                     \
    X(BURST, "bursty loss (Gilbert-Elliott)")                                  \
    X(QUEUE, "the rate-limited link's queue is full")

enum utcp_filter_reason {
#define UTCP_X_(name, text) UTCP_FILTER_##name,
    UTCP_FILTER_REASONS(UTCP_X_)
#undef UTCP_X_
    UTCP_FILTER_REASON_COUNT
};
const char *utcp_filter_reason_name(int r); /* "RULE"; never NULL */
const char *utcp_filter_reason_text(int r); /* "dropped by a targeted rule" */

struct utcp_filter_verdict {
    bool drop;
    int reason;            /* enum utcp_filter_reason (NONE unless drop) */
    int rule;              /* index of the rule that acted, or -1 */
    unsigned copies;       /* 0 (dropped), 1, or 2 (duplicated) */
    uint64_t at[2];        /* delivery instant of each copy */
    uint64_t held_us;      /* delay beyond delay_us (queueing and
                              serialisation at the rate limit, jitter,
                              reordering, a DELAY rule) of the first copy */
    bool reordered;        /* held by the reordering impairment */
    bool corrupted;        /* the first copy must have bit corrupt_bit
                              flipped (utcp_filter_corrupt); the duplicate,
                              if any, is intact */
    size_t corrupt_bit;    /* bit index from the start of the packet, MSB
                              of byte 0 first */
};

/* Decides the fate of the packet pkt[0..len) sent in direction dir (0 or 1)
 * at now. pkt is only read (to match rules: an IPv4/TCP packet is parsed
 * without verifying the TCP checksum; anything else matches only patterns with no
 * flag or payload condition). Uses rng for every random choice, updates the
 * filter's state, fills *v. Never fails: a bad dir is treated as 0. */
void utcp_filter_decide(struct utcp_filter *f, struct utcp_prng *rng, int dir,
                        uint64_t now, const uint8_t *pkt, size_t len,
                        struct utcp_filter_verdict *v);

/* Applies the corruption of v (if any) to a copy of the packet. */
void utcp_filter_corrupt(const struct utcp_filter_verdict *v, uint8_t *pkt,
                         size_t len);

#ifdef __cplusplus
}
#endif
#endif
