#!/usr/bin/env python3
"""Graph side-by-side: loads the graph that `nearstore bench graph --csv DIR` wrote into kuzu
and measures the same figures as the NearStore run (load time; 1-, 2-, 3-hop expansion
throughput; a vector + pattern query's latency), then prints one table with the ratios.

Usage: graph_peers.py DIR NEARSTORE_JSON_FILE

DIR holds nodes.csv (id,name,age,city,embedding as a quoted [x,...] list), edges.csv
(from,to), starts.txt and queries.json (the query vectors). The node table holds the payload
fields and the embedding as a FLOAT[d] column.

"k-hop expansion", per start node, counts distinct nodes in one of two definitions, the one
each NearStore row names: "exact" = nodes c at the end of a path of exactly k outgoing
FOLLOWS edges (count(DISTINCT c) over a fixed pattern; kuzu: a per-start query and one
batched UNWIND query over all starts, a batched `-[:FOLLOWS*k..k]->` form was tried and was
slower at every k); "within" = nodes reachable by 1..k outgoing edges, the start excluded
(what a breadth-first traversal to depth k returns; kuzu: `-[:FOLLOWS*1..k]->` and
`-[:FOLLOWS* SHORTEST 1..k]->`, per start). Throughput is start nodes per second; kuzu's best
form is kept. The distinct totals of both systems must agree, or the script exits non-zero.

"Vector + pattern": query i takes start node starts[i % len(starts)] and query vector i:
the distinct nodes two FOLLOWS hops away whose cosine similarity to the vector exceeds the
threshold, best 10 by similarity (ties by id). kuzu answers it two ways, each a row: through
its vector index (`CALL QUERY_VECTOR_INDEX(..., K, efs := K)` for the K nearest nodes, then
the two-hop MATCH back to the start as a join; approximate, and it misses matches ranked
below K: the 0.6 threshold selects about one topic, ~4,000 of 200,000 nodes, so K defaults
to 6,000, the smallest tried (1,000 / 3,000 / 6,000) whose answers equalled the brute-force
form's in a 10-query trial; KUZU_VECTOR_K sets it), and by brute force (its built-in
array_cosine_similarity over every two-hop node in the MATCH's WHERE; exact). Latency per query, one query at a time; the result ids of each
form are compared with ours and the number of queries whose top 10 agree is printed (float
rounding at the threshold may differ, so this is reported, not enforced).

Load time: both CREATEs and two COPYs (nodes with payloads and embeddings, then edges) into a
fresh in-memory database, from Parquet files the script converts from the CSV first (not
timed; kuzu parses Parquet about 15x faster than a CSV with list columns), best of three;
one load from the CSV is timed and reported too. Then kuzu's vector extension builds its HNSW
index over the same embeddings on the last database (`CALL CREATE_VECTOR_INDEX('Node', 'idx',
'embedding', metric := 'cosine')`, kuzu's defaults: efc 200, mu 30, ml 60, pu 0.05), timed
once (it takes minutes); "load until indexed" compares the best load + that build with our
load until the background HNSW indexing has linked every node, and "load until durable +
searchable" kuzu's load without a vector index with ours until `flush()` returns (every node
found by every search then, exactly while the index links it). The vector extension
ships with the kuzu wheel (`LOAD vector` works offline). kuzu runs with its default thread
count; the index build's process CPU time is reported too.

With KUZU_ON_DISK=1 in the environment, one more load goes into a fresh on-disk database (a
temporary directory): CREATEs + COPYs + the vector index + `CHECKPOINT` (the data and the index
in the database file, the durability comparable with ours), timed once, phases reported.
"""

import json
import os
import statistics
import sys
import time

import kuzu


def pattern(k):
    hops = "".join("-[:FOLLOWS]->(:Node)" for _ in range(k - 1))
    return f"(a:Node){hops}-[:FOLLOWS]->(c:Node)"


