/*
 * TCP header and options: parse untrusted segments into struct utcp_tcp, and
 * build segments. RFC 9293 3.1-3.2, RFC 7323 2.2, 3.2 and appendix A, RFC
 * 2018 2-3. Never reads outside seg[0..len), never writes outside buf[0..cap),
 * never allocates; it frames options, their meaning is the engine's business.
 */
#include <stddef.h>
#include <string.h>

#include "utcp/wire.h"
#include "wire/csum_impl.h"

/* Option lengths (kind and length octets included). */
enum {
    OPTLEN_MSS = 4,       /* RFC 9293 3.2 */
    OPTLEN_WSCALE = 3,    /* RFC 7323 2.2 */
    OPTLEN_SACK_PERM = 2, /* RFC 2018 2 */
    OPTLEN_SACK_MIN = 10, /* RFC 2018 3: 2 + 8 per block, 1..4 blocks */
    OPTLEN_SACK_BLOCK = 8,
    OPTLEN_TS = 10, /* RFC 7323 3.2 */
};

#define TCP_MAX_OPT_LEN (UTCP_TCP_MAX_HDR_LEN - UTCP_TCP_HDR_LEN)

/* Reads the option kinds this stack understands; every length is checked
 * before the data octets are read. */
static enum utcp_wire_reason parse_known_option(uint8_t kind, uint8_t olen,
                                                const uint8_t *d,
                                                struct utcp_tcp_opts *o)
{
    switch (kind) {
    case UTCP_TCPOPT_MSS:
        /* RFC 9293 3.2: Length == 4. Only meaningful in a SYN (MUST-65);
         * the engine, not the parser, ignores it elsewhere. */
        if (olen != OPTLEN_MSS)
            return UTCP_WIRE_TCP_OPT_BAD_SIZE;
        o->mss = utcp_get16(d);
        o->present |= UTCP_OPT_MSS;
        return UTCP_WIRE_OK;
    case UTCP_TCPOPT_WSCALE:
        /* RFC 7323 2.2: Length 3. The shift is stored as sent; clamping to
         * 14 is the engine's job (RFC 7323 2.3). */
        if (olen != OPTLEN_WSCALE)
            return UTCP_WIRE_TCP_OPT_BAD_SIZE;
        o->wscale = d[0];
        o->present |= UTCP_OPT_WSCALE;
        return UTCP_WIRE_OK;
    case UTCP_TCPOPT_SACK_PERM:
        /* RFC 2018 2: Length 2. */
        if (olen != OPTLEN_SACK_PERM)
            return UTCP_WIRE_TCP_OPT_BAD_SIZE;
        o->present |= UTCP_OPT_SACK_PERM;
        return UTCP_WIRE_OK;
    case UTCP_TCPOPT_SACK: {
        /* RFC 2018 3: Length 8 * n + 2, n blocks of two 32-bit edges. At
         * most 4 blocks fit in 40 option bytes; the bound is checked anyway
         * so the array can never overflow. */
        if (olen < OPTLEN_SACK_MIN || (olen - 2) % OPTLEN_SACK_BLOCK != 0 ||
            olen > 2 + OPTLEN_SACK_BLOCK * UTCP_MAX_SACK_BLOCKS)
            return UTCP_WIRE_TCP_OPT_BAD_SIZE;
        unsigned n = (unsigned)(olen - 2) / OPTLEN_SACK_BLOCK;
        for (unsigned b = 0; b < n; b++) {
            o->sack[b].left = utcp_get32(d + 8 * b);
            o->sack[b].right = utcp_get32(d + 8 * b + 4);
        }
        o->sack_count = (uint8_t)n;
        o->present |= UTCP_OPT_SACK;
        return UTCP_WIRE_OK;
    }
    case UTCP_TCPOPT_TS:
        /* RFC 7323 3.2: Length 10, TSval then TSecr. */
        if (olen != OPTLEN_TS)
            return UTCP_WIRE_TCP_OPT_BAD_SIZE;
        o->ts_val = utcp_get32(d);
        o->ts_ecr = utcp_get32(d + 4);
        o->present |= UTCP_OPT_TS;
        return UTCP_WIRE_OK;
    default:
        /* RFC 9293 3.1 (MUST-6): ignore without error an option we do not
         * implement, skipping it by its length. */
        o->unknown_count++;
        return UTCP_WIRE_OK;
    }
}

