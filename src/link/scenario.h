/*
 * Scenario scripts for the simulator (docs/scenarios.md): a small line-based
 * text format parsed into a list of statements (scenario_parse.c), and a
 * runner that drives two simulated stacks through them and checks the
 * expectations (scenario_run.c). No I/O: text in, messages out in buffers.
 */
#ifndef UTCP_LINK_SCENARIO_H
#define UTCP_LINK_SCENARIO_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "utcp/filter.h"
#include "utcp/sim.h"
#include "utcp/utcp.h"

#define SCN_NODES 2           /* A and B */
#define SCN_MAX_KV 24         /* key-value pairs on one stack/link line */
#define SCN_MAX_SOCKS 64      /* socket names in one script */
#define SCN_NAME_MAX 32

enum scn_kind {
    /* set-up */
    SCN_SEED, SCN_TITLE, SCN_STACK, SCN_LINK,
    /* wire rules, timed */
    SCN_RULE,
    /* the clock */
    SCN_WAIT, SCN_WAIT_IDLE,
    /* nodes */
    SCN_RESTART, SCN_NOTE, SCN_INJECT, SCN_REPLAY, SCN_STAT,
    /* socket operations (queued on the socket, may block) */
    SCN_LISTEN, SCN_BIND, SCN_CONNECT, SCN_ACCEPT, SCN_SEND, SCN_RECV,
    SCN_SHUTDOWN, SCN_CLOSE, SCN_ABORT, SCN_SET,
    /* expectations */
    SCN_EXP_STATE, SCN_EXP_PATH, SCN_EXP_RECEIVED, SCN_EXP_ERROR,
    SCN_EXP_SENT, SCN_EXP_LOST, SCN_EXP_RETRANSMITTED, SCN_EXP_TIMER_SET,
    SCN_EXP_TIMER_FIRED, SCN_EXP_CLEAN, SCN_EXP_CONNECTIONS,
};

enum scn_recv_mode { SCN_RECV_NOW, SCN_RECV_N, SCN_RECV_EOF, SCN_RECV_AUTO };
enum scn_cmp { SCN_CMP_EQ, SCN_CMP_GE, SCN_CMP_LE };
enum scn_time { SCN_AT_NONE, SCN_AT_ABS, SCN_AT_REL };

/* One key = value of a `stack` or `link` line (keys: scenario_parse.c). */
struct scn_kv {
    int key;
    uint64_t v, v2;
};

struct scn_stmt {
    enum scn_kind kind;
    unsigned line, col;
    enum scn_time at_mode;   /* `at T` (absolute) or `at +D` (relative) */
    uint64_t at;             /* microseconds */
    unsigned node;           /* 0 (A) or 1 (B); stack lines: mask in n */
    int sock;                /* index into scn.socks, or -1 */
    int sock2;               /* accept: the listener */
    uint64_t n, n2;          /* port, bytes, count, duration, backlog... */
    int mode;                /* recv mode, shutdown how, option, state,
                                timer, comparison */
    long value;              /* `set` value */
    bool nowait;             /* connect ... nowait */
    bool eof;                /* expect ... received N eof */
    bool has_want;           /* `=> RESULT` given */
    int want;                /* 0 (ok) or a UTCP_E* code */
    int dirs;                /* link/rule: bit 0 A->B, bit 1 B->A */
    struct utcp_filter_rule rule;
    uint8_t flags;           /* inject: UTCP_TH_* */
    bool seq_rel;            /* inject: seq counts from the socket's SND.NXT */
    uint32_t seq, ack;       /* inject */
    struct scn_kv kv[SCN_MAX_KV];
    size_t nkv;
    char *text;              /* title, note, path (owned) */
};

struct scn_sock_name {
    unsigned node;
    char name[SCN_NAME_MAX];
    unsigned line;           /* first mention */
};

struct scn {
    struct scn_stmt *st;
    size_t n, cap;
    struct scn_sock_name socks[SCN_MAX_SOCKS];
    size_t nsocks;
    bool has_seed;
    uint64_t seed;
    char *title;
};

struct scn_error {
    unsigned line, col;
    char msg[256];
};

