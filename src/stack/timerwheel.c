/*
 * The timer wheel: exact-instant timers in O(1) arm and cancel and amortised
 * O(1) expiry, for the RFC 9293 3.8 / RFC 6298 / RFC 1122 4.2.3 timers.
 * No RFC defines it; it serves them all. It must never fire a node before its
 * instant, never allocate, and never visit armed nodes that are not yet due.
 */
#include "stack/timerwheel.h"

#include <stddef.h>

/*
 * Layout. The wheel is a radix-64 "radix heap" relative to a base instant B
 * (private: kept in overdue.expires), with B <= w->now and B <= every armed
 * expiry. A node expiring at e sits at a place that depends only on (e, B):
 *
 *   e == B                     the overdue list (due now, FIFO);
 *   p = highest bit of e ^ B:
 *   p < 42                     level p/6, slot = 6-bit digit p/6 of e
 *                              (levels 0..6, level 0 slots are exact
 *                              microseconds: UTCP_TW_GRAN_SHIFT is not used);
 *   p >= 42                    level 7, slot p - 42 (one bucket per bit:
 *                              51 days up to UINT64_MAX in 22 buckets).
 *
 * Every node in level L is earlier than every node in level L+1, and inside a
 * level a lower slot is earlier, so the earliest node is in the overdue list
 * or else in the lowest set bit of the lowest non-empty level. Expiry moves B
 * forward to the start of that slot's range (never past now) and re-places the
 * slot's nodes, which all land in lower levels: a node moves at most 7 + 22
 * times in its life, whatever the time scale. Moving B never moves any other
 * node, so expiry never looks at nodes that are not due.
 *
 * Ties: inside any list, nodes of equal expiry are in arm order. Arms append
 * with a fresh `order`; a slot is re-placed only into empty lower lists, in
 * list order; merging lists (below) joins lists of disjoint expiries.
 *
 * Arming before B (only possible for an instant already past) moves B back to
 * it: the lists below the new node's place merge into one slot, O(non-empty
 * lists), rare.
 *
 * Each list head's `expires` caches the earliest expiry in the list when its
 * `order` is MIN_KNOWN (levels 1..7), so utcp__wheel_next is exact without
 * scanning unless that earliest node left; w->cached_next caches the result.
 */

#define TW_DIGIT_BITS 6u
#define TW_DIGIT_MASK 63u
#define TW_TOP 7u      /* the per-bit level */
#define TW_TOP_BIT 42u /* first bit handled by the per-bit level */
#define TW_UNKNOWN (UINT64_MAX - 1u)
#define MIN_UNKNOWN 0u
#define MIN_KNOWN 1u

_Static_assert(UTCP_TW_LEVELS == 8, "layout assumes 8 levels");
_Static_assert(UTCP_TW_SLOTS == 64, "layout assumes 64-slot levels");
_Static_assert(TW_TOP_BIT == (UTCP_TW_LEVELS - 1u) * TW_DIGIT_BITS,
               "digit levels cover the bits below the per-bit level");
_Static_assert(64u - TW_TOP_BIT <= UTCP_TW_SLOTS, "per-bit level fits");

static unsigned hibit64(uint64_t x) /* x != 0 */
{
#if defined(__GNUC__) || defined(__clang__)
    return 63u - (unsigned)__builtin_clzll(x);
#else
    unsigned r = 0;
    while (x >>= 1)
        r++;
    return r;
#endif
}

static unsigned lobit64(uint64_t x) /* x != 0 */
{
#if defined(__GNUC__) || defined(__clang__)
    return (unsigned)__builtin_ctzll(x);
#else
    unsigned r = 0;
    while (!(x & 1u)) {
        x >>= 1;
        r++;
    }
    return r;
#endif
}

static uint64_t base_of(const struct utcp_twheel *w)
{
    return w->overdue.expires;
}

static void set_base(struct utcp_twheel *w, uint64_t b)
{
    w->overdue.expires = b;
}

static void list_init(struct utcp_tnode *h)
{
    h->next = h;
    h->prev = h;
    h->expires = 0;
    h->order = MIN_UNKNOWN;
}

