#!/usr/bin/env python3
"""Side-by-side ANN benchmark driver: NearStore vs hnswlib, faiss (IndexHNSWFlat) and usearch.

Normally started by bench/peers.sh (which sets up bench/.venv and builds nearstore); see that
script's header for usage.  Each peer runs in its own process (bench/peer_run.py) and so does
`nearstore bench ann --json`; all print the same JSON shape.  This script resolves the data
set's files, checks the ground truth against the metric, runs every system with the same
parameters, and prints ONE summary table (also written to OUT/peers-NAME.md, with the raw JSON
of all systems in OUT/peers-NAME.json).

QPS at a recall target is the fastest of: the linear interpolation in recall between the two
ef points that bracket it (walking the sweep in ef order, at the first crossing), and every
measured point at or above the target (the recall/QPS frontier, as ann-benchmarks plots it:
a slower larger ef never hides a faster point that already reaches the target). The same rule
for every system. "n/a" if no ef reaches it; ">=X" if the smallest ef already exceeds it (X is
the fastest point at or above the target, a lower bound: a smaller ef might be faster still).
"""
import argparse
import datetime
import json
import os
import platform
import shlex
import subprocess
import sys
import time

from interleave import run_interleaved
from system_report import log, report_from

HERE = os.path.dirname(os.path.abspath(__file__))

PEERS = ["hnswlib", "faiss", "usearch", "faiss-hnswsq", "faiss-ivfpq"]
TARGETS = [0.90, 0.95, 0.99]
K = 10


# ---------------------------------------------------------------- data set files

# This driver deliberately does not import numpy nor touch the vectors: on Linux a child
# inherits its parent's peak RSS in getrusage(RUSAGE_SELF).ru_maxrss (fork/vfork + exec keeps
# the high-water mark), so a fat driver would inflate every system's reported peak memory.
# Work on the vectors runs in short helper processes (vecio.py).

def vecs_shape(path):
    """(rows, dim) of an .fvecs/.ivecs file, from its size and first header."""
    size = os.path.getsize(path)
    with open(path, "rb") as f:
        d = int.from_bytes(f.read(4), "little", signed=True)
    if d <= 0 or size % (4 * (d + 1)):
        raise SystemExit(f"{path}: not an .fvecs/.ivecs file (dim {d}, size {size})")
    return size // (4 * (d + 1)), d


def helper(*args):
    """Run `vecio.py ARGS` in its own process; return its stdout parsed as JSON."""
    p = subprocess.run([sys.executable, os.path.join(HERE, "vecio.py"), *map(str, args)],
                       stdout=subprocess.PIPE, text=True, check=True)
    return json.loads(p.stdout)


def is_unit_length(base_path):
    return helper("unit-length", base_path)


def resolve_gt(d, metric):
    """Pick the ground-truth file for `metric` in data set folder `d`.

    Conventions understood:
      synth_gmm.py output (has params.json): groundtruth.ivecs = L2,
        groundtruth_ip.ivecs = inner product (= cosine when generated with --normalize).
      wordnet-dev style (no params.json): groundtruth.ivecs = cosine,
        groundtruth_l2.ivecs = L2, groundtruth_ip.ivecs (if any) = inner product.
    """
    p = lambda f: os.path.join(d, f)  # noqa: E731
    ex = lambda f: os.path.isfile(p(f))  # noqa: E731
    params_path = p("params.json")
    if ex("params.json"):
        with open(params_path) as f:
            params = json.load(f)
        normalized = bool(params.get("normalize"))
        if metric == "l2":
            return p("groundtruth.ivecs"), "synth_gmm: groundtruth.ivecs is L2"
        if ex("groundtruth_ip.ivecs"):
            if metric == "cosine" and not normalized:
                raise SystemExit(f"{d}: synth_gmm set was generated without --normalize, so "
                                 "groundtruth_ip.ivecs is inner product, not cosine; use --metric dot "
                                 "or l2, regenerate with --normalize --ip, or pass --gt")
            return p("groundtruth_ip.ivecs"), "synth_gmm: groundtruth_ip.ivecs is inner product" + (
                " (= cosine, data normalized)" if normalized else "")
        raise SystemExit(f"{d}: no groundtruth_ip.ivecs for --metric {metric} (generate with "
                         "synth_gmm.py --ip [--normalize]) or pass --gt")
    if metric == "cosine":
        for f in ("groundtruth_cosine.ivecs", "groundtruth.ivecs"):
            if ex(f):
                return p(f), f"{f} taken as cosine ground truth"
    elif metric == "l2":
        if ex("groundtruth_l2.ivecs"):
            return p("groundtruth_l2.ivecs"), "groundtruth_l2.ivecs is L2"
        if ex("groundtruth.ivecs"):
            return p("groundtruth.ivecs"), "groundtruth.ivecs taken as L2 ground truth (checked below)"
    else:
        for f in ("groundtruth_ip.ivecs", "groundtruth_dot.ivecs"):
            if ex(f):
                return p(f), f"{f} is inner product"
        if ex("groundtruth.ivecs") and is_unit_length(p("base.fvecs")):
            return p("groundtruth.ivecs"), "base is unit length: cosine ground truth = dot"
    raise SystemExit(f"{d}: cannot find ground truth for --metric {metric}; pass --gt FILE")


