/*
 * The virtio-net header a TUN device with IFF_VNET_HDR puts in front of
 * every packet (include/uapi/linux/virtio_net.h; the virtio 1.x spec,
 * 5.1.6 "Device Operation", struct virtio_net_hdr): parse what the kernel
 * hands up, build what we hand down. Pure functions on bytes; no system
 * calls, so the unit tests drive every rejection.
 */
#ifndef UTCP_LINK_VNET_H
#define UTCP_LINK_VNET_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "utcp/tun.h"
#include "utcp/utcp.h"

/* We use the 10-byte header (no num_buffers: that field exists only with
 * VIRTIO_NET_F_MRG_RXBUF, meaningless on TUN); the driver sets it with
 * TUNSETVNETHDRSZ. Fields are in the host's byte order: TUN converts them
 * with tun16_to_cpu, which is native unless TUNSETVNETLE/BE was set (we
 * set neither; virtio "legacy" layout, spec 5.1.6 and 2.5 "legacy
 * interface: ... guest native endian"). Layout:
 *   0 flags, 1 gso_type, 2 hdr_len, 4 gso_size, 6 csum_start,
 *   8 csum_offset. */
#define UTCP_VNET_HDR_LEN 10

/* flags (virtio spec 5.1.6) */
/* the checksum is left partial: complete it at csum_start + csum_offset */
#define UTCP_VNET_F_NEEDS_CSUM 1u
#define UTCP_VNET_F_DATA_VALID 2u /* the checksum was verified */
/* gso_type */
#define UTCP_VNET_GSO_NONE 0u
#define UTCP_VNET_GSO_TCPV4 1u
#define UTCP_VNET_GSO_UDP 3u
#define UTCP_VNET_GSO_TCPV6 4u
#define UTCP_VNET_GSO_UDP_L4 5u
#define UTCP_VNET_GSO_ECN 0x80u

struct utcp_vnet_hdr {
    uint8_t flags, gso_type;
    uint16_t hdr_len, gso_size, csum_start, csum_offset;
};

/* What a received frame means for the stack. */
struct utcp_vnet_rx {
    struct utcp_vnet_hdr h;
    unsigned input_flags; /* UTCP_INPUT_CSUM_OK when the TCP checksum needs
                             no verification (utcp_input_ex) */
    bool csum_partial;    /* NEEDS_CSUM: the field at csum_start +
                             csum_offset holds a partial sum (complete it
                             with utcp_vnet_csum_complete before anyone
                             checks it: a capture, the impairment filter) */
};

void utcp_vnet_hdr_decode(const uint8_t b[UTCP_VNET_HDR_LEN],
                          struct utcp_vnet_hdr *h);
void utcp_vnet_hdr_encode(uint8_t b[UTCP_VNET_HDR_LEN],
                          const struct utcp_vnet_hdr *h);

/* Checks header b (blen bytes were read of it: fewer than
 * UTCP_VNET_HDR_LEN is UTCP_VNET_SHORT) against the IPv4 packet
 * pkt[0..len) that followed it. Returns UTCP_VNET_OK and fills *rx, or the
 * reason to drop the frame: GSO other than TCPv4, the ECN bit, unknown
 * flags, a checksum position or header length outside the packet, a GSO
 * frame that is not IPv4/TCP or has no segment size. A NEEDS_CSUM at a
 * place other than the IPv4 TCP checksum is accepted with csum_partial and
 * no CSUM_OK (the caller completes it; the stack then verifies it as
 * usual). */
enum utcp_vnet_reason utcp_vnet_parse(const uint8_t *b, size_t blen,
                                      const uint8_t *pkt, size_t len,
                                      struct utcp_vnet_rx *rx);

/* Completes a partial checksum as a device does for NEEDS_CSUM (RFC 1071:
 * sum from start to the end, the field included, fold, complement, store
 * at start + offset). The range must have been checked (utcp_vnet_parse). */
void utcp_vnet_csum_complete(uint8_t *pkt, size_t len, uint16_t start,
                             uint16_t offset);

/* The header for a packet the stack sends (pkt: the IPv4 packet, meta: what
 * output_ex said). A TSO segment (gso_size) gets GSO_TCPV4, gso_size,
 * hdr_len and NEEDS_CSUM at the TCP checksum; a partial checksum alone,
 * NEEDS_CSUM; anything else an all-zero header. Returns false (and an
 * all-zero header) when meta does not describe pkt: a TSO segment or a
 * partial checksum on something that is not an IPv4 TCP packet. */
bool utcp_vnet_build(uint8_t b[UTCP_VNET_HDR_LEN], const uint8_t *pkt,
                     size_t len, const struct utcp_output_meta *meta);

#endif
