#!/usr/bin/env python3
"""Build and search ONE peer ANN library in this process; print one JSON object on stdout.

Run by bench/peers.py, one fresh process per system, so that the peak RSS read after
build + search belongs to that system alone (it includes the Python interpreter, the library,
and the base vectors loaded as one float32 array, just as nearstore's own peak RSS includes
its loaded input).  peak_rss_mib is VmHWM from /proc/self/status; getrusage(RUSAGE_SELF)
.ru_maxrss is reported too as ru_maxrss_mib: on Linux it keeps the parent's high-water mark
across fork+exec, which is why the driver stays small (no numpy in it).

Output shape (same as `nearstore bench ann --json`, plus a few extra keys):
  {"system": "hnswlib 0.8.0", "n":..., "dim":..., "metric":..., "m": 16, "ef_construction": 200,
   "build_threads": 2, "build_seconds":..., "vectors_per_second":..., "peak_rss_mib":...,
   "index_bytes":..., "runs": [{"ef": 16, "recall_at_10":..., "qps":..., "p50_us":..., "p99_us":...}, ...]}

Search is single-threaded.  qps = queries / wall seconds of ONE call that searches the whole
query set with 1 thread (the library loops over the queries in native code; best of
--repeats passes).  p50_us / p99_us come from a second pass that searches one query per call,
so they include the Python call overhead (a few microseconds); qps_per_call is that pass's
queries / summed seconds.
"""
import argparse
import importlib.metadata as md
import json
import os
import resource
import sys
import time

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from vecio import peak_rss_mib as vecio_peak_rss  # noqa: E402
from vecio import read_vecs, recall_at_k  # noqa: E402

K = 10


def cpu_seconds():
    r = resource.getrusage(resource.RUSAGE_SELF)
    return r.ru_utime + r.ru_stime


def peak_rss_mib():
    hwm, ru = vecio_peak_rss()
    return hwm if hwm is not None else ru


def normalize(x):
    n = np.linalg.norm(x, axis=1, keepdims=True)
    n[n == 0] = 1
    x /= n
    return x


class Hnswlib:
    def __init__(self, a, dim):
        import hnswlib

        self.lib = hnswlib
        self.name = f"hnswlib {md.version('hnswlib')}"
        self.space = {"cosine": "cosine", "l2": "l2", "dot": "ip"}[a.metric]
        self.a, self.dim = a, dim

    def build(self, x):
        a = self.a
        self.index = self.lib.Index(space=self.space, dim=self.dim)
        self.index.init_index(max_elements=len(x), M=a.m, ef_construction=a.ef_construction)
        self.index.add_items(x, np.arange(len(x)), num_threads=a.build_threads)

    def set_ef(self, ef):
        self.index.set_ef(ef)

    def search(self, q):
        labels, _ = self.index.knn_query(q, k=K, num_threads=1)
        return labels

    def index_bytes(self):
        return int(self.index.index_file_size())

    def info(self):
        return {"space": self.space}


class Faiss:
    def __init__(self, a, dim):
        import faiss

        self.lib = faiss
        self.name = f"faiss {faiss.__version__}"
        self.a, self.dim = a, dim
        self.metric = faiss.METRIC_L2 if a.metric == "l2" else faiss.METRIC_INNER_PRODUCT

    def build(self, x):
        faiss, a = self.lib, self.a
        if a.metric == "cosine":
            normalize(x)  # in place: faiss has no cosine metric; counted in build time
        faiss.omp_set_num_threads(a.build_threads)
        self.index = faiss.IndexHNSWFlat(self.dim, a.m, self.metric)
        self.index.hnsw.efConstruction = a.ef_construction
        self.index.add(x)
        faiss.omp_set_num_threads(1)

    def prepare_queries(self, q):
        return normalize(q.copy()) if self.a.metric == "cosine" else q

    def set_ef(self, ef):
        self.index.hnsw.efSearch = ef

    def search(self, q):
        _, labels = self.index.search(q, K)
        return labels

    def index_bytes(self):
        h = self.index.hnsw
        codes = self.lib.downcast_index(self.index.storage).codes.size()
        return int(codes + 4 * h.neighbors.size() + 4 * h.levels.size() + 8 * h.offsets.size()
                   + 8 * h.assign_probas.size() + 4 * h.cum_nneighbor_per_level.size())

    def info(self):
        return {"metric": "METRIC_L2" if self.a.metric == "l2" else "METRIC_INNER_PRODUCT",
                "normalized": self.a.metric == "cosine",
                "omp_max_threads_search": self.lib.omp_get_max_threads()}


