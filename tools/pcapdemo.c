/*
 * `utcp pcapdemo FILE`: builds a short, realistic TCP conversation (handshake
 * with MSS/SACK-permitted/timestamps/window scale, data, a SACK, FIN, RST)
 * and an ICMP echo exchange with the wire layer alone, writes them to a pcap
 * file for Wireshark/tshark, and prints one summary line per packet, read
 * back through the wire parsers. Must never: touch the network, read a clock
 * (the timeline is fixed, so the output is reproducible byte for byte).
 */
#include <errno.h>
#include <inttypes.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include "tools.h"
#include "utcp/pcap.h"
#include "utcp/wire.h"

#define CLIENT_ADDR 0xc0000201u /* 192.0.2.1 */
#define SERVER_ADDR 0xc0000202u /* 192.0.2.2 */
#define CLIENT_PORT 40000
#define SERVER_PORT 80
#define CLIENT_ISS 3000000000u
#define SERVER_ISS 1234567890u
#define CLIENT_TS0 4000000u /* TSval clocks (1 ms ticks) */
#define SERVER_TS0 9000000u
#define EPOCH_US UINT64_C(1704067200000000) /* 2024-01-01T00:00:00Z */
#define DEMO_MAX_PKTS 16
#define DEMO_PKT_CAP 1600

/* Exactly 100 bytes of payload, a plausible HTTP request. */
static const char http_request[] = "GET / HTTP/1.1\r\n"
                                   "Host: 192.0.2.2\r\n"
                                   "User-Agent: utcp-pcapdemo/0.1.0\r\n"
                                   "Accept: */*\r\n"
                                   "Connection: close\r\n"
                                   "\r\n";
_Static_assert(sizeof http_request - 1 == 100, "payload must be 100 bytes");

struct demo_pkt {
    uint64_t t_us; /* since the first packet */
    size_t len;
    uint8_t buf[DEMO_PKT_CAP];
};

struct demo {
    struct demo_pkt pkt[DEMO_MAX_PKTS];
    size_t n;
    uint16_t ip_id[2]; /* per direction: [0] client, [1] server */
};

/* One TCP segment to build. */
struct seg {
    uint64_t t_us;
    bool from_client;
    uint8_t flags;
    uint32_t seq, ack;
    uint16_t win;
    struct utcp_tcp_opts opts;
    const uint8_t *payload;
    size_t payload_len;
};

static struct demo_pkt *next_pkt(struct demo *d, uint64_t t_us)
{
    if (d->n == DEMO_MAX_PKTS)
        return NULL;
    struct demo_pkt *p = &d->pkt[d->n];
    p->t_us = t_us;
    p->len = 0;
    return p;
}

static struct utcp_ipv4 ip_header(struct demo *d, bool from_client,
                                  uint8_t proto)
{
    struct utcp_ipv4 ip;
    memset(&ip, 0, sizeof ip);
    ip.src = from_client ? CLIENT_ADDR : SERVER_ADDR;
    ip.dst = from_client ? SERVER_ADDR : CLIENT_ADDR;
    ip.id = d->ip_id[from_client ? 0 : 1]++;
    ip.ttl = 64;
    ip.proto = proto;
    ip.df = proto == UTCP_IPPROTO_TCP;
    return ip;
}

static bool add_tcp(struct demo *d, const struct seg *s)
{
    struct demo_pkt *p = next_pkt(d, s->t_us);
    if (!p)
        return false;
    struct utcp_ipv4 ip = ip_header(d, s->from_client, UTCP_IPPROTO_TCP);
    struct utcp_tcp h;
    memset(&h, 0, sizeof h);
    h.sport = s->from_client ? CLIENT_PORT : SERVER_PORT;
    h.dport = s->from_client ? SERVER_PORT : CLIENT_PORT;
    h.seq = s->seq;
    h.ack = s->ack;
    h.flags = s->flags;
    h.win = s->win;
    h.opts = s->opts;
    p->len = utcp_ipv4_tcp_build(p->buf, sizeof p->buf, &ip, &h, s->payload,
                                 s->payload_len);
    if (p->len == 0)
        return false;
    d->n++;
    return true;
}

