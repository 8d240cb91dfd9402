#!/usr/bin/env bash
# tests/wine/run.sh — the conformance tests (tests/win32/test_*.c) built for Windows with
# mingw-w64 and run under Wine, a second implementation of the same API.
#  1. Builds every tests/win32/test_*.c into build-wine/ (with tests/wine's Check runner and
#     hostmem stand-ins; -DHM_WINE leaves out the cases marked Linux-only). A file whose
#     header says "HM_LINUX_ONLY_FILE: <reason>" is not built; its cases count as Linux-only.
#  2. Runs each .exe under Wine in one fresh prefix (build-wine/prefix).
#  3. Compares the per-case results with tests/wine/differences.md and fails if a case fails
#     under Wine without being listed there, if a listed case passes or no longer exists, or
#     if a case in a source is neither run nor marked Linux-only.
# Prints per file: cases built, passing under Wine, listed differences, Linux-only.
# Needs x86_64-w64-mingw32-gcc and wine (Debian: gcc-mingw-w64-x86-64 wine wine64).
set -euo pipefail
cd "$(dirname "$0")/../.."
out=build-wine
list=tests/wine/differences.md
cc=${HM_WINE_CC:-x86_64-w64-mingw32-gcc}
cflags=(-std=gnu11 -O1 -g -Wall -Wno-unused-function -DHM_WINE -D_WIN32_WINNT=0x0A00
        -D__USE_MINGW_ANSI_STDIO=1 -Itests/wine/include -I"$out/include" -Itests/support)
command -v "$cc" >/dev/null && command -v wine >/dev/null || {
    echo "run.sh: needs $cc and wine (Debian: apt-get install gcc-mingw-w64-x86-64 wine wine64)" >&2
    exit 2
}
export WINEPREFIX="$PWD/$out/prefix" WINEDEBUG=-all WINEDLLOVERRIDES="mscoree,mshtml="
unset DISPLAY WAYLAND_DISPLAY
errors=0
error() { echo "run.sh: $*" >&2; errors=$((errors + 1)); }

sources=(tests/win32/test_*.c) # one list for the build and the table
rm -rf "$out"
mkdir -p "$out/include" "$out/obj" "$out/results"

# hostmem's constants: defined where mingw-w64 lacks them, checked where it has them.
sed -nE 's@/\*.*\*/@@; s/^#define ([A-Z][A-Z0-9_]*)[[:space:]]+([-(0-9A-Z].*[^[:space:]])[[:space:]]*$/\1 \2/p' \
    include/hostmem/memoryapi.h |
while read -r name value; do
    printf '#ifdef %s\n_Static_assert((%s) == (%s), "%s: hostmem and mingw-w64 differ");\n' \
        "$name" "$name" "$value" "$name"
    printf '#else\n#define %s %s\n#endif\n' "$name" "$value"
done >"$out/include/hm_constants.h"

echo "== building tests/win32 for Windows ($cc)"
t0=$(date +%s)
support=()
for src in tests/wine/runner.c tests/wine/testlib_win.c tests/wine/wine_api.c; do
    obj="$out/obj/$(basename "$src" .c).o"
    "$cc" "${cflags[@]}" -c "$src" -o "$obj"
    support+=("$obj")
done
built=()
declare -A skip_reason
for src in "${sources[@]}"; do
    name=$(basename "$src" .c)
    reason=$(sed -nE 's/.*HM_LINUX_ONLY_FILE: *(.*[^ */.])[ */.]*$/\1/p' "$src" | head -n1)
    if [ -n "$reason" ]; then
        skip_reason[$name]=$reason
        continue
    fi
    if "$cc" "${cflags[@]}" "$src" "${support[@]}" -static -lpsapi -lpthread \
        -o "$out/$name.exe" 2>"$out/results/$name.build"; then
        built+=("$name")
        cat "$out/results/$name.build" >&2
    else
        cat "$out/results/$name.build" >&2
        error "$src does not build for Windows: guard its Linux-only cases (tests/wine/README.md)"
    fi
