#!/usr/bin/env python3
"""Full-text peer benchmark: the `tantivy` Python package on the same corpus and queries as
NearStore's `text_bench`, printed side by side with NearStore's JSON report and the ratios.

Run through bench/text_peers.sh (it builds and runs NearStore first, then this script in a
venv holding `tantivy`). Also: `text_peers.py passages OUT --n 250000` writes the longer
passage corpus (see `make_passages`).

Analyzer on the tantivy side: Tokenizer.simple() (splits on every non-alphanumeric Unicode
character) -> lowercase -> ascii_fold. NearStore's default folds first (NFKD, dropping every
non-ASCII code point without splitting there) and then splits outside [a-z0-9]. They differ
only on text with non-ASCII characters that have no ASCII decomposition: NearStore joins
"a—b" into "ab" and "½" into "12", tantivy splits or keeps them. Tantivy also quantizes field
lengths to one byte (so its BM25 scores are approximate) and counts matches unless
count=False (we pass count=False, so it can prune).
"""

import argparse
import json
import os
import random
import shutil
import struct
import sys
import tempfile
import time


def read_ivecs(path):
    rows = []
    with open(path, "rb") as f:
        data = f.read()
    at = 0
    while at < len(data):
        (n,) = struct.unpack_from("<i", data, at)
        rows.append(list(struct.unpack_from("<%di" % n, data, at + 4)))
        at += 4 + 4 * n
    return rows


def load_corpus(path, field):
    docs = []
    with open(path, encoding="utf-8") as f:
        for line in f:
            if line.strip():
                row = json.loads(line)
                docs.append((int(row["id"]), str(row.get(field) or "")))
    return docs


def load_queries(path):
    with open(path, encoding="utf-8") as f:
        return [json.loads(l)["text"] for l in f if l.strip()]


def dir_bytes(path):
    total = 0
    for root, _, files in os.walk(path):
        for name in files:
            total += os.path.getsize(os.path.join(root, name))
    return total


def run_tantivy(args):
    import tantivy

    docs = load_corpus(args.corpus, args.field)
    queries = load_queries(args.queries)
    analyzer = (
        tantivy.TextAnalyzerBuilder(tantivy.Tokenizer.simple())
        .filter(tantivy.Filter.lowercase())
        .filter(tantivy.Filter.ascii_fold())
        .build()
    )
    sb = tantivy.SchemaBuilder()
    sb.add_unsigned_field("id", stored=True, fast=True, indexed=False)
    sb.add_text_field(args.field, stored=False, tokenizer_name="ref", index_option="position")
    schema = sb.build()
    base = "/dev/shm" if os.path.isdir("/dev/shm") else None
    workdir = tempfile.mkdtemp(prefix="tantivy-bench-", dir=base)
    try:
        index = tantivy.Index(schema, path=workdir)
        index.register_tokenizer("ref", analyzer)
        start = time.perf_counter()
        writer = index.writer(heap_size=256_000_000, num_threads=args.index_threads)
        for doc_id, text in docs:
            doc = tantivy.Document()
            doc.add_unsigned("id", doc_id)
            doc.add_text(args.field, text)
            writer.add_document(doc)
        writer.commit()
        writer.wait_merging_threads()
        index_secs = time.perf_counter() - start
        index.reload()
        searcher = index.searcher()
        index_bytes = dir_bytes(workdir)

        exact = None
        if args.gt:
            gt = read_ivecs(args.gt)
            agree = hits_total = want_total = 0
            for qi, q in enumerate(queries):
                res = searcher.search(index.parse_query(q, [args.field]), 10, count=False)
                got = [searcher.doc(addr)["id"][0] for _, addr in res.hits]
                want = [i for i in gt[qi][:10] if i >= 0]
                agree += got == want
                want_total += len(want)
                hits_total += sum(1 for g in got if g in want)
            exact = {
                "queries": len(queries),
                "top10_exact_queries": agree,
                "top10_recall": hits_total / max(want_total, 1),
            }

        passes = 0
        qstart = time.perf_counter()
        while passes == 0 or time.perf_counter() - qstart < args.seconds:
            for q in queries:
                searcher.search(index.parse_query(q, [args.field]), 10, count=False)
            passes += 1
        qsecs = time.perf_counter() - qstart
        return {
            "engine": "tantivy-py %s" % getattr(tantivy, "__version__", "?"),
            "documents": len(docs),
            "index_threads": args.index_threads,
            "index_seconds": index_secs,
            "docs_per_second": len(docs) / index_secs,
            "index_bytes": index_bytes,
            "segments": searcher.num_segments,
            "exactness": exact,
            "qps_k10": passes * len(queries) / qsecs,
        }
    finally:
        shutil.rmtree(workdir, ignore_errors=True)