static bool add_echo(struct demo *d, uint64_t t_us, bool from_client,
                     uint8_t type, const uint8_t *data, size_t data_len)
{
    struct demo_pkt *p = next_pkt(d, t_us);
    if (!p)
        return false;
    struct utcp_ipv4 ip = ip_header(d, from_client, UTCP_IPPROTO_ICMP);
    struct utcp_icmp m;
    memset(&m, 0, sizeof m);
    m.type = type;
    m.code = 0;
    m.id = 0x1234;
    m.seq = 1;
    m.data = data;
    m.data_len = data_len;
    size_t mlen = utcp_icmp_echo_build(p->buf + UTCP_IPV4_HDR_LEN,
                                       sizeof p->buf - UTCP_IPV4_HDR_LEN, &m);
    if (mlen == 0 ||
        utcp_ipv4_build(p->buf, sizeof p->buf, &ip, mlen) != UTCP_IPV4_HDR_LEN)
        return false;
    p->len = UTCP_IPV4_HDR_LEN + mlen;
    d->n++;
    return true;
}

static struct utcp_tcp_opts ts_opt(uint32_t val, uint32_t ecr)
{
    struct utcp_tcp_opts o;
    memset(&o, 0, sizeof o);
    o.present = UTCP_OPT_TS;
    o.ts_val = val;
    o.ts_ecr = ecr;
    return o;
}

static struct utcp_tcp_opts syn_opts(uint32_t val, uint32_t ecr, uint8_t ws)
{
    struct utcp_tcp_opts o = ts_opt(val, ecr);
    o.present |= UTCP_OPT_MSS | UTCP_OPT_SACK_PERM | UTCP_OPT_WSCALE;
    o.mss = 1460;
    o.wscale = ws;
    return o;
}

/* The whole conversation. Times in microseconds since the SYN; the client
 * and server TSval clocks tick once per millisecond, 20 ms round trip. */
static bool build_demo(struct demo *d)
{
    const uint32_t c = CLIENT_ISS, s = SERVER_ISS;
    const uint32_t cts = CLIENT_TS0, sts = SERVER_TS0;
    const size_t dlen = sizeof http_request - 1;
    const uint8_t *data = (const uint8_t *)http_request;
    uint8_t echo[56];
    for (size_t i = 0; i < sizeof echo; i++)
        echo[i] = (uint8_t)(0x10 + i);
    d->n = 0;
    d->ip_id[0] = 0x4d2;
    d->ip_id[1] = 0x162e;

    const struct seg segs[] = {
        /* RFC 9293 3.5: the three-way handshake. */
        {0, true, UTCP_TH_SYN, c, 0, 64240, syn_opts(cts, 0, 7), NULL, 0},
        {20000, false, UTCP_TH_SYN | UTCP_TH_ACK, s, c + 1, 65160,
         syn_opts(sts + 10, cts, 9), NULL, 0},
        {20100, true, UTCP_TH_ACK, c + 1, s + 1, 502, ts_opt(cts + 20, sts + 10),
         NULL, 0},
        /* 100 bytes of data, pushed. */
        {20200, true, UTCP_TH_PSH | UTCP_TH_ACK, c + 1, s + 1, 502,
         ts_opt(cts + 20, sts + 10), data, dlen},
        /* The ACK of the data, with one SACK block (RFC 2018), filled in
         * below: the server also holds bytes 201..300 of the stream, sent
         * on a path this capture does not see, beyond a hole at 101..200.
         * (A block at or below the ACK would be a D-SACK, RFC 2883.) */
        {30300, false, UTCP_TH_ACK, s + 1, c + 1 + (uint32_t)dlen, 128,
         ts_opt(sts + 20, cts + 20), NULL, 0},
        /* RFC 9293 3.6: the client closes. */
        {40000, true, UTCP_TH_FIN | UTCP_TH_ACK, c + 1 + (uint32_t)dlen, s + 1,
         502, ts_opt(cts + 40, sts + 20), NULL, 0},
        {50000, false, UTCP_TH_ACK, s + 1, c + 2 + (uint32_t)dlen, 128,
         ts_opt(sts + 40, cts + 40), NULL, 0},
        /* The server aborts (RFC 9293 3.10.5): RST at SND.NXT, no ACK. */
        {60000, false, UTCP_TH_RST, s + 1, 0, 0, ts_opt(0, 0), NULL, 0},
    };
    for (size_t i = 0; i < sizeof segs / sizeof segs[0]; i++) {
        struct seg sg = segs[i];
        if (sg.flags == UTCP_TH_RST)
            sg.opts.present = 0; /* a bare RST carries no options */
        if (i == 4) {
            sg.opts.present |= UTCP_OPT_SACK;
            sg.opts.sack_count = 1;
            sg.opts.sack[0].left = c + 1 + 2 * (uint32_t)dlen;
            sg.opts.sack[0].right = c + 1 + 3 * (uint32_t)dlen;
        }
        if (!add_tcp(d, &sg))
            return false;
    }
    return add_echo(d, 100000, true, UTCP_ICMP_ECHO_REQUEST, echo,
                    sizeof echo) &&
           add_echo(d, 120000, false, UTCP_ICMP_ECHO_REPLY, echo, sizeof echo);
}

