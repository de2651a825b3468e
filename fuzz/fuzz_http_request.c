/*
 * `utcp http`'s request path: Debian's http-parser frames the input as
 * requests, as the server does (pipelined, paused after each one); every
 * target is then decoded (tools/http_util.c). A decoded path must start
 * with '/', hold no NUL and no ".." segment. The raw input is decoded too.
 */
#include <http_parser.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "http_util.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

struct req {
    char url[2048];
    size_t len;
    bool too_long, done;
};

static int on_url(http_parser *p, const char *at, size_t len)
{
    struct req *r = p->data;
    if (r->len + len > sizeof r->url) {
        r->too_long = true;
        return -1;
    }
    memcpy(r->url + r->len, at, len);
    r->len += len;
    return 0;
}

static int on_complete(http_parser *p)
{
    struct req *r = p->data;
    r->done = true;
    http_parser_pause(p, 1);
    return 0;
}

static void check_decoded(const char *t, size_t n)
{
    char out[256];
    int st = utcp_http_decode_target(t, n, out, sizeof out);
    if (st == 400 || st == 414)
        return;
    if (st != 0)
        abort();
    size_t len = strlen(out);
    if (len == 0 || len >= sizeof out || out[0] != '/')
        abort();
    for (const char *s = out; (s = strstr(s, "..")); s++)
        if (s[-1] == '/' && (s[2] == '/' || s[2] == '\0'))
            abort(); /* a ".." segment got through */
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    check_decoded((const char *)data, size);
    http_parser_settings set;
    http_parser_settings_init(&set);
    set.on_url = on_url;
    set.on_message_complete = on_complete;
    http_parser p;
    http_parser_init(&p, HTTP_REQUEST);
    struct req r = {.len = 0};
    p.data = &r;
    size_t off = 0;
    while (off < size) {
        size_t n =
            http_parser_execute(&p, &set, (const char *)data + off, size - off);
        if (n > size - off)
            abort();
        off += n;
        if (HTTP_PARSER_ERRNO(&p) != HPE_PAUSED)
            break;
        check_decoded(r.url, r.len);
        r.len = 0;
        r.done = false;
        http_parser_pause(&p, 0);
    }
    return 0;
}
