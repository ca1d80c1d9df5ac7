#!/usr/bin/env bash
# Quick start, step 2 (and what CI runs through .ci/run): install what is missing, then
#   release   Release build in build/ (benchmarks and examples included, so they keep
#             compiling) and the whole ctest suite;
#   asan      build in build-asan/ with AddressSanitizer + UndefinedBehaviorSanitizer,
#             the same ctest suite with LeakSanitizer on;
#   fuzz      the libFuzzer targets built with clang in build-fuzz/ — the packet decoder,
#             the session's outgoing QoS state machine, the client role's endpoint
#             driven in process by operation scripts, and the server role's endpoint
#             fed packet sequences in process (fuzz_connection; fuzz_broker, the same
#             inputs to whole brokers over loopback, is for long runs by hand) — each
#             run for 15 s on a scratch
#             copy of its seeds in tests/fuzz/corpus/<name>/ (CI's 20-minute budget; the
#             long runs are done by hand, see README "Fuzzer").
# Every step runs even if an earlier one failed (a test step is skipped only when its own
# build failed); the summary at the end lists each step, its time and the test counts.
# Exit status is non-zero if any step failed.
#
# Environment:
#   PETREL_QUICK=1          only the Release build and its tests (ignored when CI=true)
#   PETREL_JOBS=N           build parallelism (default 2)
#   PETREL_TEST_JOBS=N      ctest parallelism (default twice PETREL_JOBS: the tests spend
#                           most of their time waiting on sockets and timers, not on a core)
#   PETREL_FUZZ_SECONDS=N   fuzzing time per target (default 15)
#   PETREL_ALLOW_NO_LSAN=1  if LeakSanitizer cannot run on this machine (no ptrace), run
#                           the ASan suite and the fuzzer without leak detection instead
#                           of failing those steps (the summary says so)
set -euo pipefail

repo_root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$repo_root"

jobs=${PETREL_JOBS:-2}
test_jobs=${PETREL_TEST_JOBS:-$((jobs * 2))}
fuzz_seconds=${PETREL_FUZZ_SECONDS:-15}
quick=false
if [[ "${PETREL_QUICK:-0}" == 1 ]]; then
    if [[ "${CI:-false}" == true ]]; then
        echo "test.sh: CI=true, ignoring PETREL_QUICK=1: running everything"
    else
        quick=true
    fi
fi

scratch=$(mktemp -d "${TMPDIR:-/tmp}/petrel-test.XXXXXX")
trap 'rm -rf "$scratch"' EXIT

# Tests that do not set their own TIMEOUT property get this many seconds.
readonly ctest_timeout=300

# ---------------------------------------------------------------------------- steps --
# Each step runs in a subshell with `set -e` in force; anything it wants in the summary
# it writes to $scratch/<step>.note.

step_deps() {
    scripts/install-deps.sh
}

step_release_build() {
    cmake -S . -B build -DCMAKE_BUILD_TYPE=Release
    cmake --build build -j "$jobs"
}

step_release_test() {
    ctest --test-dir build --output-on-failure --no-tests=error -j "$test_jobs" \
        --timeout "$ctest_timeout" 2>&1 | tee "$scratch/release-test.log"
}

# Debug with -O1 -g1: the top-level CMakeLists fixes the Release and RelWithDebInfo flags
# (-O2), and with the sanitizers -O1 -g1 compiles about twice as fast as -O2 -g while
# reports keep file:line. Debug also leaves assert() on.
step_asan_build() {
    cmake -S . -B build-asan -DCMAKE_BUILD_TYPE=Debug -DCMAKE_CXX_FLAGS_DEBUG="-O1 -g1" \
        -DPETREL_SANITIZE=ON -DPETREL_BUILD_BENCHMARKS=OFF -DPETREL_BUILD_EXAMPLES=OFF
    cmake --build build-asan -j "$jobs"
}

# LeakSanitizer stops the process's threads with ptrace at exit. Where ptrace is denied
# (some container profiles, or a process already traced by strace/gdb) it fails with
# "LeakSanitizer has encountered a fatal error", which would fail every ASan test and the
# fuzzer for a reason that has nothing to do with Petrel. check_lsan tries a program that
# leaks on purpose and sets lsan_ok; both steps that need LeakSanitizer consult it.
lsan_ok=true
check_lsan() {
    printf '%s\n' '#include <cstdlib>' \
        'int main() { void* volatile p = std::malloc(33); p = nullptr; return 0; }' \
        >"$scratch/leak.cpp"
    if ! c++ -g -fsanitize=address "$scratch/leak.cpp" -o "$scratch/leak" \
            >"$scratch/leak.out" 2>&1; then
        lsan_ok=false
        return
    fi
    ASAN_OPTIONS=detect_leaks=1 "$scratch/leak" >"$scratch/leak.out" 2>&1 || true
    if ! grep -q "LeakSanitizer: detected memory leaks" "$scratch/leak.out"; then
        lsan_ok=false
    fi
}