/* ---- printing, from the packets parsed back ---- */

static void put_addr(FILE *f, uint32_t a)
{
    fprintf(f, "%u.%u.%u.%u", (unsigned)(a >> 24), (unsigned)(a >> 16 & 0xff),
            (unsigned)(a >> 8 & 0xff), (unsigned)(a & 0xff));
}

static void put_flags(FILE *f, uint8_t flags)
{
    static const struct {
        uint8_t bit;
        const char *name;
    } names[] = {
        {UTCP_TH_SYN, "SYN"}, {UTCP_TH_FIN, "FIN"}, {UTCP_TH_RST, "RST"},
        {UTCP_TH_PSH, "PSH"}, {UTCP_TH_ACK, "ACK"}, {UTCP_TH_URG, "URG"},
        {UTCP_TH_ECE, "ECE"}, {UTCP_TH_CWR, "CWR"},
    };
    const char *sep = "";
    fputc('[', f);
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) {
        if (flags & names[i].bit) {
            fprintf(f, "%s%s", sep, names[i].name);
            sep = ",";
        }
    }
    fputc(']', f);
}

static void put_opts(FILE *f, const struct utcp_tcp_opts *o)
{
    if (!o->present)
        return;
    const char *sep = "";
    fputs(" <", f);
    if (o->present & UTCP_OPT_MSS) {
        fprintf(f, "%smss %u", sep, (unsigned)o->mss);
        sep = ", ";
    }
    if (o->present & UTCP_OPT_SACK_PERM) {
        fprintf(f, "%ssackOK", sep);
        sep = ", ";
    }
    if (o->present & UTCP_OPT_TS) {
        fprintf(f, "%sTS val %" PRIu32 " ecr %" PRIu32, sep, o->ts_val,
                o->ts_ecr);
        sep = ", ";
    }
    if (o->present & UTCP_OPT_WSCALE) {
        fprintf(f, "%swscale %u", sep, (unsigned)o->wscale);
        sep = ", ";
    }
    if (o->present & UTCP_OPT_SACK) {
        fprintf(f, "%ssack %u", sep, (unsigned)o->sack_count);
        for (unsigned i = 0; i < o->sack_count && i < UTCP_MAX_SACK_BLOCKS; i++)
            fprintf(f, " {%" PRIu32 ":%" PRIu32 "}", o->sack[i].left,
                    o->sack[i].right);
    }
    fputc('>', f);
}

/* Prints one line for pkt; returns false when the wire parsers reject it
 * (which would be a bug in the builders). */
