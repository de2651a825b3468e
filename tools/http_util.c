/*
 * `utcp http` without the network: a request target becomes a file under the
 * root (strict %-decoding, ".." refused before and after decoding, realpath
 * and a prefix check against symlinks), plus MIME types, reason phrases and
 * dates. Must never open anything outside the root, nor block on a FIFO.
 */
#define _GNU_SOURCE
#include "http_util.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

static int hexval(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

/* true when a segment of the decoded path is ".." */
static bool has_dotdot(const char *p)
{
    while (*p) {
        while (*p == '/')
            p++;
        const char *seg = p;
        while (*p && *p != '/')
            p++;
        if (p - seg == 2 && seg[0] == '.' && seg[1] == '.')
            return true;
    }
    return false;
}

int utcp_http_decode_target(const char *target, size_t len, char *out,
                            size_t outlen)
{
    if (len == 0 || target[0] != '/' || outlen == 0)
        return 400; /* only origin-form (RFC 9112 3.2.1) */
    size_t o = 0;
    for (size_t i = 0; i < len; i++) {
        char c = target[i];
        if (c == '?' || c == '#')
            break;
        if (c == '%') {
            int hi = i + 2 < len ? hexval(target[i + 1]) : -1;
            int lo = hi >= 0 ? hexval(target[i + 2]) : -1;
            if (lo < 0)
                return 400;
            c = (char)(hi << 4 | lo);
            i += 2;
            if (c == '\0')
                return 400;
        } else if (c == '\0') {
            return 400;
        }
        if (o + 1 >= outlen)
            return 414;
        out[o++] = c;
    }
    out[o] = '\0';
    return has_dotdot(out) ? 400 : 0;
}

static bool under_root(const char *root, const char *path)
{
    size_t n = strlen(root);
    if (n == 1 && root[0] == '/')
        return path[0] == '/';
    return strncmp(path, root, n) == 0 && (path[n] == '/' || path[n] == '\0');
}

/* realpath + prefix check + open without blocking; 200, 403 or 404. */
static int open_under(const char *root, const char *full, int *fd,
                      struct stat *sb, char *resolved)
{
    if (!realpath(full, resolved))
        return errno == EACCES ? 403 : 404;
    if (!under_root(root, resolved))
        return 403; /* a symlink pointing out of the root */
    int f = open(resolved, O_RDONLY | O_CLOEXEC | O_NONBLOCK | O_NOCTTY);
    if (f < 0 && (errno == EMFILE || errno == ENFILE))
        return 503; /* out of descriptors: try again later */
    if (f < 0)
        return errno == EACCES ? 403 : 404;
    if (fstat(f, sb) < 0) {
        close(f);
        return 404;
    }
    *fd = f;
    return 200;
}

int utcp_http_open(const char *root, const char *path, bool index, int *fd,
                   uint64_t *size, char *resolved)
{
    char full[PATH_MAX];
    struct stat sb;
    int n = snprintf(full, sizeof full, "%s%s", root, path);
    if (n < 0 || (size_t)n >= sizeof full)
        return 404;
    int f = -1;
    int st = open_under(root, full, &f, &sb, resolved);
    if (st != 200)
        return st;
    if (S_ISDIR(sb.st_mode)) {
        close(f);
        if (!index)
            return 403; /* no directory listings */
        n = snprintf(full, sizeof full, "%s/index.html", resolved);
        if (n < 0 || (size_t)n >= sizeof full)
            return 404;
        st = open_under(root, full, &f, &sb, resolved);
        if (st != 200)
            return st;
    }
    if (!S_ISREG(sb.st_mode)) {
        close(f);
        return 403;
    }
    int fl = fcntl(f, F_GETFL);
    if (fl >= 0)
        fcntl(f, F_SETFL, fl & ~O_NONBLOCK);
    *fd = f;
    *size = (uint64_t)sb.st_size;
    return 200;
}

static const struct {
    const char *ext, *type;
} mime_table[] = {
    {"html", "text/html; charset=utf-8"},
    {"htm", "text/html; charset=utf-8"},
    {"txt", "text/plain; charset=utf-8"},
    {"md", "text/markdown; charset=utf-8"},
    {"css", "text/css"},
    {"js", "text/javascript"},
    {"json", "application/json"},
    {"xml", "application/xml"},
    {"svg", "image/svg+xml"},
    {"png", "image/png"},
    {"jpg", "image/jpeg"},
    {"jpeg", "image/jpeg"},
    {"gif", "image/gif"},
    {"webp", "image/webp"},
    {"ico", "image/vnd.microsoft.icon"},
    {"pdf", "application/pdf"},
    {"wasm", "application/wasm"},
    {"gz", "application/gzip"},
    {"zip", "application/zip"},
    {"tar", "application/x-tar"},
    {"mp4", "video/mp4"},
    {"pcap", "application/vnd.tcpdump.pcap"},
};

const char *utcp_http_mime(const char *name)
{
    const char *slash = strrchr(name, '/');
    const char *dot = strrchr(slash ? slash : name, '.');
    if (dot && dot[1])
        for (size_t i = 0; i < sizeof mime_table / sizeof mime_table[0]; i++)
            if (!strcasecmp(dot + 1, mime_table[i].ext))
                return mime_table[i].type;
    return "application/octet-stream";
}

const char *utcp_http_reason(int status)
{
    switch (status) {
    case 200:
        return "OK";
    case 400:
        return "Bad Request";
    case 403:
        return "Forbidden";
    case 404:
        return "Not Found";
    case 405:
        return "Method Not Allowed";
    case 414:
        return "URI Too Long";
    case 431:
        return "Request Header Fields Too Large";
    case 503:
        return "Service Unavailable";
    case 505:
        return "HTTP Version Not Supported";
    default:
        return "Unknown";
    }
}

void utcp_http_date(time_t t, char *buf, size_t len)
{
    struct tm tm;
    gmtime_r(&t, &tm);
    strftime(buf, len, "%a, %d %b %Y %H:%M:%S GMT", &tm);
}

void utcp_http_logtime(time_t t, char *buf, size_t len)
{
    struct tm tm;
    gmtime_r(&t, &tm);
    strftime(buf, len, "%d/%b/%Y:%H:%M:%S +0000", &tm);
}
