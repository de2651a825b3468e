/*
 * Linux TUN driver: opens /dev/net/tun as IFF_TUN | IFF_NO_PI, by default
 * with IFF_VNET_HDR and the checksum and TSO4 offloads (a virtio-net header
 * on every packet, GSO frames both ways), else plain (whole packets,
 * complete checksums); configures the device with the classic interface
 * ioctls, and moves single packets or frames. Must never touch a device it
 * was not asked for, block, trust a header from the device unchecked, or
 * report an error without saying which step failed and what to do.
 */
#define _GNU_SOURCE
#include "link/tun.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/bpf.h>
#include <linux/if.h>
#include <linux/if_tun.h>
#include <netinet/in.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <time.h>
#include <unistd.h>

#include "link/vnet.h"
#include "utcp/wire.h"
#include "utcp/errors.h"

#define TUN_PATH "/dev/net/tun"
/* kernel_gro: 256 slots of flows; a flow that wrote to the NAPI queue in
 * the last 10 ms keeps writing there (gro_route) */
#define GRO_FLOW_BITS 8
#define GRO_RECENT_NS 10000000u

struct utcp_tun {
    int fd;
    int gro_fd;       /* kernel_gro: the IFF_NAPI queue data goes to, or -1 */
    bool steered;     /* our steering program is on the device */
    uint16_t mtu;
    bool vnet;        /* offload mode: a virtio-net header on every packet */
    const char *why;  /* plain mode: why */
    char why_buf[96];
    bool gro;         /* the kernel merges what we write (kernel_gro) */
    char gro_why[160]; /* asked for and refused: why */
    /* the device's sysfs values before we changed them ("" unchanged) */
    char old_threaded[16], old_timeout[32];
    struct utcp_tun_stats st;
    char name[IFNAMSIZ];
    /* kernel_gro: per slot of flows, when one last wrote to the NAPI
     * queue (CLOCK_MONOTONIC ns; gro_route) */
    uint64_t gro_mark[1u << GRO_FLOW_BITS];
    uint64_t gro_recent_ns; /* GRO_RECENT_NS plus the clock's resolution */
};

const char *utcp_vnet_reason_text(int reason)
{
    static const char *const text[] = {
#define UTCP_X_(name, t) t,
        UTCP_VNET_REASONS(UTCP_X_)
#undef UTCP_X_
    };
    if (reason < 0 || reason >= UTCP_VNET_REASON_COUNT)
        return "?";
    return text[reason];
}

int utcp__errno_code(int e)
{
    switch (e) {
#define UTCP_X_(name, value, msg)                                              \
    case -(value):                                                             \
        return value;
        UTCP_ERRORS(UTCP_X_)
#undef UTCP_X_
    case ENODEV:
    case ENXIO:
        return UTCP_ENOENT;
    case EIO:
        return UTCP_EBADF;
    default:
        return UTCP_EINVAL;
    }
}

void utcp__msg(char *msg, size_t msglen, const char *fmt, ...)
{
    if (!msg || !msglen)
        return;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, msglen, fmt, ap);
    va_end(ap);
}

int utcp_parse_ipv4(const char *text, uint32_t *addr, uint8_t *prefix)
{
    unsigned long part[4];
    const char *p = text;
    if (!text)
        return UTCP_EINVAL;
    for (int i = 0; i < 4; i++) {
        if (*p < '0' || *p > '9')
            return UTCP_EINVAL;
        char *end;
        part[i] = strtoul(p, &end, 10);
        if (part[i] > 255 || end - p > 3)
            return UTCP_EINVAL;
        p = end;
        if (i < 3) {
            if (*p != '.')
                return UTCP_EINVAL;
            p++;
        }
    }
    uint8_t len = 32;
    if (*p == '/') {
        p++;
        if (*p < '0' || *p > '9')
            return UTCP_EINVAL;
        char *end;
        unsigned long n = strtoul(p, &end, 10);
        if (n > 32 || end - p > 2)
            return UTCP_EINVAL;
        len = (uint8_t)n;
        p = end;
        if (!prefix)
            return UTCP_EINVAL;
    }
    if (*p != '\0')
        return UTCP_EINVAL;
    *addr = (uint32_t)(part[0] << 24 | part[1] << 16 | part[2] << 8 | part[3]);
    if (prefix)
        *prefix = len;
    return 0;
}