static bool list_empty(const struct utcp_tnode *h)
{
    return h->next == h;
}

static void list_append(struct utcp_tnode *h, struct utcp_tnode *n)
{
    n->prev = h->prev;
    n->next = h;
    h->prev->next = n;
    h->prev = n;
}

/* Moves every node of src to the tail of dst, keeping their order. */
static void list_move_all(struct utcp_tnode *dst, struct utcp_tnode *src)
{
    if (list_empty(src))
        return;
    struct utcp_tnode *first = src->next, *last = src->prev;
    first->prev = dst->prev;
    dst->prev->next = first;
    last->next = dst;
    dst->prev = last;
    src->next = src;
    src->prev = src;
}

/* Where an expiry e >= B belongs: *level (UTCP_TW_LEVELS for the overdue
 * list) and *slot. */
static void place_of(uint64_t b, uint64_t e, unsigned *level, unsigned *slot)
{
    if (e == b) {
        *level = UTCP_TW_LEVELS;
        *slot = 0;
        return;
    }
    unsigned p = hibit64(e ^ b);
    if (p < TW_TOP_BIT) {
        unsigned l = p / TW_DIGIT_BITS;
        *level = l;
        *slot = (unsigned)(e >> (l * TW_DIGIT_BITS)) & TW_DIGIT_MASK;
    } else {
        *level = TW_TOP;
        *slot = p - TW_TOP_BIT;
    }
}

/* The first instant of slot (level, slot) relative to B. */
static uint64_t slot_start(uint64_t b, unsigned level, unsigned slot)
{
    if (level < TW_TOP) {
        unsigned shift = level * TW_DIGIT_BITS;
        uint64_t high = ((uint64_t)1 << (shift + TW_DIGIT_BITS)) - 1u;
        return (b & ~high) | ((uint64_t)slot << shift);
    }
    /* B has bit p clear, the slot's nodes have it set. */
    unsigned p = slot + TW_TOP_BIT;
    return ((b >> p) | 1u) << p;
}

/* Links n (n->expires >= B) at its place. */
static void insert(struct utcp_twheel *w, struct utcp_tnode *n)
{
    unsigned level, slot;
    place_of(base_of(w), n->expires, &level, &slot);
    if (level == UTCP_TW_LEVELS) {
        list_append(&w->overdue, n);
        return;
    }
    struct utcp_tnode *h = &w->slots[level][slot];
    if (list_empty(h)) {
        w->occupied[level] |= (uint64_t)1 << slot;
        h->expires = n->expires;
        h->order = MIN_KNOWN;
    } else if (h->order == MIN_KNOWN && n->expires < h->expires) {
        h->expires = n->expires;
    }
    list_append(h, n);
}

/* Unlinks armed n from its list and marks it disarmed. */
static void unlink_node(struct utcp_twheel *w, struct utcp_tnode *n)
{
    unsigned level, slot;
    place_of(base_of(w), n->expires, &level, &slot);
    n->prev->next = n->next;
    n->next->prev = n->prev;
    n->next = NULL;
    n->prev = NULL;
    w->count--;
    if (n->expires == w->cached_next)
        w->cached_next = TW_UNKNOWN;
    if (level == UTCP_TW_LEVELS)
        return;
    struct utcp_tnode *h = &w->slots[level][slot];
    if (list_empty(h)) {
        w->occupied[level] &= ~((uint64_t)1 << slot);
        h->order = MIN_UNKNOWN;
    } else if (h->expires == n->expires) {
        h->order = MIN_UNKNOWN;
    }
}

/* Merges the lists selected by mask at `level` into dst, tracking dst's
 * earliest expiry in *min and *known. */
static void merge_level(struct utcp_twheel *w, unsigned level, uint64_t mask,
                        struct utcp_tnode *dst, uint64_t *min, bool *known)
{
    uint64_t bits = w->occupied[level] & mask;
    w->occupied[level] &= ~mask;
    while (bits) {
        unsigned s = lobit64(bits);
        bits &= bits - 1u;
        struct utcp_tnode *h = &w->slots[level][s];
        uint64_t m = h->expires;
        if (level == 0)
            m = (base_of(w) & ~(uint64_t)TW_DIGIT_MASK) | s;
        else if (h->order != MIN_KNOWN)
            *known = false;
        if (m < *min)
            *min = m;
        list_move_all(dst, h);
        h->order = MIN_UNKNOWN;
    }
}

