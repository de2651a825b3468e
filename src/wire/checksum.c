/*
 * Internet checksum: 16-bit ones'-complement sums taken 64 bits at a time
 * (or 32/64 bytes at a time with AVX2/AVX-512 where the CPU has them), a
 * fused copy-and-sum, and the incremental update of a checksum field.
 * RFC 1071 2(A)-(C) and 4.1, RFC 1624 3 (eqn. 3), RFC 9293 3.1 pseudo-header.
 * Never reads or writes outside [0..len), never allocates, keeps no state.
 */
#include <string.h>

#include "utcp/wire.h"
#include "wire/csum_impl.h"

/*
 * How the fast sum works.
 *
 * RFC 1071 2(A) and 2(C): ones'-complement addition is associative and
 * commutative, and can be done in parallel over wider words: a 64-bit word
 * holds four 16-bit words, and 2^16 = 1 (mod 0xffff), so the 64-bit value is
 * congruent to the sum of its four 16-bit words. A carry out of bit 63 is
 * worth 2^64 = 1 (mod 0xffff): we count carries and add the count back once.
 *
 * RFC 1071 2(B): byte order independence. On a little-endian host a native
 * 64-bit load sees each 16-bit word byte-swapped; the sum of swapped words is
 * the swapped sum, so we add native words and swap the folded 16-bit result
 * once at the end. A swapped 16-bit word x is congruent to 256 * x (mod
 * 0xffff); this is how the caller's incoming partial sum enters the native
 * domain without folding (sum << 8 still fits in 64 bits).
 *
 * Every step is an end-around-carry addition of non-negative values, which
 * keeps "zero" and "0xffff" apart exactly as a naive 16-bit loop does: the
 * folded result is 0 only when every input word is 0. So the result is not
 * just congruent to the naive sum: it is bit-for-bit the same after folding.
 */

#if defined(UTCP_CSUM_PORTABLE_LOADS) || !defined(__BYTE_ORDER__)
/* Unknown byte order (or forced, to test this path): assemble big-endian
 * words from bytes; correct on every host, no final swap. */
#define CSUM_NATIVE_LE 0
static inline uint64_t load64(const uint8_t *p)
{
    return (uint64_t)utcp_get32(p) << 32 | utcp_get32(p + 4);
}
static inline uint32_t load32(const uint8_t *p)
{
    return utcp_get32(p);
}
static inline uint16_t load16(const uint8_t *p)
{
    return utcp_get16(p);
}
#else
#define CSUM_NATIVE_LE (__BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__)
/* Native loads at any alignment; compilers emit a single mov. */
static inline uint64_t load64(const uint8_t *p)
{
    uint64_t v;
    memcpy(&v, p, sizeof v);
    return v;
}
static inline uint32_t load32(const uint8_t *p)
{
    uint32_t v;
    memcpy(&v, p, sizeof v);
    return v;
}
static inline uint16_t load16(const uint8_t *p)
{
    uint16_t v;
    memcpy(&v, p, sizeof v);
    return v;
}
#endif

/* *acc += w, counting the carry out of bit 63 in *carry. */
static inline void add64(uint64_t *acc, uint64_t *carry, uint64_t w)
{
    *acc += w;
    *carry += (uint64_t)(*acc < w);
}

/* The last len (< 8) bytes, in the accumulator's domain. They are taken as
 * pieces of 4, 2 and 1 bytes; each piece starts at an even offset, so it is
 * added without being shifted into place (2^16 = 1 mod 0xffff). RFC 1071
 * 4.1: a left-over byte is the high byte of a last word padded with zero,
 * which a little-endian load sees as the low byte. */
static inline uint64_t sum_tail(const uint8_t *p, size_t len)
{
    uint64_t t = 0;
    if (len & 4) {
        t += load32(p);
        p += 4;
    }
    if (len & 2) {
        t += load16(p);
        p += 2;
    }
    if (len & 1)
        t += CSUM_NATIVE_LE ? (uint64_t)*p : (uint64_t)*p << 8;
    return t;
}

