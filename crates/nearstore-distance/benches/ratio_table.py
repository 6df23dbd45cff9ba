#!/usr/bin/env python3
"""Prints the kernel benchmark as markdown: median ns per call and our ratio to the fastest
peer crate (simsimd, numkong) for every kernel, mode and dimension.

Usage: python3 crates/nearstore-distance/benches/ratio_table.py [TARGET_DIR]
(default: $CARGO_TARGET_DIR, else ./target). Reads criterion's
<target>/criterion/<kernel>-<mode>/<impl>/<dim>/new/estimates.json.
"""
import json
import os
import sys
from pathlib import Path

IMPLS = ["nearstore", "simsimd", "numkong", "plain"]
PEERS = ["simsimd", "numkong"]


def median_ns(path: Path):
    try:
        with open(path / "new" / "estimates.json") as f:
            return json.load(f)["median"]["point_estimate"]
    except (OSError, KeyError, ValueError):
        return None


def main() -> int:
    target = Path(sys.argv[1] if len(sys.argv) > 1 else os.environ.get("CARGO_TARGET_DIR", "target"))
    root = target / "criterion"
    if not root.is_dir():
        print(f"no criterion results under {root}", file=sys.stderr)
        return 1
    groups = sorted(p for p in root.iterdir() if p.is_dir() and "-" in p.name)
    print("| kernel | mode | dim | nearstore ns | simsimd ns | numkong ns | plain ns | ratio vs fastest crate |")
    print("| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: |")
    worst = []
    for g in groups:
        kernel, mode = g.name.rsplit("-", 1)
        dims = sorted({int(d.name) for i in IMPLS if (g / i).is_dir() for d in (g / i).iterdir() if d.name.isdigit()})
        for dim in dims:
            ns = {i: median_ns(g / i / str(dim)) for i in IMPLS}
            peers = [ns[p] for p in PEERS if ns[p] is not None]
            ratio = ns["nearstore"] / min(peers) if peers and ns["nearstore"] else None
            if ratio is not None and kernel.startswith("f32") and dim in (384, 768):
                worst.append((ratio, kernel, mode, dim))
            cell = lambda v: "-" if v is None else f"{v:.1f}"
            print(f"| {kernel} | {mode} | {dim} | {cell(ns['nearstore'])} | {cell(ns['simsimd'])} | "
                  f"{cell(ns['numkong'])} | {cell(ns['plain'])} | {'-' if ratio is None else f'{ratio:.2f}'} |")
    if worst:
        r, k, m, d = max(worst)
        print(f"\nWorst f32 ratio at 384/768 dims: {r:.2f} ({k} {m} {d}); acceptance needs <= 1.00.")
    return 0


if __name__ == "__main__":
    sys.exit(main())