/* Moves B back to e < B. The nodes below e's new place relative to the old B
 * all share one place relative to e (the slot that held B's own digit, which
 * is empty); nodes at or above it keep theirs. */
static void rebase_back(struct utcp_twheel *w, uint64_t e)
{
    uint64_t b = base_of(w);
    unsigned p = hibit64(e ^ b), level, slot;
    uint64_t min = UINT64_MAX;
    bool known = true;
    if (p < TW_TOP_BIT) {
        level = p / TW_DIGIT_BITS;
        slot = (unsigned)(b >> (level * TW_DIGIT_BITS)) & TW_DIGIT_MASK;
    } else {
        level = TW_TOP;
        slot = p - TW_TOP_BIT;
    }
    struct utcp_tnode *dst = &w->slots[level][slot];
    if (!list_empty(&w->overdue)) {
        min = b;
        list_move_all(dst, &w->overdue);
    }
    for (unsigned l = 0; l < level && l < TW_TOP; l++)
        merge_level(w, l, UINT64_MAX, dst, &min, &known);
    if (level == TW_TOP)
        merge_level(w, TW_TOP, ((uint64_t)1 << slot) - 1u, dst, &min, &known);
    if (!list_empty(dst)) {
        w->occupied[level] |= (uint64_t)1 << slot;
        dst->expires = min;
        dst->order = known ? MIN_KNOWN : MIN_UNKNOWN;
    }
    set_base(w, e);
}

void utcp__wheel_init(struct utcp_twheel *w, uint64_t now)
{
    for (unsigned l = 0; l < UTCP_TW_LEVELS; l++) {
        for (unsigned s = 0; s < UTCP_TW_SLOTS; s++)
            list_init(&w->slots[l][s]);
        w->occupied[l] = 0;
    }
    list_init(&w->overdue);
    set_base(w, now);
    w->now = now;
    w->arm_seq = 0;
    w->count = 0;
    w->cached_next = UINT64_MAX;
}

void utcp__wheel_node_init(struct utcp_tnode *n)
{
    n->next = NULL;
    n->prev = NULL;
    n->expires = 0;
    n->order = 0;
}

void utcp__wheel_arm(struct utcp_twheel *w, struct utcp_tnode *n, uint64_t expires)
{
    if (utcp__wheel_armed(n))
        unlink_node(w, n);
    n->expires = expires;
    n->order = ++w->arm_seq;
    if (expires < base_of(w))
        rebase_back(w, expires); /* an instant already past */
    insert(w, n);
    w->count++;
    if (w->cached_next != TW_UNKNOWN && expires < w->cached_next)
        w->cached_next = expires;
}

void utcp__wheel_set(struct utcp_twheel *w, struct utcp_tnode *n,
                     uint64_t expires)
{
    if (expires == UINT64_MAX)
        utcp__wheel_cancel(w, n);
    else if (!utcp__wheel_armed(n) || n->expires != expires)
        utcp__wheel_arm(w, n, expires);
}

void utcp__wheel_cancel(struct utcp_twheel *w, struct utcp_tnode *n)
{
    if (utcp__wheel_armed(n))
        unlink_node(w, n);
}

/* The lowest non-empty level, or UTCP_TW_LEVELS when all are empty. */
static unsigned lowest_level(const struct utcp_twheel *w)
{
    unsigned l = 0;
    while (l < UTCP_TW_LEVELS && w->occupied[l] == 0)
        l++;
    return l;
}