/* End-around-carry addition of two 64-bit values. */
static inline uint64_t add_eac(uint64_t a, uint64_t b)
{
    a += b;
    return a + (uint64_t)(a < b);
}

/* Folds with end-around carry to 16 bits (RFC 1071 4.1, "fold 32-bit sum
 * to 16 bits", widened to 64). Adding a value to itself rotated by half its
 * width puts hi + lo + (carry out of lo + hi) in the upper half: one exact
 * end-around-carry step. 0 stays 0; anything else lands in 1..0xffff. */
static inline uint16_t fold32(uint32_t x)
{
    x += x >> 16 | x << 16;
    return (uint16_t)(x >> 16);
}

static inline uint16_t fold64(uint64_t s)
{
    s += s >> 32 | s << 32;
    return fold32((uint32_t)(s >> 32));
}

/* Converts the caller's big-endian partial sum to the accumulator domain. */
static inline uint64_t sum_in(uint32_t sum)
{
#if CSUM_NATIVE_LE
    return (uint64_t)sum << 8; /* congruent to the byte-swapped sum */
#else
    return sum;
#endif
}

/* Combines the accumulators and returns a big-endian 16-bit partial sum. */
static inline uint32_t sum_out(uint64_t a, uint64_t b, uint64_t ca,
                               uint64_t cb)
{
    /* ca and cb are below len / 8 each: their sum cannot overflow. */
    uint16_t s = fold64(add_eac(add_eac(a, b), ca + cb));
#if CSUM_NATIVE_LE
    s = (uint16_t)(s << 8 | s >> 8); /* RFC 1071 2(B): swap back */
#endif
    return s;
}

/* Sums one 64-byte block into the two accumulators. */
static inline void sum_block64(const uint8_t *p, uint64_t *a, uint64_t *b,
                               uint64_t *ca, uint64_t *cb)
{
    /* Two accumulators with their own carry counters: two independent
     * add/carry chains keep more than one adder busy. */
    add64(a, ca, load64(p));
    add64(b, cb, load64(p + 8));
    add64(a, ca, load64(p + 16));
    add64(b, cb, load64(p + 24));
    add64(a, ca, load64(p + 32));
    add64(b, cb, load64(p + 40));
    add64(a, ca, load64(p + 48));
    add64(b, cb, load64(p + 56));
}

/* ------------------------------------------------------------------------
 * Vector kernels (x86-64 with GCC or Clang; chosen at run time).
 *
 * RFC 1071 2(C) "parallel summation": a vector of 32-bit lanes takes the
 * native 16-bit words of a block split in two (the low word of each 32-bit
 * word masked, the high one shifted down), so every lane adds values below
 * 2^16 and cannot overflow for KERNEL_BLOCKS blocks; the lanes are then
 * added up exactly into a 64-bit integer. The exact sum of native 16-bit
 * words is congruent (mod 0xffff) to the scalar code's sum of native 64-bit
 * words, so the two chain into one accumulator, and every step stays an
 * addition of non-negative values: the folded result is bit-for-bit what
 * the scalar code (and the naive RFC 1071 loop) gives.
 * ------------------------------------------------------------------------ */
#if defined(__x86_64__) && defined(__GNUC__) && CSUM_NATIVE_LE && \
    !defined(UTCP_CSUM_PORTABLE_LOADS)
#define CSUM_X86 1
#include <immintrin.h>

/* Blocks of 64 bytes per pass before the lanes are emptied: each lane of
 * each accumulator grows by at most 2 * 0xffff per block, and the two
 * accumulators' lanes are added together before widening, so 16384 blocks
 * (1 MiB) keep every lane below 2^32. */
#define KERNEL_BLOCKS 16384u

/* Vectors below this many bytes are not worth the set-up. */
#define KERNEL_MIN 128u