class Usearch:
    def __init__(self, a, dim):
        import usearch
        from usearch.index import Index

        self.Index = Index
        self.name = f"usearch {usearch.__version__}"
        self.a, self.dim = a, dim
        self.metric = {"cosine": "cos", "l2": "l2sq", "dot": "ip"}[a.metric]

    def build(self, x):
        a = self.a
        self.index = self.Index(ndim=self.dim, metric=self.metric, dtype="f32", connectivity=a.m,
                                expansion_add=a.ef_construction, expansion_search=64)
        self.index.add(np.arange(len(x), dtype=np.uint64), x, threads=a.build_threads)

    def set_ef(self, ef):
        self.index.expansion_search = ef

    def search(self, q):
        m = self.index.search(q, K, threads=1)
        keys = np.asarray(m.keys).astype(np.int64).reshape(len(q), -1)
        if hasattr(m, "counts"):  # slots past a query's count hold no result
            counts = np.asarray(m.counts).reshape(-1)
            keys[np.arange(keys.shape[1])[None, :] >= counts[:, None]] = -1
        return keys

    def index_bytes(self):
        return int(self.index.memory_usage)

    def info(self):
        return {"metric": self.metric, "dtype": "f32",
                "hardware_acceleration": str(getattr(self.index, "hardware_acceleration", ""))}


class FaissHnswSq(Faiss):
    """FAISS IndexHNSWSQ with 8-bit scalar quantization (codes only, no f32 copy, no rescoring)."""

    def __init__(self, a, dim):
        super().__init__(a, dim)
        self.name = f"faiss {self.lib.__version__} HNSWSQ8"

    def build(self, x):
        faiss, a = self.lib, self.a
        if a.metric == "cosine":
            normalize(x)
        faiss.omp_set_num_threads(a.build_threads)
        self.index = faiss.IndexHNSWSQ(self.dim, faiss.ScalarQuantizer.QT_8bit, a.m, self.metric)
        self.index.hnsw.efConstruction = a.ef_construction
        self.index.train(x)
        self.index.add(x)
        faiss.omp_set_num_threads(1)

    def info(self):
        return dict(super().info(), quantizer="QT_8bit")


