/*
 * utcp wire layer: checksums, IPv4, TCP and ICMP headers.
 *
 * Pure functions over caller-owned buffers: nothing here allocates, keeps
 * state between calls or touches the OS. Parsers never trust their input:
 * every check that fails returns a named reason (enum utcp_wire_reason), and
 * a parsed struct holds host-byte-order values plus pointers into the
 * caller's buffer (valid as long as that buffer is).
 */
#ifndef UTCP_WIRE_H
#define UTCP_WIRE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* ------------------------------------------------------------------------
 * Rejection reasons. One list: the enum and the strings derive from it.
 * ------------------------------------------------------------------------ */
#define UTCP_WIRE_REASONS(X)                                                   \
    X(OK, "ok")                                                                \
    X(IP_TRUNCATED, "IPv4: buffer shorter than the 20-byte minimum header")    \
    X(IP_VERSION, "IPv4: version field is not 4")                              \
    X(IP_HDR_LEN, "IPv4: header length below 20 or beyond the buffer")        \
    X(IP_TOTAL_LEN, "IPv4: total length below the header or beyond the buffer") \
    X(IP_CHECKSUM, "IPv4: bad header checksum")                                \
    X(IP_FRAGMENT, "IPv4: fragment (no reassembly), dropped")                  \
    X(IP_BAD_SRC, "IPv4: source address is multicast, broadcast or zero")     \
    X(IP_OPTION, "IPv4: malformed option in the header")                       \
    X(TCP_TRUNCATED, "TCP: segment shorter than the 20-byte minimum header")   \
    X(TCP_DATA_OFFSET, "TCP: data offset below 5 words or beyond the segment") \
    X(TCP_CHECKSUM, "TCP: bad checksum")                                       \
    X(TCP_PORT_ZERO, "TCP: source or destination port is zero")                \
    X(TCP_OPT_LEN, "TCP: option length below 2")                               \
    X(TCP_OPT_OVERRUN, "TCP: option runs past the end of the header")          \
    X(TCP_OPT_BAD_SIZE, "TCP: known option with the wrong length")             \
    X(ICMP_TRUNCATED, "ICMP: message shorter than its 8-byte header")          \
    X(ICMP_CHECKSUM, "ICMP: bad checksum")                                     \
    X(ICMP_UNSUPPORTED, "ICMP: type not handled (only echo and unreachable)")  \
    X(ICMP_QUOTE, "ICMP: quoted IPv4 header missing or malformed")             \
    X(BUF_TOO_SMALL, "build: output buffer too small")                         \
    X(BAD_ARG, "build: invalid field value")

enum utcp_wire_reason {
#define UTCP_X_(name, str) UTCP_WIRE_##name,
    UTCP_WIRE_REASONS(UTCP_X_)
#undef UTCP_X_
    UTCP_WIRE_REASON_COUNT
};

/* Returns a static string describing r; never NULL (unknown values get
 * "unknown wire reason"). */
const char *utcp_wire_reason_str(enum utcp_wire_reason r);

/* Returns the enum identifier without prefix ("TCP_CHECKSUM"), for counters
 * and machine-readable traces; never NULL. */
const char *utcp_wire_reason_name(enum utcp_wire_reason r);

/* ------------------------------------------------------------------------
 * Internet checksum (RFC 1071) and incremental update (RFC 1624).
 *
 * A "partial sum" is a 32-bit ones'-complement accumulator that has not been
 * folded or complemented. Sums of consecutive chunks may be chained by passing
 * the previous result as `sum`, provided every chunk but the last has an even
 * length (the caller keeps 16-bit alignment of the byte stream).
 * ------------------------------------------------------------------------ */

/* Adds len bytes at buf (any alignment) to the partial sum. */
uint32_t utcp_csum_partial(const void *buf, size_t len, uint32_t sum);

/* Copies len bytes from src to dst (non-overlapping) and returns the partial
 * sum of them added to sum: the copy and the checksum in one pass. */
uint32_t utcp_csum_copy(void *dst, const void *src, size_t len, uint32_t sum);

/* Folds a partial sum to 16 bits and complements it: the value to store in a
 * checksum field (host byte order; store with utcp_put16). A buffer whose
 * checksum field is correct folds to 0 here. */
uint16_t utcp_csum_fold(uint32_t sum);

/* utcp_csum_fold(utcp_csum_partial(buf, len, 0)). */
uint16_t utcp_csum(const void *buf, size_t len);

/* Partial sum of the IPv4 pseudo-header (RFC 9293 3.1): addresses in host
 * byte order, protocol, and the TCP/UDP length (header plus data). */
