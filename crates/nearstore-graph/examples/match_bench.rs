//! Pattern-matching benchmark of the store alone, on the graph `nearstore bench graph --csv`
//! writes (the one generator of the graph benchmark, the graph `bench/graph_peers.sh`
//! compares with kuzu): loads its CSV files (the node id is the first column of
//! `nodes.csv`), then times MATCH patterns through the pattern executor, one call per start
//! node, one thread.
//!
//! ```text
//! cargo run --release -p nearstore-cli -- bench graph --csv /tmp/g
//! cargo run --release -p nearstore-graph --example match_bench -- --dir /tmp/g
//! ```
//!
//! Figures (throughput = start nodes answered per second, best of two passes):
//! - `2-hop`: `MATCH (a)-[:FOLLOWS]->()-[:FOLLOWS]->(c)` with `a` given as the start
//!   candidate, counting distinct `c` (the sum must equal the 2-hop distinct total of
//!   `bench/graph_peers.sh`: the graph has no self-loops or reciprocal pairs, so trails and
//!   walks agree); also the number of paths (bindings);
//! - `3-hop`: the same with three relationships;
//! - `var 1..3`: `MATCH (a)-[:FOLLOWS*1..3]->(b)`, every trail (binding) enumerated;
//! - `2-hop + hook`: the 2-hop pattern with a caller predicate on `c` (accepts ids divisible
//!   by 10), standing in for the engine's payload or similarity condition;
//! - `frontier 2-hop`: `FrontierExpander` on the same starts (the store's fastest way to
//!   count a frontier), to show what enumerating bindings costs over counting one.
//!
//! Prints one JSON object on stdout.

use std::ops::ControlFlow;
use std::path::{Path, PathBuf};
use std::time::Instant;

use nearstore_graph::{
    Binding, Budget, Direction, Filter, FrontierExpander, GraphEdge, GraphStore, MatchOptions,
    NodePattern, NodePredicate, NodeSource, PathPattern, Pattern, RelPattern, StartCandidates,
};
use roaring::RoaringTreemap;

type BoxError = Box<dyn std::error::Error>;

/// Every node of the CSV exists and has no payload condition to check.
struct Nodes(RoaringTreemap);

impl NodeSource for Nodes {
    fn node_ids(&self) -> &RoaringTreemap {
        &self.0
    }
    fn node_matches(&self, _node: u64, _filter: &Filter) -> bool {
        true
    }
}

/// Accepts `c` nodes whose id is divisible by 10.
struct Tenth;

impl NodePredicate for Tenth {
    fn constrains(&self, var: &str) -> bool {
        var == "c"
    }
    fn accept(&self, _var: &str, node: u64) -> bool {
        node.is_multiple_of(10)
    }
}

fn read_lines(
    path: &Path,
    mut f: impl FnMut(&str) -> Result<(), BoxError>,
) -> Result<(), BoxError> {
    let bytes = std::fs::read(path)?;
    for line in bytes.split(|&b| b == b'\n') {
        let line = std::str::from_utf8(line)?.trim_end();
        if !line.is_empty() {
            f(line)?;
        }
    }
    Ok(())
}

fn load(dir: &Path) -> Result<(GraphStore, Nodes, Vec<u64>), BoxError> {
    let mut nodes = RoaringTreemap::new();
    read_lines(&dir.join("nodes.csv"), |l| {
        let id = l.split_once(',').map_or(l, |(id, _)| id);
        nodes.insert(id.parse()?);
        Ok(())
    })?;
    let mut edges = Vec::new();
    read_lines(&dir.join("edges.csv"), |l| {
        let (s, t) = l.split_once(',').ok_or("edge line without a comma")?;
        let id = edges.len() as u64;
        edges.push(GraphEdge::new(id, s.parse()?, t.parse()?, "FOLLOWS"));
        Ok(())
    })?;
    let mut store = GraphStore::new();
    store.add_edges_batch(edges, &nodes)?;
    let mut starts = Vec::new();
    read_lines(&dir.join("starts.txt"), |l| {
        starts.push(l.parse::<u64>()?);
        Ok(())
    })?;
    Ok((store, Nodes(nodes), starts))
}

fn chain(hops: usize) -> Pattern {
    let follows = || RelPattern::outgoing().types(&["FOLLOWS"]);
    let mut path = PathPattern::new(NodePattern::named("a"));
    for i in 1..hops {
        path = path.then(follows(), NodePattern::named(&format!("n{i}")));
    }
    path.then(follows(), NodePattern::named("c")).into()
}

/// Totals of one pass over the starts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
struct Totals {
    bindings: usize,
    distinct_last: usize,
}

