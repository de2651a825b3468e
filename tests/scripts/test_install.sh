#!/usr/bin/env bash
# Installs the build into a temporary prefix and uses it the two ways an
# embedder would: pkg-config with a plain compiler command, and a CMake
# project with find_package(utcp). Usage: test_install.sh BUILD_DIR SOURCE_DIR
set -euo pipefail

build=$(cd "${1:?usage: test_install.sh BUILD_DIR SOURCE_DIR}" && pwd)
tmp=$(mktemp -d "${TMPDIR:-/tmp}/utcp-install.XXXXXX")
trap 'rm -rf "$tmp"' EXIT
prefix=$tmp/prefix

fail() {
    echo "test_install: FAIL: $*" >&2
    exit 1
}

cache_get() { # cache_get VAR: its value in the build's CMakeCache.txt
    sed -n "s/^$1:[A-Z]*=//p" "$build/CMakeCache.txt" | head -n1
}

cmake --install "$build" --prefix "$prefix" >"$tmp/install.log" 2>&1 ||
    { cat "$tmp/install.log" >&2; fail "cmake --install failed"; }

# Build with the compiler (and sanitizers) the library was built with: a
# sanitized libutcp needs its runtime in the program that loads it.
cc=$(cache_get CMAKE_C_COMPILER)
[ -n "$cc" ] || cc=cc
xflags=()
if [ "$(cache_get UTCP_SANITIZE)" = ON ]; then
    # shellcheck disable=SC2054 # the commas belong to one flag
    xflags=(-fsanitize=address,undefined -fno-omit-frame-pointer)
fi
if [ "$(cache_get UTCP_COVERAGE)" = ON ]; then
    xflags+=(--coverage) # the static library needs libgcov
fi

for f in include/utcp/wire.h include/utcp/pcap.h; do
    [ -f "$prefix/$f" ] || fail "$f not installed"
done
pcdir=$(dirname "$(find "$prefix" -name utcp.pc -print -quit)")
[ -f "$pcdir/utcp.pc" ] || fail "utcp.pc not installed"
libdir=$(cd "$pcdir/.." && pwd)
ls "$libdir"/libutcp.so* >/dev/null 2>&1 || fail "libutcp.so not in $libdir"
[ -f "$libdir/libutcp.a" ] || fail "libutcp.a not in $libdir"

# The program: the checksum of the RFC 1071 section 3 example bytes.
mkdir -p "$tmp/src"
cat >"$tmp/src/x.c" <<'EOF'
#include <stdio.h>
#include <utcp/wire.h>

int main(void)
{
    static const unsigned char b[] = {0x00, 0x01, 0xf2, 0x03,
                                      0xf4, 0xf5, 0xf6, 0xf7};
    printf("csum=0x%04x\n", (unsigned)utcp_csum(b, sizeof b));
    return 0;
}
EOF
# RFC 1071 3: the sum is 0xddf2, so the checksum (its complement) is 0x220d.
want="csum=0x220d"

# (a) pkg-config.
flags=$(PKG_CONFIG_PATH="$pcdir" pkg-config --cflags --libs utcp) ||
    fail "pkg-config does not find utcp in $pcdir"
echo "pkg-config --cflags --libs utcp: $flags"
# shellcheck disable=SC2086 # flags is a word list by design
"$cc" "${xflags[@]}" -std=c11 -Wall -Werror -o "$tmp/x_pc" "$tmp/src/x.c" $flags ||
    fail "compiling with pkg-config flags failed"
got=$(LD_LIBRARY_PATH="$libdir" "$tmp/x_pc") || fail "pkg-config program failed"
[ "$got" = "$want" ] || fail "pkg-config program printed '$got', want '$want'"
echo "pkg-config: ok ($got)"

# (a') the same, static: no run-time path needed.
# shellcheck disable=SC2046 # pkg-config's output is a word list by design
"$cc" "${xflags[@]}" -std=c11 -o "$tmp/x_static" "$tmp/src/x.c" \
    $(PKG_CONFIG_PATH="$pcdir" pkg-config --cflags utcp) "$libdir/libutcp.a" ||
    fail "static link failed"
got=$("$tmp/x_static") || fail "static program failed"
[ "$got" = "$want" ] || fail "static program printed '$got', want '$want'"
echo "static: ok ($got)"

# (b) CMake find_package.
cat >"$tmp/src/CMakeLists.txt" <<'EOF'
cmake_minimum_required(VERSION 3.20)
project(utcp_consumer LANGUAGES C)
find_package(utcp 0.1 REQUIRED)
add_executable(x x.c)
target_link_libraries(x utcp::utcp)
add_executable(x_static x.c)
target_link_libraries(x_static utcp::utcp_static)
EOF
xf="${xflags[*]}"
cmake -S "$tmp/src" -B "$tmp/cm" -DCMAKE_PREFIX_PATH="$prefix" \
    -DCMAKE_C_COMPILER="$cc" -DCMAKE_C_FLAGS="$xf" \
    -DCMAKE_EXE_LINKER_FLAGS="$xf" >"$tmp/cmake.log" 2>&1 ||
    { cat "$tmp/cmake.log" >&2; fail "configuring the find_package project failed"; }
cmake --build "$tmp/cm" >"$tmp/build.log" 2>&1 ||
    { cat "$tmp/build.log" >&2; fail "building the find_package project failed"; }
# CMake sets the run-time path of the installed shared library itself.
got=$("$tmp/cm/x") || fail "find_package program failed"
[ "$got" = "$want" ] || fail "find_package program printed '$got', want '$want'"
got=$("$tmp/cm/x_static") || fail "find_package static program failed"
[ "$got" = "$want" ] || fail "find_package static program printed '$got', want '$want'"
echo "find_package(utcp): ok ($got)"

# The tool is installed too.
"$prefix/bin/utcp" --version >/dev/null || fail "installed utcp --version failed"
echo "test_install: PASS"