uint32_t utcp_csum_pseudo(uint32_t src, uint32_t dst, uint8_t proto,
                          uint16_t len);

/* RFC 1624 eqn. 3: the new checksum field value (host order) when a 16-bit
 * field covered by checksum hc changes from old_v to new_v. */
uint16_t utcp_csum_update16(uint16_t hc, uint16_t old_v, uint16_t new_v);

/* The same for a 32-bit field (two 16-bit words). */
uint16_t utcp_csum_update32(uint16_t hc, uint32_t old_v, uint32_t new_v);

/* ------------------------------------------------------------------------
 * Byte order helpers (network order in buffers, host order in structs).
 * ------------------------------------------------------------------------ */
static inline uint16_t utcp_get16(const uint8_t *p)
{
    return (uint16_t)((unsigned)p[0] << 8 | p[1]);
}
static inline uint32_t utcp_get32(const uint8_t *p)
{
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 |
           (uint32_t)p[3];
}
static inline void utcp_put16(uint8_t *p, uint16_t v)
{
    p[0] = (uint8_t)(v >> 8);
    p[1] = (uint8_t)v;
}
static inline void utcp_put32(uint8_t *p, uint32_t v)
{
    p[0] = (uint8_t)(v >> 24);
    p[1] = (uint8_t)(v >> 16);
    p[2] = (uint8_t)(v >> 8);
    p[3] = (uint8_t)v;
}

/* ------------------------------------------------------------------------
 * IPv4 (RFC 791)
 * ------------------------------------------------------------------------ */
#define UTCP_IPPROTO_ICMP 1
#define UTCP_IPPROTO_TCP 6
#define UTCP_IPV4_HDR_LEN 20

struct utcp_ipv4 {
    uint32_t src, dst;   /* host byte order */
    uint16_t total_len;  /* whole packet, header included */
    uint16_t id;
    uint16_t frag_off;   /* fragment offset in 8-byte units */
    uint8_t hdr_len;     /* bytes, 20..60 */
    uint8_t tos;
    uint8_t ttl;
    uint8_t proto;
    bool df, mf;
    const uint8_t *payload; /* into the parsed buffer */
    size_t payload_len;     /* total_len - hdr_len (bytes past total_len are
                               link padding and ignored) */
};

/* Parses and validates the IPv4 header at buf[0..len). Checks, in order:
 * minimum length, version, header length, total length, header checksum,
 * options (each well-formed), fragments (MF set or offset non-zero: dropped
 * until reassembly exists), source address (0.0.0.0, 255.255.255.255 and
 * 224.0.0.0/4 are invalid, RFC 1122 3.2.1.3). On success fills *out. */
enum utcp_wire_reason utcp_ipv4_parse(const uint8_t *buf, size_t len,
                                      struct utcp_ipv4 *out);

/* Writes an options-free 20-byte IPv4 header at buf for a payload of
 * payload_len bytes, from h's src, dst, id, tos, ttl, proto and df (other
 * fields ignored), with its header checksum. Returns 20, or 0 when cap < 20
 * or the total length would exceed 65535. */
size_t utcp_ipv4_build(uint8_t *buf, size_t cap, const struct utcp_ipv4 *h,
                       size_t payload_len);

/* ------------------------------------------------------------------------
 * TCP header and options (RFC 9293 3.1, RFC 7323, RFC 2018)
 * ------------------------------------------------------------------------ */
#define UTCP_TCP_HDR_LEN 20
#define UTCP_TCP_MAX_HDR_LEN 60

enum {
    UTCP_TH_FIN = 0x01,
    UTCP_TH_SYN = 0x02,
    UTCP_TH_RST = 0x04,
    UTCP_TH_PSH = 0x08,
    UTCP_TH_ACK = 0x10,
    UTCP_TH_URG = 0x20,
    UTCP_TH_ECE = 0x40,
    UTCP_TH_CWR = 0x80,
};

/* Option kinds (RFC 9293 3.2, RFC 7323, RFC 2018). */
enum {
    UTCP_TCPOPT_EOL = 0,
    UTCP_TCPOPT_NOP = 1,
    UTCP_TCPOPT_MSS = 2,
    UTCP_TCPOPT_WSCALE = 3,
    UTCP_TCPOPT_SACK_PERM = 4,
    UTCP_TCPOPT_SACK = 5,
    UTCP_TCPOPT_TS = 8,
};

/* Bits of utcp_tcp_opts.present. */
enum {
    UTCP_OPT_MSS = 1u << 0,
    UTCP_OPT_WSCALE = 1u << 1,
    UTCP_OPT_SACK_PERM = 1u << 2,
    UTCP_OPT_SACK = 1u << 3,
    UTCP_OPT_TS = 1u << 4,
};

