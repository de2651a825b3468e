/*
 * virtio-net headers on a TUN device (IFF_VNET_HDR): parse what the kernel
 * hands up (GSO frames with partial checksums), build what we hand down
 * (TSO segments the kernel cuts for us). Facts from the virtio 1.x spec,
 * 5.1.6, and Linux (include/linux/virtio_net.h, drivers/net/tun.c). Must
 * never trust a header field without checking it against the packet.
 */
#include "link/vnet.h"

#include <string.h>

#include "utcp/wire.h"

static uint16_t ne16(const uint8_t *p)
{
    uint16_t v;
    memcpy(&v, p, 2); /* host order: see vnet.h */
    return v;
}

static void put_ne16(uint8_t *p, uint16_t v)
{
    memcpy(p, &v, 2);
}

void utcp_vnet_hdr_decode(const uint8_t b[UTCP_VNET_HDR_LEN],
                          struct utcp_vnet_hdr *h)
{
    h->flags = b[0];
    h->gso_type = b[1];
    h->hdr_len = ne16(b + 2);
    h->gso_size = ne16(b + 4);
    h->csum_start = ne16(b + 6);
    h->csum_offset = ne16(b + 8);
}

void utcp_vnet_hdr_encode(uint8_t b[UTCP_VNET_HDR_LEN],
                          const struct utcp_vnet_hdr *h)
{
    b[0] = h->flags;
    b[1] = h->gso_type;
    put_ne16(b + 2, h->hdr_len);
    put_ne16(b + 4, h->gso_size);
    put_ne16(b + 6, h->csum_start);
    put_ne16(b + 8, h->csum_offset);
}

/* The IPv4 header length of pkt when it is an IPv4 TCP packet whose
 * header fits, else 0. */
static size_t ipv4_tcp_ihl(const uint8_t *pkt, size_t len)
{
    if (len < 20 || (pkt[0] >> 4) != 4)
        return 0;
    size_t ihl = (size_t)(pkt[0] & 0x0f) * 4;
    if (ihl < 20 || ihl + 20 > len || pkt[9] != UTCP_IPPROTO_TCP)
        return 0;
    return ihl;
}

enum utcp_vnet_reason utcp_vnet_parse(const uint8_t *b, size_t blen,
                                      const uint8_t *pkt, size_t len,
                                      struct utcp_vnet_rx *rx)
{
    memset(rx, 0, sizeof *rx);
    if (blen < UTCP_VNET_HDR_LEN)
        return UTCP_VNET_SHORT;
    struct utcp_vnet_hdr h;
    utcp_vnet_hdr_decode(b, &h);
    rx->h = h;
    if (h.gso_type & UTCP_VNET_GSO_ECN)
        return UTCP_VNET_ECN; /* we never negotiate ECN (RFC 3168) */
    switch (h.gso_type) {
    case UTCP_VNET_GSO_NONE:
    case UTCP_VNET_GSO_TCPV4:
        break;
    case UTCP_VNET_GSO_UDP:
    case UTCP_VNET_GSO_UDP_L4:
        return UTCP_VNET_GSO_UDP_DROP;
    case UTCP_VNET_GSO_TCPV6:
        return UTCP_VNET_GSO_TCPV6_DROP;
    default:
        return UTCP_VNET_GSO_UNKNOWN;
    }
    /* Only NEEDS_CSUM and DATA_VALID exist without further features
     * (RSC_INFO needs VIRTIO_NET_F_RSC_EXT, which TUN never offers). */
    if (h.flags & ~(UTCP_VNET_F_NEEDS_CSUM | UTCP_VNET_F_DATA_VALID))
        return UTCP_VNET_BAD_FLAGS;
    /* hdr_len is a hint (Linux tun puts skb_headlen there, which may
     * include payload), but never beyond the packet. */
    if (h.hdr_len > len)
        return UTCP_VNET_BAD_HDR_LEN;
    size_t ihl = ipv4_tcp_ihl(pkt, len);
    if (h.gso_type == UTCP_VNET_GSO_TCPV4) {
        /* spec 5.1.6.2: gso_size is the segment payload size; a TCPv4 GSO
         * frame must be IPv4 TCP. */
        if (!ihl || h.gso_size == 0)
            return UTCP_VNET_BAD_GSO;
    }
    if (h.flags & UTCP_VNET_F_NEEDS_CSUM) {
        /* spec 5.1.6.2.1: the checksum covers csum_start to the end and
         * is stored at csum_start + csum_offset. */
        if ((size_t)h.csum_start + h.csum_offset + 2u > len)
            return UTCP_VNET_BAD_CSUM;
        rx->csum_partial = true;
        /* Linux sets NEEDS_CSUM on packets its own stack built
         * (CHECKSUM_PARTIAL): no wire ever touched them. At the TCP
         * checksum of an IPv4 packet, nothing needs verifying. */
        if (ihl && h.csum_start == ihl && h.csum_offset == 16)
            rx->input_flags = UTCP_INPUT_CSUM_OK;
    } else if (h.flags & UTCP_VNET_F_DATA_VALID) {
        rx->input_flags = UTCP_INPUT_CSUM_OK; /* spec 5.1.6.4 */
    }
    return UTCP_VNET_OK;
}

void utcp_vnet_csum_complete(uint8_t *pkt, size_t len, uint16_t start,
                             uint16_t offset)
{
    /* The field holds the pseudo-header sum: summing over it adds it in
     * (RFC 1071 linearity). */
    uint16_t c = utcp_csum(pkt + start, len - start);
    utcp_put16(pkt + start + offset, c);
}

bool utcp_vnet_build(uint8_t b[UTCP_VNET_HDR_LEN], const uint8_t *pkt,
                     size_t len, const struct utcp_output_meta *meta)
{
    struct utcp_vnet_hdr h = {0, 0, 0, 0, 0, 0};
    utcp_vnet_hdr_encode(b, &h);
    if (!meta || (!meta->gso_size && !meta->csum_partial))
        return true;
    size_t ihl = ipv4_tcp_ihl(pkt, len);
    if (!ihl || meta->hdr_len < ihl + 20 || meta->hdr_len > len)
        return false;
    /* Linux (virtio_net_hdr_to_skb, skb_partial_csum_set) turns NEEDS_CSUM
     * into CHECKSUM_PARTIAL; for a GSO frame tcp4_gso_segment then
     * adjusts the pseudo-header sum in the field per segment, which is why
     * it must be the (uncomplemented) pseudo-header sum over the whole TCP
     * length (wire.h UTCP_BUILD_CSUM_PARTIAL). */
    h.flags = UTCP_VNET_F_NEEDS_CSUM;
    h.csum_start = (uint16_t)ihl;
    h.csum_offset = 16; /* offsetof(struct tcphdr, check) */
    h.hdr_len = meta->hdr_len;
    if (meta->gso_size) {
        if (!meta->csum_partial)
            return false; /* GSO needs the partial sum (tso_max rule) */
        h.gso_type = UTCP_VNET_GSO_TCPV4;
        h.gso_size = meta->gso_size;
    }
    utcp_vnet_hdr_encode(b, &h);
    return true;
}
