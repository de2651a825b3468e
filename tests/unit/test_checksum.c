/*
 * Tests for the Internet checksum (src/wire/checksum.c): the RFC 1071 section
 * 3 example, the fast sum against a naive 16-bit big-endian loop for every
 * length 0..2100 at every alignment 0..7, chaining, copy-and-sum, RFC 1624
 * incremental updates against recomputation, the pseudo-header, reads that
 * end at a guard page, the portable (byte-assembled) load path, and every
 * implementation this CPU runs (scalar, AVX2, AVX-512) against the naive
 * loop over random lengths 0..70000, alignments, odd offsets and sums.
 */
#define _DEFAULT_SOURCE /* MAP_ANONYMOUS */

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include <cmocka.h>

#include "utcp/wire.h"
#include "wire/csum_impl.h"

/* The same source compiled with byte-assembled big-endian loads, the path a
 * host of unknown byte order takes (and the arithmetic a big-endian host
 * uses: no final swap). Renamed so it sits beside the library's copy. */
#define UTCP_CSUM_PORTABLE_LOADS 1
#define utcp_csum_partial portable_csum_partial
#define utcp_csum_copy portable_csum_copy
#define utcp_csum_fold portable_csum_fold
#define utcp_csum portable_csum
#define utcp_csum_pseudo portable_csum_pseudo
#define utcp_csum_update16 portable_csum_update16
#define utcp_csum_update32 portable_csum_update32
#define utcp__csum_impl_ok portable_csum_impl_ok
#define utcp__csum_impl_name portable_csum_impl_name
#define utcp__csum_partial_impl portable_csum_partial_impl
#define utcp__csum_copy_impl portable_csum_copy_impl
uint32_t portable_csum_partial(const void *buf, size_t len, uint32_t sum);
uint32_t portable_csum_copy(void *dst, const void *src, size_t len,
                            uint32_t sum);
uint16_t portable_csum_fold(uint32_t sum);
uint16_t portable_csum(const void *buf, size_t len);
uint32_t portable_csum_pseudo(uint32_t src, uint32_t dst, uint8_t proto,
                              uint16_t len);
uint16_t portable_csum_update16(uint16_t hc, uint16_t old_v, uint16_t new_v);
uint16_t portable_csum_update32(uint16_t hc, uint32_t old_v, uint32_t new_v);
#include "wire/checksum.c"
#undef utcp_csum_partial
#undef utcp_csum_copy
#undef utcp_csum_fold
#undef utcp_csum
#undef utcp_csum_pseudo
#undef utcp_csum_update16
#undef utcp_csum_update32
#undef utcp__csum_impl_ok
#undef utcp__csum_impl_name
#undef utcp__csum_partial_impl
#undef utcp__csum_copy_impl

/* ---- helpers ----------------------------------------------------------- */

/* xorshift64*: deterministic data, the same on every run. */
static uint64_t rng_state = 0x9e3779b97f4a7c15u;
static uint64_t rng(void)
{
    rng_state ^= rng_state >> 12;
    rng_state ^= rng_state << 25;
    rng_state ^= rng_state >> 27;
    return rng_state * 0x2545f4914f6cdd1du;
}
static void fill_random(uint8_t *p, size_t n)
{
    for (size_t i = 0; i < n; i++)
        p[i] = (uint8_t)(rng() >> 56);
}

/* Folds with end-around carry to 16 bits, without complementing. */
static uint16_t naive_fold(uint64_t s)
{
    while (s >> 16)
        s = (s & 0xffff) + (s >> 16);
    return (uint16_t)s;
}

/* RFC 1071 as written: sum 16-bit big-endian words, pad an odd byte with a
 * zero on the right, add the incoming partial sum. Returns a 16-bit sum. */
static uint16_t naive_sum(const uint8_t *p, size_t len, uint32_t sum)
{
    uint64_t s = sum;
    size_t i;
    for (i = 0; i + 1 < len; i += 2)
        s += (uint64_t)p[i] << 8 | p[i + 1];
    if (i < len)
        s += (uint64_t)p[i] << 8;
    return naive_fold(s);
}

static uint16_t naive_csum(const uint8_t *p, size_t len)
{
    return (uint16_t)~naive_sum(p, len, 0);
}

#define MAX_LEN 2100

/* ---- RFC 1071 section 3 ------------------------------------------------ */

