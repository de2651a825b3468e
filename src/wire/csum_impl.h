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

/* RFC 1071 4.1: folds a 32-bit partial sum to 16 bits with the end-around
 * carry and complements it (utcp_csum_fold, inline for the builders): x
 * plus x rotated by 16 holds the folded sum in its upper half. */
static inline uint16_t utcp__csum_fold_not(uint32_t x)
{
    x += x >> 16 | x << 16;
    return (uint16_t)~(x >> 16);
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
