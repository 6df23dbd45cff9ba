#!/usr/bin/env bash
# Runs every fuzz target for SECONDS each (default 20), one per core at a time, starting from
# the kept seeds in fuzz/corpus/<target>/ (new inputs the fuzzer finds are added there and
# ignored by git). Needs a nightly toolchain and cargo-fuzz; says so and exits 0 without
# them. Exits non-zero when a target finds a crash (left in fuzz/artifacts/<target>/).
#   fuzz/run.sh 600            # ten minutes per target
#   fuzz/run.sh 60 ql_parse    # one target
set -uo pipefail
cd "$(dirname "$0")"
seconds="${1:-20}"
shift || true
if ! cargo +nightly --version >/dev/null 2>&1; then
  echo "fuzz: no nightly toolchain here; fuzz targets not run"
  exit 0
fi
if ! cargo +nightly fuzz --version >/dev/null 2>&1; then
  echo "fuzz: cargo-fuzz not installed (cargo install cargo-fuzz); fuzz targets not run"
  exit 0
fi
targets=("$@")
if [ ${#targets[@]} -eq 0 ]; then
  mapfile -t targets < <(cargo +nightly fuzz list)
fi
# Build every target once (one cargo invocation links them side by side), then run them
# FUZZ_JOBS at a time (default: one per core); each run rebuilds nothing.
echo "== fuzz: building ${#targets[@]} targets"
build_args=()
[ ${#targets[@]} -eq 1 ] && build_args=("${targets[0]}")   # one target named: build only it
if ! cargo +nightly fuzz build -O "${build_args[@]}" >/tmp/fuzz-build.log 2>&1; then
  echo "fuzz: build FAILED"
  tail -40 /tmp/fuzz-build.log
  exit 1
fi
jobs="${FUZZ_JOBS:-$(nproc 2>/dev/null || echo 1)}"
run_one() {
  local t="$1"
  mkdir -p "corpus/$t"
  if ! cargo +nightly fuzz run -O "$t" "corpus/$t" -- -max_total_time="$seconds" \
      -max_len=65536 -rss_limit_mb=2048 -print_final_stats=1 >"/tmp/fuzz-$t.log" 2>&1; then
    echo "fuzz: $t FAILED (see /tmp/fuzz-$t.log and fuzz/artifacts/$t/)"
    tail -40 "/tmp/fuzz-$t.log"
    return 1
  fi
  grep -E "stat::number_of_executed_units|stat::peak_rss_mb" "/tmp/fuzz-$t.log" | sed "s/^/fuzz $t: /"
}
failed=0
pids=()
for t in "${targets[@]}"; do
  echo "== fuzz $t for ${seconds}s"
  run_one "$t" &
  pids+=($!)
  if [ ${#pids[@]} -ge "$jobs" ]; then
    wait "${pids[0]}" || failed=1
    pids=("${pids[@]:1}")
  fi
done
for p in "${pids[@]}"; do
  wait "$p" || failed=1
done
exit $failed