static const uint8_t rfc1071_bytes[8] = {0x00, 0x01, 0xf2, 0x03,
                                         0xf4, 0xf5, 0xf6, 0xf7};

static void csum_rfc1071_numeric_example_sums_to_ddf2(void **state)
{
    (void)state;
    /* RFC 1071 3: the sum is ddf2 (so the checksum is its complement). */
    assert_int_equal(utcp_csum_fold(utcp_csum_partial(rfc1071_bytes, 8, 0)),
                     (uint16_t)~0xddf2);
    assert_int_equal(naive_fold(utcp_csum_partial(rfc1071_bytes, 8, 0)),
                     0xddf2);
    assert_int_equal(utcp_csum(rfc1071_bytes, 8), 0x220d);
}

static void csum_rfc1071_example_same_at_every_alignment(void **state)
{
    (void)state;
    uint8_t buf[16 + 8];
    for (size_t align = 0; align < 16; align++) {
        memset(buf, 0xa5, sizeof buf);
        memcpy(buf + align, rfc1071_bytes, 8);
        assert_int_equal(utcp_csum(buf + align, 8), 0x220d);
    }
}

static void csum_rfc1071_example_split_in_two_groups(void **state)
{
    (void)state;
    /* RFC 1071 3 also sums bytes 0..3 and 4..7 separately, then adds. */
    uint32_t s = utcp_csum_partial(rfc1071_bytes, 4, 0);
    s = utcp_csum_partial(rfc1071_bytes + 4, 4, s);
    assert_int_equal(naive_fold(s), 0xddf2);
}

/* ---- fast sum against the naive loop ---------------------------------- */

static void csum_partial_equals_naive_every_length_and_alignment(void **state)
{
    (void)state;
    static uint8_t buf[MAX_LEN + 8];
    for (size_t len = 0; len <= MAX_LEN; len++) {
        for (size_t align = 0; align < 8; align++) {
            fill_random(buf + align, len);
            uint32_t init = (len % 3 == 0) ? 0 : (uint32_t)rng();
            uint16_t want = naive_sum(buf + align, len, init);
            uint32_t got = utcp_csum_partial(buf + align, len, init);
            if (naive_fold(got) != want)
                fail_msg("len %zu align %zu init %#x: got %#x want %#x", len,
                         align, (unsigned)init, (unsigned)naive_fold(got),
                         (unsigned)want);
            assert_int_equal(utcp_csum_fold(got),
                             utcp_csum_fold(want));
        }
    }
}

static void csum_partial_all_ones_and_all_zeros_match_naive(void **state)
{
    (void)state;
    /* 0xff everywhere forces a carry on every 64-bit add; zeros check that
     * +0 and -0 come out exactly as the naive loop gives them. */
    static uint8_t buf[MAX_LEN];
    const uint8_t fills[] = {0x00, 0xff, 0x80, 0x01};
    for (size_t f = 0; f < sizeof fills; f++) {
        memset(buf, fills[f], sizeof buf);
        for (size_t len = 0; len <= MAX_LEN; len += (len < 80 ? 1 : 37)) {
            const uint32_t inits[] = {0, 0xffff, 0xffffffffu, 0x10000};
            for (size_t i = 0; i < 4; i++) {
                assert_int_equal(
                    naive_fold(utcp_csum_partial(buf, len, inits[i])),
                    naive_sum(buf, len, inits[i]));
            }
        }
    }
}

static void csum_partial_one_mib_of_ones_matches_naive(void **state)
{
    (void)state;
    size_t n = 1u << 20;
    uint8_t *buf = malloc(n);
    assert_non_null(buf);
    memset(buf, 0xff, n);
    assert_int_equal(naive_fold(utcp_csum_partial(buf, n, 0xffffffffu)),
                     naive_sum(buf, n, 0xffffffffu));
    fill_random(buf, n);
    assert_int_equal(naive_fold(utcp_csum_partial(buf, n, 0)),
                     naive_sum(buf, n, 0));
    free(buf);
}

static void csum_partial_result_is_at_most_16_bits(void **state)
{
    (void)state;
    uint8_t buf[256];
    for (int i = 0; i < 200; i++) {
        fill_random(buf, sizeof buf);
        uint32_t s = utcp_csum_partial(buf, (size_t)(rng() % 256),
                                       (uint32_t)rng());
        assert_in_range(s, 0, 0xffff);
    }
}

