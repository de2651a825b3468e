/*
 * Keyed hashing: SipHash-2-4, the 4-tuple connection table, initial sequence
 * numbers (RFC 6528 3), ephemeral ports (RFC 6056 3.3.3, Algorithm 3) and the
 * seeded xoshiro256** PRNG. Never hashes a tuple without the secret key, never
 * reads a clock or OS randomness, never allocates but through the allocator.
 */
#include "stack/hash.h"

#include <string.h>

#include "base/base.h"
#include "utcp/errors.h"

/* ---- SipHash-2-4 (Aumasson and Bernstein, "SipHash: a fast short-input
 * PRF", 2012): 2 compression rounds, 4 finalisation rounds. */

static uint64_t rotl64(uint64_t x, unsigned b)
{
    return (x << b) | (x >> (64u - b));
}

/* Written out byte by byte so that GCC and Clang merge it into one load
 * on a little-endian machine (the loop form stayed a loop: 16 iterations
 * of key loading in every table hash). */
static inline uint64_t load_le64(const uint8_t *p)
{
    return (uint64_t)p[0] | (uint64_t)p[1] << 8 | (uint64_t)p[2] << 16 |
           (uint64_t)p[3] << 24 | (uint64_t)p[4] << 32 |
           (uint64_t)p[5] << 40 | (uint64_t)p[6] << 48 |
           (uint64_t)p[7] << 56;
}

#define SIPROUND(v0, v1, v2, v3)                                               \
    do {                                                                       \
        v0 += v1;                                                              \
        v1 = rotl64(v1, 13);                                                   \
        v1 ^= v0;                                                              \
        v0 = rotl64(v0, 32);                                                   \
        v2 += v3;                                                              \
        v3 = rotl64(v3, 16);                                                   \
        v3 ^= v2;                                                              \
        v0 += v3;                                                              \
        v3 = rotl64(v3, 21);                                                   \
        v3 ^= v0;                                                              \
        v2 += v1;                                                              \
        v1 = rotl64(v1, 17);                                                   \
        v1 ^= v2;                                                              \
        v2 = rotl64(v2, 32);                                                   \
    } while (0)

uint64_t utcp__siphash24(const uint8_t key[16], const void *msg, size_t len)
{
    const uint8_t *in = msg;
    uint64_t k0 = load_le64(key), k1 = load_le64(key + 8);
    uint64_t v0 = k0 ^ UINT64_C(0x736f6d6570736575);
    uint64_t v1 = k1 ^ UINT64_C(0x646f72616e646f6d);
    uint64_t v2 = k0 ^ UINT64_C(0x6c7967656e657261);
    uint64_t v3 = k1 ^ UINT64_C(0x7465646279746573);
    size_t full = len - (len % 8u);
    for (size_t i = 0; i < full; i += 8) {
        uint64_t m = load_le64(in + i);
        v3 ^= m;
        SIPROUND(v0, v1, v2, v3);
        SIPROUND(v0, v1, v2, v3);
        v0 ^= m;
    }
    /* Last block: the remaining bytes, little-endian, and len mod 256 in
     * the top byte. */
    uint64_t m = (uint64_t)(len & 0xffu) << 56;
    for (size_t i = len % 8u; i-- > 0;)
        m |= (uint64_t)in[full + i] << (8u * i);
    v3 ^= m;
    SIPROUND(v0, v1, v2, v3);
    SIPROUND(v0, v1, v2, v3);
    v0 ^= m;
    v2 ^= 0xffu;
    SIPROUND(v0, v1, v2, v3);
    SIPROUND(v0, v1, v2, v3);
    SIPROUND(v0, v1, v2, v3);
    SIPROUND(v0, v1, v2, v3);
    return v0 ^ v1 ^ v2 ^ v3;
}

/* Each use of the key hashes a different first byte, so sharing one key
 * between the table, ISNs and ports reveals nothing across them. */
enum {
    DOMAIN_ISN = 'I',
    DOMAIN_PORT = 'P'
};