static bool print_pkt(FILE *f, size_t no, const struct demo_pkt *p)
{
    struct utcp_ipv4 ip;
    enum utcp_wire_reason r = utcp_ipv4_parse(p->buf, p->len, &ip);
    if (r != UTCP_WIRE_OK) {
        fprintf(stderr, "utcp pcapdemo: packet %zu: %s\n", no,
                utcp_wire_reason_str(r));
        return false;
    }
    fprintf(f, "%2zu %3" PRIu64 ".%06" PRIu64 "  ", no, p->t_us / 1000000,
            p->t_us % 1000000);
    if (ip.proto == UTCP_IPPROTO_TCP) {
        struct utcp_tcp t;
        r = utcp_tcp_parse(ip.payload, ip.payload_len, ip.src, ip.dst, true,
                           &t);
        if (r != UTCP_WIRE_OK) {
            fprintf(stderr, "utcp pcapdemo: packet %zu: %s\n", no,
                    utcp_wire_reason_str(r));
            return false;
        }
        put_addr(f, ip.src);
        fprintf(f, ":%u > ", (unsigned)t.sport);
        put_addr(f, ip.dst);
        fprintf(f, ":%u TCP ", (unsigned)t.dport);
        put_flags(f, t.flags);
        fprintf(f, " seq=%" PRIu32 " ack=%" PRIu32 " len=%zu win=%u", t.seq,
                t.ack, t.payload_len, (unsigned)t.win);
        put_opts(f, &t.opts);
    } else {
        struct utcp_icmp m;
        r = utcp_icmp_parse(ip.payload, ip.payload_len, &m);
        if (r != UTCP_WIRE_OK) {
            fprintf(stderr, "utcp pcapdemo: packet %zu: %s\n", no,
                    utcp_wire_reason_str(r));
            return false;
        }
        put_addr(f, ip.src);
        fputs(" > ", f);
        put_addr(f, ip.dst);
        fprintf(f, " ICMP echo %s id=0x%04x seq=%u len=%zu",
                m.type == UTCP_ICMP_ECHO_REQUEST ? "request" : "reply",
                (unsigned)m.id, (unsigned)m.seq, m.data_len);
    }
    fputc('\n', f);
    return true;
}

static void usage(FILE *f)
{
    fprintf(f,
            "usage: utcp pcapdemo FILE\n"
            "\n"
            "Builds a TCP conversation between 192.0.2.1:40000 and "
            "192.0.2.2:80\n"
            "(SYN, SYN-ACK, ACK, 100 bytes of data, an ACK with a SACK block,\n"
            "FIN, ACK, RST) and an ICMP echo request and reply, using the "
            "wire\n"
            "layer only; writes them to FILE as a pcap (LINKTYPE_RAW) and "
            "prints\n"
            "one line per packet. Open FILE with Wireshark or `tshark -r "
            "FILE`.\n"
            "\n"
            "Exit status: 0 ok, 1 FILE cannot be written, 2 bad usage.\n");
}

int utcp_tool_pcapdemo(int argc, char **argv)
{
    if (argc == 2 && (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h"))) {
        usage(stdout);
        return 0;
    }
    if (argc != 2) {
        fprintf(stderr, "utcp pcapdemo: %s\n",
                argc < 2 ? "missing FILE argument" : "too many arguments");
        usage(stderr);
        return 2;
    }
    const char *path = argv[1];
    if (path[0] == '-' || path[0] == '\0') {
        fprintf(stderr, "utcp pcapdemo: %s '%s'\n",
                path[0] ? "unknown option" : "empty file name", path);
        usage(stderr);
        return 2;
    }

    static struct demo d; /* 16 x 1.6 KB: keep it off the stack */
    if (!build_demo(&d)) {
        fprintf(stderr, "utcp pcapdemo: the wire layer refused to build a "
                        "packet\n");
        return 1;
    }

    struct utcp_pcap *w;
    int rc = utcp_pcap_open(&w, path);
    if (rc < 0) {
        fprintf(stderr, "utcp pcapdemo: cannot write '%s': %s\n", path,
                strerror(-rc));
        return 1;
    }
    for (size_t i = 0; i < d.n && rc == 0; i++)
        rc = utcp_pcap_write(w, EPOCH_US + d.pkt[i].t_us, d.pkt[i].buf,
                             d.pkt[i].len);
    int crc = utcp_pcap_close(w);
    if (rc == 0)
        rc = crc;
    if (rc < 0) {
        fprintf(stderr, "utcp pcapdemo: error writing '%s': %s\n", path,
                strerror(-rc));
        return 1;
    }

    for (size_t i = 0; i < d.n; i++)
        if (!print_pkt(stdout, i + 1, &d.pkt[i]))
            return 1;
    if (fflush(stdout) != 0) {
        fprintf(stderr, "utcp pcapdemo: cannot write to stdout: %s\n",
                strerror(errno));
        return 1;
    }
    return 0;
}