#define UTCP_MAX_SACK_BLOCKS 4

struct utcp_sack_block {
    uint32_t left, right; /* [left, right) in sequence space */
};

struct utcp_tcp_opts {
    uint8_t present;   /* UTCP_OPT_* bits */
    uint8_t wscale;    /* as sent (the parser does not clamp to 14) */
    uint8_t sack_count;
    uint8_t unknown_count; /* options of unknown kind skipped by length */
    uint16_t mss;
    uint32_t ts_val, ts_ecr;
    struct utcp_sack_block sack[UTCP_MAX_SACK_BLOCKS];
};

struct utcp_tcp {
    uint16_t sport, dport;
    uint32_t seq, ack;
    uint8_t hdr_len; /* bytes: 20..60 (data offset * 4) */
    uint8_t flags;   /* UTCP_TH_* */
    uint16_t win;    /* raw, unscaled */
    uint16_t urg;
    uint16_t csum;   /* as found in the header (parse only) */
    struct utcp_tcp_opts opts;
    const uint8_t *payload; /* into the parsed buffer */
    size_t payload_len;
};

/* RFC 9293 3.1: whether the checksum of the TCP segment seg[0..len) carried
 * from src to dst (host order) is correct: over the pseudo-header, the
 * header and the data. A segment longer than the pseudo-header's 16-bit
 * length cannot be verified (nor come from IPv4): false. */
bool utcp_tcp_csum_ok(const uint8_t *seg, size_t len, uint32_t src,
                      uint32_t dst);

/* Parses the TCP segment seg[0..len) carried in an IPv4 packet from src to
 * dst (host order). Checks: minimum length, data offset, checksum over the
 * pseudo-header (unless verify_csum is false, for offloaded input), zero
 * ports, then options: EOL ends the list, NOP is skipped, unknown kinds are
 * skipped by their length; a length below 2, an option running past the
 * header, or a known option with the wrong length rejects the segment.
 * SACK blocks beyond UTCP_MAX_SACK_BLOCKS cannot occur (the header has room
 * for at most 4). */
enum utcp_wire_reason utcp_tcp_parse(const uint8_t *seg, size_t len,
                                     uint32_t src, uint32_t dst,
                                     bool verify_csum, struct utcp_tcp *out);

/* Length in bytes that utcp_tcp_build would write for these options
 * (padded to a multiple of 4). */
size_t utcp_tcp_opts_len(const struct utcp_tcp_opts *o);

/* Writes the TCP header of h (ports, seq, ack, flags, win, urg, and the
 * options in o->present, in a fixed order: MSS, SACK-permitted+timestamps or
 * NOP-padded timestamps, window scale, SACK blocks) at buf, followed by
 * payload_len bytes copied from payload (may be NULL when payload_len is 0),
 * and fills the checksum over the pseudo-header for src -> dst. h->hdr_len,
 * h->csum and h->payload are ignored. Returns the segment length written, or
 * 0 when cap is too small, the options exceed 40 bytes or the segment would
 * exceed 65535 - 20 bytes. */
size_t utcp_tcp_build(uint8_t *buf, size_t cap, const struct utcp_tcp *h,
                      uint32_t src, uint32_t dst, const uint8_t *payload,
                      size_t payload_len);

/* Builds a whole IPv4+TCP packet: an IPv4 header from ip (src, dst, id, ttl,
 * tos, df; proto forced to TCP) then utcp_tcp_build. Returns the packet
 * length, or 0 as utcp_tcp_build. */
size_t utcp_ipv4_tcp_build(uint8_t *buf, size_t cap, const struct utcp_ipv4 *ip,
                           const struct utcp_tcp *h, const uint8_t *payload,
                           size_t payload_len);

/* Flags for the _ex builders. */
enum {
    /* Checksum offload (CHECKSUM_PARTIAL, virtio-net NEEDS_CSUM): the TCP
     * checksum field gets the folded pseudo-header sum, not complemented,
     * and the header and payload are not summed. Whoever completes it sums
     * the segment from the TCP header on (field included), folds and
     * complements (RFC 1071: the sum is linear). A link that trusts its
     * packets (an in-memory wire) may skip that. */
    UTCP_BUILD_CSUM_PARTIAL = 1u << 0,
    /* The payload is already in place (payload == buf + header length) and
     * its partial sum from 0 (utcp_csum_partial / utcp_csum_copy) is
     * payload_sum: the caller summed it while copying it there, so it is
     * not read again. */
    UTCP_BUILD_PAYLOAD_SUMMED = 1u << 1,
};

