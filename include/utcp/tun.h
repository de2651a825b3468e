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
};

/* Opens /dev/net/tun and creates the device cfg->name, or attaches to it
 * when it already exists (a persistent device made by `ip tuntap add`), then
 * applies mtu, kernel_addr and up. The descriptor is non-blocking and
 * close-on-exec. Returns 0 and sets *out, or:
 *   UTCP_ENOENT  no /dev/net/tun (module not loaded?), or must_exist and the
 *                device is missing;
 *   UTCP_EPERM / UTCP_EACCES  not allowed (needs CAP_NET_ADMIN);
 *   UTCP_EBUSY   the device is attached to another process;
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

/* Reads one packet into buf. Returns its length, UTCP_EAGAIN when none is
 * waiting, or another negative code (the device went away: UTCP_EBADF...).
 * A packet longer than cap is truncated by the kernel; size buf for the MTU. */
long utcp_tun_read(struct utcp_tun *t, void *buf, size_t cap);

/* Writes one IPv4 packet (copied by the kernel). Returns len, UTCP_EAGAIN
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