def check_gt(base, query, gt_path, metric, nq_check):
    """Recompute exact top-10 for a few queries; return mean overlap with the gt file."""
    return helper("check-gt", base, query, gt_path, metric, nq_check)


# ---------------------------------------------------------------- interpolation and table

def qps_at(runs, target):
    """(qps, kind) at recall `target`; kind: 'interp', 'lower_bound' or None (not reached)."""
    pts = sorted(((r["ef"], float(r["recall_at_10"]), float(r["qps"])) for r in runs), key=lambda t: t[0])
    if not pts:
        return None, None
    reached = [q for _, r, q in pts if r >= target]
    if not reached:
        return None, None
    best = max(reached)
    if pts[0][1] >= target:
        return best, "lower_bound"
    # Some point reaches the target and the first does not: a crossing exists.
    (_, r0, q0), (_, r1, q1) = next((a, b) for a, b in zip(pts, pts[1:]) if a[1] < target <= b[1])
    return max(q0 + (target - r0) / (r1 - r0) * (q1 - q0), best), "interp"


def fmt_qps(v, kind):
    if v is None:
        return "n/a"
    return (">=" if kind == "lower_bound" else "") + f"{v:,.0f}"


def fmt_ratio(v):
    return "n/a" if v is None else f"{v:.2f}x"


def summarize(results, ns_key):
    rows = []
    ns = results.get(ns_key) if ns_key else None
    ns_ok = ns is not None and "error" not in ns
    for key, r in results.items():
        row = {"key": key, "system": r.get("system", key)}
        if "error" in r:
            row["error"] = r["error"]
            rows.append(row)
            continue
        row["build_seconds"] = r.get("build_seconds")
        row["peak_rss_mib"] = r.get("peak_rss_mib")
        for t in TARGETS:
            row[f"qps@{t:.2f}"], row[f"qps@{t:.2f}_kind"] = qps_at(r.get("runs", []), t)
        if ns_ok and key != ns_key:
            for t in TARGETS:
                a, ak = qps_at(ns.get("runs", []), t)
                b, bk = row[f"qps@{t:.2f}"], row[f"qps@{t:.2f}_kind"]
                row[f"ns_qps_ratio@{t:.2f}"] = a / b if (a is not None and b) else None
                # a ratio involving a lower bound (">=") is only indicative
                row[f"ns_qps_ratio@{t:.2f}_approx"] = "lower_bound" in (ak, bk)
            bs, nb = r.get("build_seconds"), ns.get("build_seconds")
            row["build_ratio_peer_over_ns"] = bs / nb if (bs and nb) else None
            pm, nm = r.get("peak_rss_mib"), ns.get("peak_rss_mib")
            row["mem_ratio_ns_over_peer"] = nm / pm if (pm and nm) else None
        rows.append(row)
    return rows


