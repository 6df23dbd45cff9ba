#!/usr/bin/env bash
# Runs every fuzz target for SECONDS each (default 20), one after another, starting from
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
failed=0
for t in "${targets[@]}"; do
  mkdir -p "corpus/$t"
  echo "== fuzz $t for ${seconds}s"
  if ! cargo +nightly fuzz run -O "$t" "corpus/$t" -- -max_total_time="$seconds" \
      -max_len=65536 -rss_limit_mb=2048 -print_final_stats=1 2>"/tmp/fuzz-$t.log"; then
    echo "fuzz: $t FAILED (see /tmp/fuzz-$t.log and fuzz/artifacts/$t/)"
    tail -40 "/tmp/fuzz-$t.log"
    failed=1
  fi
  grep -E "stat::number_of_executed_units|stat::peak_rss_mb" "/tmp/fuzz-$t.log" | sed "s/^/fuzz $t: /"
done
exit $failed
