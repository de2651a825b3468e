/*
 * utcp Linux TUN driver: a layer-3 device (IFF_TUN | IFF_NO_PI) whose file
 * descriptor carries whole IPv4 packets, one per read() or write(). The
 * stack itself never calls this: a runtime (utcp/run.h) or the application
 * moves packets between the device and utcp_input / the output callback.
 *
 * Linux only. Errors are UTCP_E* codes; every failing call also writes a
 * human message (what failed and what to do) into the caller's buffer.
 */
#ifndef UTCP_TUN_H
#define UTCP_TUN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "utcp/utcp.h"

#ifdef __cplusplus
extern "C" {
#endif

struct utcp_tun;

struct utcp_tun_config {
    const char *name; /* device name (at most 15 bytes); NULL or "":
                         the kernel picks "utcp%d" */
    bool must_exist;  /* attach only: fail with UTCP_ENOENT when no such
                         device exists (instead of creating it) */
    uint16_t mtu;     /* 0: leave the device's MTU as it is */
    bool up;          /* bring the link up (IFF_UP) */
    /* The kernel's side of the link: its address on the device, host byte
     * order, and prefix length (the kernel then routes addr/prefix through
     * the device). 0: leave the device's addresses as they are. */
    uint32_t kernel_addr;
    uint8_t kernel_prefix;
    /* Offload mode (the default): IFF_VNET_HDR with a 10-byte virtio-net
     * header on every packet and TUNSETOFFLOAD(TUN_F_CSUM | TUN_F_TSO4):
     * the kernel hands up TCP frames of up to 64 KiB with partial
     * checksums and takes TSO segments to cut itself. When the kernel
     * refuses (an ioctl fails, or a persistent device was made without
     * vnet_hdr) the device falls back to plain mode: see
     * utcp_tun_offload(). no_offload: plain mode (IFF_TUN | IFF_NO_PI,
     * whole packets, complete checksums) from the start. */
    bool no_offload;
    /* Plain mode only: have the kernel merge the data packets written to
     * the device before its TCP receive path runs (GRO), which then runs
     * once per merged packet instead of once per write. The device is
     * multi-queue: queue 0 as usual (every packet the kernel sends is
     * steered to it by a BPF program; ACKs, SYNs and lone segments are
     * written to it), and queue 1 opened with IFF_NAPI for streams of data
     * (utcp_tun_send routes per flow, docs/tun.md). Its NAPI poll runs in
     * a kernel thread (sysfs `threaded`: the packets written while it
     * wakes are merged) and a merged packet is held up to
     * kernel_gro_hold_us for more (sysfs `gro_flush_timeout`; 0: not
     * held). Settings changed on the device are restored at
     * utcp_tun_close. Needs CAP_NET_ADMIN, BPF for socket filters, a
     * multi-queue device when it exists already (`ip tuntap add ...
     * multi_queue`) and the device's /sys/class/net directory in this
     * namespace (`ip netns exec` mounts the namespace's sysfs). Refused:
     * plain mode without it, see utcp_tun_kernel_gro(). */
    bool kernel_gro;
    uint32_t kernel_gro_hold_us;
};

/* Why utcp_tun_recv dropped a frame: its virtio-net header. */
#define UTCP_VNET_REASONS(X)                                                   \
    X(OK, "accepted")                                                          \
    X(SHORT, "frame shorter than the virtio-net header")                       \
    X(GSO_UDP_DROP, "UDP GSO frame (not TCP)")                                 \
    X(GSO_TCPV6_DROP, "TCPv6 GSO frame (utcp speaks IPv4)")                    \
    X(GSO_UNKNOWN, "unknown gso_type")                                         \
    X(ECN, "GSO frame with the ECN bit (ECN is never negotiated)")             \
    X(BAD_FLAGS, "unknown header flags")                                       \
    X(BAD_HDR_LEN, "hdr_len beyond the packet")                                \
    X(BAD_GSO, "TCPv4 GSO frame that is not IPv4 TCP, or gso_size 0")         \
    X(BAD_CSUM, "csum_start + csum_offset beyond the packet")

enum utcp_vnet_reason {
#define UTCP_X_(name, text) UTCP_VNET_##name,
    UTCP_VNET_REASONS(UTCP_X_)
#undef UTCP_X_
    UTCP_VNET_REASON_COUNT
};

/* A short description of a reason ("?" when out of range). */
const char *utcp_vnet_reason_text(int reason);

/* Device counters of the offload mode. */
struct utcp_tun_stats {
    uint64_t rx_dropped[UTCP_VNET_REASON_COUNT]; /* by reason ([0]: unused) */
    uint64_t rx_gso;      /* GSO frames handed up (gso_type TCPV4) */
    uint64_t rx_csum_ok;  /* packets handed up as checksum-verified */
    uint64_t tx_gso;      /* TSO segments written (GSO_TCPV4) */
    uint64_t tx_csum_partial; /* packets written with NEEDS_CSUM */
    uint64_t tx_bad_meta; /* output metadata that did not fit the packet:
                             not written */
    uint64_t tx_gro;      /* kernel_gro: packets written to the NAPI queue
                             (all but pure ACKs) */
};

/* Opens /dev/net/tun and creates the device cfg->name, or attaches to it
 * when it already exists (a persistent device made by `ip tuntap add`), then
 * applies mtu, kernel_addr and up. The descriptor is non-blocking and
 * close-on-exec. Returns 0 and sets *out, or:
 *   UTCP_ENOENT  no /dev/net/tun (module not loaded?), or must_exist and the
 *                device is missing;
 *   UTCP_EPERM / UTCP_EACCES  not allowed (needs CAP_NET_ADMIN);
 *   UTCP_EBUSY   the device is attached to another process (a multi-queue
 *                device, which takes more: when its queues in sysfs say
 *                so);
 *   UTCP_EINVAL  bad name, or a device by that name that is not a TUN;
 *   UTCP_ENOMEM.
 * On failure a message is written to msg[0..msglen) (may be NULL) and
 * nothing is left open (a device this call created is removed). */
int utcp_tun_open(const struct utcp_tun_config *cfg, struct utcp_tun **out,
                  char *msg, size_t msglen);

/* Closes the descriptor; a device the open created (not persistent) goes
 * away with it. NULL is accepted. */
void utcp_tun_close(struct utcp_tun *t);

/* The descriptor, for epoll. Owned by t. */
int utcp_tun_fd(const struct utcp_tun *t);
/* The device name the kernel gave. Owned by t. */
const char *utcp_tun_name(const struct utcp_tun *t);
/* The device's MTU (read back from the kernel at open). */
uint16_t utcp_tun_mtu(const struct utcp_tun *t);

/* Whether the offloads are active (IFF_VNET_HDR + TSO4 + CSUM accepted).
 * When not, *why (may be NULL) is set to a static text naming the reason
 * ("disabled by configuration", "TUNSETOFFLOAD refused: ...", ...). */
bool utcp_tun_offload(const struct utcp_tun *t, const char **why);

/* Whether the kernel merges what t writes (utcp_tun_config.kernel_gro);
 * when asked for and refused, *why (may be NULL) says why, else NULL. */
bool utcp_tun_kernel_gro(const struct utcp_tun *t, const char **why);

/* The offload mode's counters (all zero in plain mode). */
void utcp_tun_get_stats(const struct utcp_tun *t, struct utcp_tun_stats *out);

/* Reads one packet into buf (cap: 65535 covers any frame; the header is
 * kept apart, so the IPv4 packet starts at buf). Returns its length and
 * sets *input_flags (may be NULL) to the UTCP_INPUT_* flags for
 * utcp_input_ex; in offload mode a packet may be a GSO frame of up to
 * 64 KiB, with its TCP checksum partial (then CSUM_OK is set: the kernel
 * built it; *partial, when not NULL, receives the checksum position as
 * csum_start << 16 | csum_offset, else 0). Returns 0 when a frame was read
 * but dropped for a bad header (counted, utcp_tun_get_stats), UTCP_EAGAIN
 * when none is waiting, another negative code when the device failed. */
long utcp_tun_recv(struct utcp_tun *t, uint8_t *buf, size_t cap,
                   unsigned *input_flags, uint32_t *partial);

/* Writes one IPv4 packet the stack produced, with its output metadata
 * (utcp_output_ex_fn; NULL: none). In offload mode a TSO segment
 * (meta->gso_size) goes down as one GSO frame and a partial checksum with
 * NEEDS_CSUM; in plain mode the metadata must ask for neither (the stack
 * then has no offloads configured): UTCP_EINVAL. Returns len or a negative
 * code as utcp_tun_write. */
long utcp_tun_send(struct utcp_tun *t, const uint8_t *pkt, size_t len,
                   const struct utcp_output_meta *meta);

/* Reads one packet into buf. Returns its length, UTCP_EAGAIN when none is
 * waiting, or another negative code (the device went away: UTCP_EBADF...).
 * A packet longer than cap is truncated by the kernel; size buf for the MTU
 * (in offload mode for 64 KiB: GSO frames). In offload mode the packet's
 * partial checksum, if any, is completed in software, so buf holds a packet
 * as it would be on a wire; a frame with a bad header is dropped (counted)
 * and 0 returned. */
long utcp_tun_read(struct utcp_tun *t, void *buf, size_t cap);

/* Writes one IPv4 packet with complete checksums (copied by the kernel;
 * in offload mode behind an all-zero header). Returns len, UTCP_EAGAIN
 * when the device's queue is full (the packet is not sent), or another
 * negative code (UTCP_EINVAL for a packet the kernel rejects). */
long utcp_tun_write(struct utcp_tun *t, const void *pkt, size_t len);

/* Parses "A.B.C.D" or "A.B.C.D/NN" (host byte order; *prefix is 32 when no
 * length is given). Returns 0 or UTCP_EINVAL. prefix may be NULL only for a
 * plain address. */
int utcp_parse_ipv4(const char *text, uint32_t *addr, uint8_t *prefix);

#ifdef __cplusplus
}
#endif
#endif