# Called by a step when LeakSanitizer cannot run: explains, then fails the step (status
# 1) unless PETREL_ALLOW_NO_LSAN=1, in which case the step goes on without leak checks.
without_lsan() {  # step
    echo "test.sh: LeakSanitizer cannot run here; its output on a program that leaks:"
    sed 's/^/    /' "$scratch/leak.out" | head -n 20
    if [[ "${PETREL_ALLOW_NO_LSAN:-0}" != 1 ]]; then
        echo "test.sh: failing this step. Allow ptrace (e.g. docker run --cap-add" \
             "SYS_PTRACE), do not run under strace/gdb, or set PETREL_ALLOW_NO_LSAN=1" \
             "to run without leak detection."
        echo "LeakSanitizer unavailable" >"$scratch/$1.note"
        return 1
    fi
    echo "test.sh: PETREL_ALLOW_NO_LSAN=1: going on WITHOUT leak detection"
    echo "leak detection OFF: LeakSanitizer unavailable" >"$scratch/$1.note"
}

step_asan_test() {
    local detect_leaks=1
    if ! $lsan_ok; then
        without_lsan asan-test || return 1
        detect_leaks=0
    fi
    # The options reach the petrel broker the tests start too, since it inherits them.
    ASAN_OPTIONS="detect_leaks=$detect_leaks:abort_on_error=1" \
    LSAN_OPTIONS="suppressions=$repo_root/tests/sanitizers/lsan.supp:print_suppressions=0" \
    UBSAN_OPTIONS="print_stacktrace=1:halt_on_error=1" \
        ctest --test-dir build-asan --output-on-failure --no-tests=error -j "$test_jobs" \
            --timeout "$ctest_timeout" 2>&1 | tee "$scratch/asan-test.log"
}

step_fuzz_build() {
    cmake -S . -B build-fuzz -DCMAKE_BUILD_TYPE=RelWithDebInfo \
        -DCMAKE_C_COMPILER=clang -DCMAKE_CXX_COMPILER=clang++ \
        -DPETREL_BUILD_FUZZERS=ON -DPETREL_BUILD_TESTS=OFF \
        -DPETREL_BUILD_EXAMPLES=OFF -DPETREL_BUILD_BENCHMARKS=OFF
    # fuzz_broker (whole brokers over loopback, about 200 inputs/s) is left to long runs by
    # hand: fuzz_connection runs its inputs and checks against the server role in process,
    # 20 times as fast, and CI does not pay for the broker layers' instrumented build.
    cmake --build build-fuzz -j "$jobs" --target fuzz_decoder fuzz_outbound_flow \
        fuzz_client_endpoint fuzz_connection
}

# run_fuzzer NAME SEEDS SECONDS [PER_INPUT_LEAKS]: one libFuzzer target on a scratch copy
# of its seeds. PER_INPUT_LEAKS=0 leaves leak detection to the check at exit only: for a
# target that keeps state between inputs on purpose (fuzz_broker's brokers), libFuzzer's
# check after each input sees more allocations than frees every time, re-runs the input
# and scans the heap: eight times slower (35 inputs/s instead of 290).
run_fuzzer() {
    local name=$1 seeds=$2 seconds=$3 per_input_leaks=${4:-1}
    local corpus=$scratch/corpus-$name artifacts=build-fuzz/fuzz-artifacts
    local log=$scratch/fuzz-$name.txt rc=0 detect_leaks=1
    if ! $lsan_ok; then
        detect_leaks=0
        per_input_leaks=0
    fi
    mkdir -p "$corpus" "$artifacts"
    if [[ -d "$seeds" ]]; then
        cp -R "$seeds/." "$corpus/"
    else
        echo "test.sh: warning: no seed corpus at $seeds, fuzzing from nothing"
    fi
    echo "$name: ${seconds}s on $(find "$corpus" -type f | wc -l) seed files" \
         "(crashes go to $artifacts/)"
    # The seed copy is scratch because libFuzzer adds what it finds to its first corpus
    # directory. -timeout catches a target that hangs on some input.
    # -detect_leaks is libFuzzer's check after each input, ASAN_OPTIONS the one at exit.
    ASAN_OPTIONS="detect_leaks=$detect_leaks" \
    UBSAN_OPTIONS="print_stacktrace=1:halt_on_error=1" \
        "build-fuzz/tests/fuzz/$name" -max_total_time="$seconds" -timeout=10 \
        -detect_leaks="$per_input_leaks" -print_final_stats=1 -artifact_prefix="$artifacts/" \
        "$corpus" >"$log" 2>&1 || rc=$?
    if [[ $rc -ne 0 ]]; then
        tail -n 60 "$log"
        echo "$name exited with status $rc"
        echo "$name crash: see $artifacts/" >>"$scratch/fuzz-run.note"
        return "$rc"
    fi
    grep -E '^(#[0-9]+[[:space:]]+DONE|Done [0-9]+ runs|stat::)' "$log" || true
    local execs
    execs=$(sed -nE 's/^stat::number_of_executed_units:[[:space:]]*([0-9]+).*/\1/p' "$log")
    echo "$name ${execs:-?} inputs, no crash" >>"$scratch/fuzz-run.note"
}

