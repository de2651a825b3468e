/*
 * libFuzzer target for the wire parsers: IPv4, then TCP (checksum verified
 * and not) or ICMP, on the input as given and on a copy whose checksums are
 * fixed up (so mutations reach the option parsers past the checksum gates).
 * Every TCP segment and ICMP echo that parses is rebuilt with the builders
 * and parsed again; any difference aborts. Must never: accept a parse result
 * that points outside the input, or let a rebuilt packet differ.
 */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "utcp/wire.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define CHECK(cond)                                                            \
    do {                                                                       \
        if (!(cond)) {                                                         \
            fprintf(stderr, "%s:%d: check failed: %s\n", __FILE__, __LINE__,  \
                    #cond);                                                    \
            abort();                                                           \
        }                                                                      \
    } while (0)

/* p[0..n) lies within buf[0..len). */
static bool inside(const uint8_t *p, size_t n, const uint8_t *buf, size_t len)
{
    if (n == 0)
        return true;
    return p >= buf && (size_t)(p - buf) <= len && n <= len - (size_t)(p - buf);
}

static void check_reason(enum utcp_wire_reason r)
{
    CHECK((unsigned)r < UTCP_WIRE_REASON_COUNT);
    CHECK(utcp_wire_reason_str(r) != NULL);
    CHECK(utcp_wire_reason_name(r) != NULL);
}

static void check_ipv4(const struct utcp_ipv4 *ip, const uint8_t *buf,
                       size_t len)
{
    CHECK(ip->hdr_len >= UTCP_IPV4_HDR_LEN && ip->hdr_len <= 60);
    CHECK(ip->total_len <= len && ip->total_len >= ip->hdr_len);
    CHECK(ip->payload == buf + ip->hdr_len);
    CHECK(ip->payload_len == (size_t)ip->total_len - ip->hdr_len);
    CHECK(!ip->mf && ip->frag_off == 0);
}

static void check_tcp(const struct utcp_tcp *t, const uint8_t *seg, size_t len)
{
    CHECK(t->hdr_len >= UTCP_TCP_HDR_LEN && t->hdr_len <= UTCP_TCP_MAX_HDR_LEN);
    CHECK(t->hdr_len % 4 == 0 && t->hdr_len <= len);
    CHECK(t->payload == seg + t->hdr_len);
    CHECK(t->payload_len == len - t->hdr_len);
    CHECK(t->sport != 0 && t->dport != 0);
    CHECK(t->opts.sack_count <= UTCP_MAX_SACK_BLOCKS);
    CHECK(!(t->opts.present & UTCP_OPT_SACK) == !t->opts.sack_count);
}

static bool same_opts(const struct utcp_tcp_opts *a,
                      const struct utcp_tcp_opts *b)
{
    if (a->present != b->present)
        return false;
    if ((a->present & UTCP_OPT_MSS) && a->mss != b->mss)
        return false;
    if ((a->present & UTCP_OPT_WSCALE) && a->wscale != b->wscale)
        return false;
    if ((a->present & UTCP_OPT_TS) &&
        (a->ts_val != b->ts_val || a->ts_ecr != b->ts_ecr))
        return false;
    if (a->present & UTCP_OPT_SACK) {
        if (a->sack_count != b->sack_count)
            return false;
        for (unsigned i = 0; i < a->sack_count; i++)
            if (a->sack[i].left != b->sack[i].left ||
                a->sack[i].right != b->sack[i].right)
                return false;
    }
    return true;
}

/* Rebuilds a parsed segment and checks that it parses back to the same
 * fields and options. */
static void roundtrip_tcp(const struct utcp_ipv4 *ip, const struct utcp_tcp *t)
{
    static uint8_t out[65536 + 64];
    size_t olen = utcp_tcp_opts_len(&t->opts);
    CHECK(olen % 4 == 0);
    size_t n = utcp_ipv4_tcp_build(out, sizeof out, ip, t, t->payload,
                                   t->payload_len);
    if (olen > 40 || UTCP_TCP_HDR_LEN + olen + t->payload_len > 65535 - 20) {
        CHECK(n == 0); /* documented refusals */
        return;
    }
    CHECK(n == UTCP_IPV4_HDR_LEN + UTCP_TCP_HDR_LEN + olen + t->payload_len);

    struct utcp_ipv4 ip2;
    CHECK(utcp_ipv4_parse(out, n, &ip2) == UTCP_WIRE_OK);
    check_ipv4(&ip2, out, n);
    CHECK(ip2.src == ip->src && ip2.dst == ip->dst && ip2.id == ip->id);
    CHECK(ip2.ttl == ip->ttl && ip2.tos == ip->tos && ip2.df == ip->df);
    CHECK(ip2.proto == UTCP_IPPROTO_TCP && ip2.hdr_len == UTCP_IPV4_HDR_LEN);

    struct utcp_tcp t2;
    CHECK(utcp_tcp_parse(ip2.payload, ip2.payload_len, ip2.src, ip2.dst, true,
                         &t2) == UTCP_WIRE_OK);
    check_tcp(&t2, ip2.payload, ip2.payload_len);
    CHECK(t2.hdr_len == UTCP_TCP_HDR_LEN + olen);
    CHECK(t2.sport == t->sport && t2.dport == t->dport);
    CHECK(t2.seq == t->seq && t2.ack == t->ack);
    CHECK(t2.flags == t->flags && t2.win == t->win && t2.urg == t->urg);
    CHECK(t2.opts.unknown_count == 0);
    CHECK(same_opts(&t2.opts, &t->opts));
    CHECK(t2.payload_len == t->payload_len);
    CHECK(t->payload_len == 0 ||
          memcmp(t2.payload, t->payload, t->payload_len) == 0);
}