def render_table(rows, ns_present):
    head = ["system", "build s", "peak RSS MiB"] + [f"QPS @{t:.2f}" for t in TARGETS]
    if ns_present:
        head += [f"NS/peer QPS @{t:.2f}" for t in TARGETS] + ["build peer/NS", "mem NS/peer"]
    body = []
    for r in rows:
        if "error" in r:
            body.append([r["system"], "FAILED: " + r["error"][:60]] + [""] * (len(head) - 2))
            continue
        num = lambda v, f: "n/a" if v is None else format(v, f)  # noqa: E731
        line = [r["system"], num(r["build_seconds"], ".1f"), num(r["peak_rss_mib"], ".0f")]
        line += [fmt_qps(r[f"qps@{t:.2f}"], r[f"qps@{t:.2f}_kind"]) for t in TARGETS]
        if ns_present:
            if "build_ratio_peer_over_ns" in r:
                line += [("~" if r[f"ns_qps_ratio@{t:.2f}_approx"] and r[f"ns_qps_ratio@{t:.2f}"] else "")
                         + fmt_ratio(r[f"ns_qps_ratio@{t:.2f}"]) for t in TARGETS]
                line += [fmt_ratio(r["build_ratio_peer_over_ns"]), fmt_ratio(r["mem_ratio_ns_over_peer"])]
            else:
                line += ["-"] * (len(TARGETS) + 2)
        body.append(line)
    w = [max(len(h), *(len(b[i]) for b in body)) if body else len(h) for i, h in enumerate(head)]
    out = ["| " + " | ".join(h.ljust(w[i]) for i, h in enumerate(head)) + " |",
           "|" + "|".join("-" * (w[i] + 1) + ":" if i else "-" * (w[i] + 2) for i in range(len(head))) + "|"]
    for b in body:
        out.append("| " + " | ".join(c.rjust(w[i]) if i else c.ljust(w[i]) for i, c in enumerate(b)) + " |")
    return "\n".join(out)


def render_vs(results, ref_key):
    """Every system against one reference (hnswlib): QPS ratios at each recall target, the
    ratio of index bytes (each library's own count of its index) and of peak RSS."""
    ref = results.get(ref_key)
    if ref is None or "error" in ref:
        return ""
    head = ["system", "best recall@10"] + [f"QPS/{ref_key} @{t:.2f}" for t in TARGETS] + [
        "index MiB", f"index/{ref_key}", f"RSS/{ref_key}"]
    lines = ["| " + " | ".join(head) + " |", "|---" + "|--:" * (len(head) - 1) + "|"]
    for key, r in results.items():
        if "error" in r:
            continue
        cells = [r.get("system", key), f"{max((x['recall_at_10'] for x in r.get('runs', [])), default=0):.4f}"]
        for t in TARGETS:
            a, ak = qps_at(r.get("runs", []), t)
            b, bk = qps_at(ref.get("runs", []), t)
            cells.append("n/a (not reached)" if a is None else
                         ("~" if "lower_bound" in (ak, bk) else "") + fmt_ratio(a / b if b else None))
        ib, rb = r.get("index_bytes"), ref.get("index_bytes")
        cells.append("n/a" if not ib else f"{ib / 2**20:.1f}")
        cells.append(fmt_ratio(ib / rb if (ib and rb) else None))
        pm, rm = r.get("peak_rss_mib"), ref.get("peak_rss_mib")
        cells.append(fmt_ratio(pm / rm if (pm and rm) else None))
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


def render_sweeps(results):
    lines = ["| system | ef | recall@10 | QPS | p50 us | p99 us |", "|---|--:|--:|--:|--:|--:|"]
    for r in results.values():
        for run in r.get("runs", []):
            lines.append(f"| {r.get('system')} | {run['ef']} | {run['recall_at_10']:.4f} | {run['qps']:,.0f} "
                         f"| {run.get('p50_us', float('nan')):.0f} | {run.get('p99_us', float('nan')):.0f} |")
    return "\n".join(lines)


# ---------------------------------------------------------------- running systems

