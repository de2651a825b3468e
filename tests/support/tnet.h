/*
 * tnet: a test network of two utcp stacks joined by an in-memory wire on a
 * virtual clock. Packets take `delay` to cross; a filter may drop, delay or
 * duplicate any of them. Every state change, segment and drop is logged so
 * tests can assert exact sequences. Test support only.
 */
#ifndef UTCP_TNET_H
#define UTCP_TNET_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "utcp/utcp.h"
#include "utcp/wire.h"

#define TNET_ADDR_A 0xC0000201u /* 192.0.2.1 */
#define TNET_ADDR_B 0xC0000202u /* 192.0.2.2 */
#define TNET_MAX_PKT 66000
#define TNET_MAX_LOG 4096

enum { TNET_PASS = 0, TNET_DROP = 1, TNET_DUP = 2 };

struct tnet;
/* Decides the fate of a packet leaving side `from` (0 = A, 1 = B). May set
 * *extra_delay (microseconds) to hold it longer. */
typedef int (*tnet_filter_fn)(struct tnet *n, int from, const struct utcp_tcp *th,
                              const uint8_t *pkt, size_t len,
                              uint64_t *extra_delay, void *ctx);

struct tnet_state_ev {
    uint64_t at;
    uint32_t conn_id;
    int side, old_state, new_state, cause;
};

struct tnet_seg_ev {
    uint64_t at;
    int from;      /* 0 A, 1 B */
    bool dropped;  /* by the filter */
    uint8_t flags;
    uint32_t seq, ack, len;
    uint16_t win, sport, dport;
};

struct tnet_inflight {
    uint64_t at;
    uint64_t order;
    int to;
    size_t len;
    uint8_t *data;
};

struct tnet_out {
    struct tnet *n;
    int side;
};

struct tnet {
    struct utcp_stack *st[2];
    struct tnet_out out[2];
    uint64_t now;
    uint64_t delay;              /* one-way, microseconds */
    tnet_filter_fn filter;
    void *filter_ctx;
    struct tnet_inflight *q;
    size_t qlen, qcap;
    uint64_t order;
    struct tnet_state_ev states[TNET_MAX_LOG];
    size_t nstates;
    struct tnet_seg_ev segs[TNET_MAX_LOG];
    size_t nsegs;
    uint64_t bad_transitions;
    int tracing_side;            /* set while calling into a stack */
    int timer_fires[2][16];      /* by enum utcp_timer_kind */
    int timer_sets[2][16];
};

/* Creates both stacks from cfg (addr and output filled in per side). */
void tnet_init(struct tnet *n, const struct utcp_config *cfg);
void tnet_destroy(struct tnet *n);
/* Delivers packets and fires timers in time order up to and including t. */
void tnet_run_until(struct tnet *n, uint64_t t);
/* Runs for d microseconds from now. */
void tnet_run_for(struct tnet *n, uint64_t d);
/* Runs until nothing is in flight and no timer is due before limit. */
void tnet_run_idle(struct tnet *n, uint64_t limit);
/* Moves len bytes of src from socket a (side 0) to socket b (side 1) into
 * got: each turn sends what fits, reads what arrived, then runs 1 ms.
 * Returns the virtual time it took, or UINT64_MAX once limit has passed
 * with bytes still missing. mark_at (may be NULL) gets the time it took
 * until mark bytes had arrived. */
uint64_t tnet_transfer(struct tnet *n, utcp_sock a, utcp_sock b,
                       const uint8_t *src, uint8_t *got, size_t len,
                       uint64_t limit, size_t mark, uint64_t *mark_at);
/* Fills buf with a byte pattern that repeats only after 64 KiB (a
 * misplaced or repeated block shows in a comparison); seed varies it. */
void tnet_pattern(uint8_t *buf, size_t len, unsigned seed);

/* "CLOSED>SYN_SENT>ESTABLISHED" for one connection id on one side (the
 * first old state, then each new state). Writes into buf, returns buf. */
const char *tnet_states(const struct tnet *n, int side, uint32_t conn_id,
                        char *buf, size_t cap);
/* The conn ids that appeared on a side, in order of first state change. */
size_t tnet_conn_ids(const struct tnet *n, int side, uint32_t *ids, size_t max);
/* "S A F R" style flag string for a segment event ("SA", "A", "FA", "R"...). */
const char *tnet_flags(uint8_t flags, char *buf);
/* Count of segments from side `from` whose flags equal exactly f. */
size_t tnet_count_segs(const struct tnet *n, int from, uint8_t f);

/* Closes a (side 0), b and the listener l (side 1), runs 300 s (TIME_WAIT
 * and every timer end), then destroys and frees n (from calloc). Returns
 * the illegal transitions seen in the whole run: a test asserts 0. */
uint64_t tnet_finish(struct tnet *n, utcp_sock a, utcp_sock b, utcp_sock l);

/* Helpers to set up a listener on B and a client on A. */
utcp_sock tnet_listen(struct tnet *n, int side, uint16_t port, int backlog);
utcp_sock tnet_connect(struct tnet *n, int side, uint16_t port);
/* Destroys the stack of `side` (its connections vanish silently, as in a
 * host crash) and creates a fresh one from cfg on the same address: the
 * "restart" of RFC 9293 figure 11. The state log is kept. */
void tnet_restart(struct tnet *n, int side, const struct utcp_config *cfg);
/* Builds an IPv4+TCP packet from the fields given and hands it to the stack
 * of side `to` at the current virtual time, as if it came off the wire
 * (it is not logged in segs). src is the other side's address. */
void tnet_inject(struct tnet *n, int to, uint16_t sport, uint16_t dport,
                 uint32_t seq, uint32_t ack, uint8_t flags, uint16_t win,
                 const uint8_t *payload, size_t len);
/* Index of the first segment at or after index `from_idx` sent by side
 * `from` whose flags equal f exactly; -1 when none. */
long tnet_find_seg(const struct tnet *n, size_t from_idx, int from, uint8_t f);
/* The state of a socket (via getinfo), or -1 for a stale handle. */
int tnet_sock_state(struct tnet *n, int side, utcp_sock sk);
/* The connection id behind a socket (from the state log: matches ports). */
uint32_t tnet_conn_id(struct tnet *n, int side, utcp_sock sk);

#endif