static size_t put_u32(uint8_t *p, uint32_t v)
{
    p[0] = (uint8_t)(v >> 24);
    p[1] = (uint8_t)(v >> 16);
    p[2] = (uint8_t)(v >> 8);
    p[3] = (uint8_t)v;
    return 4;
}

static size_t put_u16(uint8_t *p, uint16_t v)
{
    p[0] = (uint8_t)(v >> 8);
    p[1] = (uint8_t)v;
    return 2;
}

/* Hashes (domain, laddr, lport, raddr, rport) in a fixed byte order. */
static uint64_t tuple_hash(const uint8_t key[16], uint8_t domain,
                           const struct utcp_4tuple *t)
{
    uint8_t b[13];
    size_t o = 0;
    b[o++] = domain;
    o += put_u32(b + o, t->laddr);
    o += put_u16(b + o, t->lport);
    o += put_u32(b + o, t->raddr);
    o += put_u16(b + o, t->rport);
    return utcp__siphash24(key, b, o);
}

/* ---- The 4-tuple table: chained, intrusive, power-of-two buckets. */

#define HT_MIN_LOG2 4u

uint32_t utcp__ht_hash(const uint8_t key[16], const struct utcp_4tuple *k)
{
    /* SipHash-1-3 (1 compression, 3 finalisation rounds) of the 12 bytes
     * laddr, raddr, lport, rport as two little-endian words: one full
     * block and the final block with the length in its top byte. */
    uint64_t k0 = load_le64(key), k1 = load_le64(key + 8);
    uint64_t v0 = k0 ^ UINT64_C(0x736f6d6570736575);
    uint64_t v1 = k1 ^ UINT64_C(0x646f72616e646f6d);
    uint64_t v2 = k0 ^ UINT64_C(0x6c7967656e657261);
    uint64_t v3 = k1 ^ UINT64_C(0x7465646279746573);
    uint64_t m = (uint64_t)k->laddr | (uint64_t)k->raddr << 32;
    v3 ^= m;
    SIPROUND(v0, v1, v2, v3);
    v0 ^= m;
    m = (uint64_t)k->lport | (uint64_t)k->rport << 16 | (uint64_t)12 << 56;
    v3 ^= m;
    SIPROUND(v0, v1, v2, v3);
    v0 ^= m;
    v2 ^= 0xffu;
    SIPROUND(v0, v1, v2, v3);
    SIPROUND(v0, v1, v2, v3);
    SIPROUND(v0, v1, v2, v3);
    uint64_t r = v0 ^ v1 ^ v2 ^ v3;
    return (uint32_t)(r ^ (r >> 32));
}

static struct utcp_hnode **alloc_buckets(const struct utcp_allocator *a,
                                         size_t n)
{
    if (n == 0 || n > SIZE_MAX / sizeof(struct utcp_hnode *))
        return NULL;
    struct utcp_hnode **b = utcp__alloc(a, n * sizeof(*b));
    if (b)
        for (size_t i = 0; i < n; i++)
            b[i] = NULL;
    return b;
}

int utcp__ht_init(struct utcp_htable *t, const struct utcp_allocator *a,
                 const uint8_t key[16], unsigned log2_buckets)
{
    if (log2_buckets < HT_MIN_LOG2)
        log2_buckets = HT_MIN_LOG2;
    if (log2_buckets >= sizeof(size_t) * 8u - 1u)
        return UTCP_ENOMEM;
    size_t n = (size_t)1 << log2_buckets;
    t->buckets = alloc_buckets(a, n);
    if (!t->buckets)
        return UTCP_ENOMEM;
    t->mask = n - 1u;
    t->count = 0;
    memcpy(t->key, key, sizeof(t->key));
    t->alloc = a;
    return 0;
}

void utcp__ht_destroy(struct utcp_htable *t)
{
    if (t->buckets)
        utcp__free(t->alloc, t->buckets, (t->mask + 1u) * sizeof(*t->buckets));
    t->buckets = NULL;
    t->mask = 0;
    t->count = 0;
}

