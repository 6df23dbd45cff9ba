#!/usr/bin/env bash
# The server's load-test acceptance, end to end, on loopback:
#
#   1. 200 concurrent clients for 30 s mixing searches and upserts, with a flush every 2 s:
#      throughput, p50/p99 per operation, status counts (0 5xx other than 503), server RSS
#      before / peak / after; a final flush makes every acknowledged write durable.
#   2. The same load again (on a second collection, `crash`), and a SIGKILL of the server
#      after 10 s; the tool writes the set of writes acknowledged before the last flush that
#      completed.
#   3. A restart on the same data directory, and a check that every durable write of both
#      runs (both collections) is there, with the version acknowledged before the flush or a
#      later one that was sent.
#
#   crates/nearstore-server/tests/load/run.sh
#
# Environment: CLIENTS (200), LOAD_SECONDS (30), KILL_AFTER (10), FLUSH_EVERY_MS (2000),
# READY_TIMEOUT (120 s, the bound on a restart's recovery), KEEP_DATA=1 keeps the temporary
# directory. Exits non-zero on any failure.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd "$here/../../../.." && pwd)"
target="${CARGO_TARGET_DIR:-$root/target}"
clients="${CLIENTS:-200}"
seconds="${LOAD_SECONDS:-30}"
kill_after="${KILL_AFTER:-10}"
flush_every_ms="${FLUSH_EVERY_MS:-2000}"
# Bound on the wait for a (re)started server to open its data (recovery included).
ready_timeout="${READY_TIMEOUT:-120}"

echo "== build (release)"
cargo build --release -q -p nearstore-server --examples --manifest-path "$root/Cargo.toml"
serve_bin="$target/release/examples/serve"
load_bin="$target/release/examples/load"

work="$(mktemp -d)"
data="$work/data"
server_pid=""
cleanup() {
    if [ -n "$server_pid" ] && kill -0 "$server_pid" 2>/dev/null; then
        kill -TERM "$server_pid" 2>/dev/null || true
        wait "$server_pid" 2>/dev/null || true
    fi
    if [ "${KEEP_DATA:-0}" = 1 ]; then
        echo "kept $work"
    else
        rm -rf "$work"
    fi
}
trap cleanup EXIT

# Waits for the server to exit and fails unless its exit status is $1 ($2 names the cause in
# the failure message; $3 is the run number whose stderr is shown then).
expect_exit() {
    local want="$1" cause="$2" run="$3" status=0
    wait "$server_pid" || status=$?
    server_pid=""
    if [ "$status" -ne "$want" ]; then
        echo "FAIL: the server exited with status $status $cause" >&2
        cat "$work/server.$run.err" >&2
        exit 1
    fi
}

# Starts the server on a free loopback port (the same one on a restart when $1 is given),
# sets server_pid and url, and waits (bounded) until /readyz answers 200.
start_server() {
    local port="${1:-0}" log="$work/server.$2"
    "$serve_bin" --data "$data" --host 127.0.0.1 --port "$port" >"$log.out" 2>"$log.err" &
    server_pid=$!
    local addr="" deadline=$(( $(date +%s) + ready_timeout ))
    while [ "$(date +%s)" -lt "$deadline" ]; do
        addr="$(sed -n 's/^listening on //p' "$log.out" | head -n1)"
        [ -n "$addr" ] && break
        if ! kill -0 "$server_pid" 2>/dev/null; then
            echo "server exited before listening:" >&2
            cat "$log.err" >&2
            exit 1
        fi
        sleep 0.1
    done
    if [ -z "$addr" ]; then
        echo "FAIL: server did not report its address within ${ready_timeout} s (still opening its" \
            "data: after a kill -9 the operation log is replayed; READY_TIMEOUT raises the bound)" >&2
        exit 1
    fi
    url="http://$addr"
    for _ in $(seq 1 100); do
        if [ "$(curl -s -o /dev/null -w '%{http_code}' --max-time 2 "$url/readyz")" = 200 ]; then
            echo "server pid $server_pid ready at $url (RSS $(awk '/VmRSS/ {print $2, $3}' /proc/$server_pid/status))"
            return 0
        fi
        sleep 0.1
    done
    echo "server at $url never became ready" >&2
    exit 1
}

started=$(date +%s)
echo "== machine: $(nproc) cores, $(awk '/MemTotal/ {printf "%.1f GiB", $2/1048576}' /proc/meminfo) RAM, load average $(cut -d' ' -f1-3 /proc/loadavg)"

echo "== start server"
start_server 0 1
port="${url##*:}"

echo "== run 1: $clients clients, ${seconds}s, flush every ${flush_every_ms} ms"
"$load_bin" --url "$url" --server-pid "$server_pid" --clients "$clients" --seconds "$seconds" \
    --flush-every-ms "$flush_every_ms" --run 1 --durable-out "$work/durable-1.json"

echo "== run 2: $clients clients, SIGKILL of the server after ${kill_after}s"
"$load_bin" --url "$url" --server-pid "$server_pid" --clients "$clients" --seconds "$seconds" \
    --flush-every-ms "$flush_every_ms" --run 2 --collection crash --kill-after "$kill_after" \
    --durable-out "$work/durable-2.json"
expect_exit 137 ", not by SIGKILL (137)" 1
echo "server died of SIGKILL (exit status 137)"

echo "== restart on the same data directory"
restart_began=$(date +%s%N)
start_server "$port" 2
restart_ms=$(( ($(date +%s%N) - restart_began) / 1000000 ))
echo "restart to ready: $restart_ms ms"
if [ "$restart_ms" -gt 30000 ]; then
    echo "WARN: recovery took over 30 s (the operation log is replayed one logged upsert at a time)"
fi

echo "== verify the durable writes of both runs"
"$load_bin" --url "$url" --verify "$work/durable-1.json" --verify "$work/durable-2.json"

echo "== clean shutdown"
kill -TERM "$server_pid"
expect_exit 0 "on SIGTERM (the restarted server)" 2
echo "PASS: load test and kill -9 recovery check in $(( $(date +%s) - started )) s"
