#!/usr/bin/env bash
# Interop (http): `utcp http` serves the kernel's curl. A 50 MB download with
# the same SHA-256, HEAD's Content-Length, 100 keep-alive requests on one
# connection, 200 concurrent connections (curl --parallel, and ab -c 200 when
# apache2-utils is there), 404/405/400/414/431, traversal refused (.., %2e%2e,
# %2f, NUL, a symlink out of the root), HTTP/1.0 and Connection: close end
# the connection, pipelining, SIGTERM exits 0; the access log has a line per
# request; --index, and --timeout closing an idle connection and a
# request that trickles in.
. "$(dirname "$0")/lib.sh" "$@"
command -v curl >/dev/null || skip "needs curl (scripts/deps.sh --interop)"

MB=${UTCP_INTEROP_MB:-50}
PORT=8080
URL=http://$UADDR:$PORT
WWW=$TMP/www
mkdir -p "$WWW/dir" "$TMP/outside"
head -c $((MB * 1048576)) /dev/urandom > "$WWW/big.bin"
head -c 1024 /dev/urandom > "$WWW/small.bin"
echo "hello from utcp http" > "$WWW/hello.txt"
echo "<p>index</p>" > "$WWW/dir/index.html"
echo "secret" > "$TMP/outside/secret.txt"
ln -s "$TMP/outside/secret.txt" "$WWW/escape.txt"

note "usage errors exit 2, a missing root exits 1"
set +e
"$UTCP" http --port 0 > /dev/null 2>&1; rc=$?
[ $rc -eq 2 ] || fail "utcp http --port 0 exited $rc, want 2"
"$UTCP" http --bogus > /dev/null 2>&1; rc=$?
[ $rc -eq 2 ] || fail "utcp http --bogus exited $rc, want 2"
"$UTCP" http --root "$TMP/nonexistent" > /dev/null 2> "$TMP/noroot.log"; rc=$?
set -e
[ $rc -eq 1 ] || fail "utcp http with a missing root exited $rc, want 1"
grep -q "nonexistent" "$TMP/noroot.log" || fail "no clear message: $(cat "$TMP/noroot.log")"

ns_up
bg_ns "$UTCP" http "${MODE_ARGS[@]}" --dev "$DEV" --addr "$UADDR" --root "$WWW" --port $PORT \
  --log "$TMP/access.txt" 2> "$TMP/http.log"
hpid=$!
wait_for_line "$TMP/http.log" "serving"
grep -q "$MODE mode" "$TMP/http.log" || fail "utcp http not in $MODE mode: $(cat "$TMP/http.log")"

kcurl() { in_ns curl -sS --max-time 30 "$@"; }
code() { kcurl -o /dev/null -w '%{http_code}' "$@"; }

note "GET $MB MB: SHA-256 matches"
speed=$(kcurl -o "$TMP/big.out" -w '%{speed_download}' "$URL/big.bin") || fail "curl of big.bin failed"
note "  $(awk -v s="$speed" 'BEGIN { printf "%.0f MB/s", s / 1e6 }')"
[ "$(sha "$TMP/big.out")" = "$(sha "$WWW/big.bin")" ] || fail "SHA-256 differs"
rm -f "$TMP/big.out"

note "HEAD: Content-Length, no body"
kcurl -I "$URL/big.bin" > "$TMP/head.txt"
grep -qi "^content-length: $((MB * 1048576))" "$TMP/head.txt" || fail "HEAD: $(cat "$TMP/head.txt")"
grep -q "^HTTP/1.1 200" "$TMP/head.txt" || fail "HEAD status: $(cat "$TMP/head.txt")"
kcurl -i "$URL/hello.txt" > "$TMP/hello.txt"
grep -qi "^content-type: text/plain" "$TMP/hello.txt" || fail "no text/plain: $(cat "$TMP/hello.txt")"
grep -q "hello from utcp http" "$TMP/hello.txt" || fail "hello.txt: $(cat "$TMP/hello.txt")"

