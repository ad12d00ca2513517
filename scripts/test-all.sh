#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# The one command that installs, builds and runs every check softlan-vpn has:
# format, dependency direction, dev tests, ASan+UBSan tests, the mingw cross build with its tests
# under wine, and each fuzzer for a bounded time.
# Usage: scripts/test-all.sh   (env: FUZZ_SECONDS=20 per fuzzer, JOBS=nproc)
set -euo pipefail
cd "$(dirname "$0")/.."

fuzz_seconds=${FUZZ_SECONDS:-20}
jobs=${JOBS:-$(nproc)}
passed=0
failed=0
summary=()
failure_outputs=()

step() { printf '\n=== %s ===\n' "$*"; }

# Wall seconds of each stage, printed as it ends and again in the summary, so a slow run shows
# where its time went. Stages that overlap (tests in the background) are timed on their own.
run_start=$SECONDS
stage_start=$SECONDS
stage_times=()
stage_done() {
  local secs=$((SECONDS - stage_start))
  stage_times+=("$(printf '%5d s  %s' "$secs" "$1")")
  printf -- '--- %s: %d s\n' "$1" "$secs"
  stage_start=$SECONDS
}

scripts/install-deps.sh
stage_done "install deps"

step "format (clang-format, .clang-format)"
mapfile -t sources < <(git ls-files '*.cpp' '*.hpp' '*.h' '*.cc')
if [ ${#sources[@]} -gt 0 ]; then
  clang-format --dry-run -Werror "${sources[@]}"
fi
echo "format: ${#sources[@]} files clean"
stage_done "format check"

step "dependency direction (STYLE.md section 1)"
scripts/check-deps.sh
stage_done "dependency check"

# Test runs overlap the next build: ctest_start runs one in the background (its output in
# build/ctest-PRESET.log) while the next preset compiles at a lower priority, and
# ctest_collect waits for it, prints its output and counts its results. Tests that wait on
# the network and on timers leave most of the CPU idle; the build takes what they leave.
declare -A ctest_pids
ctest_start() {
  local preset=$1
  rm -f "build/$preset/Testing/Temporary/LastTestsFailed.log"
  (
    start=$SECONDS
    status=0
    ctest --preset "$preset" -j "$jobs" >"build/ctest-$preset.log" 2>&1 || status=$?
    echo $((SECONDS - start)) >"build/ctest-$preset.seconds"
    exit "$status"
  ) &
  ctest_pids[$preset]=$!
}

ctest_collect() {
  local preset=$1
  local log="build/ctest-$preset.log"
  local failed_log="build/$preset/Testing/Temporary/LastTestsFailed.log"
  local status=0
  wait "${ctest_pids[$preset]}" || status=$?
  stage_done "waiting for the $preset tests"
  stage_times+=("$(printf '%5s s  %s' "$(cat "build/ctest-$preset.seconds" 2>/dev/null || echo '?')" \
    "ctest $preset (its own wall time, overlapping the stages around it)")")
  step "test results: $preset preset"
  cat "$log"
  [ "$status" -eq 0 ] || summary+=("ctest $preset: FAILED")
  # Name each failed test in the summary: CI keeps only the tail of the output.
  if [ -s "$failed_log" ]; then
    while IFS= read -r test_name; do
      summary+=("  failed in $preset: ${test_name#*:}")
      failure_outputs+=("$preset|${test_name#*:}")
    done <"$failed_log"
  fi
  # "100% tests passed, 0 tests failed out of 57"
  local line
  line=$(grep -E 'tests passed, [0-9]+ tests failed out of [0-9]+' "$log" | tail -1 || true)
  if [ -n "$line" ]; then
    local total fail
    total=$(sed -E 's/.*out of ([0-9]+).*/\1/' <<<"$line")
    fail=$(sed -E 's/.* ([0-9]+) tests failed.*/\1/' <<<"$line")
    passed=$((passed + total - fail))
    failed=$((failed + fail))
    local unit=""
    # The sanitizer build runs a GoogleTest suite per ctest entry (LANPARTY_TESTS_PER_SUITE).
    [ "$preset" = asan ] && unit=" (a GoogleTest suite each)"
    summary+=("ctest $preset: $((total - fail)) passed, $fail failed$unit")
  else
    failed=$((failed + 1))
    summary+=("ctest $preset: no result line")
  fi
}

# The mingw dependencies (wolfSSL and ngtcp2 from Debian's sources, cached in build/) build in
# the background: their configure scripts are serial, so they fill the gaps of the dev build.
mingw_deps_log=build/mingw-deps.log
mkdir -p build
scripts/build-mingw-deps.sh --jobs 1 >"$mingw_deps_log" 2>&1 &
mingw_deps_pid=$!
trap 'kill "$mingw_deps_pid" 2>/dev/null || true' EXIT

step "build: dev preset"
cmake --preset dev >/dev/null
cmake --build --preset dev -j "$jobs"
stage_done "build dev"
ctest_start dev

step "build: asan preset (while the dev tests run)"
cmake --preset asan >/dev/null
nice -n 10 cmake --build --preset asan -j "$jobs"
stage_done "build asan (dev tests alongside)"
ctest_collect dev
ctest_start asan

step "build: mingw preset, the Windows cross build (while the asan tests run)"
if ! wait "$mingw_deps_pid"; then
  cat "$mingw_deps_log"
  echo "test-all: scripts/build-mingw-deps.sh failed (its output is above)" >&2
  exit 1
fi
cat "$mingw_deps_log"
stage_done "waiting for the mingw deps"
cmake --preset mingw >/dev/null
nice -n 10 cmake --build --preset mingw -j "$jobs"
stage_done "build mingw (asan tests alongside)"

# The rest of the asan tests leave CPU over, as the mingw build did: the fuzz preset builds
# meanwhile. The mingw tests then run on their own, as before (client_win.against_linux_relay
# is timing-sensitive under wine), and the fuzzers start once every test run has been collected.
step "build: fuzz preset, clang-14 libFuzzer (while the rest of the asan tests run)"
cmake --preset fuzz >/dev/null
mapfile -t fuzz_targets < <(cut -d'|' -f1 build/fuzz/fuzzers.txt | grep -v '^$')
nice -n 10 cmake --build --preset fuzz -j "$jobs" --target "${fuzz_targets[@]}"
stage_done "build fuzz (asan tests alongside)"
ctest_collect asan

step "test: mingw preset (tests under wine64)"
ctest_start mingw
ctest_collect mingw
# cmake/wine-run.sh keeps a wine server alive for 60 s after the last test; stop it now.
WINEPREFIX="$PWD/build/mingw/wineprefix" "$(command -v wineserver || echo /usr/lib/wine/wineserver)" \
  -k 2>/dev/null || true

step "fuzzers: clang-14 libFuzzer, ${fuzz_seconds}s each"
# One fuzzer per core at a time; each writes its own log, read once all have finished.
run_fuzzer() {
  local fuzzer=$1 binary=$2 corpus=$3 work
  work=$(mktemp -d)
  cp -r "$corpus"/. "$work"/
  if "$binary" -max_total_time="$fuzz_seconds" -print_final_stats=1 \
      -artifact_prefix="build/fuzz/$fuzzer-" "$work" >"build/fuzz/$fuzzer.log" 2>&1; then
    echo ok >"build/fuzz/$fuzzer.status"
  else
    echo failed >"build/fuzz/$fuzzer.status"
  fi
  rm -rf "$work"
}
fuzzers_run=()
while IFS='|' read -r fuzzer binary corpus; do
  [ -n "$fuzzer" ] || continue
  rm -f "build/fuzz/$fuzzer.status"
  while [ "$(jobs -rp | wc -l)" -ge "$jobs" ]; do wait -n || true; done
  run_fuzzer "$fuzzer" "$binary" "$corpus" &
  fuzzers_run+=("$fuzzer")
done < build/fuzz/fuzzers.txt
wait
stage_done "run fuzzers"
for fuzzer in "${fuzzers_run[@]}"; do
  if [ "$(cat "build/fuzz/$fuzzer.status" 2>/dev/null)" = ok ]; then
    passed=$((passed + 1))
    summary+=("fuzz $fuzzer: ok ($(grep -E 'stat::number_of_executed_units' "build/fuzz/$fuzzer.log" | awk '{print $2}') runs)")
  else
    failed=$((failed + 1))
    summary+=("fuzz $fuzzer: FAILED (build/fuzz/$fuzzer.log)")
    tail -40 "build/fuzz/$fuzzer.log"
  fi
done

# The end of each failed test's output, just above the summary, where CI's tail shows it.
for entry in "${failure_outputs[@]}"; do
  preset=${entry%%|*}
  test_name=${entry#*|}
  step "output of $test_name ($preset), last 40 lines"
  awk -v name="$test_name" '
    $0 ~ /^[0-9]+\/[0-9]+ Test: / { inside = (substr($0, index($0, "Test: ") + 6) == name) }
    inside { print }
    inside && /^<end of output>/ { inside = 0 }
  ' "build/$preset/Testing/Temporary/LastTest.log" | tail -40
done

step "summary"
printf '%s\n' "${summary[@]}"
echo "stage wall times:"
printf '%s\n' "${stage_times[@]}"
printf '%5d s  total\n' $((SECONDS - run_start))
echo "test-all: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