/// Runs `pattern` once per start (`a` given), counting bindings and distinct last nodes;
/// returns the best of two passes' seconds and the totals.
fn time_pattern(
    store: &GraphStore,
    nodes: &Nodes,
    starts: &[u64],
    pattern: &Pattern,
    predicate: Option<&dyn NodePredicate>,
) -> Result<(f64, Totals), BoxError> {
    let mut stamps = vec![u32::MAX; nodes.0.max().map_or(0, |m| m as usize + 1)];
    let mut best = f64::INFINITY;
    let mut totals = Totals::default();
    for _ in 0..2 {
        totals = Totals::default();
        let t = Instant::now();
        for (round, &s) in starts.iter().enumerate() {
            let options = MatchOptions {
                start: Some(StartCandidates {
                    var: "a".to_owned(),
                    ids: vec![s],
                }),
                predicate,
                budget: Budget::unlimited(),
                ..MatchOptions::default()
            };
            let plan = store.plan_match(pattern, nodes, &options)?;
            let last = plan.node_vars().len() - 1;
            let round = round as u32;
            let stats = store.match_pattern(&plan, nodes, &options, |b: &Binding| {
                if let Some(stamp) = b.nodes.get(last).and_then(|&c| stamps.get_mut(c as usize))
                    && *stamp != round
                {
                    *stamp = round;
                    totals.distinct_last += 1;
                }
                ControlFlow::Continue(())
            })?;
            totals.bindings += stats.bindings;
        }
        best = best.min(t.elapsed().as_secs_f64());
        stamps.iter_mut().for_each(|s| *s = u32::MAX);
    }
    Ok((best, totals))
}

fn main() -> Result<(), BoxError> {
    let mut dir = PathBuf::from("graph-bench");
    let mut args = std::env::args().skip(1);
    while let Some(flag) = args.next() {
        match (flag.as_str(), args.next()) {
            ("--dir", Some(value)) => dir = PathBuf::from(value),
            _ => return Err(format!("usage: match_bench --dir DIR (got {flag})").into()),
        }
    }
    let (store, nodes, starts) = load(&dir)?;
    eprintln!(
        "loaded {} edges, {} starts",
        store.edge_count(),
        starts.len()
    );
    let mut figures = Vec::new();
    let var = PathPattern::new(NodePattern::named("a"))
        .then(
            RelPattern::outgoing().types(&["FOLLOWS"]).hops(1, 3),
            NodePattern::named("c"),
        )
        .into();
    let cases: [(&str, Pattern, Option<&dyn NodePredicate>); 4] = [
        ("2-hop", chain(2), None),
        ("3-hop", chain(3), None),
        ("var 1..3", var, None),
        ("2-hop + hook", chain(2), Some(&Tenth)),
    ];
    for (name, pattern, predicate) in &cases {
        let (seconds, totals) = time_pattern(&store, &nodes, &starts, pattern, *predicate)?;
        let per_second = starts.len() as f64 / seconds;
        eprintln!(
            "{name}: {per_second:.0} starts/s, {} bindings ({:.0}/s), distinct last {}",
            totals.bindings,
            totals.bindings as f64 / seconds,
            totals.distinct_last
        );
        figures.push(format!(
            "{{\"pattern\":\"{name}\",\"seconds\":{seconds:.6},\"starts_per_second\":{per_second:.1},\"bindings\":{},\"distinct_last\":{}}}",
            totals.bindings, totals.distinct_last
        ));
    }
    let labels = store.label_set(&["FOLLOWS"]);
    let mut expander = FrontierExpander::new();
    let mut best = f64::INFINITY;
    let mut total = 0;
    for _ in 0..2 {
        let t = Instant::now();
        total = 0;
        for &s in &starts {
            total += expander.expand(
                &store,
                &[s],
                2,
                Direction::Outgoing,
                &labels,
                &Budget::unlimited(),
            )?;
        }
        best = best.min(t.elapsed().as_secs_f64());
    }
    let per_second = starts.len() as f64 / best;
    eprintln!("frontier 2-hop: {per_second:.0} starts/s, distinct total {total}");
    figures.push(format!(
        "{{\"pattern\":\"frontier 2-hop\",\"seconds\":{best:.6},\"starts_per_second\":{per_second:.1},\"distinct_last\":{total}}}"
    ));
    println!(
        "{{\"system\":\"nearstore-graph match\",\"edges\":{},\"starts\":{},\"figures\":[{}]}}",
        store.edge_count(),
        starts.len(),
        figures.join(",")
    );
    Ok(())
}
