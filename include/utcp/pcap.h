/*
 * utcp pcap output: classic libpcap files (magic a1b2c3d4, version 2.4,
 * microsecond timestamps) with LINKTYPE_RAW (101): each record is one IPv4
 * packet. Timestamps are supplied by the caller, so virtual time works.
 */
#ifndef UTCP_PCAP_H
#define UTCP_PCAP_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#define UTCP_PCAP_LINKTYPE_RAW 101
#define UTCP_PCAP_GLOBAL_HDR_LEN 24
#define UTCP_PCAP_REC_HDR_LEN 16

/* Pure encoders (no I/O). */

/* Writes the 24-byte global header (host byte order, as libpcap does) with
 * the given snap length into out. */
void utcp_pcap_global_header(uint8_t out[UTCP_PCAP_GLOBAL_HDR_LEN],
                             uint32_t snaplen);

/* Writes the 16-byte record header for a packet of orig_len bytes of which
 * incl_len are stored, captured at ts_us microseconds. */
void utcp_pcap_record_header(uint8_t out[UTCP_PCAP_REC_HDR_LEN], uint64_t ts_us,
                             uint32_t incl_len, uint32_t orig_len);

/* A pcap file writer. Opaque; owns its FILE. */
struct utcp_pcap;

/* Creates (truncates) the file at path and writes the global header.
 * Returns 0 and sets *out, or a negative errno value (the file is not left
 * half-open). */
int utcp_pcap_open(struct utcp_pcap **out, const char *path);

/* Appends one packet captured at ts_us. Packets longer than the snap length
 * (65535) are truncated in the file with their original length recorded.
 * Each record is written whole and flushed, so a reader sees complete records
 * even while the writer runs. Returns 0 or a negative errno value. */
int utcp_pcap_write(struct utcp_pcap *w, uint64_t ts_us, const void *pkt,
                    size_t len);

/* Flushes and closes the file and frees w (NULL is accepted). Returns 0 or a
 * negative errno value from the final flush/close. */
int utcp_pcap_close(struct utcp_pcap *w);

#ifdef __cplusplus
}
#endif
#endif
