#!/usr/bin/env bash
# make fuzz: builds every fuzz target with clang, libFuzzer, ASan and UBSan, runs
# each for FUZZ_SECONDS (default 60) starting from its seed corpus, and reports
# what it found. New interesting inputs go to build-fuzz/corpus/<target> (not
# into the repository); crashes to build-fuzz/crashes/<target>. To keep a crash
# as a regression test, copy it to tests/fuzz/crashes/<target>/ (docs/fuzzing.md).
set -euo pipefail
cd "$(dirname "$0")/.."
build=${FUZZ_BUILD:-build-fuzz}
seconds=${FUZZ_SECONDS:-60}
jobs=${JOBS:-$(nproc)}
only=${FUZZ_TARGETS:-}

CC=clang CXX=clang++ cmake -S . -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo \
  -DTOLLGATE_FUZZ=ON -DTOLLGATE_BUILD_TESTS=OFF >/dev/null
targets=$(sed -n 's/^tollgate_fuzz(\([a-z_]*\).*/\1/p' tests/fuzz/CMakeLists.txt)
if [[ -n "$only" ]]; then targets=$only; fi
# shellcheck disable=SC2086
cmake --build "$build" -j "$jobs" --target $targets

found=0
printf '%-26s %12s %10s %8s %7s  %s\n' target executions exec/s coverage corpus result
for t in $targets; do
  corpus="$build/corpus/$t"; crashes="$build/crashes/$t"
  mkdir -p "$corpus" "$crashes"
  cp -n tests/fuzz/corpus/"$t"/* "$corpus"/ 2>/dev/null || true
  log="$build/$t.log"
  set +e
  ASAN_OPTIONS=detect_leaks=1 "$build/tests/fuzz/$t" "$corpus" -max_total_time="$seconds" -rss_limit_mb=4096 \
    -timeout=10 -artifact_prefix="$crashes/" -print_final_stats=1 >"$log" 2>&1
  rc=$?
  set -e
  execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -1 || true)
  rate=$(sed -n 's/^stat::average_exec_per_sec: *//p' "$log" | tail -1 || true)
  cov=$( (grep -o 'cov: [0-9]*' "$log" || true) | tail -1 | cut -d' ' -f2)
  size=$(find "$corpus" -type f | wc -l)
  result=ok
  if [[ $rc -ne 0 ]] || [[ -n "$(ls -A "$crashes")" ]]; then
    result="FOUND: $( (ls "$crashes" || true) | head -3 | tr '\n' ' ')(see $log)"
    found=1
  fi
  printf '%-26s %12s %10s %8s %7s  %s\n' "$t" "${execs:-?}" "${rate:-?}" "${cov:-?}" "$size" "$result"
done
exit $found