__attribute__((target("avx2"))) static uint64_t
lanes_avx2(__m256i a0, __m256i a1)
{
    __m256i s = _mm256_add_epi32(a0, a1); /* < 2^32 per lane, see above */
    __m256i lo = _mm256_cvtepu32_epi64(_mm256_castsi256_si128(s));
    __m256i hi = _mm256_cvtepu32_epi64(_mm256_extracti128_si256(s, 1));
    __m256i w = _mm256_add_epi64(lo, hi);
    __m128i x = _mm_add_epi64(_mm256_castsi256_si128(w),
                              _mm256_extracti128_si256(w, 1));
    return (uint64_t)_mm_cvtsi128_si64(x) +
           (uint64_t)_mm_extract_epi64(x, 1);
}

/* Exact sum of the native 16-bit words of nblk 64-byte blocks at s, copied
 * to d when d is not NULL. */
__attribute__((target("avx2"))) static uint64_t
words_avx2(uint8_t *d, const uint8_t *s, size_t nblk)
{
    const __m256i m = _mm256_set1_epi32(0xffff);
    uint64_t total = 0;
    while (nblk > 0) {
        size_t k = nblk < KERNEL_BLOCKS ? nblk : KERNEL_BLOCKS;
        nblk -= k;
        __m256i a0 = _mm256_setzero_si256(), a1 = _mm256_setzero_si256();
        for (; k > 0; k--, s += 64) {
            __m256i v0 = _mm256_loadu_si256((const __m256i *)(const void *)s);
            __m256i v1 =
                _mm256_loadu_si256((const __m256i *)(const void *)(s + 32));
            if (d) {
                _mm256_storeu_si256((__m256i *)(void *)d, v0);
                _mm256_storeu_si256((__m256i *)(void *)(d + 32), v1);
                d += 64;
            }
            a0 = _mm256_add_epi32(a0, _mm256_and_si256(v0, m));
            a1 = _mm256_add_epi32(a1, _mm256_srli_epi32(v0, 16));
            a0 = _mm256_add_epi32(a0, _mm256_and_si256(v1, m));
            a1 = _mm256_add_epi32(a1, _mm256_srli_epi32(v1, 16));
        }
        total += lanes_avx2(a0, a1);
    }
    return total;
}

__attribute__((target("avx512f,avx512bw"))) static uint64_t
words_avx512(uint8_t *d, const uint8_t *s, size_t nblk)
{
    const __m512i m = _mm512_set1_epi32(0xffff);
    uint64_t total = 0;
    while (nblk > 0) {
        size_t k = nblk < KERNEL_BLOCKS ? nblk : KERNEL_BLOCKS;
        nblk -= k;
        /* Two pairs of accumulators: one 64-byte block each per turn. */
        __m512i a0 = _mm512_setzero_si512(), a1 = _mm512_setzero_si512();
        __m512i b0 = _mm512_setzero_si512(), b1 = _mm512_setzero_si512();
        for (; k >= 2; k -= 2, s += 128) {
            __m512i v0 = _mm512_loadu_si512((const void *)s);
            __m512i v1 = _mm512_loadu_si512((const void *)(s + 64));
            if (d) {
                _mm512_storeu_si512((void *)d, v0);
                _mm512_storeu_si512((void *)(d + 64), v1);
                d += 128;
            }
            a0 = _mm512_add_epi32(a0, _mm512_and_si512(v0, m));
            a1 = _mm512_add_epi32(a1, _mm512_srli_epi32(v0, 16));
            b0 = _mm512_add_epi32(b0, _mm512_and_si512(v1, m));
            b1 = _mm512_add_epi32(b1, _mm512_srli_epi32(v1, 16));
        }
        if (k) {
            __m512i v0 = _mm512_loadu_si512((const void *)s);
            if (d) {
                _mm512_storeu_si512((void *)d, v0);
                d += 64;
            }
            a0 = _mm512_add_epi32(a0, _mm512_and_si512(v0, m));
            a1 = _mm512_add_epi32(a1, _mm512_srli_epi32(v0, 16));
            s += 64;
        }
        /* a0 + a1 and b0 + b1 stay below 2^32 per lane (each lane took at
         * most KERNEL_BLOCKS / 2 words of each kind); widen before adding
         * the pairs. */
        __m512i sa = _mm512_add_epi32(a0, a1), sb = _mm512_add_epi32(b0, b1);
        __m512i w = _mm512_add_epi64(
            _mm512_cvtepu32_epi64(_mm512_castsi512_si256(sa)),
            _mm512_cvtepu32_epi64(_mm512_extracti64x4_epi64(sa, 1)));
        w = _mm512_add_epi64(
            w, _mm512_cvtepu32_epi64(_mm512_castsi512_si256(sb)));
        w = _mm512_add_epi64(
            w, _mm512_cvtepu32_epi64(_mm512_extracti64x4_epi64(sb, 1)));
        total += (uint64_t)_mm512_reduce_add_epi64(w);
    }
    return total;
}
#endif