def to_parquet(directory, dim):
    """Writes nodes.parquet and edges.parquet from the CSV files (kuzu's fastest file input;
    not timed): the embedding as a fixed-size float32 list."""
    import numpy as np
    import pyarrow as pa
    import pyarrow.csv as pcsv
    import pyarrow.parquet as pq

    names = ["id", "name", "age", "city", "embedding"]
    table = pcsv.read_csv(f"{directory}/nodes.csv", read_options=pcsv.ReadOptions(column_names=names))
    text = ",".join(s[1:-1] for s in table.column("embedding").to_pylist())
    flat = np.array(text.split(","), dtype=np.float32)
    embedding = pa.FixedSizeListArray.from_arrays(pa.array(flat), dim)
    nodes = table.drop_columns(["embedding"]).append_column("embedding", embedding)
    pq.write_table(nodes, f"{directory}/nodes.parquet")
    edges = pcsv.read_csv(
        f"{directory}/edges.csv", read_options=pcsv.ReadOptions(column_names=["from", "to"])
    )
    pq.write_table(edges, f"{directory}/edges.parquet")


def load(directory, dim, form, path=":memory:"):
    """CREATEs + both COPYs into a fresh database at `path`: (db, conn, (seconds, edge
    seconds), edges)."""
    db = kuzu.Database(path)
    conn = kuzu.Connection(db)
    options = " (header=false)" if form == "csv" else ""
    started = time.perf_counter()
    conn.execute(
        "CREATE NODE TABLE Node(id INT64, name STRING, age INT64, city STRING, "
        f"embedding FLOAT[{dim}], PRIMARY KEY(id))"
    )
    conn.execute("CREATE REL TABLE FOLLOWS(FROM Node TO Node)")
    conn.execute(f"COPY Node FROM '{directory}/nodes.{form}'{options}")
    nodes_done = time.perf_counter()
    conn.execute(f"COPY FOLLOWS FROM '{directory}/edges.{form}'{options}")
    done = time.perf_counter()
    edges = conn.execute("MATCH ()-[r:FOLLOWS]->() RETURN count(r)").get_next()[0]
    return db, conn, (done - started, done - nodes_done), edges


INDEX = "CALL CREATE_VECTOR_INDEX('Node', 'idx', 'embedding', metric := 'cosine')"


def build_index(conn):
    """kuzu's HNSW index over the embeddings (its defaults, cosine): (wall seconds, process
    CPU seconds, kuzu's own statement with every parameter)."""
    conn.execute("LOAD vector")
    wall, cpu = time.perf_counter(), time.process_time()
    conn.execute(INDEX)
    wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
    shown = conn.execute("CALL SHOW_INDEXES() RETURN *")
    statement = ""
    while shown.has_next():
        row = shown.get_next()
        if row[1] == "idx":
            statement = row[-1]
    return wall, cpu, statement


def on_disk_load(directory, dim):
    """One load into a fresh on-disk database, the vector index included, then CHECKPOINT:
    the phases' seconds."""
    import shutil
    import tempfile

    where = tempfile.mkdtemp(prefix="kuzu-graph-")
    try:
        started = time.perf_counter()
        db, conn, (copy_seconds, edge_seconds), _ = load(directory, dim, "parquet", f"{where}/db")
        index_seconds, index_cpu, _ = build_index(conn)
        at = time.perf_counter()
        conn.execute("CHECKPOINT")
        checkpoint_seconds = time.perf_counter() - at
        total = time.perf_counter() - started
        conn.close()
        db.close()
    finally:
        shutil.rmtree(where, ignore_errors=True)
    return {
        "total_seconds": total,
        "copy_seconds": copy_seconds,
        "edges_seconds": edge_seconds,
        "index_seconds": index_seconds,
        "index_cpu_seconds": index_cpu,
        "checkpoint_seconds": checkpoint_seconds,
    }


def exact_query(k):
    return f"MATCH {pattern(k)} WHERE a.id = $s RETURN count(DISTINCT c.id)"


def within_queries(k):
    """The forms of "distinct nodes within 1..k hops, the start excluded": variable length
    (walks) and kuzu's shortest-path form; both count the same nodes."""
    where = "WHERE a.id = $s AND c.id <> $s RETURN count(DISTINCT c.id)"
    return [
        f"MATCH (a:Node)-[:FOLLOWS*1..{k}]->(c:Node) {where}",
        f"MATCH (a:Node)-[:FOLLOWS* SHORTEST 1..{k}]->(c:Node) {where}",
    ]