static void set_sin(struct sockaddr *sa, uint32_t addr)
{
    struct sockaddr_in sin;
    memset(&sin, 0, sizeof sin);
    sin.sin_family = AF_INET;
    sin.sin_addr.s_addr = htonl(addr);
    memcpy(sa, &sin, sizeof sin);
}

/* Whether a network device by that name exists in this namespace. */
static bool dev_exists(const char *name)
{
    int s = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    if (s < 0)
        return true; /* cannot tell: let TUNSETIFF decide */
    struct ifreq ifr;
    memset(&ifr, 0, sizeof ifr);
    memcpy(ifr.ifr_name, name, strlen(name));
    bool found = ioctl(s, SIOCGIFINDEX, &ifr) == 0 || errno != ENODEV;
    close(s);
    return found;
}

/* Applies MTU, the kernel's address and IFF_UP through an AF_INET socket. */
static int configure(struct utcp_tun *t, const struct utcp_tun_config *cfg,
                     char *msg, size_t msglen)
{
    int s = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    if (s < 0) {
        int e = errno;
        utcp__msg(msg, msglen, "socket(AF_INET) for configuring %s: %s",
                  t->name, strerror(e));
        return utcp__errno_code(e);
    }
    struct ifreq ifr;
    int rc = 0;
    const char *step = NULL;
    memset(&ifr, 0, sizeof ifr);
    memcpy(ifr.ifr_name, t->name, sizeof ifr.ifr_name);
    if (cfg->mtu) {
        ifr.ifr_mtu = cfg->mtu;
        if (ioctl(s, SIOCSIFMTU, &ifr) < 0) {
            step = "set MTU";
            goto fail;
        }
    }
    if (cfg->kernel_addr) {
        uint8_t plen = cfg->kernel_prefix;
        uint32_t mask = plen ? UINT32_MAX << (32 - plen) : 0;
        set_sin(&ifr.ifr_addr, cfg->kernel_addr);
        if (ioctl(s, SIOCSIFADDR, &ifr) < 0) {
            step = "set the kernel's address";
            goto fail;
        }
        set_sin(&ifr.ifr_netmask, mask);
        if (ioctl(s, SIOCSIFNETMASK, &ifr) < 0) {
            step = "set the netmask";
            goto fail;
        }
    }
    if (cfg->up) {
        if (ioctl(s, SIOCGIFFLAGS, &ifr) < 0) {
            step = "read the flags";
            goto fail;
        }
        ifr.ifr_flags = (short)(ifr.ifr_flags | IFF_UP | IFF_RUNNING);
        if (ioctl(s, SIOCSIFFLAGS, &ifr) < 0) {
            step = "bring the link up";
            goto fail;
        }
    }
    if (cfg->up) {
        /* The kernel activates the device's queue (linkwatch) up to a
         * second after the carrier comes on; until then whatever it sends
         * us is dropped (a first SYN+ACK lost, a 1 s stall). Wait for it. */
        for (int i = 0; i < 300; i++) {
            if (ioctl(s, SIOCGIFFLAGS, &ifr) == 0 &&
                (ifr.ifr_flags & IFF_RUNNING))
                break;
            usleep(10000);
        }
    }
    if (ioctl(s, SIOCGIFMTU, &ifr) == 0 && ifr.ifr_mtu > 0 &&
        ifr.ifr_mtu <= UINT16_MAX)
        t->mtu = (uint16_t)ifr.ifr_mtu;
    close(s);
    return 0;
fail:
    rc = errno;
    utcp__msg(msg, msglen, "%s: cannot %s: %s%s", t->name, step, strerror(rc),
              rc == EPERM || rc == EACCES ? " (needs CAP_NET_ADMIN: run as "
                                            "root or in a namespace you own)"
                                          : "");
    close(s);
    return utcp__errno_code(rc);
}

/* Reads /sys/class/net/DEV/ATTR into old (cap bytes, newline dropped;
 * old may be NULL), then writes val (may be NULL). 0 or an errno. */