static void roundtrip_echo(const struct utcp_icmp *m)
{
    static uint8_t out[65536];
    size_t n = utcp_icmp_echo_build(out, sizeof out, m);
    CHECK(n == 8 + m->data_len);
    struct utcp_icmp m2;
    CHECK(utcp_icmp_parse(out, n, &m2) == UTCP_WIRE_OK);
    /* RFC 792: an echo's code is 0; the builder always writes 0, while the
     * parser passes on whatever code arrived. */
    CHECK(m2.type == m->type && m2.code == 0);
    CHECK(m2.id == m->id && m2.seq == m->seq);
    CHECK(m2.data_len == m->data_len);
    CHECK(m->data_len == 0 || memcmp(m2.data, m->data, m->data_len) == 0);
}

static void run_tcp(const struct utcp_ipv4 *ip)
{
    struct utcp_tcp t1, t2;
    enum utcp_wire_reason r1 = utcp_tcp_parse(ip->payload, ip->payload_len,
                                              ip->src, ip->dst, true, &t1);
    enum utcp_wire_reason r2 = utcp_tcp_parse(ip->payload, ip->payload_len,
                                              ip->src, ip->dst, false, &t2);
    check_reason(r1);
    check_reason(r2);
    CHECK(r2 != UTCP_WIRE_TCP_CHECKSUM);
    /* The checksum is the only check verify_csum turns off. */
    if (r1 != UTCP_WIRE_TCP_CHECKSUM)
        CHECK(r1 == r2);
    if (r1 == UTCP_WIRE_OK)
        check_tcp(&t1, ip->payload, ip->payload_len);
    if (r2 == UTCP_WIRE_OK) {
        check_tcp(&t2, ip->payload, ip->payload_len);
        roundtrip_tcp(ip, &t2);
    }
}

static void run_icmp(const struct utcp_ipv4 *ip)
{
    struct utcp_icmp m;
    enum utcp_wire_reason r = utcp_icmp_parse(ip->payload, ip->payload_len, &m);
    check_reason(r);
    if (r != UTCP_WIRE_OK)
        return;
    CHECK(inside(m.data, m.data_len, ip->payload, ip->payload_len));
    if (m.type == UTCP_ICMP_ECHO_REQUEST || m.type == UTCP_ICMP_ECHO_REPLY) {
        roundtrip_echo(&m);
    } else {
        CHECK(m.type == UTCP_ICMP_DEST_UNREACH);
        CHECK(m.quoted.hdr_len >= UTCP_IPV4_HDR_LEN);
        CHECK(inside(m.quoted.payload, 8, ip->payload, ip->payload_len));
        if (m.code != UTCP_ICMP_UNREACH_FRAG_NEEDED)
            CHECK(m.next_mtu == 0);
    }
}

static void run(const uint8_t *buf, size_t len)
{
    struct utcp_ipv4 ip;
    enum utcp_wire_reason r = utcp_ipv4_parse(buf, len, &ip);
    check_reason(r);
    if (r != UTCP_WIRE_OK)
        return;
    check_ipv4(&ip, buf, len);
    if (ip.proto == UTCP_IPPROTO_TCP)
        run_tcp(&ip);
    else if (ip.proto == UTCP_IPPROTO_ICMP)
        run_icmp(&ip);
}

/* Recomputes the IPv4 header checksum and the TCP or ICMP checksum of buf in
 * place, where the lengths allow it. Independent of the parsers on purpose. */
static void fix_checksums(uint8_t *buf, size_t len)
{
    if (len < UTCP_IPV4_HDR_LEN || buf[0] >> 4 != 4)
        return;
    size_t hl = (size_t)(buf[0] & 0x0f) * 4;
    if (hl < UTCP_IPV4_HDR_LEN || hl > len)
        return;
    buf[10] = buf[11] = 0;
    utcp_put16(buf + 10, utcp_csum(buf, hl));

    size_t total = utcp_get16(buf + 2);
    if (total < hl || total > len)
        return;
    uint8_t *l4 = buf + hl;
    size_t l4len = total - hl;
    if (buf[9] == UTCP_IPPROTO_TCP && l4len >= UTCP_TCP_HDR_LEN) {
        l4[16] = l4[17] = 0;
        uint32_t sum = utcp_csum_pseudo(utcp_get32(buf + 12),
                                        utcp_get32(buf + 16), UTCP_IPPROTO_TCP,
                                        (uint16_t)l4len);
        utcp_put16(l4 + 16, utcp_csum_fold(utcp_csum_partial(l4, l4len, sum)));
    } else if (buf[9] == UTCP_IPPROTO_ICMP && l4len >= 8) {
        l4[2] = l4[3] = 0;
        utcp_put16(l4 + 2, utcp_csum(l4, l4len));
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    run(data, size);

    if (size > 65535 + 64)
        return 0;
    uint8_t *copy = malloc(size ? size : 1);
    if (!copy)
        return 0;
    memcpy(copy, data, size);
    fix_checksums(copy, size);
    run(copy, size);
    free(copy);
    return 0;
}