class FaissIvfPq(Faiss):
    """FAISS IVF-PQ: nlist = 4 sqrt(n) lists, PQ with dim/4 sub-quantizers of 8 bits; the ef
    sweep value is used as nprobe (capped at nlist). No exact rescoring."""

    def __init__(self, a, dim):
        super().__init__(a, dim)
        self.name = f"faiss {self.lib.__version__} IVF-PQ"

    def build(self, x):
        faiss, a = self.lib, self.a
        if a.metric == "cosine":
            normalize(x)
        faiss.omp_set_num_threads(a.build_threads)
        self.nlist = max(16, int(4 * np.sqrt(len(x))))
        self.m_pq = max(1, self.dim // 4)
        while self.dim % self.m_pq:
            self.m_pq -= 1
        self.index = faiss.index_factory(self.dim, f"IVF{self.nlist},PQ{self.m_pq}x8", self.metric)
        self.index.train(x)
        self.index.add(x)
        faiss.omp_set_num_threads(1)

    def set_ef(self, ef):
        self.index.nprobe = min(ef, self.nlist)

    def index_bytes(self):
        return int(self.lib.serialize_index(self.index).size)

    def info(self):
        return dict(super().info(), nlist=self.nlist, pq_m=self.m_pq, pq_bits=8, sweep="ef = nprobe")


SYSTEMS = {"hnswlib": Hnswlib, "faiss": Faiss, "usearch": Usearch, "faiss-hnswsq": FaissHnswSq,
           "faiss-ivfpq": FaissIvfPq}


def main():
    ap = argparse.ArgumentParser(description="one peer system: build, sweep ef, print JSON")
    ap.add_argument("--system", required=True, choices=sorted(SYSTEMS))
    ap.add_argument("--base", required=True)
    ap.add_argument("--query", required=True)
    ap.add_argument("--gt", required=True)
    ap.add_argument("--metric", required=True, choices=["cosine", "l2", "dot"])
    ap.add_argument("--m", type=int, default=16)
    ap.add_argument("--ef-construction", type=int, default=200)
    ap.add_argument("--ef", default="16,32,64,128,256,512")
    ap.add_argument("--build-threads", type=int, default=2)
    ap.add_argument("--repeats", type=int, default=1)
    ap.add_argument("--passes-from-stdin", action="store_true",
                    help="after the build, run timed passes as stdin asks instead of the --ef sweep "
                         "(nearstore bench ann's protocol: prints {\"ready\": true}; `pass EF` runs one "
                         "pass and prints its JSON line; `done` or end of input prints the report)")
    a = ap.parse_args()
    efs = [int(e) for e in a.ef.split(",") if e.strip()]

    t0 = time.perf_counter()
    x = read_vecs(a.base, "f")
    q = read_vecs(a.query, "f")
    gt = read_vecs(a.gt, "i")[:, :K]
    load_s = time.perf_counter() - t0
    rss_loaded = peak_rss_mib()
    n, dim = x.shape
    print(f"[{a.system}] loaded {n} x {dim} base, {len(q)} queries in {load_s:.1f} s",
          file=sys.stderr, flush=True)

    sysm = SYSTEMS[a.system](a, dim)
    c0, t0 = cpu_seconds(), time.perf_counter()
    sysm.build(x)
    build_s = time.perf_counter() - t0
    build_cpu = cpu_seconds() - c0
    print(f"[{a.system}] built in {build_s:.1f} s ({build_cpu:.1f} CPU-s)", file=sys.stderr, flush=True)
    if hasattr(sysm, "prepare_queries"):
        q = sysm.prepare_queries(q)
    q = np.ascontiguousarray(q)

    # warm-up (page in the graph, settle caches)
    sysm.set_ef(efs[0])
    sysm.search(q[:min(len(q), 100)])

    best = {}  # ef -> [fastest pass seconds, its labels, passes run], in first-run order

    def one_pass(ef):
        sysm.set_ef(ef)
        t0 = time.perf_counter()
        labels = sysm.search(q)
        took = time.perf_counter() - t0
        b = best.setdefault(ef, [float("inf"), None, 0])
        b[2] += 1
        if took < b[0]:
            b[0], b[1] = took, labels
        return took, labels

    if a.passes_from_stdin:
        print(json.dumps({"ready": True}), flush=True)
        for line in sys.stdin:
            words = line.split()
            if words == ["done"]:
                break
            if len(words) != 2 or words[0] != "pass" or not words[1].isdigit() or int(words[1]) < 1:
                raise SystemExit(f"unknown command {line.strip()!r} on stdin: expected `pass EF` or `done`")
            ef = int(words[1])
            took, labels = one_pass(ef)
            print(json.dumps({"ef": ef, "recall_at_10": round(recall_at_k(labels, gt, K), 5),
                              "qps": round(len(q) / took, 1)}), flush=True)
    else:
        for ef in efs:
            for _ in range(max(1, a.repeats)):
                one_pass(ef)

    runs = []
    for ef, (took, labels, passes) in best.items():
        sysm.set_ef(ef)
        lat = np.empty(len(q))
        for i in range(len(q)):
            t0 = time.perf_counter()
            sysm.search(q[i:i + 1])
            lat[i] = time.perf_counter() - t0
        run = {"ef": ef, "recall_at_10": round(recall_at_k(labels, gt, K), 5),
               "qps": round(len(q) / took, 1), "passes": passes,
               "p50_us": round(float(np.percentile(lat, 50)) * 1e6, 1),
               "p99_us": round(float(np.percentile(lat, 99)) * 1e6, 1),
               "qps_per_call": round(len(q) / float(lat.sum()), 1)}
        runs.append(run)
        print(f"[{a.system}] ef={ef:4d} recall@10={run['recall_at_10']:.4f} qps={run['qps']:.0f} "
              f"p50={run['p50_us']:.0f}us", file=sys.stderr, flush=True)

    rss = peak_rss_mib()  # read BEFORE anything else allocates
    rss_ru = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0
    out = {
        "system": sysm.name,
        "n": int(n), "dim": int(dim), "nq": int(len(q)), "metric": a.metric,
        "m": a.m, "ef_construction": a.ef_construction, "build_threads": a.build_threads,
        "search_threads": 1,
        "build_seconds": round(build_s, 3),
        "build_cpu_seconds": round(build_cpu, 3),
        "vectors_per_second": round(n / build_s, 1),
        "peak_rss_mib": round(rss, 1),
        "rss_after_load_mib": round(rss_loaded, 1),
        "ru_maxrss_mib": round(rss_ru, 1),
        "rss_method": "VmHWM of /proc/self/status after build + search (ru_maxrss also given; "
                      "it can include the parent's peak)",
        "index_bytes": None,
        "load_seconds": round(load_s, 3),
        "qps_method": "one call over all queries, 1 thread, best of each ef's passes"
                      + (" (asked for on stdin, interleaved with other systems)" if a.passes_from_stdin else ""),
        "latency_method": "one call per query (includes Python call overhead)",
        "library": sysm.info(),
        "runs": runs,
    }
    try:
        out["index_bytes"] = sysm.index_bytes()
    except Exception as e:  # informational only
        out["index_bytes_error"] = repr(e)
    print(json.dumps(out))


if __name__ == "__main__":
    main()