bool utcp__csum_impl_ok(enum utcp__csum_impl impl)
{
    switch (impl) {
    case UTCP__CSUM_SCALAR:
        return true;
#ifdef CSUM_X86
    case UTCP__CSUM_AVX2:
        return __builtin_cpu_supports("avx2");
    case UTCP__CSUM_AVX512:
        return __builtin_cpu_supports("avx512f") &&
               __builtin_cpu_supports("avx512bw");
#endif
    default:
        return false;
    }
}

const char *utcp__csum_impl_name(enum utcp__csum_impl impl)
{
    switch (impl) {
    case UTCP__CSUM_SCALAR:
        return "scalar";
    case UTCP__CSUM_AVX2:
        return "avx2";
    case UTCP__CSUM_AVX512:
        return "avx512";
    default:
        return "?";
    }
}

/* The best implementation this CPU runs. __builtin_cpu_supports reads the
 * CPU model the compiler's runtime filled in at start-up: a load and a
 * test, no state of ours. */
static enum utcp__csum_impl best_impl(void)
{
#ifdef CSUM_X86
    if (__builtin_cpu_supports("avx512f") &&
        __builtin_cpu_supports("avx512bw"))
        return UTCP__CSUM_AVX512;
    if (__builtin_cpu_supports("avx2"))
        return UTCP__CSUM_AVX2;
#endif
    return UTCP__CSUM_SCALAR;
}

/* Sums (and copies, when d is not NULL) the leading 64-byte blocks of len
 * bytes with a vector kernel, adding their sum into *a / *ca; returns the
 * bytes done (0 when impl is scalar or len is short). */
static size_t vector_head(enum utcp__csum_impl impl, uint8_t *d,
                          const uint8_t *s, size_t len, uint64_t *a,
                          uint64_t *ca)
{
#ifdef CSUM_X86
    if (len < KERNEL_MIN || impl == UTCP__CSUM_SCALAR)
        return 0;
    size_t nblk = len / 64;
    uint64_t w = impl == UTCP__CSUM_AVX512 ? words_avx512(d, s, nblk)
                                           : words_avx2(d, s, nblk);
    add64(a, ca, w);
    return nblk * 64;
#else
    (void)impl, (void)d, (void)s, (void)len, (void)a, (void)ca;
    return 0;
#endif
}

uint32_t utcp__csum_partial_impl(enum utcp__csum_impl impl, const void *buf,
                                 size_t len, uint32_t sum)
{
    const uint8_t *p = buf;
    uint64_t a = sum_in(sum), b = 0, ca = 0, cb = 0;

    size_t done = vector_head(impl, NULL, p, len, &a, &ca);
    p += done;
    len -= done;
    while (len >= 64) {
        sum_block64(p, &a, &b, &ca, &cb);
        p += 64;
        len -= 64;
    }
    while (len >= 8) {
        add64(&a, &ca, load64(p));
        p += 8;
        len -= 8;
    }
    add64(&b, &cb, sum_tail(p, len));
    return sum_out(a, b, ca, cb);
}

