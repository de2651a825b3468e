/*
 * utcp real-time runtime: drives one stack over a Linux TUN device. It owns
 * the device, the clock (CLOCK_MONOTONIC, microseconds), a timerfd armed
 * from the stack's next deadline, and an epoll loop; optional impairments
 * (utcp/filter.h) sit on the packet path in both directions, because a
 * kernel without netem cannot impair a TUN link.
 *
 * Application interface: register a callback per socket (utcp_run_watch)
 * and per extra file descriptor (utcp_run_add_fd). Socket callbacks fire
 * from the loop after utcp_input / utcp_tick have returned, never in the
 * middle of segment processing, so a callback may call any utcp_* function
 * on the stack (utcp_run_stack), close its socket, or stop the loop.
 *
 * Single-threaded: every call must come from the thread running the loop.
 */
#ifndef UTCP_RUN_H
#define UTCP_RUN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "utcp/filter.h"
#include "utcp/tun.h"
#include "utcp/utcp.h"

#ifdef __cplusplus
extern "C" {
#endif

struct utcp_run;

/* How long the kernel holds a merged packet for more by default
 * (utcp_run_config.kernel_gro_hold_us), in microseconds. */
#define UTCP_RUN_GRO_HOLD_US 20u

/* A socket's readiness changed: events are the UTCP_EV_* bits that
 * utcp_next_event reported (level bits, plus CONNECTED once). */
typedef void (*utcp_run_sock_fn)(struct utcp_run *r, utcp_sock sk,
                                 uint32_t events, void *ctx);
/* An extra descriptor is ready: events are EPOLL* bits. */
typedef void (*utcp_run_fd_fn)(struct utcp_run *r, int fd, uint32_t events,
                               void *ctx);
/* SIGINT or SIGTERM arrived (signo). NULL in the config: the default,
 * utcp_run_shutdown(r, shutdown_grace_ms). A second signal stops at once. */
typedef void (*utcp_run_signal_fn)(struct utcp_run *r, int signo, void *ctx);

struct utcp_run_config {
    /* The link. */
    const char *dev;      /* TUN device name; NULL: "utcp0" */
    uint16_t mtu;         /* 0: 1500 (set on the device and the stack) */
    uint32_t addr;        /* utcp's IPv4 address, host byte order
                             (required) */
    uint32_t kernel_addr; /* the kernel's address on the device with
                             kernel_prefix; 0: leave the device's
                             addresses alone (set up beforehand) */
    uint8_t kernel_prefix;
    /* Plain TUN (no IFF_VNET_HDR). By default the device runs in offload
     * mode (utcp/tun.h) when the kernel accepts it, and the stack then
     * leaves TCP checksums of data to the kernel (UTCP_OFFLOAD_TX_CSUM),
     * sends TSO segments of up to 64 KiB (utcp_config.tso_max) and takes
     * the kernel's GSO frames whole, their checksums trusted per packet
     * (UTCP_INPUT_CSUM_OK). With a filter (impairments) the stack sends
     * only complete, MSS-sized packets (the filter acts per wire packet)
     * and partial checksums from the kernel are completed in software
     * before the filter; GSO frames from the kernel still pass the filter
     * as one unit (one loss drops the whole frame). */
    bool no_offload;
    /* A plain device costs one write() per packet, and without kernel GRO
     * each write runs the kernel's receive path for that packet (TCP
     * included) in the writing thread. The runtime therefore writes from a
     * second thread, fed through a ring, when the device is plain, kernel
     * GRO is off or refused and more than one CPU is online (tx_thread 0);
     * 1 starts the thread in any mode, -1 keeps every write in the loop's
     * thread. By default offload mode writes from the loop's thread (one
     * write per TSO frame of up to 64 KiB), and so does plain mode with
     * kernel GRO (a write then only queues the packet for the kernel's
     * NAPI thread). */
    int tx_thread;
    /* Plain mode: by default the kernel merges the data packets written to
     * the device (utcp_tun_config.kernel_gro: a second queue with IFF_NAPI,
     * its poll in a kernel thread, merged packets held up to
     * kernel_gro_hold_us, 0: UTCP_RUN_GRO_HOLD_US), so its TCP receive path
     * runs once per merged packet; ACKs keep the direct path. It needs a
     * multi-queue device (one the runtime creates is; a persistent one
     * must be made with `multi_queue`), the device's sysfs settings
     * (changed, and restored at the end) and a BPF steering program; when
     * any is refused the device stays plain without it
     * (utcp_run_kernel_gro() says why). no_kernel_gro: never try. */
    bool no_kernel_gro;
    uint32_t kernel_gro_hold_us;
    /* The stack: copied; addr, mtu and output are filled in by the
     * runtime; a seed of 0 becomes one from the clock and the pid; an
     * all-zero secret becomes the per-boot secret kept beside the control
     * sockets (utcp_run_ctl_dir()/secret, mode 0600), so ISNs and
     * timestamps of a 4-tuple keep growing from one process to the next.
     * trace and the other fields are kept. */
    struct utcp_config stack;
    /* Impairment (NULL: none). Direction 0 is utcp -> kernel, 1 is
     * kernel -> utcp. Copied. */
    const struct utcp_filter *filter;
    uint64_t filter_seed;
    /* Signals: SIGINT/SIGTERM are caught (a signalfd) unless no_signals. */
    bool no_signals;
    utcp_run_signal_fn on_signal;
    void *signal_ctx;
    uint32_t shutdown_grace_ms; /* 0: 3000 */
    /* Control socket for `utcp stat`: NULL selects the default path
     * (utcp_run_ctl_dir()/<pid>.sock); "" disables it. */
    const char *ctl_path;
    /* Events of sockets that are not watched go here (may be NULL:
     * ignored). */
    utcp_run_sock_fn on_other;
    void *other_ctx;
};

/* Zeroes cfg (every default). */
void utcp_run_config_init(struct utcp_run_config *cfg);

/* Opens the device, creates the stack, the epoll set, the timer, the
 * signal handling and the control socket. Returns 0 and sets *out, or a
 * negative UTCP_E* code with a message in msg[0..msglen) (see
 * utcp_tun_open for the device's errors). */
int utcp_run_create(const struct utcp_run_config *cfg, struct utcp_run **out,
                    char *msg, size_t msglen);

/* Destroys the stack (connections vanish silently: shut down first for a
 * graceful end), closes the device and every descriptor the runtime
 * opened (not the ones added with utcp_run_add_fd), removes the control
 * socket. NULL is accepted. */
void utcp_run_destroy(struct utcp_run *r);

/* The stack: create sockets on it and use them from callbacks. */
struct utcp_stack *utcp_run_stack(struct utcp_run *r);
/* The device name actually used (owned by r, valid until destroy). */
const char *utcp_run_dev(const struct utcp_run *r);
/* The control socket's path (owned by r, valid until destroy), or NULL
 * when there is none. */
const char *utcp_run_ctl_path(const struct utcp_run *r);
/* Whether the device runs in offload mode; when not, *why (may be NULL)
 * says why (static text owned by r). */
bool utcp_run_offload(const struct utcp_run *r, const char **why);
/* The device's offload-mode counters (utcp/tun.h). */
void utcp_run_tun_stats(const struct utcp_run *r, struct utcp_tun_stats *out);
/* Now on the runtime's clock (CLOCK_MONOTONIC, microseconds). */
uint64_t utcp_run_now(void);

/* Calls fn(r, sk, events, ctx) whenever sk has news, until unwatched or
 * released. Watching again replaces the callback. Returns 0 or
 * UTCP_ENOMEM. Events already pending are delivered on the next pass. */
int utcp_run_watch(struct utcp_run *r, utcp_sock sk, utcp_run_sock_fn fn,
                   void *ctx);
/* Stops callbacks for sk. Returns 0 or UTCP_ENOENT. */
int utcp_run_unwatch(struct utcp_run *r, utcp_sock sk);

/* Adds an extra descriptor (the runtime does not own it) with EPOLL*
 * interest bits. Returns 0 or a negative code (UTCP_EPERM: the descriptor
 * does not support epoll, e.g. a regular file: read it directly). */
int utcp_run_add_fd(struct utcp_run *r, int fd, uint32_t events,
                    utcp_run_fd_fn fn, void *ctx);
/* Changes the interest bits (0: keep it registered but silent). */
int utcp_run_mod_fd(struct utcp_run *r, int fd, uint32_t events);
int utcp_run_del_fd(struct utcp_run *r, int fd);

/* Runs the loop until utcp_run_stop, or until a shutdown finished. Returns
 * the status given to utcp_run_stop (128 + signo after a signal forced the
 * end), or a negative code when the device failed. Packets the impairment
 * filter still holds for the kernel at that point (a delayed last ACK) are
 * delivered first, for at most 2 s, the stack answering meanwhile but no
 * callback firing; a signal ends that wait. */
int utcp_run_loop(struct utcp_run *r);

/* Makes utcp_run_loop return status after the current pass. */
void utcp_run_stop(struct utcp_run *r, int status);

/* Graceful shutdown: closes every watched socket (utcp_close: FIN after
 * queued data; their callbacks no longer fire), then runs until no
 * connection is left outside TIME_WAIT, or grace_ms pass; then the loop
 * returns status (utcp_run_stop's, or 128 + the signal that started it). */
void utcp_run_shutdown(struct utcp_run *r, uint32_t grace_ms);

/* Runtime counters (packets on the device and the filter's decisions). */
struct utcp_run_stats {
    uint64_t rx_packets, rx_bytes, tx_packets, tx_bytes;
    uint64_t rx_errors, tx_errors, tx_dropped; /* queue full, write errors */
    uint64_t filter_dropped[2], filter_delayed[2], filter_dup[2],
        filter_corrupted[2];
    uint64_t wakeups;
};
/* tx_* count packets written by the transmit thread (see tx_thread) once
 * written. */
void utcp_run_get_stats(const struct utcp_run *r, struct utcp_run_stats *out);
/* Whether a transmit thread writes to the device (see tx_thread). */
bool utcp_run_tx_thread(const struct utcp_run *r);
/* Whether the kernel merges what the runtime writes (no_kernel_gro unset,
 * plain mode); *why (may be NULL) says why not, NULL when it was not tried
 * (no_kernel_gro). */
bool utcp_run_kernel_gro(const struct utcp_run *r, const char **why);

/* The directory of control sockets: $UTCP_RUN_DIR if set, else /run/utcp
 * when writable (root), else $XDG_RUNTIME_DIR/utcp, else /tmp/utcp-<uid>.
 * Written into buf; returns buf. */
const char *utcp_run_ctl_dir(char *buf, size_t len);

#ifdef __cplusplus
}
#endif
#endif
