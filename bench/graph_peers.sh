#!/usr/bin/env bash
# bench/graph_peers.sh - graphs side by side: NearStore (`nearstore bench graph`, through the
# engine) vs kuzu (PyPI), the same generated graph, in one run, one table.
#
# Usage: bench/graph_peers.sh [nearstore bench graph flags, e.g. --nodes 200000
#        --edges 1000000 --starts 200 --queries 100 --dim 32 --seed 7]
#
# 1. builds the `nearstore` CLI (release; $CARGO, default cargo);
# 2. makes its own venv (bench/out/.venv-graph, git-ignored under bench/out) with
#    `pip install kuzu pyarrow numpy`, reused when present;
# 3. under a temp dir: `nearstore bench graph --csv DIR` generates the power-law graph once
#    (node payloads and embeddings), writes it as CSV (nodes.csv, edges.csv, starts.txt,
#    queries.json) and measures through the engine (load, 1-, 2-, 3-hop expansion, the
#    vector + pattern query); then bench/graph_peers.py loads the same graph into kuzu
#    (in-memory), builds kuzu's vector index over the same embeddings (its `vector`
#    extension, shipped in the wheel), measures the same figures, checks the distinct counts
#    agree and prints one table with the ratios.
#
# Environment: KUZU_ON_DISK=1 adds one kuzu load into an on-disk database (index and
# CHECKPOINT included); KUZU_VECTOR_K (default 6000) is the K of kuzu's vector-index form of
# the vector + pattern query. kuzu's index build takes minutes on this graph (see README).
#
# Both measurements run under `flock $NEARSTORE_BENCH_LOCK` when that variable is set (on the
# development machine shared with other builds), so nothing compiles while they run.
# Definitions of the figures: `nearstore bench graph --help`, its module docs and the .py's
# docs.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
export PYTHONDONTWRITEBYTECODE=1
CARGO="${CARGO:-cargo}"
VENV="$ROOT/bench/out/.venv-graph"
ARGS=()
if [ "$#" -gt 0 ]; then ARGS=("$@"); fi

"$CARGO" build --release -p nearstore-cli
BIN="${CARGO_TARGET_DIR:-$ROOT/target}/release/nearstore"
if [ ! -x "$BIN" ]; then
  BIN="$("$CARGO" metadata --format-version 1 --no-deps \
    | python3 -c 'import json,sys; print(json.load(sys.stdin)["target_directory"])')/release/nearstore"
fi

if [ ! -x "$VENV/bin/python" ] || ! "$VENV/bin/python" -c 'import kuzu, pyarrow, numpy' 2>/dev/null; then
  mkdir -p "$ROOT/bench/out"
  python3 -m venv "$VENV"
  "$VENV/bin/pip" install --quiet --upgrade pip
  "$VENV/bin/pip" install --quiet kuzu pyarrow numpy
fi

WORK="$(mktemp -d "${TMPDIR:-/tmp}/nearstore-graph-bench.XXXXXX")"
trap 'rm -rf "$WORK"' EXIT

LOCK=()
if [ -n "${NEARSTORE_BENCH_LOCK:-}" ]; then LOCK=(flock "$NEARSTORE_BENCH_LOCK"); fi
"${LOCK[@]}" bash -c '
  set -euo pipefail
  "$1" bench graph --csv "$2" "${@:5}" > "$2/nearstore.json"
  "$3" "$4" "$2" "$2/nearstore.json"
' _ "$BIN" "$WORK" "$VENV/bin/python" "$ROOT/bench/graph_peers.py" "${ARGS[@]}"
