/*
 * A hierarchical timer wheel: arm, cancel and fire in O(1) (amortised), exact
 * expiry instants in microseconds, nodes embedded in their owners (no
 * allocation). Cost of expiring does not grow with the number of armed
 * timers that are not due.
 */
#ifndef UTCP_TIMERWHEEL_H
#define UTCP_TIMERWHEEL_H

#include <stdbool.h>
#include <stdint.h>

#define UTCP_TW_LEVELS 8 /* 7 levels of 64 slots (level 0 exact microseconds)
                           and a top level of one bucket per bit above */
#define UTCP_TW_SLOTS 64

struct utcp_tnode {
    struct utcp_tnode *next, *prev; /* NULL prev: not armed */
    uint64_t expires;               /* exact instant, microseconds */
    uint64_t order;                 /* arm sequence number: FIFO tie-break */
};

struct utcp_twheel {
    /* Internal layout chosen by timerwheel.c; callers use the functions. */
    struct utcp_tnode slots[UTCP_TW_LEVELS][UTCP_TW_SLOTS]; /* list heads */
    uint64_t occupied[UTCP_TW_LEVELS]; /* bit i: slot i non-empty */
    struct utcp_tnode overdue;  /* armed at or before `now`: fire first */
    uint64_t now;               /* last instant expired up to */
    uint64_t arm_seq;
    uint64_t count;             /* armed nodes */
    uint64_t cached_next;       /* UINT64_MAX-1 when unknown */
};

/* Initialises an empty wheel whose current time is now. */
void utcp__wheel_init(struct utcp_twheel *w, uint64_t now);

/* Initialises a node (not armed). */
void utcp__wheel_node_init(struct utcp_tnode *n);

static inline bool utcp__wheel_armed(const struct utcp_tnode *n)
{
    return n->prev != 0;
}

/* Arms n to fire at `expires` (re-arms if armed). An instant at or before
 * the wheel's now fires at the next utcp__wheel_pop. */
void utcp__wheel_arm(struct utcp_twheel *w, struct utcp_tnode *n, uint64_t expires);

/* Arms n at `expires` unless it is armed there already (then it keeps its
 * place among the nodes of that instant); UINT64_MAX (never) disarms it. */
void utcp__wheel_set(struct utcp_twheel *w, struct utcp_tnode *n,
                     uint64_t expires);

/* Disarms n; harmless when not armed. */
void utcp__wheel_cancel(struct utcp_twheel *w, struct utcp_tnode *n);

/* The exact earliest expiry of any armed node, or UINT64_MAX. */
uint64_t utcp__wheel_next(struct utcp_twheel *w);

/* Removes and returns one node with expires <= now, disarmed, or NULL when
 * none is due. Nodes come out in non-decreasing order of expires, ties in
 * the order they were armed. The caller may arm or cancel any node between
 * calls. Advances the wheel's now to `now` (now never goes backwards: an
 * earlier value is treated as the current now). */
struct utcp_tnode *utcp__wheel_pop(struct utcp_twheel *w, uint64_t now);

#endif
