/* The `utcp` command's subcommands: one line each in UTCP_TOOLS. */
#ifndef UTCP_TOOLS_H
#define UTCP_TOOLS_H

#define UTCP_VERSION_STRING "0.1.0"

#include <string.h>

#include "utcp/utcp.h"

/* The tools' congestion control when --cc is not given: BBR, as the Linux
 * kernel here (docs/tun.md says why). */
#define UTCP_TOOL_CC_DEFAULT UTCP_CC_BBR

/* --cc NAME: the enum utcp_cc value of newreno, cubic or bbr; -1 for
 * anything else. */
static inline int utcp_tool_cc(const char *name)
{
    if (!strcmp(name, "newreno"))
        return UTCP_CC_NEWRENO;
    if (!strcmp(name, "cubic"))
        return UTCP_CC_CUBIC;
    if (!strcmp(name, "bbr"))
        return UTCP_CC_BBR;
    return -1;
}

/* --tx-thread auto|on|off: utcp_run_config.tx_thread (0, 1, -1); -2 for
 * anything else. */
static inline int utcp_tool_tx_thread(const char *v)
{
    if (!strcmp(v, "auto"))
        return 0;
    if (!strcmp(v, "on"))
        return 1;
    if (!strcmp(v, "off"))
        return -1;
    return -2;
}

struct utcp_tool {
    const char *name;
    int (*run)(int argc, char **argv); /* argv[0] is the command name */
    const char *help;
};

int utcp_tool_pcapdemo(int argc, char **argv);
int utcp_tool_sim(int argc, char **argv);
int utcp_tool_fsm(int argc, char **argv);
int utcp_tool_nc(int argc, char **argv);
int utcp_tool_stat(int argc, char **argv);
int utcp_tool_http(int argc, char **argv);

#define UTCP_TOOLS(X)                                                          \
    X("pcapdemo", utcp_tool_pcapdemo,                                          \
      "write a handshake, data, FIN and RST built by the wire layer to a pcap") \
    X("sim", utcp_tool_sim,                                                    \
      "run a TCP scenario (built-in or a .utcp script) on virtual time: "     \
      "ladder, SVG, pcap, JSON; --random")                                     \
    X("fsm", utcp_tool_fsm,                                                    \
      "print the engine's state transition table, or --dot for Graphviz") \
    X("nc", utcp_tool_nc,                                                      \
      "netcat over utcp on a TUN device: connect or listen, stdin <-> "      \
      "connection")                                                            \
    X("http", utcp_tool_http,                                                  \
      "static HTTP/1.1 file server over utcp on a TUN device (GET, HEAD, "    \
      "keep-alive)")                                                           \
    X("stat", utcp_tool_stat,                                                  \
      "connections and counters of running utcp processes (like ss -tan)")

#endif