uint64_t utcp__wheel_next(struct utcp_twheel *w)
{
    if (w->cached_next != TW_UNKNOWN)
        return w->cached_next;
    uint64_t r;
    unsigned l = lowest_level(w);
    if (!list_empty(&w->overdue)) {
        r = base_of(w);
    } else if (l == UTCP_TW_LEVELS) {
        r = UINT64_MAX;
    } else {
        unsigned s = lobit64(w->occupied[l]);
        struct utcp_tnode *h = &w->slots[l][s];
        if (l == 0) {
            r = (base_of(w) & ~(uint64_t)TW_DIGIT_MASK) | s;
        } else {
            if (h->order != MIN_KNOWN) { /* its earliest node left: rescan */
                uint64_t m = UINT64_MAX;
                for (struct utcp_tnode *n = h->next; n != h; n = n->next)
                    if (n->expires < m)
                        m = n->expires;
                h->expires = m;
                h->order = MIN_KNOWN;
            }
            r = h->expires;
        }
    }
    w->cached_next = r;
    return r;
}

/* Re-places every node of slot (level, slot) after B moved to its start. */
static void cascade(struct utcp_twheel *w, unsigned level, unsigned slot)
{
    struct utcp_tnode *h = &w->slots[level][slot];
    struct utcp_tnode *n = h->next;
    w->occupied[level] &= ~((uint64_t)1 << slot);
    h->prev->next = NULL; /* terminate the detached chain */
    h->next = h;
    h->prev = h;
    h->order = MIN_UNKNOWN;
    while (n) {
        struct utcp_tnode *next = n->next;
        insert(w, n); /* lands in a lower level: never back in h */
        n = next;
    }
}

struct utcp_tnode *utcp__wheel_pop(struct utcp_twheel *w, uint64_t now)
{
    if (now < w->now)
        now = w->now;
    w->now = now;
    for (;;) {
        if (!list_empty(&w->overdue)) { /* expires == B <= now */
            struct utcp_tnode *n = w->overdue.next;
            unlink_node(w, n);
            return n;
        }
        unsigned l = lowest_level(w);
        if (l == UTCP_TW_LEVELS)
            break;
        unsigned s = lobit64(w->occupied[l]);
        uint64_t start = slot_start(base_of(w), l, s);
        if (start > now)
            break;
        set_base(w, start);
        if (l == 0) { /* an exact instant: the slot becomes the overdue list */
            list_move_all(&w->overdue, &w->slots[0][s]);
            w->occupied[0] &= ~((uint64_t)1 << s);
        } else {
            cascade(w, l, s);
        }
    }
    /* Nothing is due, so every node is later than now and B may become now
     * without moving any node. */
    set_base(w, now);
    return NULL;
}

/* For tests only: checks every invariant of the layout; 0 when they hold,
 * else a negative number naming the first one broken. */
int utcp__wheel_check(const struct utcp_twheel *w);
int utcp__wheel_check(const struct utcp_twheel *w)
{
    uint64_t b = base_of(w), count = 0, min = UINT64_MAX;
    if (b > w->now)
        return -1;
    for (unsigned l = 0; l <= UTCP_TW_LEVELS; l++) {
        for (unsigned s = 0; s < UTCP_TW_SLOTS; s++) {
            const struct utcp_tnode *h =
                l == UTCP_TW_LEVELS ? &w->overdue : &w->slots[l][s];
            if (l == UTCP_TW_LEVELS && s > 0)
                break;
            bool empty = h->next == h;
            if (l < UTCP_TW_LEVELS && empty != !((w->occupied[l] >> s) & 1u))
                return -2;
            uint64_t lmin = UINT64_MAX;
            const struct utcp_tnode *prev = h;
            for (const struct utcp_tnode *n = h->next; n != h; n = n->next) {
                unsigned pl, ps;
                if (n->prev != prev || n->expires < b)
                    return -3;
                place_of(b, n->expires, &pl, &ps);
                if (pl != l || (l < UTCP_TW_LEVELS && ps != s))
                    return -4;
                for (const struct utcp_tnode *m = h->next; m != n; m = m->next)
                    if (m->expires == n->expires && m->order >= n->order)
                        return -5;
                if (n->expires < lmin)
                    lmin = n->expires;
                count++;
                prev = n;
            }
            if (l > 0 && l < UTCP_TW_LEVELS && !empty &&
                h->order == MIN_KNOWN && h->expires != lmin)
                return -6;
            if (lmin < min)
                min = lmin;
        }
    }
    if (count != w->count)
        return -7;
    if (w->cached_next != TW_UNKNOWN && w->cached_next != min)
        return -8;
    return 0;
}
