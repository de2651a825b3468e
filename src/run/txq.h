/*
 * The runtime's transmit thread (txq.c): packets queued by the stack's
 * thread, written to the TUN device by another, in order.
 */
#ifndef UTCP_RUN_TXQ_H
#define UTCP_RUN_TXQ_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "utcp/utcp.h"

struct utcp_txq;

struct utcp_txq_stats {
    uint64_t packets, bytes; /* written to the device */
    uint64_t dropped;        /* refused by the device (EAGAIN, ENOBUFS) */
    uint64_t errors;         /* other write errors */
};

/* Writes one packet (meta may be NULL) and returns its length, UTCP_EAGAIN
 * (counted as dropped) or another UTCP_E* code (counted as an error): as
 * utcp_tun_send, which it calls in the runtime. Runs in the writer thread. */
typedef long (*utcp_txq_write_fn)(void *ctx, const uint8_t *pkt, size_t len,
                                  const struct utcp_output_meta *meta);

/* Starts the writer thread, which hands every queued packet to write(ctx,
 * ...) in order, with a ring of at least ring_bytes (rounded up to a power
 * of two, at least 64 KiB). Returns 0 and sets *out, or UTCP_ENOMEM /
 * UTCP_EAGAIN. What write uses (the device) must stay valid until
 * utcp_txq_stop, and nothing else may write meanwhile. */
int utcp_txq_start(struct utcp_txq **out, utcp_txq_write_fn write, void *ctx,
                   uint32_t ring_bytes);

/* Copies one packet (and meta, may be NULL) into the ring: pkt is not used
 * after the call; the writer may see it only at the next utcp_txq_flush.
 * Waits while the ring is full. Returns 0, or UTCP_EINVAL
 * for a packet larger than half the ring. Producer: one thread only. */
int utcp_txq_push(struct utcp_txq *q, const uint8_t *pkt, size_t len,
                  const struct utcp_output_meta *meta);

/* Reserves room for one packet of at most len bytes at the end of the
 * queue, waiting while the ring is full, and returns where to write it (in
 * the ring: any alignment), or NULL for a packet larger than half the ring.
 * Write the packet there, then utcp_txq_commit it; the writer sees nothing
 * before. A later reserve or push voids a reservation not committed (its
 * space is reused). Producer: one thread only. */
uint8_t *utcp_txq_reserve(struct utcp_txq *q, size_t len);

/* Queues the packet written at what utcp_txq_reserve last returned: len
 * bytes (at most the reserved length), meta as for utcp_txq_push. Returns
 * 0, or UTCP_EINVAL without a reservation or for a larger len. */
int utcp_txq_commit(struct utcp_txq *q, size_t len,
                    const struct utcp_output_meta *meta);

/* Hands the writer every packet queued so far. The producer does so by
 * itself every few packets (each hand-over moves a cache line between the
 * cores); it must call this before it waits for anything else (epoll), or
 * the last few packets it queued wait with it. Producer only. */
void utcp_txq_flush(struct utcp_txq *q);

/* True when everything queued has been written (the writer is done with
 * its last write): the producer may then write a packet itself without
 * passing one queued before it. Producer only. */
bool utcp_txq_idle(const struct utcp_txq *q);

/* True when at least limit bytes of records are queued and not yet
 * written (records are rounded up to cache lines: a 1500-byte packet takes
 * 1536). Reads the writer's position only when its last known one says so:
 * cheap enough to ask before every packet. Producer only. */
bool utcp_txq_over(struct utcp_txq *q, uint32_t limit);

/* Counts so far (read while the writer runs: each is exact, together they
 * are a snapshot of moments apart). */
void utcp_txq_get_stats(const struct utcp_txq *q, struct utcp_txq_stats *out);

/* Writes everything queued, ends the thread and frees q. NULL accepted. */
void utcp_txq_stop(struct utcp_txq *q);

#endif