static int sysfs_rw(const char *dev, const char *attr, char *old, size_t cap,
                    const char *val)
{
    char path[96];
    snprintf(path, sizeof path, "/sys/class/net/%s/%s", dev, attr);
    int fd = open(path, (val ? O_RDWR : O_RDONLY) | O_CLOEXEC);
    if (fd < 0)
        return errno;
    int e = 0;
    if (old) {
        ssize_t n = read(fd, old, cap - 1);
        if (n < 0) {
            e = errno;
            n = 0;
        }
        while (n > 0 && (old[n - 1] == '\n' || old[n - 1] == ' '))
            n--;
        old[n] = '\0';
    }
    if (!e && val) {
        size_t len = strlen(val);
        if (write(fd, val, len) != (ssize_t)len)
            e = errno ? errno : EIO;
    }
    close(fd);
    return e;
}

/* Whether /sys/class/net/NAME is our multi-queue device. sysfs is the
 * view of the namespace that mounted it, which need not be ours (`nsenter`
 * does not remount it, `ip netns exec` does): a device there by our name
 * must have our device's index and be a multi-queue TUN before anything is
 * read from it or written to it. */
static bool sysfs_ours(const char *name)
{
    int s = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    struct ifreq ifr;
    memset(&ifr, 0, sizeof ifr);
    memcpy(ifr.ifr_name, name, strnlen(name, IFNAMSIZ - 1));
    bool have = s >= 0 && ioctl(s, SIOCGIFINDEX, &ifr) == 0;
    if (s >= 0)
        close(s);
    char idx[16] = "", flags[16] = "", want[16];
    (void)sysfs_rw(name, "ifindex", idx, sizeof idx, NULL);
    (void)sysfs_rw(name, "tun_flags", flags, sizeof flags, NULL);
    snprintf(want, sizeof want, "%d", have ? ifr.ifr_ifindex : -1);
    return have && !strcmp(idx, want) &&
           (strtoul(flags, NULL, 16) & IFF_MULTI_QUEUE);
}

/* The queues attached to the multi-queue device NAME (its transmit
 * queues in sysfs: the kernel keeps one per attached descriptor), or -1
 * when sysfs cannot tell. */
static int queues_attached(const char *name)
{
    if (!sysfs_ours(name))
        return -1;
    char path[96];
    snprintf(path, sizeof path, "/sys/class/net/%s/queues", name);
    DIR *d = opendir(path);
    if (!d)
        return -1;
    int n = 0;
    for (struct dirent *e; (e = readdir(d));)
        n += !strncmp(e->d_name, "tx-", 3);
    closedir(d);
    return n;
}

/* utcp_tun_config.kernel_gro, once the queue has its NAPI (IFF_NAPI):
 * the poll in a kernel thread, merged packets held up to hold_us. On a
 * refusal t keeps plain mode without it, and says why. */
static void kernel_gro_on(struct utcp_tun *t, uint32_t hold_us)
{
    char now[32];
    if (!sysfs_ours(t->name)) {
        snprintf(t->gro_why, sizeof t->gro_why,
                 "/sys/class/net/%s is not this namespace's device (sysfs "
                 "not remounted: use `ip netns exec`)",
                 t->name);
        return;
    }
    int e = sysfs_rw(t->name, "threaded", t->old_threaded,
                     sizeof t->old_threaded, "1");
    if (e) {
        t->old_threaded[0] = '\0';
        snprintf(t->gro_why, sizeof t->gro_why,
                 "/sys/class/net/%s/threaded: %s", t->name, strerror(e));
        return;
    }
    if (!strcmp(t->old_threaded, "1"))
        t->old_threaded[0] = '\0'; /* nothing to restore */
    snprintf(now, sizeof now, "%llu", (unsigned long long)hold_us * 1000u);
    e = sysfs_rw(t->name, "gro_flush_timeout", t->old_timeout,
                 sizeof t->old_timeout, now);
    if (e) {
        t->old_timeout[0] = '\0';
        snprintf(t->gro_why, sizeof t->gro_why,
                 "/sys/class/net/%s/gro_flush_timeout: %s", t->name,
                 strerror(e));
        return;
    }
    if (!strcmp(t->old_timeout, now))
        t->old_timeout[0] = '\0';
    t->gro = true;
}

