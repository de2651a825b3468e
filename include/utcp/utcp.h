/*
 * utcp: a sans-I/O TCP/IP stack.
 *
 * One `struct utcp_stack` holds everything (no globals; many stacks per
 * process). The caller feeds it IPv4 packets (utcp_input) and the passing of
 * time (utcp_tick); the stack hands packets out through the output callback
 * given at creation. It never reads a clock, sleeps or calls the OS.
 *
 * Threading: a stack is single-threaded. Re-entrancy: the output and trace
 * callbacks run inside utcp_* calls and must not call back into the same
 * stack. Application events (readable, connected...) are recorded on the
 * socket and collected with utcp_next_event() after a call returns, so no
 * application code ever runs in the middle of segment processing.
 */
#ifndef UTCP_UTCP_H
#define UTCP_UTCP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "utcp/errors.h"
#include "utcp/trace.h"

#ifdef __cplusplus
extern "C" {
#endif

struct utcp_stack;

/* A socket handle: a slot index and a generation number. A handle whose
 * socket was released is stale: every call with it returns UTCP_EBADF, never
 * touches freed memory. 0 is never a valid handle. */
typedef uint64_t utcp_sock;

/* A pluggable allocator. free receives the size given to alloc. */
struct utcp_allocator {
    void *(*alloc)(void *ctx, size_t size);
    void (*free)(void *ctx, void *ptr, size_t size);
    void *ctx;
};

/* Called for every packet the stack sends. pkt is owned by the stack and
 * valid only during the call. */
typedef void (*utcp_output_fn)(void *ctx, const uint8_t *pkt, size_t len);

/* What the stack tells an output_ex callback about the packet it hands
 * out (utcp_config.output_ex). */
struct utcp_output_meta {
    /* 0: an ordinary packet (a TCP payload of at most one MSS, or no TCP).
     * Else a TSO segment (utcp_config.tso_max): a TCP payload longer than
     * one MSS that the link must cut into gso_size-byte segments (the last
     * one shorter), as a NIC doing TCP segmentation offload does. */
    uint16_t gso_size;
    /* IPv4 plus TCP header bytes (options included) when gso_size or
     * csum_partial is set; may be 0 otherwise. */
    uint16_t hdr_len;
    /* The TCP checksum field holds only the pseudo-header sum (folded, not
     * complemented, over the packet's whole TCP length): the link must
     * complete it (UTCP_OFFLOAD_TX_CSUM). Always set with gso_size. */
    bool csum_partial;
};

/* Like utcp_output_fn, with the metadata above (owned by the stack, valid
 * only during the call). */
typedef void (*utcp_output_ex_fn)(void *ctx, const uint8_t *pkt, size_t len,
                                  const struct utcp_output_meta *meta);

/* Optional (utcp_config.output_buf): link memory to build one packet in,
 * so the stack writes it where the link sends it from, instead of building
 * it in its own buffer for the output callback to copy.
 *
 * The stack calls it when it is about to build a packet of len bytes for
 * IPv4 destination dst (host byte order: a link with a queue per next hop
 * reserves in the right one). It returns at least len writable bytes of
 * link memory, at any alignment, or NULL: the stack then builds the packet
 * in its own buffer and hands it out as usual.
 *
 * Ownership: the memory stays the link's. The stack writes the packet
 * there and then, within the same utcp_* call and before asking for any
 * other buffer, calls output_ex (or output) with pkt equal to the returned
 * pointer and a length of at most len: that call commits the packet (the
 * link may drop it, as it may any packet). The stack never touches the
 * memory after that call. The trace callback may see the packet in it
 * just before. A reservation not committed (the stack may abandon one) is
 * void at the next output_buf call and when the utcp_* call returns: the
 * link must not send it. Every output call whose pkt is not the pointer
 * just returned is an ordinary packet in the stack's memory: the stack uses
 * output_buf for some packets only (today: a connection's segments, not
 * RST replies to unknown segments, TIME_WAIT ACKs or ICMP). */
typedef uint8_t *(*utcp_output_buf_fn)(void *ctx, uint32_t dst, size_t len);

/* Optional (utcp_config.output_busy): whether the link's own queue holds
 * as much as it should (a link that queues packets before it sends them,
 * as the TUN runtime's transmit thread does). The stack asks before each
 * segment from the send queue (data, a FIN); while the answer is true the
 * segment waits, and the connection tries again UTCP_LINK_RETRY_US later,
 * or at the next ACK. ACKs, SYNs, RSTs, window probes and retransmissions
 * in loss recovery are not held. This is Linux's TCP Small Queues: a queue
 * below TCP that grows to the whole window adds its drain time to every
 * RTT sample and keeps data cold in memory, while the send queue holds it
 * as well. Called with output_ctx; it must not call into the stack. */
typedef bool (*utcp_output_busy_fn)(void *ctx);
#define UTCP_LINK_RETRY_US 100u

/* Checksum offloads (utcp_config.offload). */
enum {
    /* The link completes TCP checksums: data segments leave with the
     * pseudo-header sum only (wire.h UTCP_BUILD_CSUM_PARTIAL). Control
     * segments keep full checksums. */
    UTCP_OFFLOAD_TX_CSUM = 1u << 0,
    /* The link has verified the TCP checksum of every packet it hands in
     * (or the packets cannot be corrupted: an in-memory wire). */
    UTCP_OFFLOAD_RX_CSUM = 1u << 1,
};

/* Flags for utcp_input_ex. */
enum {
    UTCP_INPUT_CSUM_OK = 1u << 0, /* this packet's TCP checksum is verified */
};

struct utcp_config {
    uint32_t addr;          /* the stack's IPv4 address, host byte order */
    utcp_output_fn output;  /* required unless output_ex is set */
    void *output_ctx;       /* given to output or output_ex */
    utcp_output_ex_fn output_ex; /* used instead of output when set */
    utcp_output_buf_fn output_buf; /* optional: packets built in link
                                      memory (see utcp_output_buf_fn) */
    utcp_output_busy_fn output_busy; /* optional: the link's queue is full
                                        enough (see utcp_output_busy_fn) */
    utcp_trace_fn trace;    /* optional: every segment, state change, timer,
                               drop; see trace.h */
    void *trace_ctx;
    const struct utcp_allocator *allocator; /* NULL: malloc/free */
    uint64_t seed;          /* seeds ports, and the ISN key when secret is all
                               zero: one seed replays a run byte for byte */
    uint8_t secret[16];     /* RFC 6528 ISN key; all zero: derived from seed */
    uint16_t mtu;           /* 0: 1500. Our MSS is mtu - 40. */
    uint16_t ttl;           /* 0: 64 */
    /* Defaults for new sockets (0 selects the default shown). */
    uint32_t msl_ms;            /* 30000: TIME_WAIT lasts 2*MSL */
    uint32_t rto_min_ms;        /* 200 (RFC 6298 (2.4) says 1000) */
    uint32_t rto_max_ms;        /* 120000 */
    uint32_t rto_initial_ms;    /* 1000 (RFC 6298 (2.1)) */
    uint32_t delack_ms;         /* 40 (RFC 1122 4.2.3.2: at most 500) */
    uint32_t fin_wait2_ms;      /* 60000 (as Linux's tcp_fin_timeout) */
    uint32_t sndbuf;            /* 65536 bytes */
    uint32_t rcvbuf;            /* 65536 bytes */
    uint8_t syn_retries;        /* 6 (like Linux): 1+2+4+8+16+32+64 s */
    uint8_t synack_retries;     /* 5 */
    uint8_t data_retries;       /* 15 (like Linux tcp_retries2) */
    uint16_t ephemeral_lo;      /* 49152 (RFC 6056 suggests 1024..65535) */
    uint16_t ephemeral_hi;      /* 65535 */
    size_t buf_cache_bytes;     /* 4 MiB: freed send/receive buffers kept
                                   for reuse, at most this many bytes (and
                                   16 blocks); SIZE_MAX: keep none */
    uint32_t obj_cache;         /* 256: freed connection and TIME_WAIT
                                   records kept for reuse, of each kind;
                                   UINT32_MAX: keep none */
    unsigned offload;           /* UTCP_OFFLOAD_* bits: checksum work the
                                   link does (or needs not be done) */
    /* TCP segmentation offload: 0 (default) sends at most one MSS per
     * segment. Else the largest payload the link cuts into MSS-sized
     * segments for us (a TUN device with IFF_VNET_HDR, a NIC): new data
     * then leaves in segments of up to tso_max rounded down to a multiple
     * of the MSS, within the send and congestion windows, each flagged to
     * output_ex with gso_size = MSS. Retransmissions, probes and control
     * segments stay within one MSS. Needs output_ex and
     * UTCP_OFFLOAD_TX_CSUM (a TSO segment's checksum is left partial);
     * at most 65535 - 40 - 60. */
    uint32_t tso_max;
    bool no_timestamps;         /* do not offer RFC 7323 timestamps */
    bool no_sack;               /* do not offer SACK (RFC 2018) */
    bool no_rack;               /* with SACK, detect losses by RFC 6675's
                                   DupThresh rules instead of RACK-TLP
                                   (RFC 8985) */
    uint8_t congestion_control; /* UTCP_CC_NEWRENO (0, the default),
                                   UTCP_CC_CUBIC (RFC 9438) or UTCP_CC_BBR
                                   (BBR v1) */
};

/* Congestion control algorithms for utcp_config.congestion_control. */
enum utcp_cc {
    UTCP_CC_NEWRENO = 0, /* RFC 5681 / RFC 6582 window growth and halving */
    UTCP_CC_CUBIC = 1,   /* RFC 9438: beta 0.7, the cubic window growth,
                            the Reno-friendly region */
    UTCP_CC_BBR = 2,     /* BBR v1 (draft-cardwell-iccrg-bbr-congestion-
                            control, as Linux tcp_bbr.c): a model of the
                            bottleneck bandwidth and the round-trip time,
                            paced; random loss is not a congestion signal.
                            Needs SACK and RACK (no_rack off): a connection
                            without them uses NewReno */
};

/* Fills *cfg with zeros (every default) apart from nothing: a convenience so
 * callers set only what they need. */
void utcp_config_init(struct utcp_config *cfg);

/* Creates a stack. The config is copied. Returns 0 and sets *out, or
 * UTCP_EINVAL (no output callback, zero address, bad option) or UTCP_ENOMEM. */
int utcp_stack_create(const struct utcp_config *cfg, struct utcp_stack **out);

/* Destroys a stack and everything in it: connections vanish without sending
 * anything (call utcp_close first for a graceful end). NULL is accepted. */
void utcp_stack_destroy(struct utcp_stack *s);

/* Hands the stack one IPv4 packet received at now (microseconds from any
 * fixed origin, never decreasing). pkt is only read during the call. Bad
 * packets are counted (see utcp_counters) and dropped. */
void utcp_input(struct utcp_stack *s, uint64_t now, const uint8_t *pkt,
                size_t len);

/* utcp_input with UTCP_INPUT_* flags (per packet, e.g. from a virtio-net
 * header saying the checksum was verified). */
void utcp_input_ex(struct utcp_stack *s, uint64_t now, const uint8_t *pkt,
                   size_t len, unsigned flags);

/* A burst of packets read from the link together (a batch of reads from
 * a device, like a NIC's interrupt coalescing or Linux's GRO): between
 * utcp_input_batch_begin and utcp_input_batch_end, the ACK that in-order
 * data earns every second full-sized segment (RFC 5681 4.2) is held until
 * utcp_input_batch_end, and sent once for the whole burst, unless
 * UTCP_ACK_BATCH_SEGS full segments accumulate first. Duplicate ACKs for
 * out-of-order data, ACKs of holes filled and of FINs still go out at once.
 * Without the calls every second segment is ACKed as usual. The end sends
 * what is held; calling it without a begin, or nesting, is harmless. */
#define UTCP_ACK_BATCH_SEGS 16
void utcp_input_batch_begin(struct utcp_stack *s);
void utcp_input_batch_end(struct utcp_stack *s);

/* Tells the stack the time is now: fires every timer due. Returns the next
 * instant the stack needs a tick, or UINT64_MAX when no timer is running. */
uint64_t utcp_tick(struct utcp_stack *s, uint64_t now);

/* The next instant a tick is needed (UINT64_MAX: none). */
uint64_t utcp_next_deadline(struct utcp_stack *s);

/* The stack's notion of now (the largest instant it was given). */
uint64_t utcp_now(const struct utcp_stack *s);

/* ------------------------------------------------------------------------
 * Sockets. Calls that would block return UTCP_EAGAIN. Every call returns 0
 * or a byte count on success, or a negative UTCP_E* code.
 * ------------------------------------------------------------------------ */

/* Readiness and event bits. */
enum {
    UTCP_EV_READABLE = 1u << 0,  /* data, EOF or an error can be read */
    UTCP_EV_WRITABLE = 1u << 1,  /* send buffer has room */
    UTCP_EV_CONNECTED = 1u << 2, /* the handshake completed (edge) */
    UTCP_EV_ACCEPT = 1u << 3,    /* a listener has a connection to accept */
    UTCP_EV_CLOSED = 1u << 4,    /* the connection reached CLOSED (or
                                    TIME_WAIT) and all its data was read */
    UTCP_EV_ERROR = 1u << 5,     /* an error is pending: utcp_sock_error */
    UTCP_EV_HUP = 1u << 6,       /* the peer sent FIN (read side ended) */
};

/* Creates a TCP socket in CLOSED. Returns 0 and sets *out, or UTCP_ENOMEM
 * / UTCP_EMFILE. */
int utcp_socket(struct utcp_stack *s, utcp_sock *out);

/* Binds to (addr, port), host byte order. addr 0 means the stack's address;
 * port 0 picks an ephemeral port (RFC 6056). Fails with UTCP_EADDRINUSE when
 * another socket has the port (a listener, an open connection, or, without
 * UTCP_OPT_REUSEADDR, a connection in TIME_WAIT), UTCP_EADDRNOTAVAIL for a
 * foreign address, UTCP_EINVAL if already bound. */
int utcp_bind(struct utcp_stack *s, utcp_sock sk, uint32_t addr,
              uint16_t port);

/* Listens with the given backlog (accept queue length, 1..65535; values
 * outside are clamped). The socket must be bound. The SYN queue (half-open
 * connections) holds up to 2*backlog+16 entries. Overload (no SYN
 * cookies): a SYN arriving while the accept queue is full is dropped
 * (counter ListenOverflows), as is one arriving while the SYN queue is full
 * (ListenDrops); the client retransmits its SYN. A handshake whose final
 * ACK arrives while the accept queue is full stays in SYN_RECEIVED (the ACK
 * is ignored) and completes on a later ACK, prompted by the SYN+ACK
 * retransmission, once utcp_accept has made room. */
int utcp_listen(struct utcp_stack *s, utcp_sock sk, int backlog);

/* Takes one completed connection from the accept queue. Returns 0 and sets
 * *out, UTCP_EAGAIN when none is waiting, UTCP_EINVAL if not listening. The
 * new socket may already be past ESTABLISHED (the peer may have sent data
 * and FIN). */
int utcp_accept(struct utcp_stack *s, utcp_sock sk, utcp_sock *out);

/* Starts an active open to (addr, port), binding an ephemeral port first if
 * needed. Returns UTCP_EINPROGRESS: UTCP_EV_CONNECTED or UTCP_EV_ERROR
 * follows (then utcp_sock_error gives UTCP_ECONNREFUSED, UTCP_ETIMEDOUT...).
 * UTCP_EISCONN if already connected, UTCP_EALREADY while connecting. */
int utcp_connect(struct utcp_stack *s, utcp_sock sk, uint32_t addr,
                 uint16_t port);

/* Queues up to len bytes (copied) for sending. Returns the count queued (may
 * be short), UTCP_EAGAIN if the buffer is full, UTCP_EPIPE after shutdown of
 * the send side, UTCP_ECONNRESET after a reset, UTCP_ENOTCONN before the
 * connection is open. May send segments at once. */
long utcp_send(struct utcp_stack *s, utcp_sock sk, const void *buf,
               size_t len);

/* Copies up to len received bytes into buf. Returns the count, 0 at end of
 * stream (the peer's FIN and everything before it were read), UTCP_EAGAIN
 * when nothing is there yet, UTCP_ECONNRESET after a reset, UTCP_ENOTCONN
 * before the connection opened. Reading may send a window update. */
long utcp_recv(struct utcp_stack *s, utcp_sock sk, void *buf, size_t len);

/* Zero-copy sending. utcp_send_reserve points *buf at free space at the
 * end of the socket's send queue (taking or growing its storage for up to
 * want bytes) and returns how many bytes may be written there: at least 1,
 * at most want unless want is 0 (then whatever is contiguous), possibly
 * fewer when the free space wraps (commit, then reserve again). Errors as
 * utcp_send (UTCP_EAGAIN when the queue is full), or UTCP_ENOMEM. The space
 * belongs to the caller until utcp_send_commit or any other call on this
 * stack; utcp_send_commit(n) then queues the first n bytes written there
 * (n at most what reserve returned; 0 cancels) exactly as utcp_send would
 * have, and may send segments at once. Commit returns 0, UTCP_EINVAL for a
 * larger n or without a reservation, or utcp_send's errors. */
long utcp_send_reserve(struct utcp_stack *s, utcp_sock sk, void **buf,
                       size_t want);
int utcp_send_commit(struct utcp_stack *s, utcp_sock sk, size_t n);

/* Zero-copy receiving. utcp_recv_peek points *data at the oldest received
 * bytes, in the socket's receive queue, and returns how many are contiguous
 * there (call again after consuming for the rest), or what utcp_recv returns
 * with nothing queued (0 at end of stream, UTCP_EAGAIN, errors). The bytes
 * stay valid until utcp_recv_consume, utcp_recv or any call that lets the
 * stack run (input, tick, close). utcp_recv_consume(n) drops n of them (at
 * most what is queued: else UTCP_EINVAL), as reading them with utcp_recv
 * would (a window update may be sent); returns 0. */
long utcp_recv_peek(struct utcp_stack *s, utcp_sock sk, const void **data);
int utcp_recv_consume(struct utcp_stack *s, utcp_sock sk, size_t n);

enum { UTCP_SHUT_RD = 1, UTCP_SHUT_WR = 2, UTCP_SHUT_RDWR = 3 };

/* Shuts down one or both directions. SHUT_WR sends FIN after the queued data
 * (ESTABLISHED -> FIN_WAIT_1, CLOSE_WAIT -> LAST_ACK). SHUT_RD discards
 * unread and future data. */
int utcp_shutdown(struct utcp_stack *s, utcp_sock sk, int how);

/* Releases the handle. The connection closes gracefully in the background
 * (FIN after queued data), unless linger is 0 or received data is unread,
 * in which case it is reset (RST, RFC 1122 4.2.2.13). A listener's pending
 * connections are reset. The handle is stale afterwards. */
int utcp_close(struct utcp_stack *s, utcp_sock sk);

/* Resets the connection (RST if synchronized) and releases the handle. */
int utcp_abort(struct utcp_stack *s, utcp_sock sk);

/* Takes and clears the pending error of a socket (like SO_ERROR): 0 or a
 * negative UTCP_E* code. */
int utcp_sock_error(struct utcp_stack *s, utcp_sock sk);

/* Current readiness bits of a socket (level), or a negative code. */
int utcp_poll(struct utcp_stack *s, utcp_sock sk);

/* Returns the next socket whose readiness changed since it was last
 * reported, with its current bits (edge bits CONNECTED included once), or
 * UTCP_EAGAIN when no socket has news. */
int utcp_next_event(struct utcp_stack *s, utcp_sock *sk, uint32_t *events);

/* Options (utcp_setopt / utcp_getopt). Times are milliseconds. */
#define UTCP_OPTIONS(X)                                                        \
    X(NODELAY, "disable Nagle's algorithm (0/1)")                              \
    X(KEEPALIVE, "send keep-alive probes when idle (0/1)")                     \
    X(KEEPIDLE, "idle time before the first keep-alive probe, ms")             \
    X(KEEPINTVL, "time between keep-alive probes, ms")                         \
    X(KEEPCNT, "unanswered probes before the connection is dropped")           \
    X(LINGER, "-1: graceful close; 0: close sends RST")                        \
    X(SNDBUF, "send buffer size, bytes")                                       \
    X(RCVBUF, "receive buffer size, bytes")                                    \
    X(REUSEADDR, "bind may reuse a port held by TIME_WAIT (0/1)")              \
    X(MAXSEG, "largest segment to send, bytes (clamped by the peer's MSS)")    \
    X(MSL, "maximum segment lifetime, ms (TIME_WAIT is 2*MSL)")                \
    X(FIN_WAIT2_TIMEOUT, "FIN_WAIT_2 timeout once closed, ms (0: never)")      \
    X(SYN_RETRIES, "SYN retransmissions before connect times out")            \
    X(USER_TIMEOUT, "abort when data stays unacknowledged this long, ms (0: "  \
                    "by retries)")                                             \
    X(TIMESTAMPS, "offer RFC 7323 timestamps in the SYN (0/1; before "        \
                  "connect or listen)")                                        \
    X(SELECTIVE_ACKS, "offer SACK, RFC 2018, in the SYN (0/1; before "       \
                      "connect or listen)")

enum utcp_option {
#define UTCP_X_(name, help) UTCP_OPT_##name,
    UTCP_OPTIONS(UTCP_X_)
#undef UTCP_X_
    UTCP_OPT_COUNT_
};

int utcp_setopt(struct utcp_stack *s, utcp_sock sk, enum utcp_option opt,
                long value);
int utcp_getopt(struct utcp_stack *s, utcp_sock sk, enum utcp_option opt,
                long *value);

/* Local and remote address and port of a socket. */
int utcp_sockname(struct utcp_stack *s, utcp_sock sk, uint32_t *addr,
                  uint16_t *port);
int utcp_peername(struct utcp_stack *s, utcp_sock sk, uint32_t *addr,
                  uint16_t *port);

/* Per-connection information, like Linux's tcp_info. */
struct utcp_info {
    int state;              /* enum utcp_state (trace.h) */
    uint32_t conn_id;       /* the id trace events carry */
    uint32_t local_addr, remote_addr;
    uint16_t local_port, remote_port;
    uint32_t snd_una, snd_nxt, snd_wnd, rcv_nxt, rcv_wnd;
    uint32_t iss, irs;
    uint32_t mss;           /* effective send MSS */
    uint32_t cwnd, ssthresh;
    uint32_t srtt_us, rttvar_us, rto_us;
    uint32_t send_queue;    /* bytes queued, unsent or unacknowledged */
    uint32_t recv_queue;    /* bytes received, not yet read */
    uint32_t retransmits;   /* segments retransmitted over the life */
    uint32_t backoff;       /* current RTO back-off count */
    uint64_t state_since;   /* when the current state was entered */
    int timer;              /* enum utcp_timer_kind of the earliest timer */
    uint64_t timer_expires; /* UINT64_MAX when none */
    uint8_t snd_wscale, rcv_wscale;
    bool sack_ok, ts_ok;
    uint8_t cc;             /* the UTCP_CC_* in use (BBR without SACK or
                               RACK runs NewReno) */
    uint8_t bbr_mode;       /* BBR: 0 STARTUP, 1 DRAIN, 2 PROBE_BW,
                               3 PROBE_RTT (utcp_bbr_mode_name) */
    uint32_t min_rtt_us;    /* the smallest recent RTT (RACK's min_RTT,
                               RFC 8985 5.2; 0: none) */
    uint64_t pacing_rate;   /* bytes/s the sender paces at (0: not paced) */
    uint64_t btl_bw;        /* BBR's bottleneck bandwidth estimate, bytes/s
                               (0: none or not BBR) */
    uint32_t bbr_rtprop_us; /* BBR's RTprop, the min RTT of its model
                               (0: none or not BBR) */
};

int utcp_getinfo(struct utcp_stack *s, utcp_sock sk, struct utcp_info *info);

/* The name of a congestion control (UTCP_CC_*: "newreno", "cubic", "bbr")
 * and of a BBR mode (utcp_info.bbr_mode: "startup", "drain", "probe_bw",
 * "probe_rtt"); "?" for anything else. Static strings. */
const char *utcp_cc_name(int cc);
const char *utcp_bbr_mode_name(int mode);

/* Stack counters, named after the TCP-MIB (RFC 4022) where one exists. */
#define UTCP_COUNTERS(X)                                                       \
    X(ActiveOpens, "connections that went CLOSED -> SYN_SENT")                 \
    X(PassiveOpens, "connections that went LISTEN -> SYN_RECEIVED")            \
    X(AttemptFails, "SYN_SENT/SYN_RECEIVED -> CLOSED, or SYN_RECEIVED -> LISTEN") \
    X(EstabResets, "ESTABLISHED/CLOSE_WAIT -> CLOSED by reset")               \
    X(CurrEstab, "connections now in ESTABLISHED or CLOSE_WAIT")               \
    X(InSegs, "segments received, errors included")                            \
    X(OutSegs, "segments sent, retransmissions excluded")                      \
    X(RetransSegs, "segments retransmitted")                                   \
    X(InErrs, "segments received with errors (checksum, header)")             \
    X(OutRsts, "segments sent with RST")                                       \
    X(InRsts, "segments received with RST")                                    \
    X(InPackets, "IPv4 packets handed to utcp_input")                          \
    X(InIpErrs, "IPv4 packets dropped as malformed")                           \
    X(InIpFragments, "IPv4 fragments dropped (no reassembly)")                 \
    X(InOtherIpVersion, "packets of another IP version (IPv6) dropped")        \
    X(InNotForUs, "packets for another address or protocol")                   \
    X(InIcmp, "ICMP messages received")                                        \
    X(OutIcmp, "ICMP messages sent")                                           \
    X(DroppedSegs, "valid segments dropped by TCP rules (see trace reasons)") \
    X(ChallengeAcks, "RFC 5961 challenge ACKs sent")                           \
    X(ListenOverflows, "SYNs dropped because the accept queue was full")       \
    X(ListenDrops, "SYNs dropped because the SYN queue was full")              \
    X(TimeWaitRecycled, "TIME_WAIT records ended early by a new SYN")         \
    X(IllegalTransitions, "state changes not in the transition table (bugs)") \
    X(OooSegs, "segments queued out of order")                                 \
    X(DelayedAcks, "ACKs sent by the delayed-ACK timer")                       \
    X(FastRetrans, "fast retransmits: entries into loss recovery by dup ACKs")\
    X(Timeouts, "retransmission timer expiries")                               \
    X(KeepaliveProbes, "keep-alive probes sent")                               \
    X(ZeroWindowProbes, "zero-window probes sent")                             \
    X(ConnsAlloc, "connection records allocated")                              \
    X(ConnsFree, "connection records freed")                                   \
    X(SackRecoveries, "loss recoveries driven by SACK (RFC 6675)")            \
    X(SpuriousRecoveries, "fast recoveries undone: the ACK echoed a TSval "   \
                          "older than the retransmission (RFC 3522)")          \
    X(SackRetrans, "segments retransmitted from the SACK scoreboard")         \
    X(SackRtoFlushes, "RTOs that discarded a non-empty SACK scoreboard")      \
    X(PawsDrops, "segments dropped by PAWS (RFC 7323 5)")                     \
    X(TsRttSamples, "RTT samples taken from timestamp echoes (RFC 7323 4)") \
    X(RecRttSamples, "RTT samples taken from RACK's transmit records "      \
                     "(RFC 8985 6.2, RFC 6298 3 Karn)")                     \
    X(RackLost, "segments marked lost by RACK (RFC 8985 6.2)")               \
    X(RackLostRetrans, "lost retransmissions found by RACK, each a window "  \
                       "reduction (RFC 8985 9.3)")                           \
    X(TlpProbes, "tail loss probes sent (RFC 8985 7.3)")                     \
    X(TlpRecoveries, "losses repaired by a loss probe (RFC 8985 7.4.2)")     \
    X(DsackRcvd, "ACKs carrying a D-SACK block (RFC 2883)")                 \
    X(LinkBusyWaits, "times new data waited for the link's queue "          \
                     "(utcp_config.output_busy)")

struct utcp_counters {
#define UTCP_X_(name, help) uint64_t name;
    UTCP_COUNTERS(UTCP_X_)
#undef UTCP_X_
};

void utcp_get_counters(const struct utcp_stack *s, struct utcp_counters *out);

/* Calls fn once per connection (TIME_WAIT records included, with sk 0) with
 * its info, for `utcp stat`. fn must not call into the stack. */
void utcp_foreach_conn(struct utcp_stack *s,
                       void (*fn)(void *ctx, utcp_sock sk,
                                  const struct utcp_info *info),
                       void *ctx);

#ifdef __cplusplus
}
#endif
#endif