/* Parses text[0..len) (need not be terminated). Returns 0 and fills *out
 * (free with utcp__scn_free), or -1 with *err set (nothing to free). */
int utcp__scn_parse(const char *text, size_t len, struct scn *out,
              struct scn_error *err);
void utcp__scn_free(struct scn *s);

/* Human names used by the parser and the docs. */
const char *utcp__scn_kind_name(enum scn_kind k);

/* Stack and link keys, for `stack` and `link` lines. */
#define SCN_STACK_KEYS(X)                                                      \
    X(MSL, "msl", DUR)                                                         \
    X(RTO_MIN, "rto-min", DUR)                                                 \
    X(RTO_MAX, "rto-max", DUR)                                                 \
    X(RTO_INITIAL, "rto-initial", DUR)                                         \
    X(DELACK, "delack", DUR)                                                   \
    X(FIN_WAIT2, "fin-wait2", DUR)                                             \
    X(SNDBUF, "sndbuf", SIZE)                                                  \
    X(RCVBUF, "rcvbuf", SIZE)                                                  \
    X(MTU, "mtu", SIZE)                                                        \
    X(SYN_RETRIES, "syn-retries", INT)                                         \
    X(SYNACK_RETRIES, "synack-retries", INT)                                   \
    X(DATA_RETRIES, "data-retries", INT)                                       \
    X(CC, "cc", CC)

#define SCN_LINK_KEYS(X)                                                       \
    X(DELAY, "delay", DUR)                                                     \
    X(JITTER, "jitter", DUR)                                                   \
    X(LOSS, "loss", PCT)                                                       \
    X(BURST, "burst", PCT2)                                                    \
    X(BURST_LOSS, "burst-loss", PCT2)                                          \
    X(DUP, "dup", PCT)                                                         \
    X(DUP_GAP, "dup-gap", DUR)                                                 \
    X(REORDER, "reorder", PCT)                                                 \
    X(REORDER_DELAY, "reorder-delay", DUR)                                     \
    X(CORRUPT, "corrupt", PCT)                                                 \
    X(LINK_MTU, "mtu", SIZE)                                                   \
    X(RATE, "rate", RATE)                                                      \
    X(QUEUE, "queue", SIZE)                                                    \
    X(CLEAR, "clear", NONE)

enum scn_stack_key {
#define SCN_X_(id, name, type) SCN_SK_##id,
    SCN_STACK_KEYS(SCN_X_)
#undef SCN_X_
    SCN_SK_COUNT
};
enum scn_link_key {
#define SCN_X_(id, name, type) SCN_LK_##id,
    SCN_LINK_KEYS(SCN_X_)
#undef SCN_X_
    SCN_LK_COUNT
};

/* ---- running ---- */

#define SCN_MAX_FAILURES 16

struct scn_failure {
    unsigned line;           /* 0: not tied to a line */
    char msg[240];
};

struct scn_result {
    struct utcp_sim *net;    /* the finished network (owned by the caller:
                                utcp_sim_destroy), or NULL */
    uint64_t seed;
    struct scn_failure fail[SCN_MAX_FAILURES];
    size_t nfail;            /* failures recorded (capped) */
    size_t nfail_total;      /* all failures */
    uint64_t bytes_delivered;/* application bytes read, both nodes */
};

struct scn_run_opts {
    bool seed_set;           /* override the script's seed */
    uint64_t seed;
    uint64_t idle_limit_us;  /* the final quiet wait (0: one hour) */
};

/* Runs a parsed scenario. Returns 0 when every expectation held, 1 when
 * one failed (see r->fail), -1 when the network could not be created.
 * r->net is left for the caller to draw and destroy. */
int utcp__scn_run(const struct scn *s, const struct scn_run_opts *o,
            struct scn_result *r);

/* The stream pattern: byte i of the stream sent from (saddr, sport) to
 * (daddr, dport). Receivers check every byte against it. */
uint8_t utcp__scn_pattern_byte(uint32_t key, uint64_t i);
uint32_t utcp__scn_stream_key(uint32_t saddr, uint16_t sport, uint32_t daddr,
                        uint16_t dport);

#endif
