/*
 * IPv4 header: parse and validate untrusted bytes into struct utcp_ipv4, and
 * build an options-free header. RFC 791 3.1 (header, options), RFC 1122
 * 3.2.1.1-3.2.1.4 and 3.2.1.8. Never reads outside buf[0..len), never writes
 * outside buf[0..cap), never allocates or keeps state.
 */
#include <stddef.h>
#include <string.h>

#include "utcp/wire.h"
#include "wire/csum_impl.h"

/* IPv4 option types (RFC 791 3.1). */
enum { IPOPT_EOL = 0, IPOPT_NOP = 1 };

/* Flags and fragment offset share one 16-bit field (RFC 791 3.1). */
#define IP_FLAG_DF 0x4000u
#define IP_FLAG_MF 0x2000u
#define IP_FRAG_MASK 0x1fffu

/* Walks the options area opt[0..len): every option is well formed or the
 * header is rejected. The content of known options (source route, record
 * route, timestamps...) is not acted upon. */
static enum utcp_wire_reason check_options(const uint8_t *opt, size_t len)
{
    size_t i = 0;
    while (i < len) {
        uint8_t type = opt[i];
        /* RFC 791 3.1: End of Option List, one octet; what follows is
         * padding. */
        if (type == IPOPT_EOL)
            break;
        /* RFC 791 3.1: No Operation, one octet. */
        if (type == IPOPT_NOP) {
            i++;
            continue;
        }
        /* RFC 791 3.1, case 2: type, length, data; the length counts the
         * type and length octets, so it is at least 2, and the option must
         * end within the header. */
        if (len - i < 2)
            return UTCP_WIRE_IP_OPTION;
        uint8_t olen = opt[i + 1];
        if (olen < 2 || olen > len - i)
            return UTCP_WIRE_IP_OPTION;
        i += olen;
    }
    return UTCP_WIRE_OK;
}

/* RFC 1122 3.2.1.3: a source address must not be 0.0.0.0 ({0,0}: only during
 * bootstrap, which utcp does not do), the limited broadcast
 * 255.255.255.255 ((c)) or a Class D multicast address (224.0.0.0/4). */
static bool src_is_valid(uint32_t src)
{
    if (src == 0 || src == 0xffffffffu)
        return false;
    if ((src & 0xf0000000u) == 0xe0000000u)
        return false;
    return true;
}

_Static_assert(offsetof(struct utcp_ipv4, dst) ==
                   offsetof(struct utcp_ipv4, src) + sizeof(uint32_t),
               "the addresses are stored together");

enum utcp_wire_reason utcp_ipv4_parse(const uint8_t *buf, size_t len,
                                      struct utcp_ipv4 *out)
{
    /* Checks first; then *out field by field (see utcp_tcp_parse: no
     * local copy to stall on store forwarding). */
    /* RFC 791 3.1: the fixed part of the header is 20 octets. */
    if (len < UTCP_IPV4_HDR_LEN)
        return UTCP_WIRE_IP_TRUNCATED;
    /* RFC 1122 3.2.1.1: version other than 4 is silently discarded. */
    if (buf[0] >> 4 != 4)
        return UTCP_WIRE_IP_VERSION;
    /* RFC 791 3.1: IHL in 32-bit words, minimum 5. */
    size_t hdr_len = (size_t)(buf[0] & 0x0fu) * 4;
    if (hdr_len < UTCP_IPV4_HDR_LEN || hdr_len > len)
        return UTCP_WIRE_IP_HDR_LEN;
    /* RFC 791 3.1: Total Length covers header and data; octets past it
     * are link-layer padding. */
    uint16_t total_len = utcp_get16(buf + 2);
    if (total_len < hdr_len || total_len > len)
        return UTCP_WIRE_IP_TOTAL_LEN;
    /* RFC 1122 3.2.1.2: verify the header checksum; a correct header
     * (checksum field included) sums to -0. The usual length spelled out
     * as a constant: the sum is then unrolled. */
    if (!(hdr_len == UTCP_IPV4_HDR_LEN
              ? utcp__csum_words_ok(buf, UTCP_IPV4_HDR_LEN, 0)
              : utcp__csum_words_ok(buf, hdr_len, 0)))
        return UTCP_WIRE_IP_CHECKSUM;
    /* RFC 1122 3.2.1.8: options may appear in any datagram; they must at
     * least be well formed for the header to be trusted. */
    enum utcp_wire_reason r =
        check_options(buf + UTCP_IPV4_HDR_LEN, hdr_len - UTCP_IPV4_HDR_LEN);
    if (r != UTCP_WIRE_OK)
        return r;
    /* RFC 791 3.2 (fragmentation): MF set or a non-zero offset is a
     * fragment. RFC 1122 3.2.1.4 requires reassembly; until it exists,
     * fragments are dropped. */
    uint16_t frag = utcp_get16(buf + 6);
    if ((frag & IP_FLAG_MF) || (frag & IP_FRAG_MASK) != 0)
        return UTCP_WIRE_IP_FRAGMENT;
    uint32_t src = utcp_get32(buf + 12);
    if (!src_is_valid(src))
        return UTCP_WIRE_IP_BAD_SRC;

    memset(out, 0, sizeof *out);
    out->df = (frag & IP_FLAG_DF) != 0;
    /* the addresses in one store (see utcp_tcp_parse's ports) */
    uint32_t addrs[2] = {src, utcp_get32(buf + 16)};
    memcpy(&out->src, addrs, sizeof addrs);
    out->total_len = total_len;
    out->id = utcp_get16(buf + 4);
    out->hdr_len = (uint8_t)hdr_len;
    out->tos = buf[1];
    out->ttl = buf[8];
    out->proto = buf[9];
    out->payload = buf + hdr_len;
    out->payload_len = total_len - hdr_len;
    return UTCP_WIRE_OK;
}

size_t utcp_ipv4_build(uint8_t *buf, size_t cap, const struct utcp_ipv4 *h,
                       size_t payload_len)
{
    if (cap < UTCP_IPV4_HDR_LEN)
        return 0;
    /* RFC 791 3.1: Total Length is 16 bits. */
    if (payload_len > 0xffffu - UTCP_IPV4_HDR_LEN)
        return 0;

    /* RFC 791 3.1: version 4, IHL 5 (no options). */
    buf[0] = 0x45;
    buf[1] = h->tos;
    utcp_put16(buf + 2, (uint16_t)(UTCP_IPV4_HDR_LEN + payload_len));
    utcp_put16(buf + 4, h->id);
    /* Never a fragment: offset 0, MF clear; DF as asked. */
    utcp_put16(buf + 6, h->df ? (uint16_t)IP_FLAG_DF : 0);
    buf[8] = h->ttl;
    buf[9] = h->proto;
    utcp_put32(buf + 12, h->src);
    utcp_put32(buf + 16, h->dst);
    /* RFC 791 3.1: the checksum is computed with the field set to zero,
     * here from the ten 16-bit words as stored (RFC 1071: the same sum;
     * reading back bytes just stored one at a time would stall on the
     * stores) */
    uint32_t sum = (uint32_t)(0x45u << 8 | h->tos) +
                   (uint32_t)(UTCP_IPV4_HDR_LEN + payload_len) + h->id +
                   (h->df ? (uint32_t)IP_FLAG_DF : 0) +
                   ((uint32_t)h->ttl << 8 | h->proto) + (h->src >> 16) +
                   (h->src & 0xffffu) + (h->dst >> 16) + (h->dst & 0xffffu);
    utcp_put16(buf + 10, utcp_csum_fold(sum));
    return UTCP_IPV4_HDR_LEN;
}