def run_system(key, cmd, timeout, env=None):
    log(f"\n== {key}: {' '.join(shlex.quote(c) for c in cmd)}")
    t0 = time.perf_counter()
    try:
        p = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=None, text=True, timeout=timeout, env=env)
    except subprocess.TimeoutExpired:
        return {"system": key, "error": f"timed out after {timeout} s"}
    return report_from(key, p.returncode, p.stdout, time.perf_counter() - t0)


def machine_info():
    info = {"nproc": os.cpu_count(), "platform": platform.platform(), "python": platform.python_version()}
    try:
        out = subprocess.run(["lscpu"], capture_output=True, text=True).stdout
        for line in out.splitlines():
            if line.startswith("Model name:"):
                info["cpu"] = line.split(":", 1)[1].strip()
    except OSError:
        pass
    try:
        with open("/proc/meminfo") as f:
            info["mem_total_kib"] = int(f.readline().split()[1])
    except OSError:
        pass
    return info


def main():
    ap = argparse.ArgumentParser(description="NearStore vs hnswlib / faiss / usearch, one table")
    ap.add_argument("dataset", help="folder with base.fvecs, query.fvecs and ground truth .ivecs")
    ap.add_argument("--metric", default="cosine", choices=["cosine", "l2", "dot"])
    ap.add_argument("--gt", help="ground-truth .ivecs (default: picked from the folder by metric)")
    ap.add_argument("--base", help="override base file (default DATASET/base.fvecs)")
    ap.add_argument("--query", help="override query file (default DATASET/query.fvecs)")
    ap.add_argument("--ef", default="16,32,64,128,256,512", help="ef_search sweep (comma list)")
    ap.add_argument("--m", type=int, default=16)
    ap.add_argument("--ef-construction", type=int, default=200)
    ap.add_argument("--build-threads", type=int, default=2)
    ap.add_argument("--repeats", type=int, default=3,
                    help="timed passes over the query set per ef, best kept, for every system (default 3)")
    ap.add_argument("--storage-modes", default="full",
                    help="nearstore storage modes, each run as its own system (comma list: full,sq8,binary,rabitq; "
                         "MODE@X runs MODE with rescoring oversampling X, e.g. rabitq@6)")
    ap.add_argument("--rounds", type=int, default=1,
                    help="run the whole list of systems this many times, interleaved; each system's "
                         "best QPS per ef over the rounds is kept (a noisy machine slows whoever runs then)")
    ap.add_argument("--interleave", action="store_true",
                    help="build every system first, then run their timed passes in turn (one pass "
                         "per ef and system a round, --repeats rounds, the order rotating), so a slow "
                         "phase of a shared machine hits every system alike (bench/interleave.py)")
    ap.add_argument("--systems", default="nearstore," + ",".join(PEERS),
                    help="comma list of systems to run (default all)")
    ap.add_argument("--name", help="data set name for output files (default: folder name)")
    ap.add_argument("--out", default=os.path.join(HERE, "out"), help="output folder (default bench/out)")
    ap.add_argument("--nearstore-bin", default="", help="path of the nearstore binary (set by peers.sh)")
    ap.add_argument("--nearstore-skip-reason", default="", help="why nearstore is skipped (set by peers.sh)")
    ap.add_argument("--gt-check", type=int, default=20,
                    help="queries whose ground truth is recomputed exactly as a sanity check (0 = off)")
    ap.add_argument("--timeout", type=int, default=7200, help="seconds per system")
    a = ap.parse_args()

    d = os.path.abspath(a.dataset)
    base = os.path.abspath(a.base or os.path.join(d, "base.fvecs"))
    query = os.path.abspath(a.query or os.path.join(d, "query.fvecs"))
    for f in (base, query):
        if not os.path.isfile(f):
            raise SystemExit(f"missing {f}")
    if a.gt:
        gt, gt_why = os.path.abspath(a.gt), "given with --gt"
    else:
        gt, gt_why = resolve_gt(d, a.metric)
    if not os.path.isfile(gt):
        raise SystemExit(f"missing ground truth {gt}")
    n, dim = vecs_shape(base)
    nq, qdim = vecs_shape(query)
    ngt, kgt = vecs_shape(gt)
    if qdim != dim:
        raise SystemExit(f"query dim {qdim} != base dim {dim}")
    if ngt < nq or kgt < K:
        raise SystemExit(f"{gt}: {ngt} x {kgt}, need at least {nq} x {K}")
    efs = [int(e) for e in a.ef.split(",") if e.strip()]
    if not efs or min(efs) < 1:
        raise SystemExit("--ef needs positive integers")
    if a.interleave and a.rounds > 1:
        raise SystemExit("--interleave and --rounds: pick one (--interleave runs --repeats rounds of passes)")
    a.ef = ",".join(str(e) for e in efs)
    name = a.name or os.path.basename(d.rstrip("/"))
    systems = [s.strip() for s in a.systems.split(",") if s.strip()]
    for s in systems:
        if s not in PEERS + ["nearstore"]:
            raise SystemExit(f"unknown system {s!r}; known: nearstore,{','.join(PEERS)}")

    log(f"data set {name}: base {n} x {dim}, {nq} queries, metric {a.metric}")
    log(f"ground truth: {gt} ({gt_why})")
    gt_overlap = None
    if a.gt_check > 0:
        t0 = time.perf_counter()
        gt_overlap = check_gt(base, query, gt, a.metric, min(a.gt_check, nq))
        log(f"ground-truth check: exact top-{K} of {min(a.gt_check, nq)} queries by {a.metric} "
            f"matches the file at {gt_overlap:.3f} ({time.perf_counter() - t0:.1f} s)")
        if gt_overlap < 0.95:
            raise SystemExit(f"ground truth {gt} does not match metric {a.metric} "
                             f"(overlap {gt_overlap:.3f}); pass the right --gt or --metric, or --gt-check 0")
    log(f"parameters: M={a.m} ef_construction={a.ef_construction} ef={a.ef} "
        f"build_threads={a.build_threads} search_threads=1")

    results = {}
    ns_key = None
    ns_note = None
    env = dict(os.environ)
    for v in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
        env[v] = "1"  # search is single-threaded; builds set their thread count explicitly
    modes = [m.strip() for m in a.storage_modes.split(",") if m.strip()]
    # interleaved, the driver asks for each pass and the systems take no --repeats
    repeats_arg = [] if a.interleave else ["--repeats", str(a.repeats)]
    runs_of = []  # (key, command, env)
    oversampling_of = {}  # key -> the X of MODE@X ("" for the mode's default)
    for s in systems:
        if s == "nearstore":
            if not a.nearstore_bin:
                ns_note = a.nearstore_skip_reason or "nearstore bench ann not available"
                log(f"\n== nearstore: SKIPPED: {ns_note}")
                continue
            for mode in modes:
                # MODE@X: the mode with rescoring oversampling X instead of its default
                mode_name, _, over = mode.partition("@")
                cmd = [a.nearstore_bin, "bench", "ann", "--base", base, "--query", query, "--gt", gt,
                       "--metric", a.metric, "--m", str(a.m), "--ef-construction", str(a.ef_construction),
                       "--ef", a.ef, "--threads", str(a.build_threads), "--storage-mode", mode_name,
                       "--json"] + repeats_arg
                if over:
                    cmd += ["--oversampling", over]
                key = "nearstore" if mode == modes[0] else f"nearstore-{mode}"
                oversampling_of[key] = over
                runs_of.append((key, cmd, None))
                ns_key = ns_key or key
        else:
            cmd = [sys.executable, os.path.join(HERE, "peer_run.py"), "--system", s, "--base", base,
                   "--query", query, "--gt", gt, "--metric", a.metric, "--m", str(a.m),
                   "--ef-construction", str(a.ef_construction), "--ef", a.ef,
                   "--build-threads", str(a.build_threads)] + repeats_arg
            runs_of.append((s, cmd, env))
    def each_round():
        """Each round's {key: report}: the one interleaved run, or --rounds of the systems in turn."""
        if a.interleave:
            yield run_interleaved(runs_of, efs, a.repeats, a.timeout)
            return
        for rnd in range(max(1, a.rounds)):
            reports = {}
            for key, cmd, run_env in runs_of:
                log(f"\n== round {rnd + 1}: {key}")
                reports[key] = run_system(key, cmd, a.timeout, run_env)
            yield reports

    for reports in each_round():
        for key, cmd, _ in runs_of:
            r = reports[key]
            r["command"] = cmd
            if key.startswith("nearstore") and "error" not in r:
                # from the mode, not the key: the first mode's key is plain "nearstore"
                over = oversampling_of.get(key, "")
                r["system"] = f"nearstore {r.get('storage_mode', 'full')}" + (f" x{over}" if over else "")
            prev = results.get(key)
            if prev is None or "error" in prev:
                results[key] = r
            elif "error" not in r:
                # keep the best QPS per ef over the rounds (recall is the same build to build
                # only up to build randomness: keep the run's own recall with its QPS)
                for p_run, n_run in zip(prev.get("runs", []), r.get("runs", [])):
                    if n_run["qps"] > p_run["qps"]:
                        p_run.update(n_run)
            if "error" in results[key]:
                log(f"== {key}: FAILED: {results[key]['error']}")

    rows = summarize(results, ns_key)
    ns_present = ns_key is not None and "error" not in results[ns_key]
    table = render_table(rows, ns_present)
    mach = machine_info()
    header = (f"{name}: {n} x {dim}, {nq} queries, metric {a.metric}, M={a.m}, "
              f"ef_construction={a.ef_construction}, ef={a.ef}, build threads {a.build_threads}, "
              f"search 1 thread, best of {a.repeats} passes"
              + (" interleaved across systems" if a.interleave else "") + f"; machine: {mach.get('cpu', '?')}, nproc {mach['nproc']}")
    print()
    vs = render_vs(results, "hnswlib")
    print(header)
    print(table)
    if vs:
        print()
        print(vs)
    if ns_note:
        print(f"(NearStore skipped: {ns_note})")
    print("QPS at recall@10: the faster of the linear interpolation between bracketing ef points and "
          "the fastest point at or above the target; n/a = not reached; >= = already exceeded at the "
          "smallest ef (lower bound; ~ marks ratios using one).")

    os.makedirs(a.out, exist_ok=True)
    stamp = datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
    md_path = os.path.join(a.out, f"peers-{name}.md")
    json_path = os.path.join(a.out, f"peers-{name}.json")
    with open(md_path, "w") as f:
        f.write(f"# ANN peers: {name}\n\n{stamp}. {header}.\n\nGround truth: `{gt}` ({gt_why}).\n\n")
        f.write(table + "\n\n")
        if vs:
            f.write(vs + "\n\n")
        if ns_note:
            f.write(f"NearStore skipped: {ns_note}.\n\n")
        f.write("QPS at recall@10: the faster of the linear interpolation in recall between the "
                "bracketing ef points and the fastest point at or above the target (the frontier); "
                "n/a = never reached; >= = already exceeded at the smallest ef (lower bound; ratios "
                "using one are marked ~). "
                "Ratios: NS/peer QPS (higher is better for NearStore), build peer/NS (higher is "
                "better for NearStore), mem NS/peer (lower is better for NearStore). Peak RSS is "
                "each system's own process, base vectors included.\n\n")
        f.write("## Sweep\n\n" + render_sweeps(results) + "\n")
    doc = {
        "dataset": name, "dataset_dir": d, "base": base, "query": query, "groundtruth": gt,
        "groundtruth_reason": gt_why, "groundtruth_check_overlap": gt_overlap,
        "n": n, "dim": dim, "nq": nq, "metric": a.metric, "k": K,
        "params": {"m": a.m, "ef_construction": a.ef_construction, "ef": efs,
                   "build_threads": a.build_threads, "search_threads": 1, "repeats": a.repeats,
                   "rounds": a.rounds, "interleave": a.interleave},
        "machine": mach, "time_utc": stamp, "nearstore_skipped": ns_note,
        "systems": list(results.values()), "summary": rows,
    }
    with open(json_path, "w") as f:
        json.dump(doc, f, indent=1)
    log(f"\nwrote {md_path} and {json_path}")
    return 1 if any("error" in r for r in results.values()) else 0


if __name__ == "__main__":
    sys.exit(main())
