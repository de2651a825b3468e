/*
 * utcp simulator: two or more stacks joined by an in-memory wire on a
 * virtual clock, every packet passing through an impairment filter
 * (filter.h). Nothing sleeps: the event loop jumps to the next delivery or
 * timer deadline, and a seed replays a run exactly. The run is recorded as a
 * list of events (segments with their fate, state changes, timers, drops,
 * notes) from which tools draw ladder diagrams and write pcap files.
 *
 * Node 0 is "A"; packets from node 0 use filter direction 0 (A -> B), packets
 * from any other node direction 1. Node i has address base_addr + i.
 * No I/O: the caller writes files from the event list.
 */
#ifndef UTCP_SIM_H
#define UTCP_SIM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "utcp/filter.h"
#include "utcp/utcp.h"

#ifdef __cplusplus
extern "C" {
#endif

#define UTCP_SIM_MAX_NODES 8
#define UTCP_SIM_BASE_ADDR 0xC0000201u /* 192.0.2.1 */
#define UTCP_SIM_NO_NODE 0xffffffffu

struct utcp_sim;

struct utcp_sim_config {
    unsigned nodes;           /* 2..UTCP_SIM_MAX_NODES (0: 2) */
    uint64_t seed;            /* stacks and filter randomness derive from it */
    uint32_t base_addr;       /* 0: UTCP_SIM_BASE_ADDR */
    struct utcp_config stack; /* template for every node; addr, output,
                                 trace and seed are set per node */
    struct utcp_filter filter;/* copied; see utcp_sim_filter to change it */
    /* Per-node stack configurations: node i uses node_stack[i] instead of
     * `stack` when node_stack_set[i] (addr, output, trace and seed are
     * still set per node). */
    bool node_stack_set[UTCP_SIM_MAX_NODES];
    struct utcp_config node_stack[UTCP_SIM_MAX_NODES];
};

/* Zeroes *c: two nodes, seed 0, default stacks, no impairment. */
void utcp_sim_config_init(struct utcp_sim_config *c);

/* Creates the network and its stacks at virtual time 0. Returns 0 and sets
 * *out, UTCP_EINVAL for a bad node count, or a utcp_stack_create error. */
int utcp_sim_create(const struct utcp_sim_config *c, struct utcp_sim **out);

/* Destroys the stacks (not recorded) and frees everything, the event list
 * included. NULL is accepted. */
void utcp_sim_destroy(struct utcp_sim *n);

/* The node's stack (NULL for a bad index); owned by the network. */
struct utcp_stack *utcp_sim_stack(struct utcp_sim *n, unsigned node);
uint32_t utcp_sim_addr(const struct utcp_sim *n, unsigned node);
unsigned utcp_sim_nodes(const struct utcp_sim *n);

/* The live filter: rules and impairments may be changed between runs. */
struct utcp_filter *utcp_sim_filter(struct utcp_sim *n);

/* The virtual clock, microseconds. */
uint64_t utcp_sim_now(const struct utcp_sim *n);

/* Delivers packets and fires timers in time order up to and including t,
 * then moves the clock (and every stack) to t. */
void utcp_sim_run_until(struct utcp_sim *n, uint64_t t);
void utcp_sim_run_for(struct utcp_sim *n, uint64_t d);

/* Performs the one next event (a delivery, or the timers of one stack) due
 * at or before t, moving the clock to its instant, so a driver can act
 * between events as an event-loop application would. Returns false, the
 * clock unchanged, when nothing is due by t (or the loop guard tripped:
 * see utcp_sim_error). */
bool utcp_sim_step(struct utcp_sim *n, uint64_t t);

/* Runs until no packet is in flight and no timer is due at or before limit.
 * Returns true when the network went quiet (nothing pending at all). The
 * clock stays at the last event. */
bool utcp_sim_run_idle(struct utcp_sim *n, uint64_t limit);

/* Restarts a node: its stack is destroyed (connections vanish without a
 * segment; their STATE events, cause STACK_DESTROY, are recorded) and
 * created again, empty, with the same address. Connection ids of the new
 * stack are offset by UTCP_SIM_RESTART_IDS per restart in the record, so
 * they never collide with the old ones. Returns 0, UTCP_EINVAL, or a
 * utcp_stack_create error (then the node has no stack: do not run on). */
#define UTCP_SIM_RESTART_IDS 0x100000u
int utcp_sim_restart(struct utcp_sim *n, unsigned node);

/* Sends pkt[0..len) (copied) from node `from` now, through the filter, as if
 * that node's stack had sent it: for stale duplicates and crafted segments.
 * Returns 0, UTCP_EINVAL or UTCP_ENOMEM. */
int utcp_sim_inject(struct utcp_sim *n, unsigned from, const uint8_t *pkt,
                    size_t len);

/* Records a note (copied) on a node's side at the current time, e.g. the
 * application call a scenario makes. Returns 0 or UTCP_ENOMEM. */
int utcp_sim_note(struct utcp_sim *n, unsigned node, const char *text);

/* ---- the record ---- */
enum utcp_sim_event_kind {
    UTCP_SIM_SEG,        /* a packet left `node` (its stack, or injected) */
    UTCP_SIM_DELIVER,    /* a copy of segment `seg` reached `node` */
    UTCP_SIM_STATE,      /* a connection of `node` changed state */
    UTCP_SIM_TIMER,      /* a timer fired */
    UTCP_SIM_TIMER_SET,  /* a long timer was (re)started */
    UTCP_SIM_RETRANSMIT, /* the next SEG of `node` is a retransmission */
    UTCP_SIM_DROP,       /* `node`'s stack dropped a packet */
    UTCP_SIM_NOTE,       /* a note from the driver */
};

struct utcp_sim_event {
    enum utcp_sim_event_kind kind;
    uint64_t t;
    unsigned node;
    uint32_t conn_id;
    /* SEG: the packet as sent (owned by the network until destroy), where
     * it goes, and the filter's verdict. */
    const uint8_t *pkt;
    size_t len;
    unsigned to;              /* UTCP_SIM_NO_NODE: no node has the address */
    bool retransmit, injected;
    struct utcp_filter_verdict verdict;
    /* DELIVER */
    size_t seg;               /* index of the SEG event */
    bool corrupted;           /* this copy had a bit flipped */
    /* STATE */
    int old_state, new_state, cause;
    /* TIMER, TIMER_SET */
    int timer;
    uint64_t expires;
    /* DROP */
    int drop_reason, wire_reason;
    /* NOTE (owned by the network) */
    const char *text;
};

/* The events so far, in order (time never decreases). The array is valid
 * until the next call that runs the network or adds a note. */
size_t utcp_sim_events(const struct utcp_sim *n,
                       const struct utcp_sim_event **out);

/* UTCP_ENOMEM if an event could not be recorded (the run went on);
 * UTCP_EBUSY if the loop stopped because more than
 * UTCP_SIM_MAX_STEPS_PER_INSTANT events happened at one instant (a stack
 * whose deadline does not advance); else 0. */
#define UTCP_SIM_MAX_STEPS_PER_INSTANT 1000000u
int utcp_sim_error(const struct utcp_sim *n);

/* Connection ids of a node in order of their first state change; returns
 * how many there are (at most max are stored). */
size_t utcp_sim_conn_ids(const struct utcp_sim *n, unsigned node,
                         uint32_t *ids, size_t max);

/* The states of one connection: "CLOSED>SYN_SENT>ESTABLISHED" (first old
 * state, then every new state), into buf (always terminated). Returns buf. */
const char *utcp_sim_state_path(const struct utcp_sim *n, unsigned node,
                                uint32_t conn_id, char *buf, size_t cap);

/* State changes not in the transition table (bugs), all nodes. */
uint64_t utcp_sim_illegal_transitions(const struct utcp_sim *n);

#ifdef __cplusplus
}
#endif
#endif
