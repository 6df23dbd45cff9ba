//! The one generator of the graph benchmark's data: a power-law "follows" graph whose nodes
//! carry a payload and an embedding, from one seed, and its CSV form for a peer engine.
//!
//! The graph: node ids `0..nodes`; each edge's source is drawn with weight `rank^-0.5` and its
//! target with weight `rank^-0.85` over a random permutation of the nodes (in-degrees follow
//! a steep power law, out-degrees a mild one, like followers); self-loops are dropped and so
//! is any pair of nodes already joined in either direction, so no walk of up to 3 hops can
//! reuse an edge and walk and relationship-isomorphism semantics count the same nodes. The
//! start nodes of the expansion figures are drawn after the edges from the same stream (the
//! graph and the starts are those the earlier store-level benchmark used for the same seed).
//!
//! Node payloads and embeddings come from a second stream of the same seed, so they do not
//! change the graph: `{"name": "user<id>", "age": 18..=80, "city": one of CITIES}`, and a
//! unit-length embedding near one of `topics` random unit centres (Gaussian noise), so a
//! similarity threshold selects a topic. The query vectors of the vector + pattern figure are
//! drawn the same way.
//!
//! Must not depend on anything but `rand`: the CLI's `bench graph` and the peer script read
//! the very same data (the script through the CSV files written here).

use std::fmt::Write as _;
use std::io::{BufWriter, Write};
use std::path::Path;

use anyhow::{Context, ensure};
use rand::seq::SliceRandom;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use rand_distr::{Distribution, StandardNormal};
use serde_json::{Value, json};

/// The cities of the node payloads (`city` field).
pub const CITIES: [&str; 16] = [
    "Amsterdam",
    "Berlin",
    "Cairo",
    "Delhi",
    "Edinburgh",
    "Florence",
    "Geneva",
    "Hanoi",
    "Istanbul",
    "Jakarta",
    "Kyoto",
    "Lima",
    "Madrid",
    "Nairobi",
    "Oslo",
    "Porto",
];

/// Spread of an embedding around its topic centre (standard deviation of the Gaussian noise
/// over the whole vector, before normalisation).
const NOISE: f32 = 0.6;

/// Mixed into the seed for the stream of payloads, embeddings and queries.
const ATTRIBUTE_STREAM: u64 = 0x9e37_79b9_7f4a_7c15;

/// What to generate.
#[derive(Debug, Clone, Copy)]
pub struct GraphSpec {
    /// Nodes (ids `0..nodes`).
    pub nodes: u64,
    /// Edges (distinct unordered pairs, no self-loops).
    pub edges: u64,
    /// Start nodes of the expansion figures.
    pub starts: usize,
    /// Query vectors of the vector + pattern figure.
    pub queries: usize,
    /// Embedding dimension.
    pub dim: usize,
    /// Topic centres the embeddings cluster around.
    pub topics: usize,
    /// The seed: the same spec gives the same data.
    pub seed: u64,
}

/// The generated data.
#[derive(Debug)]
pub struct SocialGraph {
    /// The spec it was generated from.
    pub spec: GraphSpec,
    /// `(source, target)` per edge; the edge id is the index.
    pub edges: Vec<(u64, u64)>,
    /// Start nodes (may repeat).
    pub starts: Vec<u64>,
    /// Per node: its age (payload `age`).
    ages: Vec<u8>,
    /// Per node: its city's index in [`CITIES`].
    cities: Vec<u8>,
    /// Per node: `dim` floats, unit length.
    embeddings: Vec<f32>,
    /// Query vectors, `dim` floats each, unit length.
    pub queries: Vec<Vec<f32>>,
}

/// Cumulative weights `rank^-exponent` for inverse-CDF sampling.
fn cumulative(n: u64, exponent: f64) -> Vec<f64> {
    let mut sum = 0.0;
    (1..=n)
        .map(|rank| {
            sum += (rank as f64).powf(-exponent);
            sum
        })
        .collect()
}

fn draw(cdf: &[f64], rng: &mut impl Rng) -> usize {
    let total = cdf.last().copied().unwrap_or(0.0);
    let x = rng.random::<f64>() * total;
    cdf.partition_point(|&c| c < x)
        .min(cdf.len().saturating_sub(1))
}