note "100 keep-alive requests on one connection"
args=()
for _ in $(seq 100); do args+=("$URL/small.bin" -o /dev/null); done
kcurl -w '%{http_code} %{num_connects}\n' "${args[@]}" > "$TMP/ka.txt"
[ "$(grep -c '^200 ' "$TMP/ka.txt")" -eq 100 ] || fail "not 100 x 200: $(sort "$TMP/ka.txt" | uniq -c)"
conns=$(awk '{ s += $2 } END { print s }' "$TMP/ka.txt")
[ "$conns" -eq 1 ] || fail "100 requests used $conns connections, want 1"

note "200 concurrent connections (curl --parallel)"
args=()
for i in $(seq 200); do args+=("$URL/small.bin?$i" -o /dev/null); done
kcurl --parallel --parallel-immediate --parallel-max 200 -w '%{http_code}\n' "${args[@]}" > "$TMP/par.txt" 2> "$TMP/par.err"
[ "$(grep -c '^200$' "$TMP/par.txt")" -eq 200 ] || fail "parallel: $(sort "$TMP/par.txt" | uniq -c)"
if command -v ab >/dev/null; then
  note "ab -c 200 -n 2000"
  in_ns ab -q -s 20 -c 200 -n 2000 "$URL/small.bin" > "$TMP/ab.txt" 2>&1 || fail "ab: $(tail "$TMP/ab.txt")"
  grep -Eq "^Complete requests: +2000" "$TMP/ab.txt" || fail "ab: $(cat "$TMP/ab.txt")"
  grep -Eq "^Failed requests: +0" "$TMP/ab.txt" || fail "ab: $(cat "$TMP/ab.txt")"
  note "ab -k: HTTP/1.0 with Connection: keep-alive is kept alive"
  in_ns ab -k -q -s 20 -c 10 -n 200 "$URL/small.bin" > "$TMP/abk.txt" 2>&1 || fail "ab -k: $(tail "$TMP/abk.txt")"
  grep -Eq "^Keep-Alive requests: +200" "$TMP/abk.txt" || fail "ab -k: $(cat "$TMP/abk.txt")"
fi

note "errors: 404, 405 with Allow, 403 for a directory, --index off"
[ "$(code "$URL/missing")" = 404 ] || fail "missing file: not 404"
[ "$(code "$URL/dir/")" = 403 ] || fail "directory: not 403"
kcurl -i -X POST -d x "$URL/hello.txt" > "$TMP/post.txt" || true
grep -q "^HTTP/1.1 405" "$TMP/post.txt" || fail "POST: $(cat "$TMP/post.txt")"
grep -qi "^allow: GET, HEAD" "$TMP/post.txt" || fail "405 without Allow: $(cat "$TMP/post.txt")"

note "traversal refused"
for path in /../etc/passwd /%2e%2e/%2e%2e/etc/passwd /..%2f..%2fetc/passwd \
            /dir/../../outside/secret.txt /%00 /hello.txt%00.bin; do
  got=$(kcurl --path-as-is -o "$TMP/trav.out" -w '%{http_code}' "$URL$path" || true)
  case "$got" in 400|403|404) ;; *) fail "$path answered $got" ;; esac
  ! grep -q "root:\|secret" "$TMP/trav.out" || fail "$path leaked a file"
done
[ "$(code "$URL/escape.txt")" = 403 ] || fail "a symlink out of the root: not 403"

