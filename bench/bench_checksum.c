/*
 * Checksum throughput: memcpy, a plain 16-bit-at-a-time RFC 1071 loop (the
 * reference, written here), utcp_csum_partial and utcp_csum_copy, over
 * 64 B, 1500 B and 64 KiB buffers (hot in cache). Prints GB/s (1e9 bytes per
 * second, best of 5 rounds per cell) and the command that reproduces the
 * table.
 *
 *   bench_checksum [--seconds X]   (X: time per cell, default 0.3)
 */
#define _POSIX_C_SOURCE 199309L /* clock_gettime */

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "utcp/wire.h"

/* Keeps the compiler from deleting work whose result is unused: the
 * results are added into a volatile, and buffers are "escaped" so stores
 * into them count as observable. */
static volatile uint32_t sink;
#if defined(__GNUC__) || defined(__clang__)
#define ESCAPE(p) __asm__ volatile("" : : "r"(p) : "memory")
#else
#define ESCAPE(p) (sink += ((volatile const uint8_t *)(p))[0])
#endif

/* RFC 1071 4.1, as written: one 16-bit word per iteration, end-around
 * carries folded at the end. The reference the fast code is compared to.
 * Vectorization is switched off where the compiler allows, so it stays a
 * plain loop. */
#if defined(__GNUC__) && !defined(__clang__)
__attribute__((optimize("no-tree-vectorize")))
#endif
static uint32_t plain_csum(const uint8_t *p, size_t len, uint32_t sum)
{
    uint64_t s = sum;
#if defined(__clang__)
#pragma clang loop vectorize(disable)
#endif
    while (len > 1) {
        s += (uint32_t)p[0] << 8 | p[1];
        p += 2;
        len -= 2;
    }
    if (len > 0)
        s += (uint32_t)p[0] << 8;
    while (s >> 16)
        s = (s & 0xffff) + (s >> 16);
    return (uint32_t)s;
}

enum kind { K_MEMCPY, K_PLAIN, K_PARTIAL, K_COPY, K_COUNT };
static const char *const kind_name[K_COUNT] = {
    "memcpy", "plain 16-bit loop", "utcp_csum_partial", "utcp_csum_copy"};

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

/* Runs n iterations of kind k over len bytes. Iterations are independent
 * (as the checksums of different packets are), so this measures throughput,
 * not the latency of one call. */
static void run(enum kind k, uint8_t *dst, const uint8_t *src, size_t len,
                long n)
{
    uint32_t acc = 0;
    for (long i = 0; i < n; i++) {
        switch (k) {
        case K_MEMCPY:
            memcpy(dst, src, len);
            ESCAPE(dst);
            break;
        case K_PLAIN:
            acc += plain_csum(src, len, 0);
            ESCAPE(src);
            break;
        case K_PARTIAL:
            acc += utcp_csum_partial(src, len, 0);
            ESCAPE(src);
            break;
        case K_COPY:
            acc += utcp_csum_copy(dst, src, len, 0);
            ESCAPE(dst);
            break;
        case K_COUNT:
            break;
        }
    }
    sink += acc;
}

/* Rounds per cell: the cell's figure is its best round, which filters out
 * the time slices other processes take on a shared machine. */
#define ROUNDS 5

/* Returns GB/s for kind k at len bytes, running about `seconds`. */
static double measure(enum kind k, uint8_t *dst, const uint8_t *src,
                      size_t len, double seconds)
{
    /* Calibrate: grow the batch until one batch takes >= 1/50 of the
     * budget, then run whole batches in ROUNDS rounds. */
    long batch = 1;
    run(k, dst, src, len, 1); /* warm caches and branch predictors */
    for (;;) {
        double t0 = now_s();
        run(k, dst, src, len, batch);
        if (now_s() - t0 >= seconds / 50 || batch > (1L << 40))
            break;
        batch *= 2;
    }
    double best = 0;
    for (int r = 0; r < ROUNDS; r++) {
        long iters = 0;
        double t0 = now_s(), t;
        do {
            run(k, dst, src, len, batch);
            iters += batch;
            t = now_s();
        } while (t - t0 < seconds / ROUNDS);
        double gbps = (double)iters * (double)len / (t - t0) / 1e9;
        if (gbps > best)
            best = gbps;
    }
    return best;
}

