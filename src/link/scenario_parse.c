/*
 * The scenario text format (docs/scenarios.md): a line-based lexer and a
 * recursive-descent parser into struct scn, with errors that name the line
 * and column. Input is untrusted (a fuzz target): must never read past the
 * text, trust a length or number, or leak on any error path.
 */
#include <ctype.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "link/scenario.h"
#include "utcp/errors.h"
#include "utcp/trace.h"
#include "utcp/wire.h"

#define MAX_TOKENS 64
#define MAX_LINE 4096

struct tok {
    const char *p;
    size_t len;
    unsigned col;
    bool quoted;
};

struct parser {
    struct scn *s;
    struct scn_error *err;
    unsigned line;
    unsigned end_col;           /* column just past the line's last token */
    struct tok t[MAX_TOKENS];
    size_t nt, pos;
    char strbuf[MAX_LINE];      /* unescaped strings of this line */
    size_t strused;
    bool acted;                 /* an action was seen: set-up is over */
    bool cursor_known;          /* no `wait idle` yet */
    uint64_t cursor;            /* the script's time so far */
};

static bool fail(struct parser *p, unsigned col, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static bool fail(struct parser *p, unsigned col, const char *fmt, ...)
{
    p->err->line = p->line;
    p->err->col = col;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(p->err->msg, sizeof p->err->msg, fmt, ap);
    va_end(ap);
    return false;
}

/* ---- lexing one line ---- */

static bool lex_string(struct parser *p, const char *line, size_t len,
                       size_t *i, struct tok *t)
{
    size_t start = *i;
    char *out = p->strbuf + p->strused;
    size_t n = 0;
    for (size_t k = start + 1; k < len; k++) {
        char c = line[k];
        if (c == '"') {
            out[n] = '\0';
            t->p = out;
            t->len = n;
            t->quoted = true;
            p->strused += n + 1;
            *i = k + 1;
            return true;
        }
        if (c == '\\' && k + 1 < len && (line[k + 1] == '"' ||
                                         line[k + 1] == '\\'))
            c = line[++k];
        if ((unsigned char)c < 0x20 && c != '\t')
            return fail(p, (unsigned)k + 1, "control character in a string");
        out[n++] = c;
    }
    return fail(p, (unsigned)start + 1, "unterminated string");
}

/* Splits line[0..len) into tokens; '#' starts a comment. */
static bool lex(struct parser *p, const char *line, size_t len)
{
    p->nt = p->pos = 0;
    p->strused = 0;
    p->end_col = 1;
    if (len >= MAX_LINE)
        return fail(p, 1, "line longer than %d characters", MAX_LINE - 1);
    size_t i = 0;
    while (i < len) {
        char c = line[i];
        if (c == ' ' || c == '\t' || c == '\r') {
            i++;
            continue;
        }
        if (c == '#')
            break;
        if (p->nt == MAX_TOKENS)
            return fail(p, (unsigned)i + 1, "more than %d words on a line",
                        MAX_TOKENS);
        struct tok *t = &p->t[p->nt];
        t->col = (unsigned)i + 1;
        t->quoted = false;
        if (c == '"') {
            if (!lex_string(p, line, len, &i, t))
                return false;
        } else {
            size_t start = i;
            while (i < len && line[i] != ' ' && line[i] != '\t' &&
                   line[i] != '\r' && line[i] != '#' && line[i] != '"') {
                if ((unsigned char)line[i] < 0x20 ||
                    (unsigned char)line[i] >= 0x7f)
                    return fail(p, (unsigned)i + 1,
                                "unexpected character (byte 0x%02x)",
                                (unsigned)(unsigned char)line[i]);
                i++;
            }
            t->p = line + start;
            t->len = i - start;
        }
        p->nt++;
        p->end_col = (unsigned)i + 1;
    }
    return true;
}

/* ---- token helpers ---- */

static bool more(const struct parser *p)
{
    return p->pos < p->nt;
}

static bool is(const struct tok *t, const char *word)
{
    return !t->quoted && strlen(word) == t->len &&
           memcmp(t->p, word, t->len) == 0;
}

static bool accept_word(struct parser *p, const char *word)
{
    if (more(p) && is(&p->t[p->pos], word)) {
        p->pos++;
        return true;
    }
    return false;
}

/* The next token, or a "missing argument" error naming what was wanted. */
static const struct tok *need(struct parser *p, const char *what)
{
    if (!more(p)) {
        fail(p, p->end_col, "missing argument: %s", what);
        return NULL;
    }
    return &p->t[p->pos++];
}

static bool end_of_line(struct parser *p)
{
    if (!more(p))
        return true;
    const struct tok *t = &p->t[p->pos];
    return fail(p, t->col, "unexpected '%.*s' at the end of the line",
                (int)t->len, t->p);
}

/* Copies a token into a terminated buffer (truncating). */
static void tokstr(const struct tok *t, char *buf, size_t cap)
{
    size_t n = t->len < cap - 1 ? t->len : cap - 1;
    memcpy(buf, t->p, n);
    buf[n] = '\0';
}

/* Case-insensitive comparison of a token with a name whose '_' may be
 * written '-'. */
static bool name_eq(const struct tok *t, const char *name)
{
    if (strlen(name) != t->len)
        return false;
    for (size_t i = 0; i < t->len; i++) {
        char a = (char)tolower((unsigned char)t->p[i]);
        char b = (char)tolower((unsigned char)name[i]);
        if (a == '-')
            a = '_';
        if (b == '-')
            b = '_';
        if (a != b)
            return false;
    }
    return true;
}

/* ---- numbers ---- */

/* Digits [. digits] at t[0..); *int_part, fraction scaled to 1e6; returns
 * the length consumed (0: no digits). */
static size_t scan_decimal(const struct tok *t, uint64_t *ip, uint64_t *frac6)
{
    size_t i = 0;
    uint64_t v = 0, f = 0, scale = 100000;
    while (i < t->len && isdigit((unsigned char)t->p[i])) {
        unsigned d = (unsigned)(t->p[i] - '0');
        if (v > (UINT64_MAX - d) / 10)
            return 0;
        v = v * 10 + d;
        i++;
    }
    if (i == 0)
        return 0;
    if (i < t->len && t->p[i] == '.') {
        size_t j = i + 1;
        while (j < t->len && isdigit((unsigned char)t->p[j])) {
            f += (uint64_t)(t->p[j] - '0') * scale;
            scale /= 10;
            j++;
        }
        if (j == i + 1)
            return 0;
        i = j;
    }
    *ip = v;
    *frac6 = f;
    return i;
}

/* "bad size '12x' (units: ...)": what is a noun, then a hint in
 * parentheses if any. */
static bool bad_number(struct parser *p, const struct tok *t, const char *what)
{
    const char *hint = strstr(what, " (");
    int noun = hint ? (int)(hint - what) : (int)strlen(what);
    return fail(p, t->col, "bad %.*s '%.*s'%s", noun, what, (int)t->len, t->p,
                hint ? hint : "");
}

/* A whole number, at most max. */
static bool parse_uint(struct parser *p, const struct tok *t, uint64_t max,
                       uint64_t *out)
{
    uint64_t v, f;
    size_t n = scan_decimal(t, &v, &f);
    if (n == 0 || n != t->len || f != 0 || memchr(t->p, '.', t->len))
        return bad_number(p, t, "number");
    if (v > max)
        return fail(p, t->col, "number %.*s too large (at most %llu)",
                    (int)t->len, t->p, (unsigned long long)max);
    *out = v;
    return true;
}

/* Multiplies ip.frac6 by unit (a multiple of 1e6 or not), saturating. */
static bool scaled(uint64_t ip, uint64_t frac6, uint64_t unit, uint64_t *out)
{
    if (unit && ip > UINT64_MAX / unit / 2)
        return false;
    *out = ip * unit + frac6 * unit / 1000000u;
    return true;
}

/* A duration in microseconds: "10ms", "1.5s", "0". */
static bool parse_dur(struct parser *p, const struct tok *t, uint64_t *out)
{
    uint64_t v, f;
    size_t n = scan_decimal(t, &v, &f);
    if (n == 0)
        return bad_number(p, t, "duration (a number and a unit: us, ms, s, "
                                "min)");
    const char *u = t->p + n;
    size_t ul = t->len - n;
    uint64_t unit;
    if (ul == 0 && v == 0 && f == 0)
        unit = 1;
    else if (ul == 2 && !memcmp(u, "us", 2))
        unit = 1;
    else if (ul == 2 && !memcmp(u, "ms", 2))
        unit = 1000;
    else if (ul == 1 && u[0] == 's')
        unit = 1000000;
    else if (ul == 3 && !memcmp(u, "min", 3))
        unit = 60000000;
    else if (ul == 1 && u[0] == 'h')
        unit = UINT64_C(3600000000);
    else
        return bad_number(p, t, "duration (a number and a unit: us, ms, s, "
                                "min)");
    if (!scaled(v, f, unit, out) || *out > UINT64_C(1) << 50)
        return fail(p, t->col, "duration '%.*s' too long", (int)t->len, t->p);
    if (unit == 1 && f)
        return bad_number(p, t, "duration (no fraction of a microsecond)");
    return true;
}

/* A byte count: "100", "64k" (1000), "64KiB", "1M", "1MiB". */
static bool parse_size(struct parser *p, const struct tok *t, uint64_t *out)
{
    uint64_t v, f;
    size_t n = scan_decimal(t, &v, &f);
    if (n == 0)
        return bad_number(p, t, "size");
    const char *u = t->p + n;
    size_t ul = t->len - n;
    uint64_t unit;
    if (ul == 0)
        unit = 1;
    else if ((ul == 1 && (u[0] == 'k' || u[0] == 'K')) ||
             (ul == 2 && !memcmp(u, "kB", 2)))
        unit = 1000;
    else if (ul == 3 && !memcmp(u, "KiB", 3))
        unit = 1024;
    else if ((ul == 1 && u[0] == 'M') || (ul == 2 && !memcmp(u, "MB", 2)))
        unit = 1000000;
    else if (ul == 3 && !memcmp(u, "MiB", 3))
        unit = 1048576;
    else
        return bad_number(p, t, "size (units: k, KiB, M, MiB)");
    if (!scaled(v, f, unit, out) || *out > UINT64_C(1) << 40)
        return fail(p, t->col, "size '%.*s' too large", (int)t->len, t->p);
    if (unit == 1 && f)
        return bad_number(p, t, "size (whole bytes)");
    return true;
}

/* A probability in ppm: "2%", "0.5%", "150ppm", "0". */
static bool parse_pct(struct parser *p, const struct tok *t, uint64_t *out)
{
    uint64_t v, f;
    size_t n = scan_decimal(t, &v, &f);
    if (n == 0)
        return bad_number(p, t, "percentage (like 2% or 150ppm)");
    const char *u = t->p + n;
    size_t ul = t->len - n;
    if (ul == 1 && u[0] == '%') {
        if (v > 100 || (v == 100 && f))
            return fail(p, t->col, "percentage above 100%%");
        *out = v * 10000 + f / 100;
    } else if (ul == 3 && !memcmp(u, "ppm", 3) && !f) {
        if (v > UTCP_PPM)
            return fail(p, t->col, "more than 1000000ppm");
        *out = v;
    } else if (ul == 0 && v == 0 && f == 0) {
        *out = 0;
    } else {
        return bad_number(p, t, "percentage (like 2% or 150ppm)");
    }
    return true;
}

/* A bit rate in bits per second: "64kbit", "10Mbit", "1.5Gbit", "9600bit". */
static bool parse_rate(struct parser *p, const struct tok *t, uint64_t *out)
{
    uint64_t v, f;
    size_t n = scan_decimal(t, &v, &f);
    const char *hint = "bit rate (like 10Mbit: bit, kbit, Mbit, Gbit)";
    if (n == 0)
        return bad_number(p, t, hint);
    const char *u = t->p + n;
    size_t ul = t->len - n;
    uint64_t unit;
    if (ul == 3 && !memcmp(u, "bit", 3))
        unit = 1;
    else if (ul == 4 && !memcmp(u, "kbit", 4))
        unit = 1000;
    else if (ul == 4 && !memcmp(u, "Mbit", 4))
        unit = 1000000;
    else if (ul == 4 && !memcmp(u, "Gbit", 4))
        unit = 1000000000;
    else
        return bad_number(p, t, hint);
    if (!scaled(v, f, unit, out) || *out > UINT64_C(1000000000000))
        return fail(p, t->col, "bit rate '%.*s' too high", (int)t->len, t->p);
    if (*out == 0 && (v || f))
        return bad_number(p, t, "bit rate (at least 1bit)");
    return true;
}

static bool parse_port(struct parser *p, const struct tok *t, uint64_t *out)
{
    if (!parse_uint(p, t, 65535, out))
        return false;
    if (*out == 0)
        return fail(p, t->col, "port 0 is not allowed here");
    return true;
}

/* A count with an optional comparison: "5", ">=2", "<=3". */
static bool parse_count(struct parser *p, const struct tok *t, int *cmp,
                        uint64_t *out)
{
    struct tok rest = *t;
    *cmp = SCN_CMP_EQ;
    if (rest.len > 2 && (rest.p[0] == '>' || rest.p[0] == '<') &&
        rest.p[1] == '=') {
        *cmp = rest.p[0] == '>' ? SCN_CMP_GE : SCN_CMP_LE;
        rest.p += 2;
        rest.len -= 2;
        rest.col += 2;
    }
    return parse_uint(p, &rest, UINT32_MAX, out);
}

/* ---- names ---- */

static bool parse_node(struct parser *p, const struct tok *t, unsigned *node)
{
    if (is(t, "A") || is(t, "B")) {
        *node = t->p[0] == 'A' ? 0 : 1;
        return true;
    }
    return fail(p, t->col, "unknown node '%.*s' (A or B)", (int)t->len, t->p);
}

static bool parse_dirs(struct parser *p, const struct tok *t, int *dirs)
{
    if (is(t, "A->B"))
        *dirs = 1;
    else if (is(t, "B->A"))
        *dirs = 2;
    else if (is(t, "both"))
        *dirs = 3;
    else
        return fail(p, t->col, "unknown direction '%.*s' (A->B, B->A or "
                               "both)", (int)t->len, t->p);
    return true;
}

static bool parse_state(struct parser *p, const struct tok *t, int *state)
{
    for (int i = 0; i < UTCP_STATE_COUNT; i++)
        if (name_eq(t, utcp_state_name(i))) {
            *state = i;
            return true;
        }
    return fail(p, t->col, "unknown state '%.*s'", (int)t->len, t->p);
}

static bool parse_timer(struct parser *p, const struct tok *t, int *timer)
{
    for (int i = 1; i < UTCP_TIMER_COUNT; i++)
        if (name_eq(t, utcp_timer_name(i))) {
            *timer = i;
            return true;
        }
    return fail(p, t->col, "unknown timer '%.*s' (retransmit, persist, "
                           "delack, keepalive, fin-wait2, time-wait, "
                           "syn-retransmit)", (int)t->len, t->p);
}

static const int all_errors[] = {
#define UTCP_X_(name, value, msg) value,
    UTCP_ERRORS(UTCP_X_)
#undef UTCP_X_
};

/* "ok" or an error name ("ECONNREFUSED"). */
static bool parse_result(struct parser *p, const struct tok *t, int *out)
{
    if (is(t, "ok") || is(t, "none")) {
        *out = 0;
        return true;
    }
    for (size_t i = 0; i < sizeof all_errors / sizeof all_errors[0]; i++)
        if (name_eq(t, utcp_errname(all_errors[i]))) {
            *out = all_errors[i];
            return true;
        }
    return fail(p, t->col, "unknown error name '%.*s' (like ECONNREFUSED, "
                           "or ok)", (int)t->len, t->p);
}

/* A packet pattern for rules and counts. */
static bool parse_match(struct parser *p, const struct tok *t, int dir,
                        struct utcp_filter_match *m)
{
    if (is(t, "any"))
        *m = utcp_filter_match_any(dir);
    else if (is(t, "syn"))
        *m = utcp_filter_match_syn(dir);
    else if (is(t, "synack"))
        *m = utcp_filter_match_synack(dir);
    else if (is(t, "fin"))
        *m = utcp_filter_match_fin(dir);
    else if (is(t, "rst"))
        *m = utcp_filter_match_rst(dir);
    else if (is(t, "ack-only"))
        *m = utcp_filter_match_ack_only(dir);
    else if (is(t, "data"))
        *m = utcp_filter_match_data(dir);
    else if (is(t, "nodata")) {
        *m = utcp_filter_match_any(dir);
        m->payload = 0;
    } else
        return fail(p, t->col, "unknown segment kind '%.*s' (any, syn, "
                               "synack, fin, rst, ack-only, data, nodata)",
                    (int)t->len, t->p);
    return true;
}

/* "A.name": a socket, created in the table on first mention. */
static bool parse_sock(struct parser *p, const struct tok *t, int *idx)
{
    if (t->len < 3 || t->quoted || t->p[1] != '.' ||
        (t->p[0] != 'A' && t->p[0] != 'B'))
        return fail(p, t->col, "'%.*s' is not a socket (like A.c or B.srv)",
                    (int)t->len, t->p);
    unsigned node = t->p[0] == 'A' ? 0 : 1;
    struct tok name = {t->p + 2, t->len - 2, t->col + 2, false};
    if (name.len >= SCN_NAME_MAX)
        return fail(p, name.col, "socket name longer than %d characters",
                    SCN_NAME_MAX - 1);
    for (size_t i = 0; i < name.len; i++)
        if (!isalnum((unsigned char)name.p[i]) && name.p[i] != '_' &&
            name.p[i] != '-')
            return fail(p, name.col + (unsigned)i,
                        "bad character in a socket name");
    struct scn *s = p->s;
    for (size_t i = 0; i < s->nsocks; i++)
        if (s->socks[i].node == node && strlen(s->socks[i].name) == name.len &&
            !memcmp(s->socks[i].name, name.p, name.len)) {
            *idx = (int)i;
            return true;
        }
    if (s->nsocks == SCN_MAX_SOCKS)
        return fail(p, t->col, "more than %d sockets", SCN_MAX_SOCKS);
    struct scn_sock_name *sn = &s->socks[s->nsocks];
    sn->node = node;
    tokstr(&name, sn->name, sizeof sn->name);
    sn->line = p->line;
    *idx = (int)s->nsocks++;
    return true;
}

static bool is_sock_token(const struct tok *t)
{
    return !t->quoted && t->len >= 3 && t->p[1] == '.' &&
           (t->p[0] == 'A' || t->p[0] == 'B');
}

/* ---- statements ---- */

static struct scn_stmt *new_stmt(struct parser *p, enum scn_kind kind,
                                 unsigned col)
{
    struct scn *s = p->s;
    if (s->n == s->cap) {
        size_t ncap = s->cap ? s->cap * 2 : 32;
        struct scn_stmt *n = realloc(s->st, ncap * sizeof *n);
        if (!n) {
            fail(p, col, "out of memory");
            return NULL;
        }
        s->st = n;
        s->cap = ncap;
    }
    struct scn_stmt *st = &s->st[s->n++];
    memset(st, 0, sizeof *st);
    st->kind = kind;
    st->line = p->line;
    st->col = col;
    st->sock = st->sock2 = -1;
    st->rule.match = utcp_filter_match_any(UTCP_FILTER_ANY);
    return st;
}

static char *dup_tok(const struct tok *t)
{
    char *s = malloc(t->len + 1);
    if (s) {
        memcpy(s, t->p, t->len);
        s[t->len] = '\0';
    }
    return s;
}

enum val_type {
    VT_DUR,
    VT_SIZE,
    VT_INT,
    VT_PCT,
    VT_PCT2,
    VT_RATE,
    VT_CC,
    VT_NONE
};

struct key_def {
    const char *name;
    enum val_type type;
};

static const struct key_def stack_keys[] = {
#define SCN_X_(id, name, type) {name, VT_##type},
    SCN_STACK_KEYS(SCN_X_)
#undef SCN_X_
};
static const struct key_def link_keys[] = {
#define SCN_X_(id, name, type) {name, VT_##type},
    SCN_LINK_KEYS(SCN_X_)
#undef SCN_X_
};

static bool parse_value(struct parser *p, enum val_type vt, const char *key,
                        struct scn_kv *kv)
{
    char what[64];
    snprintf(what, sizeof what, "a value for '%s'", key);
    if (vt == VT_NONE)
        return true;
    const struct tok *t = need(p, what);
    if (!t)
        return false;
    switch (vt) {
    case VT_DUR:
        return parse_dur(p, t, &kv->v);
    case VT_SIZE:
        return parse_size(p, t, &kv->v);
    case VT_INT:
        return parse_uint(p, t, 255, &kv->v);
    case VT_PCT:
        return parse_pct(p, t, &kv->v);
    case VT_RATE:
        return parse_rate(p, t, &kv->v);
    case VT_CC: /* a congestion control: enum utcp_cc */
        if (is(t, "newreno"))
            kv->v = UTCP_CC_NEWRENO;
        else if (is(t, "cubic"))
            kv->v = UTCP_CC_CUBIC;
        else if (is(t, "bbr"))
            kv->v = UTCP_CC_BBR;
        else
            return fail(p, t->col,
                        "bad congestion control '%.*s' (newreno, "
                        "cubic or bbr)",
                        (int)t->len, t->p);
        return true;
    case VT_PCT2:
        if (!parse_pct(p, t, &kv->v))
            return false;
        snprintf(what, sizeof what, "a second value for '%s'", key);
        t = need(p, what);
        return t && parse_pct(p, t, &kv->v2);
    case VT_NONE:
        break;
    }
    return true;
}

/* key value key value ... to the end of the line (at least one pair). */
static bool parse_kvs(struct parser *p, struct scn_stmt *st,
                      const struct key_def *keys, size_t nkeys,
                      const char *what)
{
    if (!more(p))
        return fail(p, p->end_col, "missing argument: %s", what);
    while (more(p)) {
        const struct tok *t = &p->t[p->pos++];
        size_t k = 0;
        while (k < nkeys && !is(t, keys[k].name))
            k++;
        if (k == nkeys)
            return fail(p, t->col, "unknown setting '%.*s'", (int)t->len,
                        t->p);
        if (st->nkv == SCN_MAX_KV)
            return fail(p, t->col, "more than %d settings on a line",
                        SCN_MAX_KV);
        struct scn_kv *kv = &st->kv[st->nkv++];
        kv->key = (int)k;
        if (!parse_value(p, keys[k].type, keys[k].name, kv))
            return false;
    }
    return true;
}

static bool setup_only(struct parser *p, const struct tok *t)
{
    if (p->acted)
        return fail(p, t->col, "'%.*s' must come before the first action",
                    (int)t->len, t->p);
    return true;
}

static bool stmt_seed(struct parser *p, const struct tok *kw)
{
    const struct tok *t = need(p, "the seed (a number)");
    if (!setup_only(p, kw) || !t)
        return false;
    if (!parse_uint(p, t, UINT64_MAX, &p->s->seed))
        return false;
    p->s->has_seed = true;
    return end_of_line(p);
}

static bool stmt_title(struct parser *p)
{
    const struct tok *t = need(p, "the title (a \"string\")");
    if (!t)
        return false;
    if (!t->quoted)
        return fail(p, t->col, "the title must be a \"string\"");
    free(p->s->title);
    p->s->title = dup_tok(t);
    if (!p->s->title)
        return fail(p, t->col, "out of memory");
    return end_of_line(p);
}

static bool stmt_stack(struct parser *p, const struct tok *kw)
{
    if (!setup_only(p, kw))
        return false;
    const struct tok *t = need(p, "the node (A, B or *)");
    if (!t)
        return false;
    struct scn_stmt *st = new_stmt(p, SCN_STACK, kw->col);
    if (!st)
        return false;
    if (is(t, "*"))
        st->n = 3;
    else if (!parse_node(p, t, &st->node))
        return false;
    else
        st->n = 1u << st->node;
    return parse_kvs(p, st, stack_keys, SCN_SK_COUNT,
                     "a setting (msl, rcvbuf, ...)");
}

static bool stmt_link(struct parser *p, const struct tok *kw)
{
    const struct tok *t = need(p, "the direction (A->B, B->A or both)");
    if (!t)
        return false;
    struct scn_stmt *st = new_stmt(p, SCN_LINK, kw->col);
    if (!st || !parse_dirs(p, t, &st->dirs))
        return false;
    return parse_kvs(p, st, link_keys, SCN_LK_COUNT,
                     "an impairment (delay, loss, ...)");
}

/* drop DIRS KIND [nth N] [count K] [every]; delay DIRS KIND DUR [...] */
static bool stmt_rule(struct parser *p, const struct tok *kw, bool delay)
{
    const struct tok *t = need(p, "the direction (A->B, B->A or both)");
    if (!t)
        return false;
    struct scn_stmt *st = new_stmt(p, SCN_RULE, kw->col);
    if (!st || !parse_dirs(p, t, &st->dirs))
        return false;
    int dir = st->dirs == 1 ? 0 : st->dirs == 2 ? 1 : UTCP_FILTER_ANY;
    if (!(t = need(p, "the segment kind (syn, fin, ack-only, data...)")) ||
        !parse_match(p, t, dir, &st->rule.match))
        return false;
    st->rule.action = delay ? UTCP_FILTER_ACT_DELAY : UTCP_FILTER_ACT_DROP;
    st->rule.nth = 1;
    if (delay && (!(t = need(p, "how long to delay it")) ||
                  !parse_dur(p, t, &st->rule.delay_us)))
        return false;
    uint64_t v;
    while (more(p)) {
        if (accept_word(p, "every")) {
            st->rule.nth = 0;
        } else if (accept_word(p, "nth")) {
            if (!(t = need(p, "a number after 'nth'")) ||
                !parse_uint(p, t, UINT32_MAX, &v))
                return false;
            if (v == 0)
                return fail(p, t->col, "nth counts from 1");
            st->rule.nth = (uint32_t)v;
        } else if (accept_word(p, "count")) {
            if (!(t = need(p, "a number after 'count'")) ||
                !parse_uint(p, t, UINT32_MAX, &v))
                return false;
            st->rule.count = (uint32_t)v;
        } else {
            return end_of_line(p);
        }
    }
    return true;
}

static bool stmt_wait(struct parser *p, const struct tok *kw)
{
    const struct tok *t = need(p, "a duration or 'idle'");
    if (!t)
        return false;
    if (is(t, "idle")) {
        struct scn_stmt *st = new_stmt(p, SCN_WAIT_IDLE, kw->col);
        if (!st)
            return false;
        st->n = 3600u * UINT64_C(1000000);
        if (accept_word(p, "max") &&
            (!(t = need(p, "a duration after 'max'")) ||
             !parse_dur(p, t, &st->n)))
            return false;
        p->cursor_known = false;
        return end_of_line(p);
    }
    struct scn_stmt *st = new_stmt(p, SCN_WAIT, kw->col);
    if (!st || !parse_dur(p, t, &st->n))
        return false;
    p->cursor += st->n;
    return end_of_line(p);
}

/* inject KIND [on SOCK] [from PORT] [to PORT] [seq N|+N] [ack N]: a
 * crafted segment from the node to the other one. */
static bool parse_inject(struct parser *p, struct scn_stmt *st)
{
    static const struct {
        const char *name;
        uint8_t flags;
    } kinds[] = {{"syn", UTCP_TH_SYN}, {"synack", UTCP_TH_SYN | UTCP_TH_ACK},
                 {"ack", UTCP_TH_ACK}, {"rst", UTCP_TH_RST},
                 {"rstack", UTCP_TH_RST | UTCP_TH_ACK},
                 {"fin", UTCP_TH_FIN | UTCP_TH_ACK}};
    const struct tok *t = need(p, "the segment kind (syn, synack, ack, rst, "
                                  "rstack, fin)");
    if (!t)
        return false;
    size_t k = 0;
    while (k < sizeof kinds / sizeof kinds[0] && !is(t, kinds[k].name))
        k++;
    if (k == sizeof kinds / sizeof kinds[0])
        return fail(p, t->col, "unknown segment kind '%.*s' to inject",
                    (int)t->len, t->p);
    st->flags = kinds[k].flags;
    uint64_t v;
    while (more(p)) {
        const struct tok *w = &p->t[p->pos++];
        if (is(w, "on")) {
            if (!(t = need(p, "a socket after 'on'")) ||
                !parse_sock(p, t, &st->sock))
                return false;
            if (p->s->socks[st->sock].node != st->node)
                return fail(p, t->col, "the socket must be on the injecting "
                                       "node");
        } else if (is(w, "from") || is(w, "to")) {
            if (!(t = need(p, "a port")) ||
                !parse_port(p, t, is(w, "from") ? &st->n : &st->n2))
                return false;
        } else if (is(w, "seq") || is(w, "ack")) {
            if (!(t = need(p, "a sequence number")))
                return false;
            struct tok num = *t;
            bool rel = is(w, "seq") && num.len > 1 && num.p[0] == '+';
            if (rel) {
                num.p++;
                num.len--;
                num.col++;
            }
            if (!parse_uint(p, &num, UINT32_MAX, &v))
                return false;
            if (is(w, "seq")) {
                st->seq = (uint32_t)v;
                st->seq_rel = rel;
            } else {
                st->ack = (uint32_t)v;
            }
        } else {
            return fail(p, w->col, "unexpected '%.*s' (on, from, to, seq, "
                                   "ack)", (int)w->len, w->p);
        }
    }
    if (st->sock < 0 && (!st->n || !st->n2))
        return fail(p, p->end_col, "missing argument: 'on SOCKET', or both "
                                   "'from PORT' and 'to PORT'");
    if (st->seq_rel && st->sock < 0)
        return fail(p, p->end_col, "'seq +N' needs 'on SOCKET'");
    return true;
}

static bool stmt_node(struct parser *p, const struct tok *nt)
{
    unsigned node;
    if (!parse_node(p, nt, &node))
        return false;
    const struct tok *t = need(p, "an action (restart or note)");
    if (!t)
        return false;
    struct scn_stmt *st;
    if (is(t, "restart")) {
        if (!(st = new_stmt(p, SCN_RESTART, nt->col)))
            return false;
    } else if (is(t, "note")) {
        if (!(st = new_stmt(p, SCN_NOTE, nt->col)))
            return false;
        if (!(t = need(p, "the note (a \"string\")")))
            return false;
        if (!t->quoted)
            return fail(p, t->col, "the note must be a \"string\"");
        if (!(st->text = dup_tok(t)))
            return fail(p, t->col, "out of memory");
    } else if (is(t, "inject")) {
        if (!(st = new_stmt(p, SCN_INJECT, nt->col)))
            return false;
        st->node = node;
        return parse_inject(p, st);
    } else if (is(t, "replay")) {
        if (!(st = new_stmt(p, SCN_REPLAY, nt->col)))
            return false;
        if (!(t = need(p, "what to replay ('data')")))
            return false;
        if (!is(t, "data"))
            return fail(p, t->col, "only 'data' can be replayed (the last "
                                   "data segment the node sent)");
    } else if (is(t, "stat")) {
        if (!(st = new_stmt(p, SCN_STAT, nt->col)))
            return false;
    } else {
        return fail(p, t->col, "unknown action '%.*s' for a node (restart, "
                               "note, inject, replay, stat)",
                    (int)t->len, t->p);
    }
    st->node = node;
    return end_of_line(p);
}

static const char *const option_names[] = {
#define UTCP_X_(name, help) #name,
    UTCP_OPTIONS(UTCP_X_)
#undef UTCP_X_
};
static const char *const option_help[] = {
#define UTCP_X_(name, help) help,
    UTCP_OPTIONS(UTCP_X_)
#undef UTCP_X_
};

/* set OPTION VALUE: durations for the options measured in ms, on/off, or
 * an integer (linger takes -1). */
static bool parse_set(struct parser *p, struct scn_stmt *st)
{
    const struct tok *t = need(p, "an option (nodelay, linger, ...)");
    if (!t)
        return false;
    int opt = -1;
    for (int i = 0; i < UTCP_OPT_COUNT_; i++)
        if (name_eq(t, option_names[i]))
            opt = i;
    if (opt < 0)
        return fail(p, t->col, "unknown option '%.*s'", (int)t->len, t->p);
    st->mode = opt;
    if (!(t = need(p, "the option's value")))
        return false;
    uint64_t v;
    if (is(t, "on") || is(t, "off")) {
        st->value = is(t, "on");
    } else if (is(t, "-1")) {
        st->value = -1;
    } else if (strstr(option_help[opt], ", ms")) {
        if (!parse_dur(p, t, &v))
            return false;
        if (v / 1000 > 0x7fffffff)
            return fail(p, t->col, "duration too long for an option");
        st->value = (long)(v / 1000);
    } else {
        if (!parse_uint(p, t, 0x7fffffff, &v))
            return false;
        st->value = (long)v;
    }
    return true;
}

static bool parse_recv(struct parser *p, struct scn_stmt *st)
{
    st->mode = SCN_RECV_NOW;
    if (!more(p) || is(&p->t[p->pos], "=>"))
        return true;
    if (accept_word(p, "eof")) {
        st->mode = SCN_RECV_EOF;
    } else if (accept_word(p, "auto")) {
        st->mode = SCN_RECV_AUTO;
    } else {
        st->mode = SCN_RECV_N;
        return parse_size(p, &p->t[p->pos++], &st->n);
    }
    return true;
}

/* connect NODE PORT [from PORT] [nowait]; the peer node goes in mode. */
static bool parse_connect(struct parser *p, struct scn_stmt *st)
{
    const struct tok *t = need(p, "the node to connect to (A or B)");
    unsigned peer;
    if (!t || !parse_node(p, t, &peer))
        return false;
    if (peer == st->node)
        return fail(p, t->col, "a node cannot connect to itself here");
    st->mode = (int)peer;
    if (!(t = need(p, "the port to connect to")) || !parse_port(p, t, &st->n))
        return false;
    for (;;) {
        if (accept_word(p, "nowait")) {
            st->nowait = true;
        } else if (accept_word(p, "from")) {
            if (!(t = need(p, "a local port after 'from'")) ||
                !parse_port(p, t, &st->n2))
                return false;
        } else {
            return true;
        }
    }
}

/* accept LISTENER [nowait] */
static bool parse_accept(struct parser *p, struct scn_stmt *st)
{
    const struct tok *t = need(p, "the listening socket");
    if (!t)
        return false;
    if (is_sock_token(t)) {
        if (!parse_sock(p, t, &st->sock2))
            return false;
        if (p->s->socks[st->sock2].node != st->node)
            return fail(p, t->col, "the listener must be on the same node");
        st->nowait = accept_word(p, "nowait");
        return true;
    }
    char buf[SCN_NAME_MAX + 3];
    if (t->len + 3 > sizeof buf)
        return fail(p, t->col, "socket name too long");
    snprintf(buf, sizeof buf, "%c.%.*s", st->node ? 'B' : 'A', (int)t->len,
             t->p);
    struct tok full = {buf, t->len + 2, t->col, false};
    if (!parse_sock(p, &full, &st->sock2))
        return false;
    st->nowait = accept_word(p, "nowait");
    return true;
}

struct sockop {
    const char *name;
    enum scn_kind kind;
};
static const struct sockop sockops[] = {
    {"listen", SCN_LISTEN}, {"bind", SCN_BIND},         {"connect", SCN_CONNECT},
    {"accept", SCN_ACCEPT}, {"send", SCN_SEND},         {"recv", SCN_RECV},
    {"shutdown", SCN_SHUTDOWN}, {"close", SCN_CLOSE},  {"abort", SCN_ABORT},
    {"set", SCN_SET},
};

static bool sockop_args(struct parser *p, struct scn_stmt *st)
{
    const struct tok *t;
    switch (st->kind) {
    case SCN_LISTEN:
        if (!(t = need(p, "the port to listen on")) ||
            !parse_port(p, t, &st->n))
            return false;
        st->n2 = 8;
        if (accept_word(p, "backlog") &&
            (!(t = need(p, "a number after 'backlog'")) ||
             !parse_uint(p, t, 65535, &st->n2)))
            return false;
        return true;
    case SCN_BIND:
        return (t = need(p, "the port to bind")) && parse_port(p, t, &st->n);
    case SCN_CONNECT:
        return parse_connect(p, st);
    case SCN_ACCEPT:
        return parse_accept(p, st);
    case SCN_SEND:
        return (t = need(p, "the number of bytes to send")) &&
               parse_size(p, t, &st->n);
    case SCN_RECV:
        return parse_recv(p, st);
    case SCN_SHUTDOWN:
        st->mode = UTCP_SHUT_WR;
        if (accept_word(p, "rd"))
            st->mode = UTCP_SHUT_RD;
        else if (accept_word(p, "rdwr"))
            st->mode = UTCP_SHUT_RDWR;
        else
            accept_word(p, "wr");
        return true;
    case SCN_SET:
        return parse_set(p, st);
    default:
        return true;
    }
}

static bool stmt_sock(struct parser *p, const struct tok *st_tok)
{
    int sock;
    if (!parse_sock(p, st_tok, &sock))
        return false;
    const struct tok *t = need(p, "a socket action (listen, connect, send, "
                                  "close...)");
    if (!t)
        return false;
    size_t k = 0;
    while (k < sizeof sockops / sizeof sockops[0] && !is(t, sockops[k].name))
        k++;
    if (k == sizeof sockops / sizeof sockops[0])
        return fail(p, t->col, "unknown action '%.*s'", (int)t->len, t->p);
    struct scn_stmt *st = new_stmt(p, sockops[k].kind, st_tok->col);
    if (!st)
        return false;
    st->sock = sock;
    st->node = p->s->socks[sock].node;
    if (!sockop_args(p, st))
        return false;
    if (accept_word(p, "=>")) {
        if (!(t = need(p, "a result after '=>' (ok or an error name)")) ||
            !parse_result(p, t, &st->want))
            return false;
        st->has_want = true;
    }
    return end_of_line(p);
}

/* PATH: STATE>STATE>... (validated; kept as text). */
static bool parse_path(struct parser *p, const struct tok *t)
{
    size_t start = 0;
    for (size_t i = 0; i <= t->len; i++) {
        if (i < t->len && t->p[i] != '>')
            continue;
        struct tok part = {t->p + start, i - start, t->col + (unsigned)start,
                           false};
        int state = 0;
        if (part.len == 0)
            return fail(p, part.col, "empty state in a path");
        if (!parse_state(p, &part, &state))
            return false;
        start = i + 1;
    }
    return true;
}

static bool expect_sock(struct parser *p, struct scn_stmt *st)
{
    const struct tok *t = need(p, "what to expect (state, path, received, "
                                  "error)");
    if (!t)
        return false;
    if (is(t, "state")) {
        st->kind = SCN_EXP_STATE;
        if (!(t = need(p, "a state name")) || !parse_state(p, t, &st->mode))
            return false;
        st->n = UINT64_MAX;
        if (accept_word(p, "by") &&
            (!(t = need(p, "a time after 'by'")) || !parse_dur(p, t, &st->n)))
            return false;
    } else if (is(t, "path")) {
        st->kind = SCN_EXP_PATH;
        if (!(t = need(p, "a state path (CLOSED>SYN_SENT>...)")) ||
            !parse_path(p, t))
            return false;
        if (!(st->text = dup_tok(t)))
            return fail(p, t->col, "out of memory");
    } else if (is(t, "received")) {
        st->kind = SCN_EXP_RECEIVED;
        if (!(t = need(p, "a byte count")) || !parse_size(p, t, &st->n))
            return false;
        st->eof = accept_word(p, "eof");
    } else if (is(t, "error")) {
        st->kind = SCN_EXP_ERROR;
        if (!(t = need(p, "an error name (or none)")) ||
            !parse_result(p, t, &st->want))
            return false;
    } else {
        return fail(p, t->col, "unknown expectation '%.*s' for a socket "
                               "(state, path, received, error)",
                    (int)t->len, t->p);
    }
    return true;
}

static bool expect_node(struct parser *p, struct scn_stmt *st)
{
    const struct tok *t = need(p, "what to expect (sent, lost, "
                                  "retransmitted, timer-set, timer-fired)");
    if (!t)
        return false;
    int dir = (int)st->node;
    if (is(t, "sent"))
        st->kind = SCN_EXP_SENT;
    else if (is(t, "lost"))
        st->kind = SCN_EXP_LOST;
    else if (is(t, "retransmitted"))
        st->kind = SCN_EXP_RETRANSMITTED;
    else if (is(t, "timer-set"))
        st->kind = SCN_EXP_TIMER_SET;
    else if (is(t, "timer-fired"))
        st->kind = SCN_EXP_TIMER_FIRED;
    else if (is(t, "connections"))
        st->kind = SCN_EXP_CONNECTIONS;
    else
        return fail(p, t->col, "unknown expectation '%.*s' for a node (sent, "
                               "lost, retransmitted, timer-set, timer-fired, "
                               "connections)",
                    (int)t->len, t->p);
    st->rule.match = utcp_filter_match_any(dir);
    if (st->kind == SCN_EXP_TIMER_SET || st->kind == SCN_EXP_TIMER_FIRED) {
        int timer = 0;
        if (!(t = need(p, "a timer name")) || !parse_timer(p, t, &timer))
            return false;
        st->sock2 = timer;
    }
    if (!(t = need(p, "a count (N, >=N or <=N)")) ||
        !parse_count(p, t, &st->mode, &st->n))
        return false;
    if ((st->kind == SCN_EXP_SENT || st->kind == SCN_EXP_LOST) && more(p))
        return parse_match(p, &p->t[p->pos++], dir, &st->rule.match);
    return true;
}

static bool stmt_expect(struct parser *p, const struct tok *kw)
{
    const struct tok *t = need(p, "a socket, a node or 'clean'");
    if (!t)
        return false;
    struct scn_stmt *st = new_stmt(p, SCN_EXP_CLEAN, kw->col);
    if (!st)
        return false;
    bool ok;
    if (is(t, "clean")) {
        ok = true;
    } else if (is_sock_token(t)) {
        ok = parse_sock(p, t, &st->sock) && expect_sock(p, st);
        if (ok)
            st->node = p->s->socks[st->sock].node;
    } else {
        ok = parse_node(p, t, &st->node) && expect_node(p, st);
    }
    return ok && end_of_line(p);
}

/* ---- lines ---- */

/* `at T` / `at +D` before a statement. */
static bool parse_at(struct parser *p, enum scn_time *mode, uint64_t *at)
{
    const struct tok *t = need(p, "a time after 'at' (like 250ms or +10ms)");
    if (!t)
        return false;
    struct tok v = *t;
    *mode = SCN_AT_ABS;
    if (v.len && v.p[0] == '+') {
        *mode = SCN_AT_REL;
        v.p++;
        v.len--;
        v.col++;
    }
    if (!parse_dur(p, &v, at))
        return false;
    if (*mode == SCN_AT_ABS) {
        if (p->cursor_known && *at < p->cursor)
            return fail(p, t->col, "time goes backwards (at %.*s, after "
                                   "%llu us)",
                        (int)t->len, t->p, (unsigned long long)p->cursor);
        p->cursor = *at;
        p->cursor_known = true;
    } else {
        p->cursor += *at;
    }
    return true;
}

static bool statement(struct parser *p)
{
    enum scn_time mode = SCN_AT_NONE;
    uint64_t at = 0;
    unsigned at_col = p->t[0].col;
    if (accept_word(p, "at") && !parse_at(p, &mode, &at))
        return false;
    const struct tok *t = need(p, "a statement after the time");
    if (!t)
        return false;
    size_t before = p->s->n;
    bool ok, setup = false;
    if (is(t, "seed"))
        ok = stmt_seed(p, t), setup = true;
    else if (is(t, "title"))
        ok = stmt_title(p), setup = true;
    else if (is(t, "stack"))
        ok = stmt_stack(p, t), setup = true;
    else if (is(t, "link"))
        ok = stmt_link(p, t);
    else if (is(t, "drop") || is(t, "delay"))
        ok = stmt_rule(p, t, is(t, "delay"));
    else if (is(t, "wait"))
        ok = stmt_wait(p, t);
    else if (is(t, "expect"))
        ok = stmt_expect(p, t);
    else if (is(t, "A") || is(t, "B"))
        ok = stmt_node(p, t);
    else if (is_sock_token(t))
        ok = stmt_sock(p, t);
    else
        ok = fail(p, t->col, "unknown action '%.*s'", (int)t->len, t->p);
    if (!ok)
        return false;
    if (setup && mode != SCN_AT_NONE)
        return fail(p, at_col, "set-up lines take no time ('at')");
    if (!setup && p->s->n > before) {
        struct scn_stmt *st = &p->s->st[p->s->n - 1];
        st->at_mode = mode;
        st->at = at;
        if (st->kind != SCN_LINK || mode != SCN_AT_NONE)
            p->acted = true;
    }
    return true;
}

int utcp__scn_parse(const char *text, size_t len, struct scn *out,
              struct scn_error *err)
{
    memset(out, 0, sizeof *out);
    memset(err, 0, sizeof *err);
    struct parser *p = calloc(1, sizeof *p);
    if (!p) {
        snprintf(err->msg, sizeof err->msg, "out of memory");
        return -1;
    }
    p->s = out;
    p->err = err;
    p->cursor_known = true;
    size_t i = 0;
    bool ok = true;
    while (ok && i < len) {
        size_t j = i;
        while (j < len && text[j] != '\n')
            j++;
        p->line++;
        ok = lex(p, text + i, j - i) && (p->nt == 0 || statement(p));
        i = j + 1;
    }
    free(p);
    if (!ok) {
        utcp__scn_free(out);
        return -1;
    }
    return 0;
}

void utcp__scn_free(struct scn *s)
{
    for (size_t i = 0; i < s->n; i++)
        free(s->st[i].text);
    free(s->st);
    free(s->title);
    memset(s, 0, sizeof *s);
}

static const char *const kind_names[] = {
    "seed", "title", "stack", "link", "rule", "wait", "wait idle",
    "restart", "note", "inject", "replay", "stat", "listen", "bind", "connect", "accept", "send", "recv",
    "shutdown", "close", "abort", "set", "expect state", "expect path",
    "expect received", "expect error", "expect sent", "expect lost",
    "expect retransmitted", "expect timer-set", "expect timer-fired",
    "expect clean", "expect connections",
};

const char *utcp__scn_kind_name(enum scn_kind k)
{
    return (size_t)k < sizeof kind_names / sizeof kind_names[0]
               ? kind_names[k]
               : "?";
}
