#!/usr/bin/env bash
# Runs the Qdrant compatibility test (unmodified qdrant-client and langchain-qdrant) against
# a freshly built example server. Exits non-zero on any failure.
#
#   crates/nearstore-server/tests/python/run.sh
#
# Environment: PYTHON (default python3), NEARSTORE_PY_VENV (default target/nearstore-server-python/venv),
# NEARSTORE_SERVER_BIN (a prebuilt `serve` example; default: build it here).
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd "$here/../../../.." && pwd)"
target="${CARGO_TARGET_DIR:-$root/target}"
venv="${NEARSTORE_PY_VENV:-$target/nearstore-server-python/venv}"
python="${PYTHON:-python3}"

if [ ! -x "$venv/bin/python" ]; then
    "$python" -m venv "$venv"
fi
"$venv/bin/pip" install -q --disable-pip-version-check qdrant-client langchain-qdrant langchain-core pytest

# NEARSTORE_SERVER_BIN: a server binary built beforehand (then nothing is built here, so
# the script holds no build lock while the server runs).
if [ -n "${NEARSTORE_SERVER_BIN:-}" ]; then
    server_bin="$NEARSTORE_SERVER_BIN"
else
    CARGO_TARGET_DIR="$target" cargo build -q -p nearstore-server --example serve --manifest-path "$root/Cargo.toml"
    server_bin="$target/debug/examples/serve"
fi

work="$(mktemp -d)"
server_pid=""
cleanup() {
    if [ -n "$server_pid" ] && kill -0 "$server_pid" 2>/dev/null; then
        kill -TERM "$server_pid" 2>/dev/null || true
        wait "$server_pid" 2>/dev/null || true
    fi
    rm -rf "$work"
}
trap cleanup EXIT

"$server_bin" --data "$work/data" --host 127.0.0.1 --port 0 >"$work/server.out" 2>"$work/server.err" &
server_pid=$!

# The server prints "listening on ADDR" once bound; then poll /readyz (bounded).
addr=""
for _ in $(seq 1 300); do
    addr="$(sed -n 's/^listening on //p' "$work/server.out" | head -n1)"
    [ -n "$addr" ] && break
    kill -0 "$server_pid" 2>/dev/null || { cat "$work/server.err" >&2; exit 1; }
    sleep 0.1
done
[ -n "$addr" ] || { echo "server did not report its address" >&2; exit 1; }
url="http://$addr"
ready=""
for _ in $(seq 1 100); do
    if "$venv/bin/python" -c "import urllib.request,sys; urllib.request.urlopen('$url/readyz', timeout=2)" 2>/dev/null; then
        ready=1
        break
    fi
    sleep 0.1
done
[ -n "$ready" ] || { echo "server at $url never became ready" >&2; exit 1; }

status=0
NEARSTORE_URL="$url" NEARSTORE_DATA="$work/data" "$venv/bin/python" -m pytest -q -p no:cacheprovider --basetemp="$work/pytest" "$here/test_qdrant_compat.py" || status=$?

kill -TERM "$server_pid"
wait "$server_pid" || { echo "server exited uncleanly" >&2; cat "$work/server.err" >&2; status=1; }
server_pid=""
exit "$status"