static void usage(FILE *f, const char *prog)
{
    fprintf(f,
            "usage: %s [--seconds X]\n"
            "  --seconds X  run each cell for about X seconds (default 0.3)\n",
            prog);
}

int main(int argc, char **argv)
{
    double seconds = 0.3;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--seconds") == 0 && i + 1 < argc) {
            char *end;
            seconds = strtod(argv[++i], &end);
            if (*end != '\0' || !(seconds > 0 && seconds < 3600)) {
                fprintf(stderr, "%s: --seconds wants a number in (0, 3600)\n",
                        argv[0]);
                return 2;
            }
        } else if (strcmp(argv[i], "--help") == 0 ||
                   strcmp(argv[i], "-h") == 0) {
            usage(stdout, argv[0]);
            return 0;
        } else {
            usage(stderr, argv[0]);
            return 2;
        }
    }

    static const size_t sizes[] = {64, 1500, 65536};
    static const char *const size_name[] = {"64 B", "1500 B", "64 KiB"};
    enum { NSIZES = sizeof sizes / sizeof sizes[0] };
    /* Page-aligned buffers, as packet buffers usually are; src and dst at
     * the same page offset (no 4K aliasing between loads and stores). */
    size_t cap = 65536;
    uint8_t *src = aligned_alloc(4096, cap + 4096);
    uint8_t *dst = aligned_alloc(4096, cap + 4096);
    if (src == NULL || dst == NULL) {
        fprintf(stderr, "%s: out of memory\n", argv[0]);
        return 1;
    }
    uint32_t x = 12345;
    for (size_t i = 0; i < cap + 4096; i++) {
        x = x * 1103515245u + 12345u;
        src[i] = (uint8_t)(x >> 24);
    }
    /* Self-check: the three checksums agree before we time them. */
    for (size_t s = 0; s < NSIZES; s++) {
        uint32_t a = plain_csum(src, sizes[s], 0);
        uint32_t b = utcp_csum_partial(src, sizes[s], 0);
        uint32_t c = utcp_csum_copy(dst, src, sizes[s], 0);
        if (utcp_csum_fold(a) != utcp_csum_fold(b) ||
            utcp_csum_fold(b) != utcp_csum_fold(c)) {
            fprintf(stderr, "%s: checksum mismatch at %zu bytes\n", argv[0],
                    sizes[s]);
            return 1;
        }
    }

    double gbps[K_COUNT][NSIZES];
    for (int k = 0; k < K_COUNT; k++)
        for (size_t s = 0; s < NSIZES; s++)
            gbps[k][s] = measure((enum kind)k, dst, src, sizes[s], seconds);

    printf("utcp checksum throughput, GB/s (1e9 bytes/s), buffers hot in "
           "cache,\nbest of %d rounds per cell\n",
           ROUNDS);
    printf("command: %s --seconds %g\n\n", argv[0], seconds);
    printf("%-34s", "function");
    for (size_t s = 0; s < NSIZES; s++)
        printf("%10s", size_name[s]);
    printf("\n");
    for (int k = 0; k < K_COUNT; k++) {
        printf("%-34s", kind_name[k]);
        for (size_t s = 0; s < NSIZES; s++)
            printf("%10.2f", gbps[k][s]);
        printf("\n");
    }
    printf("%-34s", "ratio utcp_csum_partial / memcpy");
    for (size_t s = 0; s < NSIZES; s++)
        printf("%10.2f", gbps[K_PARTIAL][s] / gbps[K_MEMCPY][s]);
    printf("\n%-34s", "ratio utcp_csum_partial / plain");
    for (size_t s = 0; s < NSIZES; s++)
        printf("%10.2f", gbps[K_PARTIAL][s] / gbps[K_PLAIN][s]);
    printf("\n%-34s", "ratio utcp_csum_copy / memcpy");
    for (size_t s = 0; s < NSIZES; s++)
        printf("%10.2f", gbps[K_COPY][s] / gbps[K_MEMCPY][s]);
    printf("\n");
    free(src);
    free(dst);
    return 0;
}