static void csum_chained_even_chunks_equal_one_pass(void **state)
{
    (void)state;
    static uint8_t buf[MAX_LEN];
    fill_random(buf, sizeof buf);
    for (size_t len = 0; len <= 300; len++) {
        uint16_t whole = naive_fold(utcp_csum_partial(buf, len, 0));
        for (size_t cut = 0; cut <= len; cut += 2) {
            uint32_t s = utcp_csum_partial(buf, cut, 0);
            s = utcp_csum_partial(buf + cut, len - cut, s);
            assert_int_equal(naive_fold(s), whole);
        }
    }
    /* Many small chunks, as a segment built from pieces. */
    uint32_t s = 0;
    size_t off = 0;
    while (off < sizeof buf) {
        size_t step = 2 * (1 + (size_t)(rng() % 40));
        if (step > sizeof buf - off)
            step = sizeof buf - off;
        s = utcp_csum_partial(buf + off, step, s);
        off += step;
    }
    assert_int_equal(naive_fold(s), naive_sum(buf, sizeof buf, 0));
}

static void csum_of_buffer_with_its_checksum_is_zero(void **state)
{
    (void)state;
    uint8_t buf[1501];
    for (size_t len = 2; len <= sizeof buf; len += 37) {
        fill_random(buf, len);
        buf[0] = buf[1] = 0;
        assert_int_equal(utcp_csum(buf, len), naive_csum(buf, len));
        utcp_put16(buf, utcp_csum(buf, len));
        assert_int_equal(utcp_csum(buf, len), 0);
    }
}

static void csum_fold_edge_values(void **state)
{
    (void)state;
    assert_int_equal(utcp_csum_fold(0), 0xffff);
    assert_int_equal(utcp_csum_fold(0xffff), 0);
    assert_int_equal(utcp_csum_fold(0x10000), 0xfffe);
    assert_int_equal(utcp_csum_fold(0x1fffe), 0);
    assert_int_equal(utcp_csum_fold(0xffffffffu), 0);
    assert_int_equal(utcp_csum_fold(0x0001ddf1), (uint16_t)~0xddf2);
    assert_int_equal(utcp_csum(NULL, 0), 0xffff);
}

/* ---- copy and sum ------------------------------------------------------ */

static void csum_copy_equals_memcpy_then_csum(void **state)
{
    (void)state;
    static uint8_t src[MAX_LEN + 8], dst[MAX_LEN + 16];
    for (size_t len = 0; len <= MAX_LEN; len += (len < 300 ? 1 : 7)) {
        for (size_t sa = 0; sa < 8; sa++) {
            size_t da = (sa * 3 + len) % 8;
            fill_random(src + sa, len);
            memset(dst, 0x5a, sizeof dst);
            uint32_t init = (uint32_t)rng();
            uint32_t s = utcp_csum_copy(dst + da, src + sa, len, init);
            assert_memory_equal(dst + da, src + sa, len);
            /* Nothing written outside dst[da .. da + len). */
            for (size_t i = 0; i < da; i++)
                assert_int_equal(dst[i], 0x5a);
            for (size_t i = da + len; i < sizeof dst; i++)
                assert_int_equal(dst[i], 0x5a);
            assert_int_equal(naive_fold(s),
                             naive_fold(utcp_csum_partial(src + sa, len,
                                                          init)));
            assert_int_equal(naive_fold(s), naive_sum(src + sa, len, init));
        }
    }
}

static void csum_copy_chains_with_partial(void **state)
{
    (void)state;
    uint8_t src[600], dst[600];
    fill_random(src, sizeof src);
    uint32_t s = utcp_csum_partial(src, 40, 0);
    s = utcp_csum_copy(dst, src + 40, sizeof src - 40, s);
    assert_int_equal(naive_fold(s), naive_sum(src, sizeof src, 0));
}

/* ---- RFC 1624 incremental update --------------------------------------- */

static void csum_update16_rfc1624_example_gives_plus_zero(void **state)
{
    (void)state;
    /* RFC 1624 4: HC 0xdd2f, m 0x5555 -> m' 0x3285; recomputation gives
     * 0x0000 and eqn. 3 must too (RFC 1141's eqn. 2 gave 0xffff). */
    assert_int_equal(utcp_csum_update16(0xdd2f, 0x5555, 0x3285), 0x0000);
}

