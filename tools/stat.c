/*
 * `utcp stat`: like `ss -tan` for running utcp processes. Finds their
 * control sockets (utcp_run_ctl_dir()/<pid>.sock), asks each for its
 * connections or counters, prints the answers. Must never write to a
 * process (only one request line), hang on one (2 s timeouts), or follow a
 * path that is not a socket.
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <sys/un.h>
#include <unistd.h>

#include "tools.h"
#include "utcp/run.h"

static void usage(FILE *f)
{
    char dir[256];
    fprintf(f,
            "usage: utcp stat [-s] [--pid PID | --sock PATH]\n\n"
            "Shows the connections of every running utcp process (utcp nc, "
            "...): state, local\nand remote address, send and receive "
            "queue, smoothed rtt, rto, cwnd,\nssthresh, mss, "
            "retransmissions, the congestion control (and BBR's mode), "
            "the\npacing rate, BBR's RTprop (its minimum RTT, us), the "
            "earliest timer and its\nremaining time, and the time spent in "
            "the current state.\n"
            "  -s            print the TCP-MIB style counters instead\n"
            "  --pid PID     only this process\n"
            "  --sock PATH   ask this control socket\n\n"
            "Control sockets live in %s/<pid>.sock ($UTCP_RUN_DIR, else "
            "/run/utcp when\nwritable, else $XDG_RUNTIME_DIR/utcp, else "
            "/tmp/utcp-<uid>).\n"
            "Exit status: 0, 1 when no process answered, 2 bad usage.\n",
            utcp_run_ctl_dir(dir, sizeof dir));
}

static int ask(const char *path, const char *req)
{
    int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return -1;
    struct timeval tv = {2, 0};
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
    struct sockaddr_un sa;
    memset(&sa, 0, sizeof sa);
    sa.sun_family = AF_UNIX;
    if (strlen(path) >= sizeof sa.sun_path) {
        close(fd);
        return -1;
    }
    memcpy(sa.sun_path, path, strlen(path));
    if (connect(fd, (struct sockaddr *)&sa, sizeof sa) < 0) {
        close(fd);
        return -1;
    }
    char line[32];
    int n = snprintf(line, sizeof line, "%s\n", req);
    if (send(fd, line, (size_t)n, MSG_NOSIGNAL) != n) {
        close(fd);
        return -1;
    }
    char buf[4096];
    ssize_t k;
    while ((k = read(fd, buf, sizeof buf)) > 0)
        fwrite(buf, 1, (size_t)k, stdout);
    close(fd);
    return 0;
}

int utcp_tool_stat(int argc, char **argv)
{
    const char *req = "conns", *sock = NULL;
    long pid = 0;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "-s")) {
            req = "counters";
        } else if (!strcmp(argv[i], "--pid") && i + 1 < argc) {
            char *end;
            pid = strtol(argv[++i], &end, 10);
            if (*end || pid <= 0) {
                fprintf(stderr, "utcp stat: bad pid '%s'\n", argv[i]);
                return 2;
            }
        } else if (!strcmp(argv[i], "--sock") && i + 1 < argc) {
            sock = argv[++i];
        } else if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h")) {
            usage(stdout);
            return 0;
        } else {
            fprintf(stderr, "utcp stat: unknown argument '%s'\n", argv[i]);
            usage(stderr);
            return 2;
        }
    }
    if (sock) {
        if (ask(sock, req) < 0) {
            fprintf(stderr, "utcp stat: %s: %s\n", sock, strerror(errno));
            return 1;
        }
        return 0;
    }
    char dir[256];
    utcp_run_ctl_dir(dir, sizeof dir);
    DIR *d = opendir(dir);
    if (!d) {
        fprintf(stderr, "utcp stat: no utcp process is running (%s: %s)\n", dir,
                strerror(errno));
        return 1;
    }
    int answered = 0;
    struct dirent *e;
    while ((e = readdir(d)) != NULL) {
        char *end;
        long p = strtol(e->d_name, &end, 10);
        if (p <= 0 || strcmp(end, ".sock") || (pid && p != pid))
            continue;
        char path[512];
        snprintf(path, sizeof path, "%s/%s", dir, e->d_name);
        struct stat st;
        if (lstat(path, &st) < 0 || !S_ISSOCK(st.st_mode))
            continue;
        if (kill((pid_t)p, 0) < 0 && errno == ESRCH)
            continue; /* left behind by a process that was killed */
        printf("pid %ld (%s)\n", p, path);
        fflush(stdout);
        if (ask(path, req) == 0)
            answered++;
        else
            printf("  (no answer: %s)\n", strerror(errno));
        printf("\n");
    }
    closedir(d);
    if (!answered) {
        fprintf(stderr, "utcp stat: no utcp process answered%s\n",
                pid ? " (wrong --pid?)" : "");
        return 1;
    }
    return 0;
}
