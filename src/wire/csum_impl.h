/*
 * The Internet checksum's implementations (wire/checksum.c), for the tests
 * and benchmarks that check and time each one: the portable scalar code and
 * the x86-64 vector kernels. utcp_csum_partial / utcp_csum_copy use the best
 * one the CPU has; every one gives bit-for-bit the same partial sums.
 */
#ifndef UTCP_WIRE_CSUM_IMPL_H
#define UTCP_WIRE_CSUM_IMPL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

/* RFC 1071 4.1: folds a 32-bit partial sum to 16 bits with the end-around
 * carry and complements it (utcp_csum_fold, inline for the builders): x
 * plus x rotated by 16 holds the folded sum in its upper half. */
static inline uint16_t utcp__csum_fold_not(uint32_t x)
{
    x += x >> 16 | x << 16;
    return (uint16_t)~(x >> 16);
}

/* RFC 9293 3.1: the pseudo-header's sum (utcp_csum_pseudo, inline for
 * the checks and builders of every segment): source address, destination
 * address, zero, PTCL and TCP length, as 16-bit words. At most six words:
 * no overflow. */
static inline uint32_t utcp__csum_pseudo(uint32_t src, uint32_t dst,
                                         uint8_t proto, uint16_t len)
{
    return (src >> 16) + (src & 0xffffu) + (dst >> 16) + (dst & 0xffffu) +
           proto + len;
}

/* RFC 1071: whether a header p[0..len) (len a multiple of 4, at most 60:
 * an IPv4 or TCP header, or a segment that is all header) plus the
 * partial sum `sum` (of 16-bit words as numbers, below 2^20: a
 * pseudo-header's) sums to -0. 2(B): words loaded in host order sum to
 * the byte-swapped sum, and -0 (all ones) reads the same either way; on a
 * little-endian host the incoming sum is swapped to match (sum << 8 is
 * congruent to it modulo 0xffff). 15 words and the sum stay far below
 * 2^64; three end-around folds bring it to 16 bits (0 only when all is 0,
 * never -0). Inline: a call into the general code and its choice of
 * kernel cost more than the sum itself at this size. */
static inline bool utcp__csum_words_ok(const uint8_t *p, size_t len,
                                       uint32_t sum)
{
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__ && \
    !defined(UTCP_CSUM_PORTABLE_LOADS)
    uint64_t a = (uint64_t)sum << 8;
    for (size_t i = 0; i < len; i += 4) {
        uint32_t w;
        memcpy(&w, p + i, sizeof w);
        a += w;
    }
#else
    uint64_t a = sum;
    for (size_t i = 0; i < len; i += 4)
        a += (uint32_t)p[i] << 24 | (uint32_t)p[i + 1] << 16 |
             (uint32_t)p[i + 2] << 8 | p[i + 3];
#endif
    a = (a & 0xffffu) + (a >> 16);
    a = (a & 0xffffu) + (a >> 16);
    a = (a & 0xffffu) + (a >> 16);
    return a == 0xffffu;
}

enum utcp__csum_impl {
    UTCP__CSUM_SCALAR, /* 64-bit words, portable C */
    UTCP__CSUM_AVX2,   /* x86-64 AVX2 (32-byte vectors) */
    UTCP__CSUM_AVX512, /* x86-64 AVX-512F+BW (64-byte vectors) */
    UTCP__CSUM_NIMPL
};

/* Whether this build and this CPU can run impl. */
bool utcp__csum_impl_ok(enum utcp__csum_impl impl);
/* A short name ("scalar", "avx2", "avx512"). */
const char *utcp__csum_impl_name(enum utcp__csum_impl impl);
/* utcp_csum_partial / utcp_csum_copy with the given implementation, which
 * must be one utcp__csum_impl_ok accepts. */
uint32_t utcp__csum_partial_impl(enum utcp__csum_impl impl, const void *buf,
                                 size_t len, uint32_t sum);
uint32_t utcp__csum_copy_impl(enum utcp__csum_impl impl, void *dst,
                              const void *src, size_t len, uint32_t sum);

#endif