step_fuzz_run() {
    if ! $lsan_ok; then
        without_lsan fuzz-run || return 1
    fi
    local rc=0
    run_fuzzer fuzz_decoder tests/fuzz/corpus/decoder "$fuzz_seconds" || rc=$?
    run_fuzzer fuzz_outbound_flow tests/fuzz/corpus/outbound_flow "$fuzz_seconds" || rc=$?
    run_fuzzer fuzz_client_endpoint tests/fuzz/corpus/client_endpoint "$fuzz_seconds" || rc=$?
    # The connection fuzz inputs (fuzz_broker's too), against the server role in process.
    run_fuzzer fuzz_connection tests/fuzz/corpus/connection "$fuzz_seconds" || rc=$?
    return "$rc"
}

# ------------------------------------------------------------------------ machinery --

names=() results=() times=() notes=()
total_passed=0
total_failed=0
any_failed=false

record() {  # name result seconds note
    names+=("$1"); results+=("$2"); times+=("$3"); notes+=("${4:-}")
    if [[ "$2" == FAILED ]]; then any_failed=true; fi
}

# Reads "NN% tests passed, F tests failed out of T" from a ctest log, adds it to the
# totals and leaves "P passed, F failed" in $counted.
count_tests() {  # log
    local line total=0 failed=0
    line=$(grep -E '[0-9]+% tests passed, [0-9]+ tests? failed out of [0-9]+' "$1" | tail -n 1 || true)
    if [[ -n "$line" ]]; then
        failed=$(sed -E 's/.* ([0-9]+) tests? failed out of.*/\1/' <<<"$line")
        total=$(sed -E 's/.*failed out of ([0-9]+).*/\1/' <<<"$line")
    fi
    total_passed=$((total_passed + total - failed))
    total_failed=$((total_failed + failed))
    counted="$((total - failed)) passed, $failed failed"
}

run_step() {  # name function
    local name=$1 fn=$2 start=$SECONDS rc note=""
    echo
    echo "==================== $name ===================="
    set +e
    (set -euo pipefail; "$fn")
    rc=$?
    set -e
    if [[ -f "$scratch/$name.log" ]]; then
        count_tests "$scratch/$name.log"
        note=$counted
    fi
    if [[ -f "$scratch/$name.note" ]]; then
        local lines=()
        mapfile -t lines <"$scratch/$name.note"
        local joined
        printf -v joined '%s; ' "${lines[@]}"
        note="${note:+$note; }${joined%; }"
    fi
    local result=ok
    if [[ $rc -ne 0 ]]; then result=FAILED; fi
    record "$name" "$result" "$((SECONDS - start))" "$note"
    echo "==================== $name: $result in $((SECONDS - start))s"
    last_rc=$rc
}

skip_step() {  # name why
    record "$1" skipped 0 "$2"
}

run_step deps step_deps

run_step release-build step_release_build
if [[ $last_rc -eq 0 ]]; then
    run_step release-test step_release_test
else
    skip_step release-test "build failed"
fi

if $quick; then
    for name in asan-build asan-test fuzz-build fuzz-run; do
        skip_step "$name" "PETREL_QUICK=1"
    done
else
    check_lsan
    run_step asan-build step_asan_build
    if [[ $last_rc -eq 0 ]]; then
        run_step asan-test step_asan_test
    else
        skip_step asan-test "build failed"
    fi
    run_step fuzz-build step_fuzz_build
    if [[ $last_rc -eq 0 ]]; then
        run_step fuzz-run step_fuzz_run
    else
        skip_step fuzz-run "build failed"
    fi
fi

echo
echo "==================== summary ===================="
for i in "${!names[@]}"; do
    printf '%-14s %-8s %5ss  %s\n' "${names[$i]}" "${results[$i]}" "${times[$i]}" "${notes[$i]}"
done
printf 'total time %ss\n' "$SECONDS"
echo "$total_passed passed, $total_failed failed"
if $any_failed; then
    echo "RESULT: FAILED"
    exit 1
fi
if $quick; then
    echo "RESULT: ok (quick: sanitizer and fuzz steps skipped)"
else
    echo "RESULT: ok"
fi