/* Walks the option list opt[0..len) (len <= 40). A repeated option
 * overwrites the earlier one. */
static enum utcp_wire_reason parse_options(const uint8_t *opt, size_t len,
                                           struct utcp_tcp_opts *o)
{
    size_t i = 0;
    while (i < len) {
        uint8_t kind = opt[i];
        /* RFC 9293 3.2: End of Option List; the rest is padding. */
        if (kind == UTCP_TCPOPT_EOL)
            break;
        /* RFC 9293 3.2: No-Operation, one octet, may appear anywhere
         * (options need not be aligned, MUST-64). */
        if (kind == UTCP_TCPOPT_NOP) {
            i++;
            continue;
        }
        /* RFC 9293 3.1 (MUST-68): every other option has a length octet
         * counting kind and length. A kind in the last header octet has
         * its length outside the header. */
        if (len - i < 2)
            return UTCP_WIRE_TCP_OPT_OVERRUN;
        uint8_t olen = opt[i + 1];
        /* RFC 9293 3.1 (MUST-7): be prepared for an illegal length such
         * as zero (which would loop forever) or one. */
        if (olen < 2)
            return UTCP_WIRE_TCP_OPT_LEN;
        if (olen > len - i)
            return UTCP_WIRE_TCP_OPT_OVERRUN;
        enum utcp_wire_reason r =
            parse_known_option(kind, olen, opt + i + 2, o);
        if (r != UTCP_WIRE_OK)
            return r;
        i += olen;
    }
    return UTCP_WIRE_OK;
}

bool utcp_tcp_csum_ok(const uint8_t *seg, size_t len, uint32_t src,
                      uint32_t dst)
{
    /* RFC 9293 3.1: the pseudo-header's TCP Length is 16 bits. A correct
     * segment sums to -0, which folds to 0. */
    if (len > 0xffffu)
        return false;
    uint32_t s = utcp__csum_pseudo(src, dst, UTCP_IPPROTO_TCP, (uint16_t)len);
    if (len <= 60 && (len & 3u) == 0) /* no payload: a header's sum */
        return utcp__csum_words_ok(seg, len, s);
    return utcp_csum_fold(utcp_csum_partial(seg, len, s)) == 0;
}

_Static_assert(offsetof(struct utcp_tcp, dport) ==
                   offsetof(struct utcp_tcp, sport) + sizeof(uint16_t),
               "the ports are stored together");

