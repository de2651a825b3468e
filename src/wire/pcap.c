/*
 * pcap.c: classic libpcap capture files (magic a1b2c3d4 in host byte order,
 * version 2.4, snap length 65535, LINKTYPE_RAW, microsecond timestamps given
 * by the caller). Used by the simulator, the tools and the tests to hand
 * segments to Wireshark/tshark.
 * Must never: read a clock, write a partial record followed by more records
 * (an error is sticky), leave a FILE open after a failed open, or crash on a
 * packet longer than the snap length (it is truncated, orig_len kept).
 */
#define _POSIX_C_SOURCE 200809L /* ftruncate, fileno */

#include "utcp/pcap.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>
#include <unistd.h>

#define PCAP_MAGIC_US 0xa1b2c3d4u
#define PCAP_VERSION_MAJOR 2
#define PCAP_VERSION_MINOR 4
#define PCAP_SNAPLEN 65535u

struct utcp_pcap {
    FILE *f;
    int err; /* first error (negative errno), sticky: 0 while healthy */
    /* stdio buffer large enough for one whole record, so that each record
     * reaches the file in one write at the fflush that ends it. */
    char buf[UTCP_PCAP_REC_HDR_LEN + PCAP_SNAPLEN];
};

/* Host-order stores, as libpcap writes its headers: readers detect the byte
 * order from the magic number. */
static void put_host32(uint8_t *p, uint32_t v)
{
    memcpy(p, &v, sizeof v);
}

static void put_host16(uint8_t *p, uint16_t v)
{
    memcpy(p, &v, sizeof v);
}

/* errno after a failed stdio call, never 0. */
static int neg_errno(void)
{
    return errno > 0 ? -errno : -EIO;
}

void utcp_pcap_global_header(uint8_t out[UTCP_PCAP_GLOBAL_HDR_LEN],
                             uint32_t snaplen)
{
    put_host32(out + 0, PCAP_MAGIC_US);
    put_host16(out + 4, PCAP_VERSION_MAJOR);
    put_host16(out + 6, PCAP_VERSION_MINOR);
    put_host32(out + 8, 0);  /* thiszone: timestamps are UTC */
    put_host32(out + 12, 0); /* sigfigs: always 0 */
    put_host32(out + 16, snaplen);
    put_host32(out + 20, UTCP_PCAP_LINKTYPE_RAW);
}

void utcp_pcap_record_header(uint8_t out[UTCP_PCAP_REC_HDR_LEN], uint64_t ts_us,
                             uint32_t incl_len, uint32_t orig_len)
{
    /* The seconds field is 32 bits: it wraps in 2106 (wall clock) or after
     * 136 years of virtual time, as every classic pcap writer does. */
    put_host32(out + 0, (uint32_t)(ts_us / 1000000u));
    put_host32(out + 4, (uint32_t)(ts_us % 1000000u));
    put_host32(out + 8, incl_len);
    put_host32(out + 12, orig_len);
}

int utcp_pcap_open(struct utcp_pcap **out, const char *path)
{
    if (!out || !path)
        return -EINVAL;
    *out = NULL;

    struct utcp_pcap *w = malloc(sizeof *w);
    if (!w)
        return -ENOMEM;
    w->err = 0;
    w->f = fopen(path, "wb");
    if (!w->f) {
        int e = neg_errno();
        free(w);
        return e;
    }
    if (setvbuf(w->f, w->buf, _IOFBF, sizeof w->buf) != 0) {
        int e = neg_errno();
        fclose(w->f);
        free(w);
        return e;
    }

    uint8_t hdr[UTCP_PCAP_GLOBAL_HDR_LEN];
    utcp_pcap_global_header(hdr, PCAP_SNAPLEN);
    errno = 0;
    if (fwrite(hdr, sizeof hdr, 1, w->f) != 1 || fflush(w->f) != 0) {
        int e = neg_errno();
        /* Undo a partial header on a regular file: leave it as fopen did
         * (empty). Best effort; devices and pipes cannot be truncated. */
        if (ftruncate(fileno(w->f), 0) != 0) {
            /* nothing more to undo */
        }
        fclose(w->f);
        free(w);
        return e;
    }
    *out = w;
    return 0;
}

int utcp_pcap_write(struct utcp_pcap *w, uint64_t ts_us, const void *pkt,
                    size_t len)
{
    if (!w || (!pkt && len))
        return -EINVAL;
    if (w->err)
        return w->err;

    uint32_t incl = len > PCAP_SNAPLEN ? PCAP_SNAPLEN : (uint32_t)len;
    uint32_t orig = len > UINT32_MAX ? UINT32_MAX : (uint32_t)len;
    uint8_t hdr[UTCP_PCAP_REC_HDR_LEN];
    utcp_pcap_record_header(hdr, ts_us, incl, orig);

    /* The buffer was flushed after the previous record and holds one whole
     * record, so header and data leave in the fflush below. */
    errno = 0;
    if (fwrite(hdr, sizeof hdr, 1, w->f) != 1 ||
        (incl && fwrite(pkt, incl, 1, w->f) != 1) || fflush(w->f) != 0) {
        w->err = neg_errno();
        return w->err;
    }
    return 0;
}

int utcp_pcap_close(struct utcp_pcap *w)
{
    if (!w)
        return 0;
    /* A file that already lost a record is reported as failed here too, so
     * a caller checking only close still learns of it. */
    int rc = w->err;
    errno = 0;
    if (fflush(w->f) != 0 && rc == 0)
        rc = neg_errno();
    errno = 0;
    if (fclose(w->f) != 0 && rc == 0)
        rc = neg_errno();
    free(w);
    return rc;
}
