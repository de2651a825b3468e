/*
 * The kernel reference of bench/http_rps.sh (`kernel_httpd ADDR PORT ROOT`):
 * a minimal static file server on the kernel's TCP, one thread and epoll like
 * `utcp http`, keep-alive. Benchmarks only: files up to 64 KiB, read per
 * request; it must never serve a path with "..".
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

struct conn {
    int fd;
    char in[8192];
    size_t inlen;
};

static const char *root;
static char out[65536 + 512];

/* Answers one request (req .. end of headers); false: close. */
static bool answer(int fd, char *req, bool *keep)
{
    char method[8], path[1024], ver[16];
    if (sscanf(req, "%7s %1023s %15s", method, path, ver) != 3 ||
        strstr(path, ".."))
        return false;
    *keep = strcmp(ver, "HTTP/1.0") != 0;
    if (strcasestr(req, "\r\nConnection: close"))
        *keep = false;
    if (strcasestr(req, "\r\nConnection: keep-alive"))
        *keep = true;
    char full[2048], body[65536];
    snprintf(full, sizeof full, "%s%s", root, path);
    int f = open(full, O_RDONLY);
    ssize_t n = f < 0 ? -1 : read(f, body, sizeof body);
    if (f >= 0)
        close(f);
    int h = n < 0 ? snprintf(out, sizeof out,
                             "HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\n"
                             "%s\r\n",
                             *keep ? "" : "Connection: close\r\n")
                  : snprintf(out, sizeof out,
                             "HTTP/1.1 200 OK\r\nContent-Type: "
                             "application/octet-stream\r\nContent-Length: "
                             "%zd\r\n%s\r\n",
                             n,
                             *keep ? "Connection: keep-alive\r\n"
                                   : "Connection: close\r\n");
    size_t len = (size_t)h;
    if (n > 0 && strcmp(method, "HEAD")) {
        memcpy(out + len, body, (size_t)n);
        len += (size_t)n;
    }
    /* small responses fit the socket buffer: one write */
    return write(fd, out, len) == (ssize_t)len;
}

static void on_readable(int ep, struct conn *c)
{
    for (;;) {
        ssize_t n = read(c->fd, c->in + c->inlen, sizeof c->in - 1 - c->inlen);
        if (n < 0 && errno == EAGAIN)
            return;
        if (n <= 0)
            break;
        c->inlen += (size_t)n;
        c->in[c->inlen] = '\0';
        char *end;
        bool keep = true;
        while ((end = strstr(c->in, "\r\n\r\n"))) {
            end[2] = '\0';
            if (!answer(c->fd, c->in, &keep) || !keep)
                goto done;
            size_t used = (size_t)(end + 4 - c->in);
            memmove(c->in, c->in + used, c->inlen - used + 1);
            c->inlen -= used;
        }
        if (c->inlen >= sizeof c->in - 1)
            break;
    }
done:
    epoll_ctl(ep, EPOLL_CTL_DEL, c->fd, NULL);
    close(c->fd);
    free(c);
}

int main(int argc, char **argv)
{
    if (argc != 4) {
        fprintf(stderr, "usage: kernel_httpd ADDR PORT ROOT\n");
        return 2;
    }
    root = argv[3];
    int ls = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0), one = 1;
    struct sockaddr_in sa = {.sin_family = AF_INET,
                             .sin_port = htons((uint16_t)atoi(argv[2]))};
    inet_pton(AF_INET, argv[1], &sa.sin_addr);
    setsockopt(ls, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    if (bind(ls, (struct sockaddr *)&sa, sizeof sa) < 0 || listen(ls, 511)) {
        perror("kernel_httpd: bind/listen");
        return 1;
    }
    int ep = epoll_create1(0);
    struct epoll_event ev = {.events = EPOLLIN, .data.ptr = NULL};
    epoll_ctl(ep, EPOLL_CTL_ADD, ls, &ev);
    struct epoll_event evs[256];
    for (;;) {
        int k = epoll_wait(ep, evs, 256, -1);
        for (int i = 0; i < k; i++) {
            struct conn *c = evs[i].data.ptr;
            if (c) {
                on_readable(ep, c);
                continue;
            }
            int fd;
            while ((fd = accept4(ls, NULL, NULL, SOCK_NONBLOCK)) >= 0) {
                setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
                c = calloc(1, sizeof *c);
                c->fd = fd;
                struct epoll_event ce = {.events = EPOLLIN, .data.ptr = c};
                epoll_ctl(ep, EPOLL_CTL_ADD, fd, &ce);
            }
        }
    }
}