enum utcp_wire_reason utcp_tcp_parse(const uint8_t *seg, size_t len,
                                     uint32_t src, uint32_t dst,
                                     bool verify_csum, struct utcp_tcp *out)
{
    /* Every check first, reading the segment only; *out is written once
     * the segment is known good (untouched on failure), field by field:
     * a local copy built with narrow stores and copied with wide loads
     * stalled on store forwarding, the parser's main cost. */
    /* RFC 9293 3.1: the fixed header is 20 octets. */
    if (len < UTCP_TCP_HDR_LEN)
        return UTCP_WIRE_TCP_TRUNCATED;
    /* RFC 9293 3.1: Data Offset, in 32-bit words, at least 5. */
    size_t hdr_len = (size_t)(seg[12] >> 4) * 4;
    if (hdr_len < UTCP_TCP_HDR_LEN || hdr_len > len)
        return UTCP_WIRE_TCP_DATA_OFFSET;
    if (verify_csum && !utcp_tcp_csum_ok(seg, len, src, dst))
        return UTCP_WIRE_TCP_CHECKSUM;
    uint16_t sport = utcp_get16(seg), dport = utcp_get16(seg + 2);
    /* Port 0 is reserved; no connection can use it. */
    if (sport == 0 || dport == 0)
        return UTCP_WIRE_TCP_PORT_ZERO;
    const uint8_t *opt = seg + UTCP_TCP_HDR_LEN;
    /* RFC 7323 appendix A: NOP, NOP, TS, the layout of every segment
     * after the SYNs once timestamps are on; read directly, it gives what
     * the walk of parse_options would. */
    bool ts_only = hdr_len == UTCP_TCP_HDR_LEN + 12 &&
                   opt[0] == UTCP_TCPOPT_NOP && opt[1] == UTCP_TCPOPT_NOP &&
                   opt[2] == UTCP_TCPOPT_TS && opt[3] == OPTLEN_TS;
    struct utcp_tcp_opts o;
    if (!ts_only) {
        memset(&o, 0, sizeof o);
        enum utcp_wire_reason r =
            parse_options(opt, hdr_len - UTCP_TCP_HDR_LEN, &o);
        if (r != UTCP_WIRE_OK)
            return r;
    }
    /* a copy of zeros rather than memset, which GCC made a slow-starting
     * rep stos here */
    static const struct utcp_tcp zero;
    *out = zero;
    if (ts_only) {
        out->opts.ts_val = utcp_get32(opt + 4);
        out->opts.ts_ecr = utcp_get32(opt + 8);
        out->opts.present = UTCP_OPT_TS;
    } else {
        out->opts = o;
    }
    /* The ports in one store: the caller reads them as one word to build
     * its 4-tuple, and two half stores would not forward to it. */
    uint16_t ports[2] = {sport, dport};
    memcpy(&out->sport, ports, sizeof ports);
    out->seq = utcp_get32(seg + 4);
    out->ack = utcp_get32(seg + 8);
    out->hdr_len = (uint8_t)hdr_len;
    /* RFC 9293 3.1: the eight control bits CWR..FIN (RFC 3168 6.1 adds
     * CWR and ECE); the reserved bits are ignored. */
    out->flags = seg[13];
    out->win = utcp_get16(seg + 14);
    out->csum = utcp_get16(seg + 16);
    out->urg = utcp_get16(seg + 18);
    out->payload = seg + hdr_len;
    out->payload_len = len - hdr_len;
    return UTCP_WIRE_OK;
}

/* Bytes of SACK option to emit: none when there is no block to report
 * (RFC 2018 3: a SACK option carries at least one block). */
static size_t sack_len(const struct utcp_tcp_opts *o)
{
    if (!(o->present & UTCP_OPT_SACK) || o->sack_count == 0)
        return 0;
    return 2 + 2 + (size_t)OPTLEN_SACK_BLOCK * o->sack_count;
}

size_t utcp_tcp_opts_len(const struct utcp_tcp_opts *o)
{
    size_t n = 0;
    if (o->present & UTCP_OPT_MSS)
        n += OPTLEN_MSS;
    if (o->present & UTCP_OPT_TS)
        n += 2 + OPTLEN_TS; /* NOP,NOP,TS or SACK_PERM,TS */
    else if (o->present & UTCP_OPT_SACK_PERM)
        n += 2 + OPTLEN_SACK_PERM; /* NOP,NOP,SACK_PERM */
    if (o->present & UTCP_OPT_WSCALE)
        n += 1 + OPTLEN_WSCALE; /* NOP,WS */
    return n + sack_len(o);
}

/* Stores the 16-bit word hi,lo and adds it to *sum: the options are
 * written as whole 16-bit words at even offsets, so their checksum is the
 * sum of the words as written (RFC 1071), taken here instead of read back
 * from the header just stored (a 32-bit load over bytes stored one at a
 * time waits for the stores to retire: no store forwarding). */
static uint8_t *put_pair(uint8_t *p, uint8_t hi, uint8_t lo, uint32_t *sum)
{
    p[0] = hi;
    p[1] = lo;
    *sum += (uint32_t)hi << 8 | lo;
    return p + 2;
}

/* Sums the two 16-bit halves of v into a 32-bit partial sum (RFC 1071). */
static uint32_t halves(uint32_t v)
{
    return (v >> 16) + (v & 0xffffu);
}

static uint8_t *put_word32(uint8_t *p, uint32_t v, uint32_t *sum)
{
    utcp_put32(p, v);
    *sum += halves(v);
    return p + 4;
}

