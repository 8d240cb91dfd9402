#!/bin/sh
# fuzz/run.sh — builds the libFuzzer targets (clang, ASan+UBSan) and runs each for a fixed
# number of inputs from a fixed seed, starting from a copy of the seed corpus. Prints, per
# target, the API calls made and the divergences found; exits non-zero on a divergence, a
# crash or a sanitizer report (the input is kept under $WORK/artifacts).
#
#   fuzz/run.sh                     # default runs (a few minutes on 2 cores)
#   MODEL_RUNS=200000 BAD_RUNS=100000 SEED=7 fuzz/run.sh
#
# Environment: BUILD_DIR (default build-libfuzzer), WORK (default a temporary directory),
# MODEL_RUNS, BAD_RUNS, SEED, MAX_TIME (seconds per target, a guard for slow machines),
# HM_FUZZ_FEATURES ("watch,placeholder" / "all" / "none"; default: the build's).
set -eu
cd "$(dirname "$0")/.."

BUILD_DIR=${BUILD_DIR:-build-libfuzzer}
MODEL_RUNS=${MODEL_RUNS:-5000}
BAD_RUNS=${BAD_RUNS:-15000}
SEED=${SEED:-1}
MAX_TIME=${MAX_TIME:-900}
WORK=${WORK:-$(mktemp -d /tmp/hostmem-fuzz.XXXXXX)}

cmake -S . -B "$BUILD_DIR" -DCMAKE_C_COMPILER=clang -DCMAKE_BUILD_TYPE=Debug \
    -DHOSTMEM_SANITIZE="address;undefined" -DHOSTMEM_FUZZ=ON -DHOSTMEM_DEBUG_CHECKS=ON \
    -DHOSTMEM_BUILD_BENCH=OFF -DHOSTMEM_BUILD_TOOLS=OFF -DHOSTMEM_BUILD_EXAMPLES=OFF >/dev/null
cmake --build "$BUILD_DIR" -j"$(nproc)" --target fuzz_model fuzz_bad_input >/dev/null

# ASan leaves SIGSEGV to hostmem's guard-page handler (which chains to libFuzzer's); a
# huge allocation returns NULL so hostmem can answer ERROR_NOT_ENOUGH_MEMORY.
export ASAN_OPTIONS=detect_leaks=1:abort_on_error=1:handle_segv=0:allow_user_segv_handler=1:allocator_may_return_null=1
export UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1

mkdir -p "$WORK/artifacts"
status=0
for t in model bad_input; do
    runs=$MODEL_RUNS
    [ "$t" = bad_input ] && runs=$BAD_RUNS
    mkdir -p "$WORK/corpus-$t"
    cp fuzz/corpus/"$t"/* "$WORK/corpus-$t/"
    log="$WORK/fuzz_$t.log"
    # -detect_leaks=0: no leak check per input (hostmem keeps caches between inputs); the
    # leak check at exit still runs. -malloc_limit_mb: leave huge mallocs to ASan (NULL).
    "$BUILD_DIR/fuzz/fuzz_$t" -runs="$runs" -seed="$SEED" -max_len=4096 -len_control=10 \
        -timeout=120 -rss_limit_mb=6144 -malloc_limit_mb=1000000 -detect_leaks=0 \
        -max_total_time="$MAX_TIME" -print_final_stats=1 \
        -artifact_prefix="$WORK/artifacts/$t-" "$WORK/corpus-$t" >"$log" 2>&1 &
    eval "pid_$t=\$!"
done
# shellcheck disable=SC2154
wait "$pid_model" || status=1
# shellcheck disable=SC2154
wait "$pid_bad_input" || status=1

echo "== fuzz results (seed $SEED; work dir $WORK)"
for t in model bad_input; do
    log="$WORK/fuzz_$t.log"
    grep -E '^hm-fuzz (fuzz_model|bad_input)' "$log" || { echo "$t: no totals (crashed?)"; status=1; }
    grep -E 'stat::number_of_executed_units|stat::peak_rss_mb' "$log" | sed "s/^/  $t /" || true
    if grep -qE 'ERROR: (AddressSanitizer|LeakSanitizer|libFuzzer)|runtime error:|diverges from the model|bad input: .* failed and' "$log"; then
        echo "$t: FAILED — see $log and $WORK/artifacts/"
        grep -E 'divergence:|runtime error:|ERROR:|failed and' "$log" | head -5
        status=1
    fi
done
exit $status
