/*
 * seg: a segment-level harness. One utcp stack (192.0.2.1) talks to a
 * scripted fake peer (192.0.2.2): the test injects crafted segments at a
 * virtual time and checks, one by one, the segments the stack sends.
 * Helpers drive the stack into a state through real transitions only.
 * Test support only: allocation failures abort.
 */
#ifndef UTCP_SEG_H
#define UTCP_SEG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "utcp/utcp.h"
#include "utcp/wire.h"

#define SEG_US 0xC0000201u   /* the stack under test: 192.0.2.1 */
#define SEG_PEER 0xC0000202u /* the scripted peer: 192.0.2.2 */
#define SEG_ANY (-1L)        /* wildcard for seg_expect fields */
#define SEG_MAX_CAP 4096
#define SEG_MAX_STATES 1024

#define F_SYN UTCP_TH_SYN
#define F_ACK UTCP_TH_ACK
#define F_FIN UTCP_TH_FIN
#define F_RST UTCP_TH_RST
#define F_PSH UTCP_TH_PSH

#define SEG_MS 1000ull
#define SEG_SEC 1000000ull

struct seg_cap {
    uint64_t at;
    uint8_t flags;
    uint32_t seq, ack, len;
    uint16_t win, sport, dport;
    struct utcp_tcp_opts opts;
    bool csum_ok; /* the TCP checksum verifies (false with TX offload) */
    uint8_t *raw; /* the whole IPv4 packet */
    size_t raw_len;
    const uint8_t *data; /* into raw */
    struct utcp_output_meta meta; /* what output_ex was told */
};

struct seg_state_ev {
    uint64_t at;
    uint32_t conn_id;
    int old_state, new_state, cause;
};

struct seg_h {
    struct utcp_stack *st;
    struct utcp_config cfg;
    uint64_t now;
    struct seg_cap *cap;
    size_t ncap, next;
    struct seg_state_ev states[SEG_MAX_STATES];
    size_t nstates;
    uint64_t bad_transitions;
    int timer_fires[16];
    int timer_sets[16];
    int drops[64];         /* by enum utcp_drop_reason */
    uint16_t lport, pport; /* the stack's port, the peer's port */
    uint32_t iss;          /* the stack's ISS (from its SYN) */
    uint32_t piss;         /* the peer's ISS */
    uint16_t pwin;         /* window the helpers advertise for the peer */
    struct utcp_tcp_opts syn_opts; /* options of the stack's SYN or SYN+ACK
                                      in the last seg_open_* */
};

/* A config for the harness: seed 7, rcvbuf 8192 (so the advertised window
 * is 8192, unscaled), everything else default. */
struct utcp_config seg_default_cfg(void);

/* Creates the stack at time 0 (cfg NULL: seg_default_cfg()). Ports: the
 * stack uses 80, the peer 40000. */
void seg_init(struct seg_h *h, const struct utcp_config *cfg);
void seg_destroy(struct seg_h *h);

/* Injects one segment from the peer at the current time. */
void seg_send(struct seg_h *h, uint8_t flags, uint32_t seq, uint32_t ack,
              uint16_t win, const void *data, size_t len);
/* The same with a full header (ports, options) taken from th. */
void seg_send_th(struct seg_h *h, const struct utcp_tcp *th, const void *data,
                 size_t len);
/* Hands a raw IPv4 packet to the stack at the current time. */
void seg_send_raw(struct seg_h *h, const uint8_t *pkt, size_t len);

/* seg_send with TCP options (o may be NULL). */
void seg_send_opts(struct seg_h *h, uint8_t flags, uint32_t seq, uint32_t ack,
                   uint16_t win, const struct utcp_tcp_opts *o,
                   const void *data, size_t len);

/* Advances virtual time by dt, firing every timer at its own instant. */
void seg_run(struct seg_h *h, uint64_t dt);
/* The sequence number of the first byte of the stack's k-th data segment of
 * smss bytes (its data starts at h->iss + 1). */
