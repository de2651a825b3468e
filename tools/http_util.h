/* Pieces of `utcp http` without I/O on the network: the request target to a
 * file under the root (percent-decoding, traversal refused), Content-Type
 * from the extension, reason phrases, HTTP dates. */
#ifndef UTCP_TOOLS_HTTP_UTIL_H
#define UTCP_TOOLS_HTTP_UTIL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

/* Decodes the path of an origin-form request target ("/a%20b?q" gives
 * "/a b") into out[0..outlen). Returns 0, or the HTTP status to answer:
 * 400 when the target does not start with '/', has a bad %-escape, a
 * decoded NUL or a ".." segment (also when encoded, %2e%2e), 414 when the
 * decoded path does not fit. */
int utcp_http_decode_target(const char *target, size_t len, char *out,
                            size_t outlen);

/* Resolves the decoded path under root (an absolute, canonical directory,
 * from realpath) and opens the file. With index, a directory serves its
 * index.html. Returns 200 and sets *fd (open, O_RDONLY), *size and
 * *resolved (the file's canonical path, in a buffer of PATH_MAX bytes),
 * or 403 (outside the root after symlinks, a directory, not a regular
 * file, no permission), 404, or 503 (out of file descriptors). */
int utcp_http_open(const char *root, const char *path, bool index, int *fd,
                   uint64_t *size, char *resolved);

/* Content-Type for a file name, from its extension (a small table;
 * application/octet-stream when unknown). Static string. */
const char *utcp_http_mime(const char *name);

/* Reason phrase of a status code ("Not Found"); "Unknown" otherwise. */
const char *utcp_http_reason(int status);

/* "Sat, 21 Nov 2026 14:30:00 GMT" (RFC 9110 5.6.7 IMF-fixdate) into buf
 * (at least 30 bytes). */
void utcp_http_date(time_t t, char *buf, size_t len);

/* "21/Nov/2026:14:30:00 +0000", the common log format's time, in UTC. */
void utcp_http_logtime(time_t t, char *buf, size_t len);

#endif