note "raw requests: garbage 400, long target 414, big header 431, HTTP/1.0 and Connection: close end the connection"
raw() { printf "$1" | in_ns timeout 10 socat -t 5 - TCP:$UADDR:$PORT; }
raw 'GARBAGE\r\n\r\n' | head -1 | grep -q "^HTTP/1.1 400" || fail "garbage: not 400"
raw 'GET /hello.txt HTTP/1.1\r\n\r\n' | head -1 | grep -q "^HTTP/1.1 400" || fail "1.1 without Host: not 400"
long=$(head -c 3000 /dev/zero | tr '\0' a)
raw "GET /$long HTTP/1.1\r\nHost: x\r\n\r\n" | head -1 | grep -q "^HTTP/1.1 414" || fail "long target: not 414"
big=$(head -c 9000 /dev/zero | tr '\0' b)
raw "GET / HTTP/1.1\r\nHost: x\r\nX-Big: $big\r\n\r\n" | head -1 | grep -q "^HTTP/1.1 431" || fail "big header: not 431"
# socat -t 5 waits 5 s for the end after stdin ended: a server that keeps
# the connection open would make these take 5 s
t0=$(date +%s%N)
raw 'GET /hello.txt HTTP/1.0\r\n\r\n' > "$TMP/v10.txt"
raw 'GET /hello.txt HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n' > "$TMP/close.txt"
ms=$(( ($(date +%s%N) - t0) / 1000000 ))
grep -q "hello from utcp http" "$TMP/v10.txt" || fail "HTTP/1.0: $(cat "$TMP/v10.txt")"
grep -qi "^connection: close" "$TMP/close.txt" || fail "Connection: close: $(cat "$TMP/close.txt")"
[ $ms -lt 4000 ] || fail "HTTP/1.0 and Connection: close took $ms ms: the server did not close"
# two pipelined requests in one write, answered in order
raw 'GET /hello.txt HTTP/1.1\r\nHost: x\r\n\r\nHEAD /small.bin HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n' > "$TMP/pipe.txt"
[ "$(grep -c '^HTTP/1.1 200' "$TMP/pipe.txt")" -eq 2 ] || fail "pipelining: $(cat "$TMP/pipe.txt")"

note "SIGTERM: graceful stop, exit 0; the access log"
kill -TERM $hpid
wait_pid $hpid 10
[ "$WAIT_RC" -eq 0 ] || fail "utcp http after SIGTERM exited $WAIT_RC, want 0"
n=$(grep -c '"GET /small.bin' "$TMP/access.txt" || true)
[ "$n" -ge 100 ] || fail "access log has $n lines for small.bin"
grep -q '"GET /big.bin HTTP/1.1" 200 '$((MB * 1048576)) "$TMP/access.txt" || fail "no log line for big.bin"
grep -q '"GET /missing HTTP/1.1" 404 ' "$TMP/access.txt" || fail "no log line for the 404"

note "--index serves index.html; --timeout closes an idle connection"
bg_ns "$UTCP" http "${MODE_ARGS[@]}" --dev "$DEV" --addr "$UADDR" --root "$WWW" --port $PORT \
  --index --timeout 2 --no-log 2> "$TMP/http2.log"
hpid=$!
wait_for_line "$TMP/http2.log" "serving"
[ "$(kcurl "$URL/dir/")" = "<p>index</p>" ] || fail "--index: no index.html for /dir/"
[ "$(code "$URL/")" = 404 ] || fail "--index: a directory without index.html is not 404"
t0=$(date +%s%N)
in_ns timeout 10 socat -u TCP:$UADDR:$PORT /dev/null || true
ms=$(( ($(date +%s%N) - t0) / 1000000 ))
[ $ms -lt 6000 ] || fail "an idle connection lasted $ms ms with --timeout 2"
# a request trickling in, one header line every 0.4 s: cut at ~2 s though
# bytes keep coming
t0=$(date +%s%N)
( (printf 'GET /hello.txt HTTP/1.1\r\n'; for _ in $(seq 30); do printf 'X-Slow: 1\r\n'; sleep 0.4; done) |
  in_ns timeout 20 socat -t 0.2 - TCP:$UADDR:$PORT > /dev/null 2>&1 || true; date +%s%N > "$TMP/slow.end" ) &
slowpid=$!; PIDS+=($slowpid)
for _ in $(seq 300); do [ -s "$TMP/slow.end" ] && break; sleep 0.05; done
ms=$(( ($(cat "$TMP/slow.end" 2>/dev/null || date +%s%N) - t0) / 1000000 ))
note "  a trickling request was cut after $ms ms"
[ $ms -lt 6000 ] || fail "a trickling request lasted $ms ms with --timeout 2"
wait $slowpid 2>/dev/null || true
kill -INT $hpid
wait_pid $hpid 10
[ "$WAIT_RC" -eq 0 ] || fail "utcp http after SIGINT exited $WAIT_RC, want 0"
echo "PASS: $TEST_NAME"