uint32_t seg_our_seq(const struct seg_h *h, uint32_t k, uint32_t smss);
/* The peer acknowledges `ack` (from its sequence number pseq, window
 * h->pwin) with n SACK blocks given as indexes of the stack's smss-byte
 * segments: [lr[2i], lr[2i + 1]). */
void seg_send_sack(struct seg_h *h, uint32_t pseq, uint32_t ack, unsigned n,
                   const uint32_t *lr, uint32_t smss);
/* Advances to the stack's next deadline (fails if none); returns it. */
uint64_t seg_run_to_next_timer(struct seg_h *h);

/* The next captured segment not yet checked, or NULL (and consumes it). */
const struct seg_cap *seg_take(struct seg_h *h);
/* Checks the next captured segment: flags exactly, and each other field
 * unless SEG_ANY. Returns it. */
const struct seg_cap *seg_expect_(struct seg_h *h, long flags, long seq,
                                  long ack, long len, long win,
                                  const char *file, int line);
#define expect_seg(h, flags, seq, ack, len, win)                               \
    seg_expect_((h), (long)(flags), (long)(seq), (long)(ack), (long)(len),    \
                (long)(win), __FILE__, __LINE__)
/* Checks that the stack sent nothing not yet checked. */
void seg_expect_nothing_(struct seg_h *h, const char *file, int line);
#define expect_nothing(h) seg_expect_nothing_((h), __FILE__, __LINE__)

/* "CLOSED>SYN_SENT>..." for one connection id, as tnet_states. */
const char *seg_states(const struct seg_h *h, uint32_t conn_id, char *buf,
                       size_t cap);
void seg_expect_states_(const struct seg_h *h, uint32_t conn_id,
                        const char *want, const char *file, int line);
#define expect_states(h, id, want)                                             \
    seg_expect_states_((h), (id), (want), __FILE__, __LINE__)
/* The connection id of a socket (0 for a stale handle). */
uint32_t seg_conn_id(struct seg_h *h, utcp_sock sk);
/* The state of a socket, or -1 for a stale handle. */
int seg_state(struct seg_h *h, utcp_sock sk);
struct utcp_info seg_info(struct seg_h *h, utcp_sock sk);
/* The value of one stack counter, by name: SEG_CTR(h, ChallengeAcks). */
uint64_t seg_counter_(const struct seg_h *h, size_t off);
#define SEG_CTR(h, name) seg_counter_((h), offsetof(struct utcp_counters, name))

/* Active open: socket bound to h->lport, connect to the peer; expects the
 * SYN, answers SYN+ACK (ISS piss, window h->pwin, MSS 1460) after rtt,
 * expects the ACK. Returns the ESTABLISHED socket. */
utcp_sock seg_open_active(struct seg_h *h, uint32_t piss, uint64_t rtt);
/* The same, the SYN+ACK also carrying the options of o (MSS 1460 is
 * added; a TS option with ts_ecr 0 echoes the SYN's TSval). The stack's
 * SYN options are left in h->syn_opts. */
utcp_sock seg_open_active_opts(struct seg_h *h, uint32_t piss, uint64_t rtt,
                               const struct utcp_tcp_opts *o);
/* Passive open: listener on h->lport (*lsk), the peer sends SYN (piss,
 * MSS 1460), expects SYN+ACK, answers ACK after rtt, accepts. Returns the
 * ESTABLISHED socket. */
utcp_sock seg_open_passive(struct seg_h *h, utcp_sock *lsk, uint32_t piss,
                           uint64_t rtt);
/* The same, the SYN also carrying the options of o; with TS, the final ACK
 * carries TSval o->ts_val and echoes the SYN+ACK's TSval. */
utcp_sock seg_open_passive_opts(struct seg_h *h, utcp_sock *lsk, uint32_t piss,
                                uint64_t rtt, const struct utcp_tcp_opts *o);
/* Starts a listener on h->lport. */
utcp_sock seg_listen(struct seg_h *h, int backlog);

#endif