/* gro_route reads the clock for every data packet: the coarse clock (the
 * last tick's time, a plain read) costs a fraction of the fine one, and
 * twice its resolution is added to the window (gro_recent_ns), so that
 * ticks between two reads never make it shorter than GRO_RECENT_NS. */
static uint64_t coarse_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC_COARSE, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static uint64_t coarse_res_ns(void)
{
    struct timespec ts;
    if (clock_getres(CLOCK_MONOTONIC_COARSE, &ts) < 0)
        return 10000000u; /* a 100 Hz tick, the coarsest Linux has */
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

/* A socket-filter program that returns 0: as the device's steering
 * program (TUNSETSTEERINGEBPF) it sends every packet the kernel routes to
 * the device to queue 0. A descriptor or -errno. */
static int steer_queue0_prog(void)
{
    struct bpf_insn insn[2];
    memset(insn, 0, sizeof insn);
    insn[0].code = BPF_ALU64 | BPF_MOV | BPF_K; /* r0 = 0 */
    insn[1].code = BPF_JMP | BPF_EXIT;
    union bpf_attr attr;
    memset(&attr, 0, sizeof attr);
    attr.prog_type = BPF_PROG_TYPE_SOCKET_FILTER;
    attr.insns = (uint64_t)(uintptr_t)insn;
    attr.insn_cnt = 2;
    attr.license = (uint64_t)(uintptr_t) "BSD";
    long fd = syscall(SYS_bpf, BPF_PROG_LOAD, &attr, sizeof attr);
    return fd < 0 ? -errno : (int)fd;
}

/* kernel_gro on the multi-queue device t->fd (queue 0) belongs to: a
 * second queue with IFF_NAPI, the one data is written to, and everything
 * the kernel sends steered to queue 0. On a refusal, says why. */
static bool gro_queue_open(struct utcp_tun *t)
{
    int fd = open(TUN_PATH, O_RDWR | O_CLOEXEC | O_NONBLOCK);
    if (fd < 0) {
        snprintf(t->gro_why, sizeof t->gro_why, "%s: %s", TUN_PATH,
                 strerror(errno));
        return false;
    }
    struct ifreq ifr;
    memset(&ifr, 0, sizeof ifr);
    ifr.ifr_flags = IFF_TUN | IFF_NO_PI | IFF_MULTI_QUEUE | IFF_NAPI;
    memcpy(ifr.ifr_name, t->name, sizeof ifr.ifr_name);
    if (ioctl(fd, TUNSETIFF, &ifr) < 0) {
        snprintf(t->gro_why, sizeof t->gro_why,
                 "TUNSETIFF IFF_NAPI (second queue): %s", strerror(errno));
        close(fd);
        return false;
    }
    int prog = steer_queue0_prog();
    if (prog < 0 || ioctl(t->fd, TUNSETSTEERINGEBPF, &prog) < 0) {
        snprintf(t->gro_why, sizeof t->gro_why, "%s: %s",
                 prog < 0 ? "bpf(BPF_PROG_LOAD)" : "TUNSETSTEERINGEBPF",
                 strerror(prog < 0 ? -prog : errno));
        if (prog >= 0)
            close(prog);
        close(fd);
        return false;
    }
    close(prog); /* the device holds it */
    t->steered = true;
    t->gro_recent_ns = GRO_RECENT_NS + 2 * coarse_res_ns();
    t->gro_fd = fd;
    return true;
}

int utcp_tun_open(const struct utcp_tun_config *cfg, struct utcp_tun **out,
                  char *msg, size_t msglen)
{
    struct ifreq ifr;
    memset(&ifr, 0, sizeof ifr);
    *out = NULL;
    const char *name = cfg->name && cfg->name[0] ? cfg->name : "utcp%d";
    if (strlen(name) >= IFNAMSIZ || strchr(name, '/') || strchr(name, ' ')) {
        utcp__msg(msg, msglen,
                  "bad device name '%s' (at most %d characters, no '/' or "
                  "space)",
                  name, IFNAMSIZ - 1);
        return UTCP_EINVAL;
    }
    if (cfg->kernel_addr && cfg->kernel_prefix > 32) {
        utcp__msg(msg, msglen, "bad prefix length /%u", cfg->kernel_prefix);
        return UTCP_EINVAL;
    }
    if (cfg->must_exist) {
        /* TUNSETIFF would create it: look first. */
        if (!dev_exists(name)) {
            utcp__msg(msg, msglen,
                      "no device '%s' in this network namespace (create it "
                      "with `ip tuntap add dev %s mode tun multi_queue`)",
                      name, name);
            return UTCP_ENOENT;
        }
    }
    bool vnet = !cfg->no_offload;
    const char *why = vnet ? NULL : "disabled by configuration";
    char why_buf[96] = "", gro_why[160] = "";
    bool napi_refused = false;
    /* kernel_gro needs a multi-queue device; a persistent device made
     * with or without multi_queue only takes the same: on EINVAL the
     * other kind is tried once (mq_flipped) before giving up a feature */
    bool mq = !vnet && cfg->kernel_gro, mq_flipped = false;
reopen:;
    int fd = open(TUN_PATH, O_RDWR | O_CLOEXEC | O_NONBLOCK);
    if (fd < 0) {
        int e = errno;
        if (e == ENOENT || e == ENODEV || e == ENXIO)
            utcp__msg(msg, msglen,
                      "%s: %s (is the tun module loaded? `modprobe tun`)",
                      TUN_PATH, strerror(e));
        else if (e == EPERM || e == EACCES)
            utcp__msg(msg, msglen, "%s: %s (needs root or CAP_NET_ADMIN)",
                      TUN_PATH, strerror(e));
        else
            utcp__msg(msg, msglen, "%s: %s", TUN_PATH, strerror(e));
        return utcp__errno_code(e == ENODEV || e == ENXIO ? ENOENT : e);
    }
    memset(&ifr, 0, sizeof ifr);
    bool napi = !vnet && cfg->kernel_gro && !napi_refused;
    ifr.ifr_flags = IFF_TUN | IFF_NO_PI | (vnet ? IFF_VNET_HDR : 0) |
                    (mq ? IFF_MULTI_QUEUE : 0);
    memcpy(ifr.ifr_name, name, strlen(name));
    if (ioctl(fd, TUNSETIFF, &ifr) < 0) {
        int e = errno;
        if (e == EINVAL && !mq_flipped) {
            close(fd);
            mq = !mq;
            mq_flipped = true;
            goto reopen;
        }
        if (e == EINVAL && (napi || vnet)) {
            /* Refused either way: again without one feature. First
             * kernel GRO (its multi-queue device), then IFF_VNET_HDR (a
             * kernel without it, or a device that is no TUN: plain mode
             * then reports that). */
            close(fd);
            bool gro = napi;
            snprintf(gro ? gro_why : why_buf, sizeof why_buf,
                     "TUNSETIFF %s: %s", gro ? "IFF_MULTI_QUEUE" : "IFF_VNET_HDR",
                     strerror(e));
            napi_refused |= gro;
            vnet = vnet && gro;
            mq = false;
            mq_flipped = false;
            goto reopen;
        }
        if (e == EBUSY)
            utcp__msg(msg, msglen,
                      "device '%s' is busy: another process has it open", name);
        else if (e == EPERM || e == EACCES)
            utcp__msg(msg, msglen,
                      "creating or attaching TUN device '%s': %s (needs "
                      "CAP_NET_ADMIN, or a persistent device owned by you)",
                      name, strerror(e));
        else if (e == EINVAL)
            utcp__msg(msg, msglen,
                      "'%s' exists and is not a TUN device (or has "
                      "incompatible flags)",
                      name);
        else
            utcp__msg(msg, msglen, "TUNSETIFF '%s': %s", name, strerror(e));
        close(fd);
        return utcp__errno_code(e);
    }
    if (mq && queues_attached(name) > 1) {
        /* A multi-queue device takes any number of descriptors, where a
         * single-queue one refuses a second with EBUSY: the same answer,
         * so that two programs never share the device's packets. (When
         * sysfs is not this namespace's, this cannot be told.) */
        close(fd);
        utcp__msg(msg, msglen,
                  "device '%s' is busy: another process has it open", name);
        return UTCP_EBUSY;
    }
    if (vnet) {
        /* The 10-byte struct virtio_net_hdr (vnet.h); TUN_F_CSUM: we take
         * partial checksums; TUN_F_TSO4: and TCPv4 GSO frames (Linux
         * requires TUN_F_CSUM for any TSO flag). Refused: plain mode, on a
         * fresh descriptor (IFF_VNET_HDR cannot be cleared once set). */
        int sz = UTCP_VNET_HDR_LEN;
        const char *step = NULL;
        if (ioctl(fd, TUNSETVNETHDRSZ, &sz) < 0)
            step = "TUNSETVNETHDRSZ";
        else if (ioctl(fd, TUNSETOFFLOAD,
                       (unsigned long)(TUN_F_CSUM | TUN_F_TSO4)) < 0)
            step = "TUNSETOFFLOAD(CSUM|TSO4)";
        if (step) {
            int e = errno;
            close(fd);
            snprintf(why_buf, sizeof why_buf, "%s refused: %s", step,
                     strerror(e));
            vnet = false;
            goto reopen;
        }
    }
    if (!vnet && ioctl(fd, TUNSETOFFLOAD, 0ul) < 0 && errno != EINVAL &&
        errno != ENOTTY) {
        /* Offloads belong to the device, not to the descriptor: a
         * persistent device keeps the ones an earlier offload-mode user
         * set, and the kernel would go on handing up partial checksums
         * (and GSO frames) with no header to say so. Plain mode clears
         * them; a kernel without the ioctl never had them. */
        int e = errno;
        utcp__msg(msg, msglen, "TUNSETOFFLOAD(0) on '%s': %s", name,
                  strerror(e));
        close(fd);
        return utcp__errno_code(e);
    }
    struct utcp_tun *t = calloc(1, sizeof *t);
    if (!t) {
        close(fd);
        utcp__msg(msg, msglen, "out of memory");
        return UTCP_ENOMEM;
    }
    t->fd = fd;
    t->gro_fd = -1;
    t->vnet = vnet;
    memcpy(t->gro_why, gro_why, sizeof t->gro_why);
    memcpy(t->why_buf, why_buf, sizeof t->why_buf);
    t->why = vnet ? NULL : why ? why : t->why_buf;
    memcpy(t->name, ifr.ifr_name, sizeof t->name);
    t->name[sizeof t->name - 1] = '\0';
    if (napi && !mq)
        snprintf(t->gro_why, sizeof t->gro_why,
                 "'%s' is a single-queue device (kernel GRO needs one made "
                 "with multi_queue)",
                 t->name);
    else if (napi && gro_queue_open(t)) {
        kernel_gro_on(t, cfg->kernel_gro_hold_us);
        if (!t->gro) {
            close(t->gro_fd);
            t->gro_fd = -1;
        }
    }
    else if (cfg->kernel_gro && !t->gro_why[0])
        snprintf(t->gro_why, sizeof t->gro_why,
                 "offload mode (the kernel takes TSO frames whole)");
    int rc = configure(t, cfg, msg, msglen);
    if (rc < 0) {
        utcp_tun_close(t);
        return rc;
    }
    *out = t;
    return 0;
}

void utcp_tun_close(struct utcp_tun *t)
{
    if (!t)
        return;
    /* the device's own settings as they were (it may outlive us), while
     * our queue still has its NAPI (without one the kernel refuses a
     * change of `threaded`) */
    if (t->old_timeout[0])
        (void)sysfs_rw(t->name, "gro_flush_timeout", NULL, 0,
                       t->old_timeout);
    if (t->old_threaded[0])
        (void)sysfs_rw(t->name, "threaded", NULL, 0, t->old_threaded);
    if (t->gro_fd >= 0)
        close(t->gro_fd);
    if (t->steered) {
        /* a persistent device outlives us: no steering left behind */
        int none = -1;
        (void)ioctl(t->fd, TUNSETSTEERINGEBPF, &none);
    }
    close(t->fd);
    free(t);
}

int utcp_tun_fd(const struct utcp_tun *t)
{
    return t->fd;
}

const char *utcp_tun_name(const struct utcp_tun *t)
{
    return t->name;
}

uint16_t utcp_tun_mtu(const struct utcp_tun *t)
{
    return t->mtu;
}

bool utcp_tun_kernel_gro(const struct utcp_tun *t, const char **why)
{
    if (why)
        *why = t->gro_why[0] ? t->gro_why : NULL;
    return t->gro;
}

bool utcp_tun_offload(const struct utcp_tun *t, const char **why)
{
    if (why)
        *why = t->vnet ? NULL : t->why;
    return t->vnet;
}

void utcp_tun_get_stats(const struct utcp_tun *t, struct utcp_tun_stats *out)
{
    *out = t->st;
    /* written by the sending thread, which may be another (tx_count) */
    out->tx_gso = __atomic_load_n(&t->st.tx_gso, __ATOMIC_RELAXED);
    out->tx_csum_partial =
        __atomic_load_n(&t->st.tx_csum_partial, __ATOMIC_RELAXED);
    out->tx_bad_meta = __atomic_load_n(&t->st.tx_bad_meta, __ATOMIC_RELAXED);
    out->tx_gro = __atomic_load_n(&t->st.tx_gro, __ATOMIC_RELAXED);
}

/* The send counters: utcp_tun_send may run in a thread of its own (the
 * runtime's transmit thread) while another reads the statistics. */
static void tx_count(uint64_t *ctr)
{
    __atomic_fetch_add(ctr, 1, __ATOMIC_RELAXED);
}

/* One readv/writev (read/write for one piece: the kernel then skips
 * importing a vector), EINTR retried; a byte count or a UTCP_E* code. */
static long io_vec(int fd, bool rd, struct iovec *iov, int n)
{
    for (;;) {
        ssize_t r;
        if (n == 1)
            r = rd ? read(fd, iov->iov_base, iov->iov_len)
                   : write(fd, iov->iov_base, iov->iov_len);
        else
            r = rd ? readv(fd, iov, n) : writev(fd, iov, n);
        if (r >= 0)
            return (long)r;
        if (errno == EINTR)
            continue;
        if (errno == EAGAIN || errno == EWOULDBLOCK ||
            (!rd && errno == ENOBUFS))
            return UTCP_EAGAIN;
        return utcp__errno_code(errno);
    }
}

long utcp_tun_recv(struct utcp_tun *t, uint8_t *buf, size_t cap,
                   unsigned *input_flags, uint32_t *partial)
{
    uint8_t h[UTCP_VNET_HDR_LEN];
    struct iovec iov[2] = {{h, sizeof h}, {buf, cap}};
    if (input_flags)
        *input_flags = 0;
    if (partial)
        *partial = 0;
    if (!t->vnet)
        return io_vec(t->fd, true, iov + 1, 1);
    long n = io_vec(t->fd, true, iov, 2);
    if (n < 0)
        return n;
    size_t blen = (size_t)n < sizeof h ? (size_t)n : sizeof h;
    size_t len = (size_t)n - blen;
    struct utcp_vnet_rx rx;
    enum utcp_vnet_reason r = utcp_vnet_parse(h, blen, buf, len, &rx);
    if (r != UTCP_VNET_OK) {
        t->st.rx_dropped[r]++;
        return 0;
    }
    if (rx.h.gso_type == UTCP_VNET_GSO_TCPV4)
        t->st.rx_gso++;
    if (rx.input_flags & UTCP_INPUT_CSUM_OK)
        t->st.rx_csum_ok++;
    if (input_flags)
        *input_flags = rx.input_flags;
    if (partial && rx.csum_partial)
        *partial = (uint32_t)rx.h.csum_start << 16 | rx.h.csum_offset;
    if (len == 0)
        return 0; /* a header and nothing: nothing to hand up */
    return (long)len;
}

long utcp_tun_read(struct utcp_tun *t, void *buf, size_t cap)
{
    uint32_t partial;
    long n = utcp_tun_recv(t, buf, cap, NULL, &partial);
    if (n > 0 && partial)
        utcp_vnet_csum_complete(buf, (size_t)n, (uint16_t)(partial >> 16),
                                (uint16_t)partial);
    return n;
}

/* kernel_gro: whether pkt goes to the NAPI queue, where the kernel merges
 * it with the packets before and after it, or straight in (queue 0).
 *
 * Merging pays only for a stream of data: a data segment without PSH or
 * FIN (more follows) goes to the NAPI queue, and marks its flow. Anything
 * else goes straight in, without waking the NAPI thread: ACKs, SYNs, and
 * the lone segments of request and response traffic (which carry PSH),
 * unless its flow wrote to the NAPI queue in the last GRO_RECENT_NS. Such
 * a packet (the PSH segment ending a burst, a FIN, a RST) must follow the
 * flow's data into the NAPI queue: the kernel may still hold that data
 * (up to the hold, or longer when the NAPI thread waits for a CPU), and a
 * packet straight in would overtake it. A pure ACK may overtake: the
 * kernel takes an ACK with a sequence number past what it has (RFC 9293
 * 3.10.7.4: acceptable when in the window) and queues no data for it.
 *
 * Flows are marked in a small table by a hash of their addresses and
 * ports; two flows in one slot only send more to the NAPI queue. The
 * loop's thread and the transmit thread may both get here: the marks are
 * atomic, and made before the write that needs them. */
static bool gro_route(struct utcp_tun *t, const uint8_t *pkt, size_t len)
{
    if (len < 40 || (pkt[0] >> 4) != 4 || pkt[9] != 6)
        return false;
    size_t ihl = (size_t)(pkt[0] & 15) * 4;
    size_t tot = utcp_get16(pkt + 2);
    if (ihl < 20 || tot > len || ihl + 20 > tot)
        return false;
    const uint8_t *th = pkt + ihl;
    size_t doff = (size_t)(th[12] >> 4) * 4;
    uint8_t fl = th[13];
    bool data = tot > ihl + doff;
    if (!data && !(fl & (UTCP_TH_FIN | UTCP_TH_RST)))
        return false; /* a pure ACK, or a SYN */
    /* addresses and ports */
    uint32_t h = utcp_get32(pkt + 12) ^ utcp_get32(pkt + 16) ^ utcp_get32(th);
    h *= 0x9e3779b1u;
    uint64_t *mark = &t->gro_mark[h >> (32 - GRO_FLOW_BITS)];
    uint64_t now = coarse_ns();
    if (data && !(fl & (UTCP_TH_PSH | UTCP_TH_FIN | UTCP_TH_RST | UTCP_TH_SYN))) {
        __atomic_store_n(mark, now, __ATOMIC_RELEASE);
        return true;
    }
    uint64_t last = __atomic_load_n(mark, __ATOMIC_ACQUIRE);
    if (last && now - last < t->gro_recent_ns) {
        __atomic_store_n(mark, now, __ATOMIC_RELEASE);
        return true;
    }
    return false;
}

long utcp_tun_send(struct utcp_tun *t, const uint8_t *pkt, size_t len,
                   const struct utcp_output_meta *meta)
{
    uint8_t h[UTCP_VNET_HDR_LEN];
    struct iovec iov[2] = {{h, sizeof h}, {(void *)(uintptr_t)pkt, len}};
    bool wants = meta && (meta->gso_size || meta->csum_partial);
    if (!t->vnet) {
        if (wants) {
            tx_count(&t->st.tx_bad_meta);
            return UTCP_EINVAL;
        }
        bool gro = t->gro_fd >= 0 && gro_route(t, pkt, len);
        long n = io_vec(gro ? t->gro_fd : t->fd, false, iov + 1, 1);
        if (gro && n >= 0)
            tx_count(&t->st.tx_gro);
        return n;
    }
    if (!utcp_vnet_build(h, pkt, len, meta)) {
        tx_count(&t->st.tx_bad_meta);
        return UTCP_EINVAL;
    }
    long n = io_vec(t->fd, false, iov, 2);
    if (n < 0)
        return n;
    if (meta && meta->gso_size)
        tx_count(&t->st.tx_gso);
    else if (wants)
        tx_count(&t->st.tx_csum_partial);
    return n >= (long)sizeof h ? n - (long)sizeof h : 0;
}

long utcp_tun_write(struct utcp_tun *t, const void *pkt, size_t len)
{
    return utcp_tun_send(t, pkt, len, NULL);
}
