#!/usr/bin/env bash
# bench/text_peers.sh - full-text benchmark: nearstore-text vs the `tantivy` Python package,
# same corpus, same queries, one run, one table with the ratios.
#
# Usage:
#   bench/text_peers.sh [DATASET_DIR]            wordnet-dev (default ../shared/data/wordnet-dev)
#   bench/text_peers.sh --passages [N]           N longer passages (default 250000) assembled
#                                                from wordnet-dev glosses (text_peers.py passages)
#
# NearStore, two ways: the index alone (`cargo build --release -p nearstore-text --example
#   text_bench`, then text_bench --corpus base.jsonl --field text --queries query_keywords.jsonl
#   --gt groundtruth_bm25.ivecs --json) and through the engine as users meet it (`nearstore
#   bench text` with the same arguments: a collection with that field as its only text field,
#   every query through the collection's request path).
# tantivy: a venv under ${TEXT_PEERS_VENV:-${TMPDIR:-/tmp}/nearstore-text-venv} with
#   `pip install tantivy`, indexing with 1 writer thread, searching with count=False.
# Both engines: JSON parsing of the corpus is not timed; QPS is single-threaded, k = 10, whole
# passes over the 500 queries for at least 3 s. Speed figures need a quiet machine.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
root="$(cd "$here/.." && pwd)"
data="$root/../shared/data/wordnet-dev"
mode=wordnet
n=250000
if [[ "${1:-}" == "--passages" ]]; then
    mode=passages
    n="${2:-250000}"
elif [[ -n "${1:-}" ]]; then
    data="$1"
fi
venv="${TEXT_PEERS_VENV:-${TMPDIR:-/tmp}/nearstore-text-venv}"
if [[ ! -x "$venv/bin/python" ]]; then
    python3 -m venv "$venv"
fi
"$venv/bin/python" -c "import tantivy" 2>/dev/null || "$venv/bin/pip" install -q tantivy

# NO_BUILD=1 skips the build (when the example is already built, e.g. so that the measuring
# part alone runs under a lock that builds also take).
if [[ "${NO_BUILD:-0}" != 1 ]]; then
    cargo build --release -q -p nearstore-text --example text_bench
    cargo build --release -q -p nearstore-cli
fi
target_dir="${CARGO_TARGET_DIR:-$root/target}"
bench_bin="$target_dir/release/examples/text_bench"
cli_bin="$target_dir/release/nearstore"

tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT
corpus="$data/base.jsonl"
gt_args=(--gt "$data/groundtruth_bm25.ivecs")
if [[ "$mode" == passages ]]; then
    corpus="$tmp/passages.jsonl"
    "$venv/bin/python" "$here/text_peers.py" passages "$corpus" --source "$data/base.jsonl" --n "$n"
    gt_args=()
fi
engine_gt_args=("${gt_args[@]}")
[[ ${#gt_args[@]} -eq 0 ]] && engine_gt_args=(--no-gt)
queries="$data/query_keywords.jsonl"
echo "corpus: $corpus ($(wc -l <"$corpus") documents), queries: $queries"
"$bench_bin" --corpus "$corpus" --field text --queries "$queries" "${gt_args[@]}" --json >"$tmp/nearstore.json"
"$cli_bin" bench text --corpus "$corpus" --field text --queries "$queries" "${engine_gt_args[@]}" \
    --json >"$tmp/engine.json"
"$venv/bin/python" "$here/text_peers.py" run --corpus "$corpus" --field text --queries "$queries" \
    "${gt_args[@]}" --nearstore-json "$tmp/nearstore.json" --engine-json "$tmp/engine.json"
