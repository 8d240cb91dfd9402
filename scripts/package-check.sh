#!/bin/sh
# package-check.sh — what a user does after `cmake --install`: installs hostmem into a
# temporary prefix, then builds one example out of tree with `pkg-config hostmem` and
# another with CMake's `find_package(hostmem)`, and runs both. Nothing outside the
# temporary directory is touched.
# usage: sh scripts/package-check.sh [build-dir]   (default: build, already built)
set -eu
cd "$(dirname "$0")/.."
src=$(pwd)
build=${1:-build}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

echo "== install into $tmp/prefix"
cmake --install "$build" --prefix "$tmp/prefix" >/dev/null
pcdir=$(dirname "$(find "$tmp/prefix" -name hostmem.pc | head -n 1)")
libdir=$(dirname "$pcdir")
test -f "$libdir/libhostmem.so" || { echo "libhostmem.so not installed in $libdir" >&2; exit 1; }

echo "== pkg-config: build examples/jit.c"
export PKG_CONFIG_PATH="$pcdir"
# shellcheck disable=SC2046 # pkg-config prints several flags on purpose
cc -std=c11 -Wall -Werror "$src/examples/jit.c" $(pkg-config --cflags --libs hostmem) \
    -o "$tmp/jit"
LD_LIBRARY_PATH="$libdir" "$tmp/jit"

echo "== find_package(hostmem): build examples/two_runtimes.c"
mkdir -p "$tmp/consumer"
cat >"$tmp/consumer/CMakeLists.txt" <<CMAKE
cmake_minimum_required(VERSION 3.16)
project(consumer C)
find_package(hostmem 0.1 REQUIRED)
add_executable(two_runtimes "$src/examples/two_runtimes.c")
target_link_libraries(two_runtimes PRIVATE hostmem::hostmem)
CMAKE
cmake -S "$tmp/consumer" -B "$tmp/consumer/build" -DCMAKE_PREFIX_PATH="$tmp/prefix" >/dev/null
cmake --build "$tmp/consumer/build" >/dev/null
LD_LIBRARY_PATH="$libdir" "$tmp/consumer/build/two_runtimes" >/dev/null
echo "two_runtimes (find_package build): ok"
echo "package check passed"