static void link_head(struct utcp_hnode **head, struct utcp_hnode *n)
{
    n->next = *head;
    if (n->next)
        n->next->pprev = &n->next;
    *head = n;
    n->pprev = head;
}

/* Doubles the bucket array; on allocation failure keeps the old one. */
static void grow(struct utcp_htable *t)
{
    size_t old_n = t->mask + 1u;
    if (old_n > SIZE_MAX / 2u)
        return;
    struct utcp_hnode **nb = alloc_buckets(t->alloc, old_n * 2u);
    if (!nb)
        return;
    struct utcp_hnode **ob = t->buckets;
    t->buckets = nb;
    t->mask = old_n * 2u - 1u;
    for (size_t i = 0; i < old_n; i++) {
        struct utcp_hnode *n = ob[i];
        while (n) {
            struct utcp_hnode *next = n->next;
            link_head(&nb[n->hash & t->mask], n);
            n = next;
        }
    }
    utcp__free(t->alloc, ob, old_n * sizeof(*ob));
}

void utcp__ht_insert(struct utcp_htable *t, struct utcp_hnode *n)
{
    utcp__ht_insert_h(t, n, utcp__ht_hash(t->key, &n->key));
}

void utcp__ht_insert_h(struct utcp_htable *t, struct utcp_hnode *n,
                       uint32_t h)
{
    n->hash = h;
    link_head(&t->buckets[n->hash & t->mask], n);
    t->count++;
    if (t->count > t->mask + 1u) /* load factor above 1 */
        grow(t);
}

struct utcp_hnode *utcp__ht_find_h(const struct utcp_htable *t,
                                  const struct utcp_4tuple *k, uint32_t h)
{
    for (struct utcp_hnode *n = t->buckets[h & t->mask]; n; n = n->next)
        if (n->hash == h && utcp_4tuple_eq(&n->key, k))
            return n;
    return NULL;
}

struct utcp_hnode *utcp__ht_find(const struct utcp_htable *t,
                                const struct utcp_4tuple *k)
{
    return utcp__ht_find_h(t, k, utcp__ht_hash(t->key, k));
}

/* O(1) through pprev. n->next is left as it was, so an iteration that just
 * returned n can still step past it. */
void utcp__ht_remove(struct utcp_htable *t, struct utcp_hnode *n)
{
    *n->pprev = n->next;
    if (n->next)
        n->next->pprev = n->pprev;
    n->pprev = NULL;
    t->count--;
}

/* cur, when removed, must still be readable (removed, not yet freed). */
struct utcp_hnode *utcp__ht_iter(const struct utcp_htable *t, size_t *bucket,
                                struct utcp_hnode *cur)
{
    size_t i = *bucket;
    if (cur) {
        if (cur->next)
            return cur->next;
        i++;
    }
    for (; i <= t->mask; i++) {
        if (t->buckets[i]) {
            *bucket = i;
            return t->buckets[i];
        }
    }
    *bucket = t->mask + 1u;
    return NULL;
}

/* ---- Initial sequence numbers. */

uint32_t utcp__isn(const uint8_t key[16], const struct utcp_4tuple *t,
                  uint64_t now_us)
{
    /* RFC 6528 3: ISN = M + F(localip, localport, remoteip, remoteport,
     * secretkey), M the 4-microsecond timer, F a keyed PRF of the
     * connection-id (SipHash-2-4 with a 128-bit key, as the RFC's "key
     * lengths of 128 bits should be adequate"), truncated to 32 bits. */
    uint32_t ts;
    return utcp__isn_ts(key, t, now_us, &ts);
}

uint32_t utcp__isn_ts(const uint8_t key[16], const struct utcp_4tuple *t,
                      uint64_t now_us, uint32_t *ts_offset)
{
    /* One PRF output serves both: its low half is F of the ISN, its high
     * half the timestamp offset (RFC 7323 5.4 and 7.1: a random offset per
     * connection hides the host's uptime and keeps TSval monotonic per
     * 4-tuple). */
    uint64_t f = tuple_hash(key, DOMAIN_ISN, t);
    *ts_offset = (uint32_t)(f >> 32);
    return (uint32_t)(now_us / 4u) + (uint32_t)f;
}

