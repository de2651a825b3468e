/*
 * Tests for the pcap writer (src/wire/pcap.c): header encodings byte by byte,
 * snap-length truncation, a written file read back byte-exact, and the error
 * paths of open and close.
 */
#define _POSIX_C_SOURCE 200809L /* mkdtemp */

#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "utcp/pcap.h"

static int little_endian(void)
{
    const uint16_t one = 1;
    uint8_t b;
    memcpy(&b, &one, 1);
    return b == 1;
}

/* Expected host-order encoding of a 32-bit value. */
static void le_or_be32(uint8_t *p, uint32_t v)
{
    if (little_endian()) {
        p[0] = (uint8_t)v;
        p[1] = (uint8_t)(v >> 8);
        p[2] = (uint8_t)(v >> 16);
        p[3] = (uint8_t)(v >> 24);
    } else {
        p[0] = (uint8_t)(v >> 24);
        p[1] = (uint8_t)(v >> 16);
        p[2] = (uint8_t)(v >> 8);
        p[3] = (uint8_t)v;
    }
}

static void le_or_be16(uint8_t *p, uint16_t v)
{
    if (little_endian()) {
        p[0] = (uint8_t)v;
        p[1] = (uint8_t)(v >> 8);
    } else {
        p[0] = (uint8_t)(v >> 8);
        p[1] = (uint8_t)v;
    }
}

/* Reads the whole file at path into a malloc'ed buffer; *len gets its size. */
static uint8_t *slurp(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    assert_non_null(f);
    assert_int_equal(fseek(f, 0, SEEK_END), 0);
    long size = ftell(f);
    assert_true(size >= 0);
    rewind(f);
    uint8_t *buf = malloc((size_t)size + 1);
    assert_non_null(buf);
    assert_int_equal(fread(buf, 1, (size_t)size, f), (size_t)size);
    fclose(f);
    *len = (size_t)size;
    return buf;
}

/* A private temporary directory per test, removed by teardown. */
struct tmp {
    char dir[64];
    char path[96];
};

static int tmp_setup(void **state)
{
    struct tmp *t = calloc(1, sizeof *t);
    if (!t)
        return -1;
    const char *base = getenv("TMPDIR");
    snprintf(t->dir, sizeof t->dir, "%s/utcp-pcap-XXXXXX",
             base && strlen(base) < 32 ? base : "/tmp");
    if (!mkdtemp(t->dir)) {
        free(t);
        return -1;
    }
    snprintf(t->path, sizeof t->path, "%s/out.pcap", t->dir);
    *state = t;
    return 0;
}

static int tmp_teardown(void **state)
{
    struct tmp *t = *state;
    unlink(t->path);
    rmdir(t->dir);
    free(t);
    return 0;
}

static void global_header_bytes(void **state)
{
    (void)state;
    uint8_t got[UTCP_PCAP_GLOBAL_HDR_LEN];
    uint8_t want[UTCP_PCAP_GLOBAL_HDR_LEN];
    memset(got, 0xee, sizeof got);
    utcp_pcap_global_header(got, 65535);

    le_or_be32(want + 0, 0xa1b2c3d4u);
    le_or_be16(want + 4, 2);
    le_or_be16(want + 6, 4);
    le_or_be32(want + 8, 0);
    le_or_be32(want + 12, 0);
    le_or_be32(want + 16, 65535);
    le_or_be32(want + 20, 101);
    assert_memory_equal(got, want, sizeof want);

    if (little_endian()) {
        static const uint8_t lit[UTCP_PCAP_GLOBAL_HDR_LEN] = {
            0xd4, 0xc3, 0xb2, 0xa1, 0x02, 0x00, 0x04, 0x00,
            0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
            0xff, 0xff, 0x00, 0x00, 0x65, 0x00, 0x00, 0x00};
        assert_memory_equal(got, lit, sizeof lit);
    }
    assert_int_equal(UTCP_PCAP_LINKTYPE_RAW, 101);
}

