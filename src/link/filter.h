/*
 * Internal side of the impairment filter (public API: utcp/filter.h): the
 * packet summary that targeted rules match against.
 */
#ifndef UTCP_LINK_FILTER_H
#define UTCP_LINK_FILTER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "utcp/filter.h"

/* What a rule can see of a packet. */
struct utcp__filter_pkt {
    bool is_tcp;          /* a well-formed IPv4/TCP packet (the TCP
                             checksum is not verified) */
    uint8_t flags;        /* UTCP_TH_* (0 when not TCP) */
    size_t payload_len;   /* TCP payload bytes (0 when not TCP) */
};

/* Summarises pkt[0..len) for rule matching. Never fails. */
void utcp__filter_classify(const uint8_t *pkt, size_t len,
                           struct utcp__filter_pkt *out);

/* Whether the packet summary p sent in direction dir matches m. */
bool utcp__filter_matches(const struct utcp_filter_match *m, int dir,
                          const struct utcp__filter_pkt *p);

#endif
