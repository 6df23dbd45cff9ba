#!/usr/bin/env bash
# bench/peers.sh - side-by-side ANN benchmark: NearStore vs hnswlib, faiss-cpu and usearch.
#
# Usage:
#   bench/peers.sh DATASET_DIR [options]      (from any directory)
#   bench/peers.sh --setup                    (only create/refresh bench/.venv, then exit)
#
# DATASET_DIR holds base.fvecs, query.fvecs and ground truth .ivecs (TEXMEX layout). The same
# data and parameters go through every system, each in its own process: M=16,
# ef_construction=200, build with 2 threads, search with 1 thread over the whole query set,
# ef sweep 16,32,64,128,256,512. Prints ONE table (build s, peak RSS MiB, QPS at
# recall@10 = 0.90/0.95/0.99 interpolated, and NearStore's ratios to each peer) and writes
# bench/out/peers-NAME.md and bench/out/peers-NAME.json (raw results of all systems).
#
# Options (all but the first two are handled by bench/peers.py; see its --help):
#   --no-build            do not run cargo; use target/release/nearstore as it is
#   --skip-nearstore      peers only (no cargo build either)
#   --metric cosine|l2|dot   default cosine
#   --gt FILE             ground truth override. Default by metric: wordnet-dev style sets use
#                         groundtruth.ivecs for cosine, groundtruth_l2.ivecs for l2; synth_gmm.py
#                         sets (they have params.json) use groundtruth.ivecs for l2 and
#                         groundtruth_ip.ivecs for dot (and for cosine if made with --normalize)
#   --ef 16,32,...        ef_search sweep        --m 16   --ef-construction 200
#   --build-threads 2     --repeats 3 (every system: best of N timed passes per ef)
#   --interleave          build every system first, then run the timed passes in turn, pass
#                         by pass (a slow phase of a shared machine hits every system alike)
#   --rounds N            the whole list of systems N times, best per ef kept (not with --interleave)
#   --systems nearstore,hnswlib,faiss,usearch     --name NAME   --out DIR
#   --gt-check 20         queries whose ground truth is recomputed exactly first (0 = off)
# Environment: NEARSTORE_BIN=path uses that binary instead of building target/release/nearstore.
#
# The peers come from PyPI into bench/.venv (git-ignored; made with python3 -m venv and
# `pip install hnswlib faiss-cpu usearch numpy`, reused when present). NearStore is built with
# `cargo build --release -p nearstore-cli` and run as
#   target/release/nearstore bench ann --base B --query Q --gt G --metric M --m 16 \
#       --ef-construction 200 --ef 16,32,64,128,256,512 --threads 2 --json
# which must print one JSON object:
#   {"system":"nearstore","n":..,"dim":..,"metric":"cosine","m":16,"ef_construction":200,
#    "build_threads":2,"build_seconds":..,"vectors_per_second":..,"peak_rss_mib":..,
#    "index_bytes":..,"runs":[{"ef":16,"recall_at_10":..,"qps":..,"p50_us":..,"p99_us":..},...]}
# If that subcommand is missing (or the build fails) NearStore is skipped with a message
# and the peers' table is still printed.
#
# Examples:
#   bench/peers.sh /work/shared/data/wordnet-dev                 # 53k x 384, cosine
#   bench/peers.sh /work/shared/data/wordnet-dev --metric l2     # uses groundtruth_l2.ivecs
#   # a synthetic 100k x 128 L2 set (synth_gmm.py needs numpy: use the venv's python):
#   bench/peers.sh --setup
#   bench/.venv/bin/python /work/shared/data/tools/synth_gmm.py /tmp/gmm-100k-128 --n 100000 --dim 128
#   bench/peers.sh /tmp/gmm-100k-128 --metric l2
#   #   (writes base.fvecs, query.fvecs (1000), groundtruth.ivecs (L2) + .dist.fvecs, params.json;
#   #    add --normalize --ip for groundtruth_ip.ivecs, then --metric cosine or dot works too)
#   # On CI / other checkouts, shared/ may sit beside the repository: ../shared/data/...
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
VENV="$ROOT/bench/.venv"
PY="$VENV/bin/python"
export PYTHONDONTWRITEBYTECODE=1  # keep bench/ free of __pycache__

