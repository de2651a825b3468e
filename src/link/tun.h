/*
 * Internal side of the Linux TUN driver (public API: utcp/tun.h): the
 * interface configuration helpers the runtime shares.
 */
#ifndef UTCP_LINK_TUN_H
#define UTCP_LINK_TUN_H

#include <stddef.h>
#include <stdint.h>

#include "utcp/tun.h"

/* Maps a positive errno to its UTCP_E* code (UTCP_EINVAL when unlisted). */
int utcp__errno_code(int e);

/* Formats into msg[0..msglen) like snprintf; msg may be NULL. */
void utcp__msg(char *msg, size_t msglen, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

#endif