static void record_header_splits_timestamp(void **state)
{
    (void)state;
    uint8_t got[UTCP_PCAP_REC_HDR_LEN];
    uint8_t want[UTCP_PCAP_REC_HDR_LEN];

    utcp_pcap_record_header(got, UINT64_C(1234567890123456), 60, 1500);
    le_or_be32(want + 0, 1234567890u);
    le_or_be32(want + 4, 123456u);
    le_or_be32(want + 8, 60);
    le_or_be32(want + 12, 1500);
    assert_memory_equal(got, want, sizeof want);

    /* Exactly on a second boundary, and just below it. */
    utcp_pcap_record_header(got, UINT64_C(7000000), 40, 40);
    le_or_be32(want + 0, 7);
    le_or_be32(want + 4, 0);
    le_or_be32(want + 8, 40);
    le_or_be32(want + 12, 40);
    assert_memory_equal(got, want, sizeof want);

    utcp_pcap_record_header(got, UINT64_C(6999999), 0, 0);
    le_or_be32(want + 0, 6);
    le_or_be32(want + 4, 999999);
    le_or_be32(want + 8, 0);
    le_or_be32(want + 12, 0);
    assert_memory_equal(got, want, sizeof want);

    if (little_endian()) {
        utcp_pcap_record_header(got, UINT64_C(1000001), 0x1234, 0x10000);
        static const uint8_t lit[UTCP_PCAP_REC_HDR_LEN] = {
            0x01, 0, 0, 0, 0x01, 0, 0, 0, 0x34, 0x12, 0, 0, 0, 0, 0x01, 0};
        assert_memory_equal(got, lit, sizeof lit);
    }
}

static void write_read_back_byte_exact(void **state)
{
    struct tmp *t = *state;
    struct utcp_pcap *w = (struct utcp_pcap *)(uintptr_t)1;
    assert_int_equal(utcp_pcap_open(&w, t->path), 0);
    assert_non_null(w);

    uint8_t p1[40], p2[3];
    for (size_t i = 0; i < sizeof p1; i++)
        p1[i] = (uint8_t)(i * 7 + 1);
    p2[0] = 0x45;
    p2[1] = 0x00;
    p2[2] = 0xff;
    assert_int_equal(utcp_pcap_write(w, 1500000, p1, sizeof p1), 0);
    assert_int_equal(utcp_pcap_write(w, 2000001, p2, sizeof p2), 0);
    assert_int_equal(utcp_pcap_write(w, 2000002, NULL, 0), 0);

    /* Each record is flushed: the file is complete before close. */
    size_t mid_len;
    uint8_t *mid = slurp(t->path, &mid_len);
    free(mid);
    size_t want_len = UTCP_PCAP_GLOBAL_HDR_LEN + 3 * UTCP_PCAP_REC_HDR_LEN +
                      sizeof p1 + sizeof p2;
    assert_int_equal(mid_len, want_len);

    assert_int_equal(utcp_pcap_close(w), 0);

    uint8_t want[UTCP_PCAP_GLOBAL_HDR_LEN + 3 * UTCP_PCAP_REC_HDR_LEN +
                 sizeof p1 + sizeof p2];
    uint8_t *p = want;
    utcp_pcap_global_header(p, 65535);
    p += UTCP_PCAP_GLOBAL_HDR_LEN;
    utcp_pcap_record_header(p, 1500000, sizeof p1, sizeof p1);
    p += UTCP_PCAP_REC_HDR_LEN;
    memcpy(p, p1, sizeof p1);
    p += sizeof p1;
    utcp_pcap_record_header(p, 2000001, sizeof p2, sizeof p2);
    p += UTCP_PCAP_REC_HDR_LEN;
    memcpy(p, p2, sizeof p2);
    p += sizeof p2;
    utcp_pcap_record_header(p, 2000002, 0, 0);
    p += UTCP_PCAP_REC_HDR_LEN;
    assert_int_equal((size_t)(p - want), sizeof want);

    size_t got_len;
    uint8_t *got = slurp(t->path, &got_len);
    assert_int_equal(got_len, sizeof want);
    assert_memory_equal(got, want, sizeof want);
    free(got);
}

