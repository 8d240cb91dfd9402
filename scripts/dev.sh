#!/bin/sh
# scripts/dev.sh demo|test|build|deps — what README.md's first two commands run.
# Installs the Debian packages the build and the tests need (as root; otherwise it names
# them), configures build/ with CMake, builds, then runs the demo or every test.
set -eu
cd "$(dirname "$0")/.."

PACKAGES="build-essential cmake pkg-config check"

deps() {
    missing=""
    for p in $PACKAGES; do
        dpkg -s "$p" >/dev/null 2>&1 || missing="$missing $p"
    done
    [ -z "$missing" ] && return 0
    if [ "$(id -u)" -ne 0 ]; then
        echo "dev.sh: missing Debian packages:$missing (install them as root)" >&2
        exit 1
    fi
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $missing >/dev/null
}

build() {
    cmake -S . -B build -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
    cmake --build build -j"$(nproc)"
}

case "${1:-}" in
deps) deps ;;
build) deps; build ;;
demo) deps; build >/dev/null; ./build/tools/hostmem demo ;;
test) deps; build; ctest --test-dir build --output-on-failure -j"$(nproc)" ;;
*) echo "usage: scripts/dev.sh demo|test|build|deps" >&2; exit 2 ;;
esac
