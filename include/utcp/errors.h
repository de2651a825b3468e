/*
 * utcp error codes: one flat list of negative values, each named after the
 * errno it corresponds to. utcp_strerror() gives the message.
 */
#ifndef UTCP_ERRORS_H
#define UTCP_ERRORS_H

#ifdef __cplusplus
extern "C" {
#endif

/* X(name, value, message). Values are the negated Linux errno numbers, so
 * a tool can hand them to strerror(-e) as well. */
#define UTCP_ERRORS(X)                                                         \
    X(EPERM, -1, "operation not permitted")                                    \
    X(ENOENT, -2, "no such file or directory")                                 \
    X(EBADF, -9, "bad or stale socket handle")                                 \
    X(EAGAIN, -11, "operation would block")                                    \
    X(ENOMEM, -12, "out of memory")                                            \
    X(EACCES, -13, "permission denied")                                        \
    X(EBUSY, -16, "device or resource busy")                                   \
    X(EINVAL, -22, "invalid argument")                                         \
    X(EMFILE, -24, "too many open sockets")                                    \
    X(EPIPE, -32, "broken pipe: the sending side is shut down")                \
    X(ENOPROTOOPT, -92, "unknown option")                                      \
    X(EOPNOTSUPP, -95, "operation not supported on this socket")               \
    X(EADDRINUSE, -98, "address already in use")                               \
    X(EADDRNOTAVAIL, -99, "address not available")                             \
    X(ENETUNREACH, -101, "network unreachable")                                \
    X(ECONNABORTED, -103, "connection aborted")                                \
    X(ECONNRESET, -104, "connection reset by peer")                            \
    X(ENOBUFS, -105, "no buffer space available")                              \
    X(EISCONN, -106, "socket is already connected")                            \
    X(ENOTCONN, -107, "socket is not connected")                               \
    X(ETIMEDOUT, -110, "connection timed out")                                 \
    X(ECONNREFUSED, -111, "connection refused")                                \
    X(EHOSTUNREACH, -113, "no route to host")                                  \
    X(EALREADY, -114, "operation already in progress")                         \
    X(EINPROGRESS, -115, "operation now in progress")

enum utcp_error {
    UTCP_OK = 0,
#define UTCP_X_(name, value, msg) UTCP_##name = value,
    UTCP_ERRORS(UTCP_X_)
#undef UTCP_X_
};

/* The message for a code (0 gives "success"); never NULL. */
const char *utcp_strerror(int err);

/* The errno-style name ("ECONNREFUSED") for a code; never NULL. */
const char *utcp_errname(int err);

#ifdef __cplusplus
}
#endif
#endif