static void csum_update16_equals_recomputation_on_random_data(void **state)
{
    (void)state;
    uint8_t buf[64];
    for (int iter = 0; iter < 20000; iter++) {
        size_t len = 6 + 2 * (size_t)(rng() % 29);
        fill_random(buf, len);
        buf[len - 1] |= 1; /* never all zeros (see checksum.c); kept */
        utcp_put16(buf + 2, 0);
        utcp_put16(buf + 2, utcp_csum(buf, len));
        /* A field anywhere but the checksum and the last word. */
        size_t off;
        do
            off = 2 * (size_t)(rng() % (len / 2 - 1));
        while (off == 2);
        uint16_t old_v = utcp_get16(buf + off);
        uint16_t new_v = (iter % 5 == 0) ? (uint16_t)~old_v : (uint16_t)rng();
        uint16_t hc = utcp_get16(buf + 2);
        utcp_put16(buf + off, new_v);
        utcp_put16(buf + 2, 0);
        uint16_t want = utcp_csum(buf, len);
        assert_int_equal(utcp_csum_update16(hc, old_v, new_v), want);
        utcp_put16(buf + 2, want);
        assert_int_equal(utcp_csum(buf, len), 0);
    }
}

static void csum_update32_equals_recomputation_on_random_data(void **state)
{
    (void)state;
    uint8_t buf[64];
    for (int iter = 0; iter < 20000; iter++) {
        size_t len = 8 + 2 * (size_t)(rng() % 28);
        fill_random(buf, len);
        buf[len - 1] |= 1; /* never all zeros; the last word is kept */
        utcp_put16(buf, 0);
        utcp_put16(buf, utcp_csum(buf, len));
        /* A 32-bit field on a 16-bit boundary between the checksum and the
         * last word. */
        size_t off = 2 + 2 * (size_t)(rng() % ((len - 8) / 2 + 1));
        uint32_t old_v = utcp_get32(buf + off);
        uint32_t new_v = (iter % 7 == 0) ? old_v + 1 : (uint32_t)rng();
        uint16_t hc = utcp_get16(buf);
        utcp_put32(buf + off, new_v);
        utcp_put16(buf, 0);
        uint16_t want = utcp_csum(buf, len);
        assert_int_equal(utcp_csum_update32(hc, old_v, new_v), want);
    }
}

static void csum_update_no_change_keeps_checksum(void **state)
{
    (void)state;
    assert_int_equal(utcp_csum_update16(0x1234, 0xabcd, 0xabcd), 0x1234);
    assert_int_equal(utcp_csum_update32(0x1234, 0xdeadbeef, 0xdeadbeef),
                     0x1234);
}

/* ---- pseudo-header ----------------------------------------------------- */

static void csum_pseudo_equals_sum_of_built_pseudo_header(void **state)
{
    (void)state;
    for (int iter = 0; iter < 5000; iter++) {
        uint32_t src = (uint32_t)rng(), dst = (uint32_t)rng();
        uint8_t proto = (uint8_t)rng();
        uint16_t len = (uint16_t)rng();
        if (iter == 0) {
            src = 0xc0000201; /* 192.0.2.1 */
            dst = 0xc6120002; /* 198.18.0.2 */
            proto = UTCP_IPPROTO_TCP;
            len = 40;
        }
        /* RFC 9293 3.1: src, dst, zero, PTCL, TCP length. */
        uint8_t ph[12];
        utcp_put32(ph, src);
        utcp_put32(ph + 4, dst);
        ph[8] = 0;
        ph[9] = proto;
        utcp_put16(ph + 10, len);
        assert_int_equal(naive_fold(utcp_csum_pseudo(src, dst, proto, len)),
                         naive_sum(ph, sizeof ph, 0));
    }
    /* 192.0.2.1 -> 198.18.0.2, TCP, 40: c000+0201+c612+0002+6+28. */
    assert_int_equal(utcp_csum_pseudo(0xc0000201, 0xc6120002, 6, 40),
                     0xc000u + 0x0201 + 0xc612 + 0x0002 + 6 + 40);
}

/* ---- guard page -------------------------------------------------------- */