/* utcp_tcp_build / utcp_ipv4_tcp_build with UTCP_BUILD_* flags;
 * payload_sum is used with UTCP_BUILD_PAYLOAD_SUMMED only. */
size_t utcp_tcp_build_ex(uint8_t *buf, size_t cap, const struct utcp_tcp *h,
                         uint32_t src, uint32_t dst, const uint8_t *payload,
                         size_t payload_len, unsigned flags,
                         uint32_t payload_sum);
size_t utcp_ipv4_tcp_build_ex(uint8_t *buf, size_t cap,
                              const struct utcp_ipv4 *ip,
                              const struct utcp_tcp *h, const uint8_t *payload,
                              size_t payload_len, unsigned flags,
                              uint32_t payload_sum);

/* The segment a connection sends most, built without the general option
 * writer: an IPv4 header without options (TOS 0, protocol TCP) and a TCP
 * header whose only options are the timestamps when ts is set (NOP, NOP,
 * TS: as utcp_tcp_build writes them), urgent pointer 0, the payload already
 * in place at buf + 40 (+ 12 with ts) and summed from 0 (payload_sum, as
 * with UTCP_BUILD_PAYLOAD_SUMMED). The bytes are those utcp_ipv4_tcp_build_ex
 * writes for the same fields. Returns the packet length, 0 if it does not
 * fit in cap or in one IPv4 packet. All fields in host order. */
struct utcp_tcp_plain {
    uint32_t src, dst;
    uint32_t seq, ack, ts_val, ts_ecr;
    uint16_t ip_id, sport, dport, win;
    uint8_t ttl, flags;
    bool df, ts;
};
size_t utcp_ipv4_tcp_build_plain(uint8_t *buf, size_t cap,
                                 const struct utcp_tcp_plain *h,
                                 size_t payload_len, uint32_t payload_sum);

/* ------------------------------------------------------------------------
 * ICMP (RFC 792): echo request/reply, destination unreachable.
 * ------------------------------------------------------------------------ */
enum {
    UTCP_ICMP_ECHO_REPLY = 0,
    UTCP_ICMP_DEST_UNREACH = 3,
    UTCP_ICMP_ECHO_REQUEST = 8,
};

/* Destination unreachable codes used by TCP (RFC 792, RFC 1122 4.2.3.9). */
enum {
    UTCP_ICMP_UNREACH_NET = 0,
    UTCP_ICMP_UNREACH_HOST = 1,
    UTCP_ICMP_UNREACH_PROTO = 2,
    UTCP_ICMP_UNREACH_PORT = 3,
    UTCP_ICMP_UNREACH_FRAG_NEEDED = 4,
    UTCP_ICMP_UNREACH_SRC_ROUTE = 5,
};

struct utcp_icmp {
    uint8_t type, code;
    /* echo request / reply */
    uint16_t id, seq;
    const uint8_t *data; /* echo data, or the quoted bytes for unreachable */
    size_t data_len;
    /* destination unreachable */
    uint16_t next_mtu;      /* code 4 (RFC 1191), else 0 */
    struct utcp_ipv4 quoted; /* the quoted IPv4 header (payload points at the
                                quoted transport bytes, at least 8) */
    /* when quoted.proto is TCP: the first 8 bytes of the quoted TCP header */
    uint16_t q_sport, q_dport;
    uint32_t q_seq;
};

/* Parses the ICMP message msg[0..len) (the IPv4 payload). Checks: length >= 8,
 * checksum, a supported type; for destination unreachable, a quoted IPv4
 * header (version 4, header length within the message) followed by at least
 * 8 bytes of its payload. The quoted header's checksum and total length are
 * not checked (routers may alter them). */
enum utcp_wire_reason utcp_icmp_parse(const uint8_t *msg, size_t len,
                                      struct utcp_icmp *out);

/* Writes an echo request or reply (type from m->type, id, seq, data) with its
 * checksum. Returns the length, or 0 when cap is too small or type is not an
 * echo type. */
size_t utcp_icmp_echo_build(uint8_t *buf, size_t cap, const struct utcp_icmp *m);

/* Writes a destination unreachable message of code `code` (next_mtu used for
 * code 4) quoting the IPv4 header and the first 8 bytes of payload of the
 * offending packet orig[0..orig_len) (RFC 792; orig must hold at least its
 * header plus 8 bytes, else 0 is returned). Returns the length, or 0. */
size_t utcp_icmp_unreach_build(uint8_t *buf, size_t cap, uint8_t code,
                               uint16_t next_mtu, const uint8_t *orig,
                               size_t orig_len);

#ifdef __cplusplus
}
#endif
#endif
