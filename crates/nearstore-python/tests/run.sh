#!/usr/bin/env bash
# Builds the `nearstore` Python package (maturin, release) into a virtual environment, checks
# its type stubs against the built module (mypy's stubtest) and runs its pytest suite,
# LangChain's standard vector-store tests included. Exits non-zero on any
# failure, and when pytest collects no test (pytest's exit status 5).
#
#   crates/nearstore-python/tests/run.sh [pytest args...]
#
# Environment:
#   CARGO_TARGET_DIR     honoured (default: the workspace's target/); the venv lives under it
#   NEARSTORE_PY_VENV    the virtual environment (default $CARGO_TARGET_DIR/nearstore-python/venv)
#   PYTHON               the interpreter that makes the venv (default python3; 3.10 or newer)
#   NEARSTORE_BUILD_LOCK a lock file; when set, the cargo build runs under `flock` on it (on a
#                        development machine shared with other builds)
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
crate="$(cd "$here/.." && pwd)"
root="$(cd "$crate/../.." && pwd)"
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$root/target}"
venv="${NEARSTORE_PY_VENV:-$CARGO_TARGET_DIR/nearstore-python/venv}"
python="${PYTHON:-python3}"

if [ ! -x "$venv/bin/python" ]; then
    mkdir -p "$(dirname "$venv")"
    "$python" -m venv "$venv"
fi
"$venv/bin/pip" install -q --disable-pip-version-check \
    'maturin>=1.9.4,<2' pytest numpy langchain-core langchain-tests mypy

# Build the wheel (maturin sets PYO3_BUILD_EXTENSION_MODULE itself) and install it like a
# user would: not editable, so the tests import exactly what the wheel holds.
wheels="$CARGO_TARGET_DIR/nearstore-python/wheels"
rm -rf "$wheels"
lock=()
if [ -n "${NEARSTORE_BUILD_LOCK:-}" ]; then
    lock=(flock "$NEARSTORE_BUILD_LOCK")
fi
(
    cd "$crate"
    "${lock[@]}" "$venv/bin/maturin" build --release --quiet \
        --interpreter "$venv/bin/python" --out "$wheels"
)
wheel="$(ls "$wheels"/nearstore-*.whl)"
"$venv/bin/pip" install -q --disable-pip-version-check --force-reinstall --no-deps "$wheel"

# Run from a scratch directory so that `import nearstore` can only find the installed
# package (never the source tree's python/nearstore, which has no native module).
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
cd "$work"
# The type stubs must describe the module as built (names, signatures, classes).
"$venv/bin/python" -m mypy.stubtest nearstore._native
status=0
# pytest's temporary directories go under $work, removed at exit (by default they pile up
# in /tmp/pytest-of-$USER, a few hundred MB a run, and a full disk fails the run).
"$venv/bin/python" -m pytest -q -p no:cacheprovider --basetemp="$work/pytest" "$here" "$@" || status=$?
if [ "$status" -eq 5 ]; then
    echo "run.sh: pytest collected no test" >&2
fi
exit "$status"