static void write_truncates_beyond_snaplen(void **state)
{
    struct tmp *t = *state;
    struct utcp_pcap *w = NULL;
    assert_int_equal(utcp_pcap_open(&w, t->path), 0);

    const size_t big = 70000;
    uint8_t *pkt = malloc(big);
    assert_non_null(pkt);
    for (size_t i = 0; i < big; i++)
        pkt[i] = (uint8_t)(i ^ (i >> 8));
    assert_int_equal(utcp_pcap_write(w, 42, pkt, big), 0);
    /* Exactly the snap length is stored whole. */
    assert_int_equal(utcp_pcap_write(w, 43, pkt, 65535), 0);
    assert_int_equal(utcp_pcap_close(w), 0);

    size_t len;
    uint8_t *got = slurp(t->path, &len);
    assert_int_equal(len,
                     UTCP_PCAP_GLOBAL_HDR_LEN + 2 * UTCP_PCAP_REC_HDR_LEN +
                         2 * 65535);
    uint8_t want_hdr[UTCP_PCAP_REC_HDR_LEN];
    const uint8_t *rec = got + UTCP_PCAP_GLOBAL_HDR_LEN;
    utcp_pcap_record_header(want_hdr, 42, 65535, 70000);
    assert_memory_equal(rec, want_hdr, sizeof want_hdr);
    assert_memory_equal(rec + UTCP_PCAP_REC_HDR_LEN, pkt, 65535);

    rec += UTCP_PCAP_REC_HDR_LEN + 65535;
    utcp_pcap_record_header(want_hdr, 43, 65535, 65535);
    assert_memory_equal(rec, want_hdr, sizeof want_hdr);
    assert_memory_equal(rec + UTCP_PCAP_REC_HDR_LEN, pkt, 65535);
    free(got);
    free(pkt);
}

static void open_in_missing_directory_is_enoent(void **state)
{
    struct tmp *t = *state;
    char path[160];
    snprintf(path, sizeof path, "%s/no/such/dir/x.pcap", t->dir);
    struct utcp_pcap *w = (struct utcp_pcap *)(uintptr_t)1;
    assert_int_equal(utcp_pcap_open(&w, path), -ENOENT);
    assert_null(w);
    assert_int_equal(access(path, F_OK), -1);
}

static void open_on_full_device_is_enospc(void **state)
{
    (void)state;
    if (access("/dev/full", W_OK) != 0)
        skip();
    struct utcp_pcap *w = (struct utcp_pcap *)(uintptr_t)1;
    assert_int_equal(utcp_pcap_open(&w, "/dev/full"), -ENOSPC);
    assert_null(w);
}

static void bad_arguments_are_einval(void **state)
{
    struct tmp *t = *state;
    struct utcp_pcap *w = NULL;
    assert_int_equal(utcp_pcap_open(NULL, t->path), -EINVAL);
    assert_int_equal(utcp_pcap_open(&w, NULL), -EINVAL);
    assert_int_equal(utcp_pcap_write(NULL, 0, "x", 1), -EINVAL);
    assert_int_equal(utcp_pcap_open(&w, t->path), 0);
    assert_int_equal(utcp_pcap_write(w, 0, NULL, 5), -EINVAL);
    assert_int_equal(utcp_pcap_close(w), 0);
}

static void close_null_is_ok(void **state)
{
    (void)state;
    assert_int_equal(utcp_pcap_close(NULL), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(global_header_bytes),
        cmocka_unit_test(record_header_splits_timestamp),
        cmocka_unit_test_setup_teardown(write_read_back_byte_exact, tmp_setup,
                                        tmp_teardown),
        cmocka_unit_test_setup_teardown(write_truncates_beyond_snaplen,
                                        tmp_setup, tmp_teardown),
        cmocka_unit_test_setup_teardown(open_in_missing_directory_is_enoent,
                                        tmp_setup, tmp_teardown),
        cmocka_unit_test(open_on_full_device_is_enospc),
        cmocka_unit_test_setup_teardown(bad_arguments_are_einval, tmp_setup,
                                        tmp_teardown),
        cmocka_unit_test(close_null_is_ok),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