static void csum_reads_nothing_past_the_end_at_guard_page(void **state)
{
    (void)state;
    size_t page = (size_t)sysconf(_SC_PAGESIZE);
    uint8_t *map = mmap(NULL, 2 * page, PROT_READ | PROT_WRITE,
                        MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    assert_true(map != MAP_FAILED);
    assert_int_equal(mprotect(map + page, page, PROT_NONE), 0);
    uint8_t dst[256];
    fill_random(map, page);
    for (size_t len = 0; len <= 200; len++) {
        const uint8_t *p = map + page - len; /* last byte = last of page */
        assert_int_equal(naive_fold(utcp_csum_partial(p, len, 7)),
                         naive_sum(p, len, 7));
        assert_int_equal(naive_fold(utcp_csum_copy(dst, p, len, 7)),
                         naive_sum(p, len, 7));
        assert_int_equal(naive_fold(portable_csum_partial(p, len, 7)),
                         naive_sum(p, len, 7));
    }
    munmap(map, 2 * page);
}

/* ---- the portable load path ------------------------------------------- */

static void csum_portable_path_equals_naive(void **state)
{
    (void)state;
    static uint8_t buf[MAX_LEN + 8], dst[MAX_LEN + 8];
    for (size_t len = 0; len <= MAX_LEN; len += (len < 200 ? 1 : 13)) {
        size_t align = len % 8;
        fill_random(buf + align, len);
        uint32_t init = (uint32_t)rng();
        uint16_t want = naive_sum(buf + align, len, init);
        assert_int_equal(
            naive_fold(portable_csum_partial(buf + align, len, init)), want);
        assert_int_equal(naive_fold(portable_csum_copy(dst, buf + align, len,
                                                       init)),
                         want);
        assert_memory_equal(dst, buf + align, len);
    }
    assert_int_equal(portable_csum(rfc1071_bytes, 8), 0x220d);
    assert_int_equal(portable_csum_fold(0), 0xffff);
    assert_int_equal(portable_csum_update16(0xdd2f, 0x5555, 0x3285), 0);
    assert_int_equal(portable_csum_update32(0x1234, 1, 1), 0x1234);
    assert_int_equal(portable_csum_pseudo(1, 2, 3, 4), 10);
}

/* ---- every implementation against the reference ------------------------ */

/* Each implementation this build and CPU run (the scalar one always), over
 * random lengths 0..70000 (past the vector kernels' thresholds and their
 * 1 MiB lane-emptying pass is covered below), every source alignment 0..63
 * in turn, odd destination offsets and random incoming partial sums. */
static void csum_every_impl_equals_naive_random_lengths(void **state)
{
    (void)state;
    enum { N = 70000 };
    uint8_t *src = malloc(N + 128), *dst = malloc(N + 128);
    assert_non_null(src);
    assert_non_null(dst);
    int ran = 0;
    for (int im = 0; im < UTCP__CSUM_NIMPL; im++) {
        enum utcp__csum_impl impl = (enum utcp__csum_impl)im;
        if (!utcp__csum_impl_ok(impl))
            continue;
        ran++;
        for (int i = 0; i < 1200; i++) {
            size_t len = i < 300 ? (size_t)i : (size_t)(rng() % (N + 1));
            size_t sa = (size_t)i % 64, da = (size_t)(rng() % 64) | 1u;
            uint32_t init = (i & 3) == 0 ? 0 : (uint32_t)rng();
            fill_random(src + sa, len);
            memset(dst, 0x5a, N + 128);
            uint16_t want = naive_sum(src + sa, len, init);
            uint32_t got = utcp__csum_partial_impl(impl, src + sa, len, init);
            assert_in_range(got, 0, 0xffff);
            assert_int_equal(naive_fold(got), want);
            /* bit for bit the scalar result, not just congruent */
            assert_int_equal(
                got, utcp__csum_partial_impl(UTCP__CSUM_SCALAR, src + sa,
                                             len, init));
            uint32_t c = utcp__csum_copy_impl(impl, dst + da, src + sa, len,
                                              init);
            assert_int_equal(c, got);
            assert_memory_equal(dst + da, src + sa, len);
            for (size_t k = 0; k < da; k++)
                assert_int_equal(dst[k], 0x5a);
            for (size_t k = da + len; k < N + 128; k++)
                assert_int_equal(dst[k], 0x5a);
            /* chained at an even cut, the second part at an odd address */
            size_t cut = len ? (size_t)(rng() % (len + 1)) & ~(size_t)1 : 0;
            uint32_t ch = utcp__csum_partial_impl(impl, src + sa, cut, init);
            ch = utcp__csum_copy_impl(impl, dst + da, src + sa + cut,
                                      len - cut, ch);
            assert_int_equal(naive_fold(ch), want);
        }
    }
    assert_true(ran >= 1);
    free(src);
    free(dst);
}

/* All-ones and all-zero data (the extremes of every lane and of the
 * end-around carry) and more than 1 MiB (a vector kernel empties its lanes
 * every 1 MiB), with the extreme incoming sums. */
static void csum_every_impl_extremes_and_long_buffers(void **state)
{
    (void)state;
    size_t n = (3u << 20) + 77;
    uint8_t *buf = malloc(n + 1);
    assert_non_null(buf);
    const uint32_t inits[] = {0, 0xffff, 0xffffffffu};
    for (int im = 0; im < UTCP__CSUM_NIMPL; im++) {
        enum utcp__csum_impl impl = (enum utcp__csum_impl)im;
        if (!utcp__csum_impl_ok(impl))
            continue;
        for (int fill = 0; fill < 3; fill++) {
            if (fill == 2)
                fill_random(buf, n + 1);
            else
                memset(buf, fill ? 0xff : 0, n + 1);
            const size_t lens[] = {128, 129, 1460, 65536, (1u << 20) + 2, n};
            for (size_t li = 0; li < sizeof lens / sizeof lens[0]; li++)
                for (size_t ii = 0; ii < 3; ii++)
                    for (size_t off = 0; off < 2; off++) {
                        uint32_t got = utcp__csum_partial_impl(
                            impl, buf + off, lens[li], inits[ii]);
                        assert_int_equal(
                            got, utcp__csum_partial_impl(UTCP__CSUM_SCALAR,
                                                         buf + off, lens[li],
                                                         inits[ii]));
                        assert_int_equal(
                            naive_fold(got),
                            naive_sum(buf + off, lens[li], inits[ii]));
                    }
        }
    }
    free(buf);
}

static void csum_public_functions_use_a_runnable_impl(void **state)
{
    (void)state;
    /* the scalar one always runs; the names are distinct */
    assert_true(utcp__csum_impl_ok(UTCP__CSUM_SCALAR));
    assert_string_equal(utcp__csum_impl_name(UTCP__CSUM_SCALAR), "scalar");
    assert_string_not_equal(utcp__csum_impl_name(UTCP__CSUM_AVX2),
                            utcp__csum_impl_name(UTCP__CSUM_AVX512));
    uint8_t buf[4096];
    fill_random(buf, sizeof buf);
    for (size_t len = 0; len <= sizeof buf; len += 61)
        assert_int_equal(utcp_csum_partial(buf, len, 7),
                         utcp__csum_partial_impl(UTCP__CSUM_SCALAR, buf, len,
                                                 7));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(csum_rfc1071_numeric_example_sums_to_ddf2),
        cmocka_unit_test(csum_rfc1071_example_same_at_every_alignment),
        cmocka_unit_test(csum_rfc1071_example_split_in_two_groups),
        cmocka_unit_test(csum_partial_equals_naive_every_length_and_alignment),
        cmocka_unit_test(csum_partial_all_ones_and_all_zeros_match_naive),
        cmocka_unit_test(csum_partial_one_mib_of_ones_matches_naive),
        cmocka_unit_test(csum_partial_result_is_at_most_16_bits),
        cmocka_unit_test(csum_chained_even_chunks_equal_one_pass),
        cmocka_unit_test(csum_of_buffer_with_its_checksum_is_zero),
        cmocka_unit_test(csum_fold_edge_values),
        cmocka_unit_test(csum_copy_equals_memcpy_then_csum),
        cmocka_unit_test(csum_copy_chains_with_partial),
        cmocka_unit_test(csum_update16_rfc1624_example_gives_plus_zero),
        cmocka_unit_test(csum_update16_equals_recomputation_on_random_data),
        cmocka_unit_test(csum_update32_equals_recomputation_on_random_data),
        cmocka_unit_test(csum_update_no_change_keeps_checksum),
        cmocka_unit_test(csum_pseudo_equals_sum_of_built_pseudo_header),
        cmocka_unit_test(csum_reads_nothing_past_the_end_at_guard_page),
        cmocka_unit_test(csum_portable_path_equals_naive),
        cmocka_unit_test(csum_every_impl_equals_naive_random_lengths),
        cmocka_unit_test(csum_every_impl_extremes_and_long_buffers),
        cmocka_unit_test(csum_public_functions_use_a_runnable_impl),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
