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
threshold, best 10 by similarity (ties by id). kuzu computes the similarity with its
built-in array_cosine_similarity in the MATCH's WHERE (its vector index is an extension,
which needs the network). Latency per query, one query at a time; the result ids of both
systems are compared and the number of queries whose top 10 agree is printed (float
rounding at the threshold may differ, so this is reported, not enforced).

Load time: both CREATEs and two COPYs (nodes with payloads and embeddings, then edges) into a
fresh in-memory database, from Parquet files the script converts from the CSV first (not
timed; kuzu parses Parquet about 15x faster than a CSV with list columns), best of three;
one load from the CSV is timed and reported too. kuzu runs with its default thread count.
"""

import json
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


def load(directory, dim, form):
    db = kuzu.Database(":memory:")
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


def vector_pattern(conn, starts, queries, dim, threshold, limit):
    query = (
        f"MATCH {pattern(2)} WHERE a.id = $s "
        "WITH DISTINCT c "
        f"WITH c, array_cosine_similarity(c.embedding, CAST($v AS FLOAT[{dim}])) AS sim "
        "WHERE sim > $t "
        f"RETURN c.id, sim ORDER BY sim DESC, c.id LIMIT {limit}"
    )
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


def quantile(values, q):
    ordered = sorted(values)
    return ordered[round((len(ordered) - 1) * q)]


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
    vp_kuzu = None
    if queries:
        threshold = vp_ours["threshold"] if vp_ours else 0.6
        limit = vp_ours["limit"] if vp_ours else 10
        vector_pattern(conn, starts, queries[: max(1, len(queries) // 10)], dim, threshold, limit)
        latencies, results = vector_pattern(conn, starts, queries, dim, threshold, limit)
        vp_kuzu = {
            "queries": len(queries),
            "p50_ms": quantile(latencies, 0.5) * 1e3,
            "p99_ms": quantile(latencies, 0.99) * 1e3,
            "mean_ms": statistics.fmean(latencies) * 1e3,
            "rows": sum(len(r) for r in results),
            "results": results,
        }
    kuzu_result = {
        "system": "kuzu",
        "version": kuzu.__version__,
        "edges": edges,
        "load_seconds": load_seconds,
        "csv_load_seconds": csv_seconds,
        "edges_load_seconds": edge_seconds,
        "expansions": kuzu_runs,
        "vector_pattern": vp_kuzu,
    }

    ok = edges == ours["edges"]
    print(
        f"\ngraph: {ours['nodes']} nodes ({dim}-d embeddings), {ours['edges']} edges, "
        f"{len(starts)} start nodes, {len(queries)} vector + pattern queries"
    )
    print(f"{'figure':<30}{'nearstore':>14}{'kuzu':>14}{'ratio':>10}")
    ratio = kuzu_result["load_seconds"] / ours["load_seconds"]
    print(
        f"{'load seconds':<30}{ours['load_seconds']:>14.3f}{load_seconds:>14.3f}"
        f"{ratio:>9.2f}x  (kuzu time / ours; >= 1 means we load faster)"
    )
    mine_edges = ours["load"]["edges_seconds"]
    print(
        f"{'  of which edges':<30}{mine_edges:>14.3f}{edge_seconds:>14.3f}"
        f"{edge_seconds / mine_edges:>9.2f}x  (ours: add_edges_batch; kuzu: COPY FOLLOWS)"
    )
    print(f"{'  kuzu from CSV instead':<30}{'':>14}{csv_seconds:>14.3f}")
    for mine, theirs in zip(ours["expansions"], kuzu_runs):
        k, definition = mine["hops"], mine["definition"]
        agree = mine["distinct_total"] == theirs["distinct_total"]
        ok = ok and agree
        r = mine["starts_per_second"] / theirs["starts_per_second"]
        print(
            f"{f'{k}-hop {definition} starts/s':<30}{mine['starts_per_second']:>14.0f}"
            f"{theirs['starts_per_second']:>14.0f}{r:>9.2f}x  "
            f"(distinct totals {mine['distinct_total']} / {theirs['distinct_total']}: "
            f"{'agree' if agree else 'DIFFER'})"
        )
    if vp_kuzu and vp_ours:
        same = sum(a == b for a, b in zip(vp_ours["results"], vp_kuzu["results"]))
        for name in ("p50_ms", "p99_ms"):
            r = vp_kuzu[name] / vp_ours[name]
            print(
                f"{f'vector+pattern {name}':<30}{vp_ours[name]:>14.3f}{vp_kuzu[name]:>14.3f}"
                f"{r:>9.2f}x  (kuzu time / ours)"
            )
        print(
            f"vector+pattern results: {same} of {len(queries)} queries return the same ids "
            f"({vp_ours['rows']} / {vp_kuzu['rows']} rows)"
        )
    elif vp_kuzu:
        print(
            f"{'vector+pattern p50_ms':<30}{'-':>14}{vp_kuzu['p50_ms']:>14.3f}"
            f"  ({vp_kuzu['rows']} rows; ours: {ours.get('vector_pattern_note', 'not run')})"
        )
    print(json.dumps({"nearstore": ours, "kuzu": kuzu_result}))
    if not ok:
        sys.exit("counts differ between the systems")


if __name__ == "__main__":
    main()