/// A unit vector: `centre` plus Gaussian noise of total spread `noise`.
fn near(centre: &[f32], noise: f32, rng: &mut impl Rng) -> Vec<f32> {
    let per_dim = noise / (centre.len() as f32).sqrt();
    let mut v: Vec<f32> = centre
        .iter()
        .map(|c| {
            let z: f32 = StandardNormal.sample(rng);
            c + per_dim * z
        })
        .collect();
    let norm = v
        .iter()
        .map(|x| x * x)
        .sum::<f32>()
        .sqrt()
        .max(f32::MIN_POSITIVE);
    v.iter_mut().for_each(|x| *x /= norm);
    v
}

impl SocialGraph {
    /// Generates the data of `spec`.
    pub fn generate(spec: GraphSpec) -> anyhow::Result<SocialGraph> {
        ensure!(spec.nodes >= 2, "the graph needs at least 2 nodes");
        let possible = spec.nodes * (spec.nodes - 1) / 2;
        ensure!(
            spec.edges <= possible / 2,
            "{} edges is too many for {} nodes (at most {} distinct pairs, keep under half)",
            spec.edges,
            spec.nodes,
            possible
        );
        ensure!(
            spec.dim > 0 && spec.topics > 0,
            "--dim and --topics must be positive"
        );
        let mut rng = ChaCha8Rng::seed_from_u64(spec.seed);
        let mut order: Vec<u64> = (0..spec.nodes).collect();
        order.shuffle(&mut rng);
        let out_cdf = cumulative(spec.nodes, 0.5);
        let in_cdf = cumulative(spec.nodes, 0.85);
        let count = usize::try_from(spec.edges).context("--edges does not fit in memory")?;
        let mut pairs = std::collections::HashSet::with_capacity(count);
        let mut edges = Vec::with_capacity(count);
        while edges.len() < count {
            let s = order[draw(&out_cdf, &mut rng)];
            let t = order[draw(&in_cdf, &mut rng)];
            if s == t || !pairs.insert((s.min(t), s.max(t))) {
                continue;
            }
            edges.push((s, t));
        }
        drop(pairs);
        let starts = (0..spec.starts)
            .map(|_| rng.random_range(0..spec.nodes))
            .collect();

        let mut rng = ChaCha8Rng::seed_from_u64(spec.seed ^ ATTRIBUTE_STREAM);
        let centres: Vec<Vec<f32>> = (0..spec.topics)
            .map(|_| near(&vec![0.0; spec.dim], 1.0, &mut rng))
            .collect();
        let n = usize::try_from(spec.nodes).context("--nodes does not fit in memory")?;
        let (mut ages, mut cities) = (Vec::with_capacity(n), Vec::with_capacity(n));
        let mut embeddings = Vec::with_capacity(n * spec.dim);
        for _ in 0..n {
            ages.push(rng.random_range(18..=80u8));
            cities.push(rng.random_range(0..CITIES.len() as u8));
            let topic = rng.random_range(0..spec.topics);
            embeddings.extend(near(&centres[topic], NOISE, &mut rng));
        }
        let queries = (0..spec.queries)
            .map(|_| {
                let topic = rng.random_range(0..spec.topics);
                near(&centres[topic], NOISE, &mut rng)
            })
            .collect();
        Ok(SocialGraph {
            spec,
            edges,
            starts,
            ages,
            cities,
            embeddings,
            queries,
        })
    }

    /// Node `id`'s payload.
    pub fn payload(&self, id: u64) -> Value {
        let i = id as usize;
        json!({
            "name": format!("user{id}"),
            "age": self.ages[i],
            "city": CITIES[usize::from(self.cities[i])],
        })
    }

    /// Node `id`'s embedding.
    pub fn embedding(&self, id: u64) -> &[f32] {
        let d = self.spec.dim;
        let i = id as usize;
        &self.embeddings[i * d..(i + 1) * d]
    }