usage() { sed -n '2,/^set -euo/p' "$0" | sed '$d' | sed 's/^# \{0,1\}//'; }

SETUP_ONLY=0
NO_BUILD=0
SKIP_NS=0
ARGS=()
for arg in "$@"; do
    case "$arg" in
        -h | --help) usage; exit 0 ;;
        --setup) SETUP_ONLY=1 ;;
        --no-build) NO_BUILD=1 ;;
        --skip-nearstore) SKIP_NS=1 ;;
        *) ARGS+=("$arg") ;;
    esac
done
# --systems without nearstore: no need to build it
for ((i = 0; i < ${#ARGS[@]}; i++)); do
    case "${ARGS[$i]}" in
        --systems=*) [[ "${ARGS[$i]#--systems=}" == *nearstore* ]] || SKIP_NS=1 ;;
        --systems) [[ "${ARGS[$((i + 1))]:-}" == *nearstore* ]] || SKIP_NS=1 ;;
    esac
done
if [[ $SETUP_ONLY -eq 0 && ${#ARGS[@]} -eq 0 ]]; then
    usage >&2
    exit 2
fi

echo "machine: $(lscpu 2>/dev/null | sed -n 's/^Model name:[[:space:]]*//p' | head -n1), nproc $(nproc)," \
    "$(awk '/MemTotal/ {printf "%.1f GiB RAM", $2/1048576}' /proc/meminfo)"

# ---- peers' virtual environment
venv_ok() {
    [[ -x "$PY" ]] && "$PY" -c 'import hnswlib, faiss, usearch.index, numpy' >/dev/null 2>&1
}
if venv_ok; then
    echo "venv: reusing $VENV"
else
    echo "venv: creating $VENV and installing hnswlib faiss-cpu usearch numpy from PyPI" >&2
    [[ -x "$PY" ]] || python3 -m venv "$VENV"
    "$PY" -m pip install --quiet --disable-pip-version-check hnswlib faiss-cpu usearch numpy
    venv_ok || { echo "error: the venv still cannot import hnswlib/faiss/usearch/numpy" >&2; exit 1; }
fi
"$PY" - <<'EOF'
import importlib.metadata as md
print("peers:", ", ".join(f"{p} {md.version(p)}" for p in ("hnswlib", "faiss-cpu", "usearch", "numpy")))
EOF
[[ $SETUP_ONLY -eq 1 ]] && exit 0

# ---- NearStore
NS_BIN=""
NS_SKIP=""
if [[ $SKIP_NS -eq 1 ]]; then
    NS_SKIP="not requested (--skip-nearstore or --systems without nearstore)"
else
    BIN="${NEARSTORE_BIN:-$ROOT/target/release/nearstore}"
    if [[ -z "${NEARSTORE_BIN:-}" && $NO_BUILD -eq 0 ]]; then
        if ! command -v cargo >/dev/null 2>&1; then
            NS_SKIP="cargo not found"
        else
            echo "building: cargo build --release -p nearstore-cli" >&2
            if ! cargo build --release -p nearstore-cli >&2; then
                NS_SKIP="cargo build --release -p nearstore-cli failed"
            fi
        fi
    fi
    if [[ -z "$NS_SKIP" ]]; then
        if [[ ! -x "$BIN" ]]; then
            NS_SKIP="nearstore bench ann not available ($BIN missing)"
        elif ! "$BIN" bench ann --help >/dev/null 2>&1; then
            NS_SKIP="nearstore bench ann not available (the binary has no 'bench ann' subcommand yet)"
        else
            NS_BIN="$BIN"
            echo "nearstore: $("$BIN" --version 2>/dev/null || echo "$BIN")"
        fi
    fi
    [[ -n "$NS_SKIP" ]] && echo "nearstore: SKIPPED: $NS_SKIP" >&2
fi

exec "$PY" "$ROOT/bench/peers.py" "${ARGS[@]}" \
    --nearstore-bin "$NS_BIN" --nearstore-skip-reason "$NS_SKIP"