uint32_t utcp__csum_copy_impl(enum utcp__csum_impl impl, void *dst,
                              const void *src, size_t len, uint32_t sum)
{
    uint8_t *d = dst;
    const uint8_t *s = src;
    uint64_t a = sum_in(sum), b = 0, ca = 0, cb = 0;

    size_t done = vector_head(impl, d, s, len, &a, &ca);
    s += done;
    d += done;
    len -= done;
    /* One pass over the data, a 64-byte block at a time: the block is
     * copied with the widest moves the compiler has (a fixed-size memcpy
     * is inlined as vector loads and stores) and summed from the source
     * while it is in L1. This beats storing the 64-bit words one by one,
     * which is limited by store throughput. */
    while (len >= 64) {
        memcpy(d, s, 64);
        sum_block64(s, &a, &b, &ca, &cb);
        s += 64;
        d += 64;
        len -= 64;
    }
    while (len >= 8) {
        memcpy(d, s, 8);
        add64(&a, &ca, load64(s));
        s += 8;
        d += 8;
        len -= 8;
    }
    if (len > 0)
        memcpy(d, s, len);
    add64(&b, &cb, sum_tail(s, len));
    return sum_out(a, b, ca, cb);
}

/* Headers (20-60 bytes) are summed many times per segment: they skip the
 * choice of kernel, which they would not use. */
#ifdef CSUM_X86
#define PICK(len) ((len) < KERNEL_MIN ? UTCP__CSUM_SCALAR : best_impl())
#else
#define PICK(len) best_impl()
#endif

/* A header: at most 60 bytes in 32-bit words (IPv4 and TCP headers always
 * are), summed without carries (15 words and the incoming sum stay far
 * below 2^64), folded once. */
static uint32_t sum_words32(const uint8_t *p, size_t len, uint32_t sum)
{
    uint64_t a = sum_in(sum);
    for (size_t i = 0; i < len; i += 4)
        a += load32(p + i);
    return sum_out(a, 0, 0, 0);
}

uint32_t utcp_csum_partial(const void *buf, size_t len, uint32_t sum)
{
    if (len <= 60 && (len & 3u) == 0)
        return sum_words32(buf, len, sum);
    return utcp__csum_partial_impl(PICK(len), buf, len, sum);
}

uint32_t utcp_csum_copy(void *dst, const void *src, size_t len, uint32_t sum)
{
    return utcp__csum_copy_impl(PICK(len), dst, src, len, sum);
}

uint16_t utcp_csum_fold(uint32_t sum)
{
    return utcp__csum_fold_not(sum);
}

uint16_t utcp_csum(const void *buf, size_t len)
{
    return utcp_csum_fold(utcp_csum_partial(buf, len, 0));
}

uint32_t utcp_csum_pseudo(uint32_t src, uint32_t dst, uint8_t proto,
                          uint16_t len)
{
    return utcp__csum_pseudo(src, dst, proto, len);
}

/* RFC 1624 eqn. 3: HC' = ~(~HC + ~m + m'), on a 32-bit sum of 16-bit terms.
 * Unlike RFC 1141's eqn. 2 it never turns a +0 checksum into -0 (0xffff).
 * It differs from a full recomputation only when every covered word is zero
 * after the change (recomputation then gives 0xffff, this gives 0); no real
 * IP, TCP or ICMP header is all zeros. */
uint16_t utcp_csum_update16(uint16_t hc, uint16_t old_v, uint16_t new_v)
{
    uint32_t s = (uint32_t)(uint16_t)~hc + (uint16_t)~old_v + new_v;
    return utcp_csum_fold(s);
}

uint16_t utcp_csum_update32(uint16_t hc, uint32_t old_v, uint32_t new_v)
{
    /* RFC 1624 eqn. 3 with m and m' each two 16-bit words. */
    uint32_t s = (uint32_t)(uint16_t)~hc + (uint16_t)~(old_v >> 16) +
                 (uint16_t)~old_v + (new_v >> 16) + (new_v & 0xffffu);
    return utcp_csum_fold(s);
}