    /// Writes the data for a peer engine into `dir`: `nodes.csv` (`id,name,age,city,embedding`,
    /// no header, the embedding as a quoted `[x,y,...]` list), `edges.csv` (`from,to`, no
    /// header, in edge id order), `starts.txt` (one start node per line) and `queries.json`
    /// (the query vectors, a JSON array of arrays).
    pub fn write_csv(&self, dir: &Path) -> anyhow::Result<()> {
        std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
        let create = |name: &str| -> anyhow::Result<BufWriter<std::fs::File>> {
            let path = dir.join(name);
            let f = std::fs::File::create(&path)
                .with_context(|| format!("creating {}", path.display()))?;
            Ok(BufWriter::new(f))
        };
        let mut nodes = create("nodes.csv")?;
        let mut line = String::new();
        for id in 0..self.spec.nodes {
            line.clear();
            // the payload's own values, so the two forms cannot drift apart
            let payload = self.payload(id);
            let text = |field: &str| payload[field].as_str().unwrap_or_default().to_owned();
            let _ = write!(
                line,
                "{id},{},{},{},\"[",
                text("name"),
                payload["age"],
                text("city")
            );
            for (j, x) in self.embedding(id).iter().enumerate() {
                let sep = if j == 0 { "" } else { "," };
                let _ = write!(line, "{sep}{x}");
            }
            line.push_str("]\"\n");
            nodes.write_all(line.as_bytes())?;
        }
        nodes.flush()?;
        let mut edges = create("edges.csv")?;
        for (s, t) in &self.edges {
            writeln!(edges, "{s},{t}")?;
        }
        edges.flush()?;
        let mut starts = create("starts.txt")?;
        for s in &self.starts {
            writeln!(starts, "{s}")?;
        }
        starts.flush()?;
        let queries = serde_json::to_string(&self.queries)?;
        std::fs::write(dir.join("queries.json"), queries)
            .with_context(|| format!("writing {}", dir.join("queries.json").display()))?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn small() -> GraphSpec {
        GraphSpec {
            nodes: 500,
            edges: 2_000,
            starts: 10,
            queries: 5,
            dim: 8,
            topics: 4,
            seed: 3,
        }
    }

    #[test]
    fn same_seed_gives_same_graph_and_attributes() {
        let (a, b) = (
            SocialGraph::generate(small()).unwrap(),
            SocialGraph::generate(small()).unwrap(),
        );
        assert_eq!(a.edges, b.edges);
        assert_eq!(a.starts, b.starts);
        assert_eq!(a.payload(17), b.payload(17));
        assert_eq!(a.embedding(17), b.embedding(17));
        assert_eq!(a.queries, b.queries);
    }

    #[test]
    fn edges_have_no_self_loops_or_reciprocal_pairs() {
        let g = SocialGraph::generate(small()).unwrap();
        assert_eq!(g.edges.len(), 2_000);
        let mut seen = std::collections::HashSet::new();
        for &(s, t) in &g.edges {
            assert_ne!(s, t);
            assert!(s < 500 && t < 500);
            assert!(seen.insert((s.min(t), s.max(t))), "pair {s},{t} twice");
        }
    }

    #[test]
    fn embeddings_are_unit_length_and_payloads_in_range() {
        let g = SocialGraph::generate(small()).unwrap();
        for id in 0..500 {
            let norm: f32 = g.embedding(id).iter().map(|x| x * x).sum();
            assert!((norm - 1.0).abs() < 1e-4, "node {id}: |v|^2 = {norm}");
            let age = g.payload(id)["age"].as_u64().unwrap();
            assert!((18..=80).contains(&age));
        }
    }

    #[test]
    fn too_many_edges_is_refused() {
        let spec = GraphSpec {
            nodes: 10,
            edges: 40,
            ..small()
        };
        let err = SocialGraph::generate(spec).unwrap_err().to_string();
        assert!(err.contains("too many"), "{err}");
    }

    #[test]
    fn csv_holds_every_node_and_edge() {
        let g = SocialGraph::generate(small()).unwrap();
        let dir = tempfile::tempdir().unwrap();
        g.write_csv(dir.path()).unwrap();
        let nodes = std::fs::read_to_string(dir.path().join("nodes.csv")).unwrap();
        assert_eq!(nodes.lines().count(), 500);
        let first = nodes.lines().next().unwrap();
        assert!(first.starts_with("0,user0,"), "{first}");
        assert_eq!(first.matches(',').count(), 4 + 7, "{first}");
        let edges = std::fs::read_to_string(dir.path().join("edges.csv")).unwrap();
        assert_eq!(edges.lines().count(), 2_000);
        let queries: Vec<Vec<f32>> =
            serde_json::from_slice(&std::fs::read(dir.path().join("queries.json")).unwrap())
                .unwrap();
        assert_eq!(queries.len(), 5);
        assert_eq!(queries[0].len(), 8);
    }
}