def make_passages(args):
    """Longer passages assembled from wordnet-dev glosses: passage i joins 3-12 glosses picked
    at random (seeded) from base.jsonl, so the vocabulary and word statistics are real English
    while documents are ~5x longer and the corpus ~5x larger."""
    rng = random.Random(args.seed)
    glosses = [t for _, t in load_corpus(args.source, "text")]
    with open(args.out, "w", encoding="utf-8") as f:
        for i in range(args.n):
            parts = [glosses[rng.randrange(len(glosses))] for _ in range(rng.randint(3, 12))]
            f.write(json.dumps({"id": i, "text": " ".join(parts)}) + "\n")


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = p.add_subparsers(dest="cmd", required=True)
    r = sub.add_parser("run", help="benchmark tantivy and print the side-by-side table")
    r.add_argument("--corpus", required=True)
    r.add_argument("--field", default="text")
    r.add_argument("--queries", required=True)
    r.add_argument("--gt")
    r.add_argument("--seconds", type=float, default=3.0)
    r.add_argument("--index-threads", type=int, default=1)
    r.add_argument("--nearstore-json", help="NearStore's text_bench --json output file")
    r.add_argument("--engine-json", help="`nearstore bench text --json` output file (the engine path)")
    r.add_argument("--json", action="store_true", help="print one JSON object")
    g = sub.add_parser("passages", help="write the longer passage corpus")
    g.add_argument("out")
    g.add_argument("--source", required=True, help="wordnet-dev base.jsonl")
    g.add_argument("--n", type=int, default=250_000)
    g.add_argument("--seed", type=int, default=7)
    args = p.parse_args()
    if args.cmd == "passages":
        make_passages(args)
        return
    peer = run_tantivy(args)
    ours = None
    if args.nearstore_json:
        with open(args.nearstore_json) as f:
            ours = json.loads(f.read())
    engine = None
    if args.engine_json:
        with open(args.engine_json) as f:
            e = json.loads(f.read())
        # The engine benchmark's figures under this table's names.
        engine = {"engine": "nearstore (engine)", "documents": e["documents"],
                  "docs_per_second": e["index_docs_per_second"], "index_seconds": e["index_seconds"],
                  "index_bytes": e["index_image_bytes"], "qps_k10": e["qps_k10_single_thread"]}
        if e.get("top10_exact_queries") is not None:
            engine["exactness"] = {"top10_exact_queries": e["top10_exact_queries"], "queries": e["queries"],
                                   "max_relative_score_error": e.get("max_relative_score_error")}
    if args.json:
        print(json.dumps({"nearstore": ours, "nearstore_engine": engine, "tantivy": peer}))
        return
    rows = [("engine", "engine"), ("documents", "documents"), ("docs/s indexed", "docs_per_second"),
            ("index s", "index_seconds"), ("index bytes", "index_bytes"), ("QPS k=10 (1 thread)", "qps_k10")]
    print("%-22s %22s %22s %22s" % ("", "nearstore-text", "nearstore (engine)", peer["engine"]))
    for label, key in rows[1:]:
        a = ours.get(key) if ours else None
        c = engine.get(key) if engine else None
        b = peer.get(key)
        fmt = lambda v: "-" if v is None else ("%.1f" % v if isinstance(v, float) else str(v))
        print("%-22s %22s %22s %22s" % (label, fmt(a), fmt(c), fmt(b)))
    for name, rep in (("nearstore-text", ours), ("nearstore (engine)", engine), (peer["engine"], peer)):
        if rep and rep.get("exactness"):
            e = rep["exactness"]
            recall = e.get("top10_recall")
            print("%s exactness: %s/%s queries with top-10 ids equal to the ground truth%s%s" % (
                name, e["top10_exact_queries"], e["queries"],
                ", recall %.4f" % recall if recall is not None else "",
                ", max relative score error %.2e" % e["max_relative_score_error"]
                if e.get("max_relative_score_error") is not None else ""))
    if ours:
        print("ratios nearstore/tantivy: QPS %.2fx, indexing %.2fx, index bytes %.2fx" % (
            ours["qps_k10"] / peer["qps_k10"], ours["docs_per_second"] / peer["docs_per_second"],
            ours["index_bytes"] / max(peer["index_bytes"], 1)))
    if engine:
        print("ratios nearstore (engine)/tantivy: QPS %.2fx, indexing %.2fx, index bytes %.2fx" % (
            engine["qps_k10"] / peer["qps_k10"], engine["docs_per_second"] / peer["docs_per_second"],
            engine["index_bytes"] / max(peer["index_bytes"], 1)))


if __name__ == "__main__":
    sys.exit(main())