/* Writes the options of o at p, every one padded with leading NOPs to a
 * 32-bit boundary (RFC 7323 appendix A); returns the bytes written, a
 * multiple of 4, and adds their 16-bit words to *sum (at most 20 words:
 * no overflow). The caller has checked the total fits. */
static size_t write_options(uint8_t *p, const struct utcp_tcp_opts *o,
                            uint32_t *sum)
{
    uint8_t *start = p;
    if (o->present & UTCP_OPT_MSS) {
        /* RFC 9293 3.2: kind 2, length 4, 16-bit MSS. */
        p = put_pair(p, UTCP_TCPOPT_MSS, OPTLEN_MSS, sum);
        p = put_pair(p, (uint8_t)(o->mss >> 8), (uint8_t)o->mss, sum);
    }
    if ((o->present & UTCP_OPT_SACK_PERM) && (o->present & UTCP_OPT_TS)) {
        /* RFC 2018 2 + RFC 7323 3.2: SACK-permitted takes the place of
         * the two NOPs before the timestamps (12 bytes, as Linux sends in
         * a SYN). */
        p = put_pair(p, UTCP_TCPOPT_SACK_PERM, OPTLEN_SACK_PERM, sum);
    } else if (o->present & (UTCP_OPT_TS | UTCP_OPT_SACK_PERM)) {
        p = put_pair(p, UTCP_TCPOPT_NOP, UTCP_TCPOPT_NOP, sum);
        if (!(o->present & UTCP_OPT_TS))
            p = put_pair(p, UTCP_TCPOPT_SACK_PERM, OPTLEN_SACK_PERM, sum);
    }
    if (o->present & UTCP_OPT_TS) {
        /* RFC 7323 3.2: kind 8, length 10, TSval, TSecr. */
        p = put_pair(p, UTCP_TCPOPT_TS, OPTLEN_TS, sum);
        p = put_word32(p, o->ts_val, sum);
        p = put_word32(p, o->ts_ecr, sum);
    }
    if (o->present & UTCP_OPT_WSCALE) {
        /* RFC 7323 2.2: kind 3, length 3, shift count. */
        p = put_pair(p, UTCP_TCPOPT_NOP, UTCP_TCPOPT_WSCALE, sum);
        p = put_pair(p, OPTLEN_WSCALE, o->wscale, sum);
    }
    size_t sl = sack_len(o);
    if (sl > 0) {
        /* RFC 2018 3: kind 5, length 2 + 8n, n (left, right) edges. */
        p = put_pair(p, UTCP_TCPOPT_NOP, UTCP_TCPOPT_NOP, sum);
        p = put_pair(p, UTCP_TCPOPT_SACK, (uint8_t)(sl - 2), sum);
        for (unsigned b = 0; b < o->sack_count; b++) {
            p = put_word32(p, o->sack[b].left, sum);
            p = put_word32(p, o->sack[b].right, sum);
        }
    }
    return (size_t)(p - start);
}

/* The payload may be exactly in place (payload == buf + header length: the
 * caller wrote it there) and is then only summed; any other overlap with
 * buf is not allowed. */
size_t utcp_tcp_build(uint8_t *buf, size_t cap, const struct utcp_tcp *h,
                      uint32_t src, uint32_t dst, const uint8_t *payload,
                      size_t payload_len)
{
    return utcp_tcp_build_ex(buf, cap, h, src, dst, payload, payload_len, 0,
                             0);
}

