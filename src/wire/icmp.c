/*
 * ICMP: parse echo and destination unreachable (with the quoted IPv4 header
 * and TCP ports), build echo and unreachable. RFC 792, RFC 1122 3.2.2 and
 * 3.2.2.1, RFC 1191 4. Never reads outside msg[0..len), never writes outside
 * buf[0..cap), never allocates; when to send an error is the caller's call.
 */
#include <string.h>

#include "utcp/wire.h"

#define ICMP_HDR_LEN 8
/* RFC 792: an error quotes the Internet header + 64 bits of data. */
#define ICMP_QUOTE_DATA 8

/* Reads the quoted IPv4 header of a destination unreachable message from
 * q[0..len). RFC 1122 3.2.2: the quote is the header and at least the first
 * 8 data octets. Its checksum and total length are not checked: routers may
 * have altered them, and the quote is usually cut short. */
static enum utcp_wire_reason parse_quote(const uint8_t *q, size_t len,
                                         struct utcp_icmp *m)
{
    if (len < UTCP_IPV4_HDR_LEN || q[0] >> 4 != 4)
        return UTCP_WIRE_ICMP_QUOTE;
    size_t hdr_len = (size_t)(q[0] & 0x0fu) * 4;
    if (hdr_len < UTCP_IPV4_HDR_LEN || hdr_len + ICMP_QUOTE_DATA > len)
        return UTCP_WIRE_ICMP_QUOTE;

    struct utcp_ipv4 *ip = &m->quoted;
    uint16_t frag = utcp_get16(q + 6);
    ip->src = utcp_get32(q + 12);
    ip->dst = utcp_get32(q + 16);
    ip->total_len = utcp_get16(q + 2);
    ip->id = utcp_get16(q + 4);
    ip->frag_off = (uint16_t)(frag & 0x1fffu);
    ip->df = (frag & 0x4000u) != 0;
    ip->mf = (frag & 0x2000u) != 0;
    ip->hdr_len = (uint8_t)hdr_len;
    ip->tos = q[1];
    ip->ttl = q[8];
    ip->proto = q[9];
    ip->payload = q + hdr_len;
    ip->payload_len = len - hdr_len;
    /* RFC 1122 4.2.3.9: TCP finds the connection from the quoted ports and
     * checks the quoted sequence number (RFC 5927 4.1): the first 8 octets
     * of the TCP header. */
    if (ip->proto == UTCP_IPPROTO_TCP) {
        m->q_sport = utcp_get16(ip->payload);
        m->q_dport = utcp_get16(ip->payload + 2);
        m->q_seq = utcp_get32(ip->payload + 4);
    }
    return UTCP_WIRE_OK;
}

enum utcp_wire_reason utcp_icmp_parse(const uint8_t *msg, size_t len,
                                      struct utcp_icmp *out)
{
    struct utcp_icmp m;
    memset(&m, 0, sizeof m);

    /* RFC 792: type, code, checksum and 4 more octets in every message. */
    if (len < ICMP_HDR_LEN)
        return UTCP_WIRE_ICMP_TRUNCATED;
    /* RFC 792: the checksum covers the whole message (odd length padded
     * with a zero octet); a correct message folds to 0. */
    if (utcp_csum(msg, len) != 0)
        return UTCP_WIRE_ICMP_CHECKSUM;
    m.type = msg[0];
    m.code = msg[1];
    m.data = msg + ICMP_HDR_LEN;
    m.data_len = len - ICMP_HDR_LEN;

    switch (m.type) {
    case UTCP_ICMP_ECHO_REQUEST:
    case UTCP_ICMP_ECHO_REPLY:
        /* RFC 792 echo: identifier, sequence number, data. */
        m.id = utcp_get16(msg + 4);
        m.seq = utcp_get16(msg + 6);
        break;
    case UTCP_ICMP_DEST_UNREACH: {
        /* RFC 1191 4: code 4 carries the next-hop MTU in the low half of
         * the "unused" word. */
        if (m.code == UTCP_ICMP_UNREACH_FRAG_NEEDED)
            m.next_mtu = utcp_get16(msg + 6);
        enum utcp_wire_reason r = parse_quote(m.data, m.data_len, &m);
        if (r != UTCP_WIRE_OK)
            return r;
        break;
    }
    default:
        /* RFC 1122 3.2.2: an unknown type MUST be silently discarded; the
         * other known types are not used by this stack. */
        return UTCP_WIRE_ICMP_UNSUPPORTED;
    }
    *out = m;
    return UTCP_WIRE_OK;
}

/* The data may be exactly in place (m->data == buf + 8, e.g. a reply built
 * over the request) and is then only summed; any other overlap with buf is
 * not allowed. */
size_t utcp_icmp_echo_build(uint8_t *buf, size_t cap, const struct utcp_icmp *m)
{
    if (m->type != UTCP_ICMP_ECHO_REQUEST && m->type != UTCP_ICMP_ECHO_REPLY)
        return 0;
    if (m->data_len > 0 && m->data == NULL)
        return 0;
    if (cap < ICMP_HDR_LEN || m->data_len > cap - ICMP_HDR_LEN)
        return 0;

    /* RFC 792 echo: type 8 or 0, code 0, checksum computed with the field
     * zero, identifier, sequence number, then the data. */
    buf[0] = m->type;
    buf[1] = 0;
    utcp_put16(buf + 2, 0);
    utcp_put16(buf + 4, m->id);
    utcp_put16(buf + 6, m->seq);
    uint32_t s = utcp_csum_partial(buf, ICMP_HDR_LEN, 0);
    if (m->data_len > 0) {
        if (m->data == buf + ICMP_HDR_LEN)
            s = utcp_csum_partial(m->data, m->data_len, s);
        else
            s = utcp_csum_copy(buf + ICMP_HDR_LEN, m->data, m->data_len, s);
    }
    utcp_put16(buf + 2, utcp_csum_fold(s));
    return ICMP_HDR_LEN + m->data_len;
}

size_t utcp_icmp_unreach_build(uint8_t *buf, size_t cap, uint8_t code,
                               uint16_t next_mtu, const uint8_t *orig,
                               size_t orig_len)
{
    /* The offending packet must have a plausible header and 8 octets of
     * data to quote. */
    if (orig == NULL || orig_len < UTCP_IPV4_HDR_LEN || orig[0] >> 4 != 4)
        return 0;
    size_t hdr_len = (size_t)(orig[0] & 0x0fu) * 4;
    if (hdr_len < UTCP_IPV4_HDR_LEN || hdr_len + ICMP_QUOTE_DATA > orig_len)
        return 0;
    size_t quote_len = hdr_len + ICMP_QUOTE_DATA;
    size_t len = ICMP_HDR_LEN + quote_len;
    if (cap < len)
        return 0;

    /* RFC 792 destination unreachable: type 3, code, checksum, unused
     * (zero), then the Internet header + 64 bits of the original data,
     * unchanged (RFC 1122 3.2.2). */
    buf[0] = UTCP_ICMP_DEST_UNREACH;
    buf[1] = code;
    utcp_put16(buf + 2, 0);
    utcp_put16(buf + 4, 0);
    /* RFC 1191 4: next-hop MTU in the low-order 16 bits for code 4. */
    utcp_put16(buf + 6,
               code == UTCP_ICMP_UNREACH_FRAG_NEEDED ? next_mtu : 0);
    uint32_t s = utcp_csum_partial(buf, ICMP_HDR_LEN, 0);
    s = utcp_csum_copy(buf + ICMP_HDR_LEN, orig, quote_len, s);
    utcp_put16(buf + 2, utcp_csum_fold(s));
    return len;
}