uint32_t utcp__ts_offset(const uint8_t key[16], const struct utcp_4tuple *t)
{
    uint32_t ts;
    (void)utcp__isn_ts(key, t, 0, &ts);
    return ts;
}

/* ---- xoshiro256** (Blackman and Vigna), seeded through splitmix64. */

static uint64_t splitmix64(uint64_t *x)
{
    uint64_t z = (*x += UINT64_C(0x9e3779b97f4a7c15));
    z = (z ^ (z >> 30)) * UINT64_C(0xbf58476d1ce4e5b9);
    z = (z ^ (z >> 27)) * UINT64_C(0x94d049bb133111eb);
    return z ^ (z >> 31);
}

void utcp__rng_seed(struct utcp_rng *r, uint64_t seed)
{
    uint64_t x = seed;
    for (unsigned i = 0; i < 4; i++)
        r->s[i] = splitmix64(&x);
    /* splitmix64 is a bijection of distinct inputs, so the four words are
     * never all zero (the one state xoshiro cannot leave). */
}

uint64_t utcp__rng_next(struct utcp_rng *r)
{
    uint64_t *s = r->s;
    uint64_t result = rotl64(s[1] * 5u, 7) * 9u;
    uint64_t t = s[1] << 17;
    s[2] ^= s[0];
    s[3] ^= s[1];
    s[1] ^= s[2];
    s[0] ^= s[3];
    s[2] ^= t;
    s[3] = rotl64(s[3], 45);
    return result;
}

uint32_t utcp__rng_below(struct utcp_rng *r, uint32_t n)
{
    /* Lemire, "Fast random integer generation in an interval" (2019): the
     * high half of x * n, rejecting the 2^32 mod n low values that would
     * favour some results. */
    uint64_t m = (utcp__rng_next(r) >> 32) * n;
    uint32_t low = (uint32_t)m;
    if (low < n) {
        uint32_t threshold = (uint32_t)(0u - n) % n; /* 2^32 mod n */
        while (low < threshold) {
            m = (utcp__rng_next(r) >> 32) * n;
            low = (uint32_t)m;
        }
    }
    return (uint32_t)(m >> 32);
}

/* ---- Ephemeral ports. */

int utcp__port_pick(const uint8_t key[16], uint32_t laddr, uint32_t raddr,
                   uint16_t rport, uint16_t lo, uint16_t hi,
                   uint32_t *next_ephemeral,
                   bool (*in_use)(void *ctx, uint16_t port), void *ctx)
{
    if (lo > hi)
        return UTCP_EINVAL;
    /* RFC 6056 3.3.3 (Algorithm 3): offset = F(local_IP, remote_IP,
     * remote_port, secret_key); the local port is not an input (it is what
     * we choose), so it hashes as zero. */
    struct utcp_4tuple t = {
        .laddr = laddr, .raddr = raddr, .lport = 0, .rport = rport};
    uint32_t offset = (uint32_t)tuple_hash(key, DOMAIN_PORT, &t);
    uint32_t num_ephemeral = (uint32_t)hi - lo + 1u;
    uint32_t next = *next_ephemeral;
    for (uint32_t count = num_ephemeral; count > 0; count--) {
        /* RFC 6056 3.3.3: port = min_ephemeral + (next_ephemeral + offset)
         * % num_ephemeral; next_ephemeral++ (unsigned wrap-around). */
        uint16_t port = (uint16_t)(lo + (next + offset) % num_ephemeral);
        next++;
        if (!in_use || !in_use(ctx, port)) {
            *next_ephemeral = next;
            return port;
        }
    }
    *next_ephemeral = next;
    return UTCP_EADDRNOTAVAIL;
}