size_t utcp_tcp_build_ex(uint8_t *buf, size_t cap, const struct utcp_tcp *h,
                         uint32_t src, uint32_t dst, const uint8_t *payload,
                         size_t payload_len, unsigned flags,
                         uint32_t payload_sum)
{
    const struct utcp_tcp_opts *o = &h->opts;
    /* More than 4 blocks never fit (and would overrun o->sack). */
    if ((o->present & UTCP_OPT_SACK) && o->sack_count > UTCP_MAX_SACK_BLOCKS)
        return 0;
    size_t olen = utcp_tcp_opts_len(o);
    /* RFC 9293 3.1: Data Offset is 4 bits: at most 40 option bytes. */
    if (olen > TCP_MAX_OPT_LEN)
        return 0;
    size_t hdr_len = UTCP_TCP_HDR_LEN + olen;
    /* The segment must fit in one IPv4 packet. */
    if (payload_len > 0xffffu - UTCP_IPV4_HDR_LEN - hdr_len)
        return 0;
    if (payload_len > 0 && payload == NULL)
        return 0;
    size_t seg_len = hdr_len + payload_len;
    if (cap < seg_len)
        return 0;

    /* RFC 9293 3.1: header format. */
    utcp_put16(buf, h->sport);
    utcp_put16(buf + 2, h->dport);
    utcp_put32(buf + 4, h->seq);
    utcp_put32(buf + 8, h->ack);
    buf[12] = (uint8_t)(hdr_len / 4 << 4); /* Data Offset, reserved 0 */
    buf[13] = h->flags;
    utcp_put16(buf + 14, h->win);
    utcp_put16(buf + 16, 0); /* checksum computed with the field zero */
    utcp_put16(buf + 18, h->urg);
    /* the header's 16-bit words, summed from the values stored (see
     * put_pair); the checksum field counts as zero */
    uint32_t hsum = (uint32_t)h->sport + h->dport + halves(h->seq) +
                    halves(h->ack) + ((uint32_t)buf[12] << 8 | h->flags) +
                    h->win + h->urg;
    write_options(buf + UTCP_TCP_HDR_LEN, o, &hsum);

    /* RFC 9293 3.1: checksum over pseudo-header, header and data. The
     * header length is a multiple of 4, so the sums chain. */
    uint32_t s = utcp__csum_pseudo(src, dst, UTCP_IPPROTO_TCP,
                                   (uint16_t)seg_len);
    if (flags & UTCP_BUILD_CSUM_PARTIAL) {
        /* The folded pseudo-header sum, not complemented: the completer
         * adds the rest and complements. */
        if (payload_len > 0 && payload != buf + hdr_len)
            memcpy(buf + hdr_len, payload, payload_len);
        utcp_put16(buf + 16, (uint16_t)~utcp_csum_fold(s));
        return seg_len;
    }
    /* at most 30 header words and 6 pseudo-header words: no overflow,
     * and the end-around carries are folded once by utcp_csum_fold */
    s += hsum;
    if (payload_len > 0 && (flags & UTCP_BUILD_PAYLOAD_SUMMED)) {
        if (payload != buf + hdr_len)
            return 0; /* the flag promises the payload is in place */
        /* Partial sums add (RFC 1071 2 (B)); the header length is even,
         * so the payload's sum from 0 chains after it. All is below
         * 2^22 here: no overflow of 32 bits, and utcp_csum_fold folds
         * the carries. */
        s += payload_sum;
    } else if (payload_len > 0) {
        if (payload == buf + hdr_len)
            s = utcp_csum_partial(payload, payload_len, s);
        else
            s = utcp_csum_copy(buf + hdr_len, payload, payload_len, s);
    }
    utcp_put16(buf + 16, utcp_csum_fold(s));
    return seg_len;
}

size_t utcp_ipv4_tcp_build(uint8_t *buf, size_t cap, const struct utcp_ipv4 *ip,
                           const struct utcp_tcp *h, const uint8_t *payload,
                           size_t payload_len)
{
    return utcp_ipv4_tcp_build_ex(buf, cap, ip, h, payload, payload_len, 0, 0);
}

size_t utcp_ipv4_tcp_build_ex(uint8_t *buf, size_t cap,
                              const struct utcp_ipv4 *ip,
                              const struct utcp_tcp *h, const uint8_t *payload,
                              size_t payload_len, unsigned flags,
                              uint32_t payload_sum)
{
    if (cap < UTCP_IPV4_HDR_LEN)
        return 0;
    size_t n = utcp_tcp_build_ex(buf + UTCP_IPV4_HDR_LEN,
                                 cap - UTCP_IPV4_HDR_LEN, h, ip->src, ip->dst,
                                 payload, payload_len, flags, payload_sum);
    if (n == 0)
        return 0;
    /* The protocol is TCP whatever ip says (a copy only then). Cannot
     * fail: cap >= 20 was checked and utcp_tcp_build keeps n <= 65535 -
     * 20. */
    const struct utcp_ipv4 *hp = ip;
    struct utcp_ipv4 iph;
    if (ip->proto != UTCP_IPPROTO_TCP) {
        iph = *ip;
        iph.proto = UTCP_IPPROTO_TCP;
        hp = &iph;
    }
    (void)utcp_ipv4_build(buf, cap, hp, n);
    return UTCP_IPV4_HDR_LEN + n;
}