done
echo "built ${#built[@]} programs in $(($(date +%s) - t0)) s"

echo "== running under $(wine --version 2>/dev/null) (prefix $WINEPREFIX)"
t0=$(date +%s)
wineboot -i >"$out/results/wineboot.log" 2>&1 || { cat "$out/results/wineboot.log" >&2; exit 1; }
wineserver -w # the prefix's own processes have finished setting it up
echo "prefix created in $(($(date +%s) - t0)) s"
t0=$(date +%s)
printf '%s\n' "${built[@]}" | xargs -r -P "$(nproc)" -I{} sh -c \
    'timeout 1800 wine "$1/$2.exe" >"$1/results/$2.out" 2>"$1/results/$2.err" || true' \
    sh "$out" {}
wineserver -w
echo "ran in $(($(date +%s) - t0)) s"

# What differences.md lists: "file case" per table row.
listed=$(awk -F'|' '/^\| *test_[a-z0-9_]+\.c *\|/ {
    gsub(/[ `]/, "", $2); gsub(/[ `]/, "", $3); print $2, $3 }' "$list")

printf '\n%-26s %6s %8s %8s %11s\n' "file" "built" "passing" "listed" "Linux-only"
tb=0 tp=0 tl=0 to=0
notes=()
for src in "${sources[@]}"; do
    name=$(basename "$src" .c)
    cases=$(grep -oE 'tcase_create\("[A-Za-z0-9_]+"\)' "$src" | sed -E 's/.*\("(.*)"\)/\1/' || true)
    ncases=$(printf '%s' "$cases" | grep -c . || true)
    b=0 p=0 l=0 o=0
    if [ -n "${skip_reason[$name]:-}" ]; then
        o=$ncases
        notes+=("$name.c is Linux-only: ${skip_reason[$name]}")
    elif [ -f "$out/$name.exe" ]; then
        res="$out/results/$name.out"
        grep -q '^SUMMARY ' "$res" || {
            cat "$res" "$out/results/$name.err" >&2
            error "$name.exe did not finish"
        }
        for c in $cases; do
            line=$(grep -E "^(PASS|FAIL|SKIP) $c( |:|$)" "$res" | head -n1 || true)
            is_listed=$(printf '%s\n' "$listed" | grep -cxF "$name.c $c" || true)
            case "$line" in
            PASS*) b=$((b + 1)) p=$((p + 1))
                   [ "$is_listed" = 0 ] || error "stale entry in $list: $name.c $c passes under Wine" ;;
            FAIL*) b=$((b + 1))
                   if [ "$is_listed" = 0 ]; then error "not in $list: $line ($name.c)"; else l=$((l + 1)); fi ;;
            SKIP*) o=$((o + 1))
                   [ "$is_listed" = 0 ] || error "stale entry in $list: $name.c $c is Linux-only" ;;
            *) error "$name.c $c: no result (neither built nor marked HM_LINUX_ONLY)" ;;
            esac
        done
    fi
    printf '%-26s %6d %8d %8d %11d\n' "$name.c" "$b" "$p" "$l" "$o"
    tb=$((tb + b)) tp=$((tp + p)) tl=$((tl + l)) to=$((to + o))
done
printf '%-26s %6d %8d %8d %11d\n' "total" "$tb" "$tp" "$tl" "$to"
for n in "${notes[@]}"; do echo "  $n"; done

# Every row of differences.md must name a case that exists and fails under Wine.
while read -r file c; do
    [ -n "$file" ] || continue
    name=${file%.c}
    grep -qE "^FAIL $c( |:|$)" "$out/results/$name.out" 2>/dev/null ||
        grep -qE "^PASS $c( |:|$)" "$out/results/$name.out" 2>/dev/null ||
        error "stale entry in $list: $file $c is not a built case"
done <<<"$listed"

if [ "$errors" -ne 0 ]; then
    echo "run.sh: $errors error(s); per-case output in $out/results/" >&2
    exit 1
fi
echo "Wine conformance: $tb cases built, $tp pass under Wine, $tl listed differences, $to Linux-only"