def per_start(conn, starts, query):
    total = 0
    started = time.perf_counter()
    for s in starts:
        result = conn.execute(query, {"s": s})
        total += result.get_next()[0]
    return time.perf_counter() - started, total


def batched(conn, starts, k):
    query = (
        f"UNWIND $ids AS x MATCH {pattern(k)} WHERE a.id = x "
        "RETURN x, count(DISTINCT c.id)"
    )
    # every occurrence of a start counts, as on the NearStore side (starts may repeat)
    started = time.perf_counter()
    result = conn.execute(query, {"ids": sorted(set(starts))})
    per_id = {}
    while result.has_next():
        x, n = result.get_next()
        per_id[x] = n
    seconds = time.perf_counter() - started
    return seconds, sum(per_id.get(s, 0) for s in starts)


def expansion(conn, starts, k, definition):
    """kuzu's best time for one figure: (seconds, distinct total, forms tried)."""
    warm = starts[: max(1, len(starts) // 10)]
    if definition == "exact":
        per_start(conn, warm, exact_query(k))
        runs = [per_start(conn, starts, exact_query(k)), batched(conn, starts, k)]
        forms = ["per-start", "batched UNWIND"]
    else:
        runs, forms = [], ["*1..k", "* SHORTEST 1..k"]
        for query in within_queries(k):
            per_start(conn, warm, query)
            runs.append(per_start(conn, starts, query))
    totals = {total for _, total in runs}
    if len(totals) != 1:
        sys.exit(f"kuzu forms disagree at k={k} ({definition}): {runs}")
    return runs, forms


def brute_force_query(dim, limit):
    """Every two-hop node scored by array_cosine_similarity (exact)."""
    return (
        f"MATCH {pattern(2)} WHERE a.id = $s "
        "WITH DISTINCT c "
        f"WITH c, array_cosine_similarity(c.embedding, CAST($v AS FLOAT[{dim}])) AS sim "
        "WHERE sim > $t "
        f"RETURN c.id, sim ORDER BY sim DESC, c.id LIMIT {limit}"
    )


def index_query(dim, limit, k):
    """The vector index's K nearest nodes (cosine distance = 1 - similarity), joined with the
    two-hop pattern back to the start (approximate: a match ranked below K is missed)."""
    return (
        f"CALL QUERY_VECTOR_INDEX('Node', 'idx', $v, {k}, efs := {k}) "
        "WITH node AS c, 1.0 - distance AS sim WHERE sim > $t "
        f"MATCH {pattern(2)} WHERE a.id = $s "
        "WITH DISTINCT c, sim "
        f"RETURN c.id, sim ORDER BY sim DESC, c.id LIMIT {limit}"
    )


def vector_pattern(conn, starts, queries, threshold, query):
    latencies, results = [], []
    for i, v in enumerate(queries):
        params = {"s": starts[i % len(starts)], "v": v, "t": threshold}
        started = time.perf_counter()
        result = conn.execute(query, params)
        ids = []
        while result.has_next():
            ids.append(result.get_next()[0])
        latencies.append(time.perf_counter() - started)
        results.append(ids)
    return latencies, results


def vector_pattern_figures(conn, starts, queries, threshold, query):
    """One untimed pass over a tenth of the queries, then the timed pass: the figures."""
    vector_pattern(conn, starts, queries[: max(1, len(queries) // 10)], threshold, query)
    latencies, results = vector_pattern(conn, starts, queries, threshold, query)
    return {
        "queries": len(queries),
        "p50_ms": quantile(latencies, 0.5) * 1e3,
        "p99_ms": quantile(latencies, 0.99) * 1e3,
        "mean_ms": statistics.fmean(latencies) * 1e3,
        "rows": sum(len(r) for r in results),
        "results": results,
    }


def quantile(values, q):
    ordered = sorted(values)
    return ordered[round((len(ordered) - 1) * q)]


def same_ids(ours, theirs):
    """(queries whose ids are equal, ids of ours the other side also returned, ids of ours)."""
    same = sum(a == b for a, b in zip(ours, theirs))
    found = sum(len(set(a) & set(b)) for a, b in zip(ours, theirs))
    return same, found, sum(len(a) for a in ours)


def main():
    directory, nearstore_file = sys.argv[1], sys.argv[2]
    with open(nearstore_file) as f:
        ours = json.load(f)
    starts = [int(line) for line in open(f"{directory}/starts.txt") if line.strip()]
    with open(f"{directory}/queries.json") as f:
        queries = json.load(f)
    dim = ours["dim"]
    started = time.perf_counter()
    to_parquet(directory, dim)
    print(f"kuzu input: CSV -> Parquet in {time.perf_counter() - started:.1f}s (not timed)", file=sys.stderr)
    # one load from the CSV files (the form NearStore reads), then the best of three from
    # Parquet, each into a fresh in-memory database
    db, conn, (csv_seconds, _), edges = load(directory, dim, "csv")
    conn.close()
    db.close()
    load_seconds, edge_seconds = float("inf"), float("inf")
    for attempt in range(3):
        if attempt:
            conn.close()
            db.close()
        db, conn, (seconds, edge_part), edges = load(directory, dim, "parquet")
        load_seconds = min(load_seconds, seconds)
        edge_seconds = min(edge_seconds, edge_part)
    print(
        f"kuzu {kuzu.__version__}: loaded {edges} edges in {load_seconds:.3f}s from Parquet "
        f"(best of 3), {csv_seconds:.3f}s from CSV",
        file=sys.stderr,
    )
    index_seconds, index_cpu, index_statement = build_index(conn)
    print(
        f"kuzu vector index: {index_seconds:.3f}s ({index_cpu:.1f}s CPU): {index_statement}",
        file=sys.stderr,
    )
    kuzu_runs = []
    for mine in ours["expansions"]:
        k, definition = mine["hops"], mine["definition"]
        runs, forms = expansion(conn, starts, k, definition)
        best = min(seconds for seconds, _ in runs)
        kuzu_runs.append(
            {
                "hops": k,
                "definition": definition,
                "forms": {f: len(starts) / sec for f, (sec, _) in zip(forms, runs)},
                "starts_per_second": len(starts) / best,
                "distinct_total": runs[0][1],
            }
        )
        print(
            f"kuzu {k}-hop ({definition}): "
            + ", ".join(f"{f} {len(starts) / sec:.0f}/s" for f, (sec, _) in zip(forms, runs))
            + f", total {runs[0][1]}",
            file=sys.stderr,
        )
    vp_ours = ours.get("vector_pattern")
    vp_kuzu = {}
    if queries:
        threshold = vp_ours["threshold"] if vp_ours else 0.6
        limit = vp_ours["limit"] if vp_ours else 10
        k = int(os.environ.get("KUZU_VECTOR_K", "6000"))
        forms = {
            f"vector index (K={k})": index_query(dim, limit, k),
            "brute force": brute_force_query(dim, limit),
        }
        for name, query in forms.items():
            vp_kuzu[name] = vector_pattern_figures(conn, starts, queries, threshold, query)
            vp_kuzu[name]["query"] = query
            print(f"kuzu vector + pattern, {name}: p50 {vp_kuzu[name]['p50_ms']:.3f} ms", file=sys.stderr)
    disk = None
    if os.environ.get("KUZU_ON_DISK") == "1":
        conn.close()
        db.close()
        disk = on_disk_load(directory, dim)
        print(f"kuzu on disk: {disk}", file=sys.stderr)
    kuzu_result = {
        "system": "kuzu",
        "version": kuzu.__version__,
        "edges": edges,
        "load_seconds": load_seconds,
        "load_with_index_seconds": load_seconds + index_seconds,
        "index_seconds": index_seconds,
        "index_cpu_seconds": index_cpu,
        "index_statement": index_statement,
        "csv_load_seconds": csv_seconds,
        "edges_load_seconds": edge_seconds,
        "on_disk": disk,
        "expansions": kuzu_runs,
        "vector_pattern": vp_kuzu,
    }

    ok = edges == ours["edges"]
    print(
        f"\ngraph: {ours['nodes']} nodes ({dim}-d embeddings), {ours['edges']} edges, "
        f"{len(starts)} start nodes, {len(queries)} vector + pattern queries"
    )
    print(f"{'figure':<34}{'nearstore':>12}{'kuzu':>12}{'ratio':>10}")
    # Ours: durable and searchable (every search exact on the points the background HNSW
    # indexing has not linked yet), and until the index holds every point.
    mine_load = ours["load_seconds"]
    mine_indexed = ours.get("load_indexed_seconds", mine_load)

    def load_row(label, mine, theirs, note):
        print(f"{label:<34}{mine:>12.3f}{theirs:>12.3f}{theirs / mine:>9.2f}x  ({note})")

    load_row(
        "load until indexed, s",
        mine_indexed,
        load_seconds + index_seconds,
        "kuzu time / ours; >= 1 means we load faster; kuzu: best COPY load + index build",
    )
    print(f"{'  kuzu index build alone, s':<34}{'':>12}{index_seconds:>12.3f}  ({index_cpu:.1f} s CPU)")
    load_row(
        "load until durable + searchable",
        mine_load,
        load_seconds,
        "kuzu in memory without a vector index; ours durable, HNSW still linking",
    )
    if disk:
        load_row(
            "  kuzu on disk: COPYs alone",
            mine_load,
            disk["copy_seconds"],
            "on-disk COPY of nodes and edges, before its index",
        )
        load_row(
            "load, kuzu on disk + index + ckpt",
            mine_indexed,
            disk["total_seconds"],
            f"COPY {disk['copy_seconds']:.2f} s, index {disk['index_seconds']:.2f} s, "
            f"CHECKPOINT {disk['checkpoint_seconds']:.2f} s",
        )
    mine_edges = ours["load"]["edges_seconds"]
    print(
        f"{'  of which edges, s':<34}{mine_edges:>12.3f}{edge_seconds:>12.3f}"
        f"{edge_seconds / mine_edges:>9.2f}x  (ours: add_edges_batch; kuzu: COPY FOLLOWS)"
    )
    print(f"{'  kuzu from CSV instead, s':<34}{'':>12}{csv_seconds:>12.3f}")
    for mine, theirs in zip(ours["expansions"], kuzu_runs):
        k, definition = mine["hops"], mine["definition"]
        agree = mine["distinct_total"] == theirs["distinct_total"]
        ok = ok and agree
        r = mine["starts_per_second"] / theirs["starts_per_second"]
        print(
            f"{f'{k}-hop {definition} starts/s':<34}{mine['starts_per_second']:>12.0f}"
            f"{theirs['starts_per_second']:>12.0f}{r:>9.2f}x  "
            f"(distinct totals {mine['distinct_total']} / {theirs['distinct_total']}: "
            f"{'agree' if agree else 'DIFFER'})"
        )
    for name, figures in vp_kuzu.items():
        if not vp_ours:
            print(
                f"{f'vector+pattern p50 ms, {name}':<34}{'-':>12}{figures['p50_ms']:>12.3f}"
                f"  ({figures['rows']} rows; ours: {ours.get('vector_pattern_note', 'not run')})"
            )
            continue
        for q in ("p50_ms", "p99_ms"):
            r = figures[q] / vp_ours[q]
            print(
                f"{f'v+p {q}, kuzu {name}':<34}{vp_ours[q]:>12.3f}{figures[q]:>12.3f}"
                f"{r:>9.2f}x  (kuzu time / ours)"
            )
        same, found, total = same_ids(vp_ours["results"], figures["results"])
        print(
            f"  kuzu {name}: {same} of {len(queries)} queries return our ids, "
            f"{found} of our {total} ids found ({figures['rows']} rows)"
        )
    print(json.dumps({"nearstore": ours, "kuzu": kuzu_result}))
    if not ok:
        sys.exit("counts differ between the systems")


if __name__ == "__main__":
    main()