size_t utcp_ipv4_tcp_build_plain(uint8_t *buf, size_t cap,
                                 const struct utcp_tcp_plain *h,
                                 size_t payload_len, uint32_t payload_sum)
{
    size_t tcp_hdr = UTCP_TCP_HDR_LEN + (h->ts ? 2u + OPTLEN_TS : 0u);
    size_t tcp_len = tcp_hdr + payload_len;
    if (payload_len > 0xffffu - UTCP_IPV4_HDR_LEN - tcp_hdr ||
        cap < UTCP_IPV4_HDR_LEN + tcp_len)
        return 0;
    uint16_t total = (uint16_t)(UTCP_IPV4_HDR_LEN + tcp_len);
    uint16_t frag = h->df ? 0x4000u : 0u; /* RFC 791 3.1: DF, offset 0 */
    uint32_t addrs = halves(h->src) + halves(h->dst);

    /* RFC 791 3.1: version 4, IHL 5; the checksum from the words as
     * stored (as utcp_ipv4_build). */
    buf[0] = 0x45;
    buf[1] = 0;
    utcp_put16(buf + 2, total);
    utcp_put16(buf + 4, h->ip_id);
    utcp_put16(buf + 6, frag);
    buf[8] = h->ttl;
    buf[9] = UTCP_IPPROTO_TCP;
    utcp_put32(buf + 12, h->src);
    utcp_put32(buf + 16, h->dst);
    uint32_t isum = 0x4500u + total + h->ip_id + frag +
                    ((uint32_t)h->ttl << 8 | UTCP_IPPROTO_TCP) + addrs;
    utcp_put16(buf + 10, utcp__csum_fold_not(isum));

    /* RFC 9293 3.1: the header; the checksum over the pseudo-header
     * (addresses, protocol, TCP length), header and data. */
    uint8_t *t = buf + UTCP_IPV4_HDR_LEN;
    uint8_t off = (uint8_t)(tcp_hdr / 4 << 4);
    utcp_put16(t, h->sport);
    utcp_put16(t + 2, h->dport);
    utcp_put32(t + 4, h->seq);
    utcp_put32(t + 8, h->ack);
    t[12] = off;
    t[13] = h->flags;
    utcp_put16(t + 14, h->win);
    utcp_put16(t + 18, 0);
    uint32_t s = addrs + UTCP_IPPROTO_TCP + (uint32_t)tcp_len + h->sport +
                 h->dport + halves(h->seq) + halves(h->ack) +
                 ((uint32_t)off << 8 | h->flags) + h->win + payload_sum;
    if (h->ts) {
        /* RFC 7323 3.2 and appendix A: NOP, NOP, kind 8, length 10. */
        t[20] = UTCP_TCPOPT_NOP;
        t[21] = UTCP_TCPOPT_NOP;
        t[22] = UTCP_TCPOPT_TS;
        t[23] = OPTLEN_TS;
        utcp_put32(t + 24, h->ts_val);
        utcp_put32(t + 28, h->ts_ecr);
        s += (UTCP_TCPOPT_NOP << 8 | UTCP_TCPOPT_NOP) +
             (UTCP_TCPOPT_TS << 8 | OPTLEN_TS) + halves(h->ts_val) +
             halves(h->ts_ecr);
    }
    /* below 2^23 with a payload sum below 2^22: no overflow */
    utcp_put16(t + 16, utcp__csum_fold_not(s));
    return UTCP_IPV4_HDR_LEN + tcp_len;
}
