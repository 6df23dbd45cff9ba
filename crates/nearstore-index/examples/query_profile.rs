//! Times one-thread searches of a full (f32) HNSW index over a TEXMEX data set, for
//! profiling the search path without the build in the profile (a development aid):
//! `cargo run --release -p nearstore-index --example query_profile -- DIR cosine|l2 EF PASSES [CKPT [MODE [OVERSAMPLING [SOURCE]]]]`.
//! With `CKPT` the built index is saved there the first time and loaded after that; `MODE`
//! (default `full`) is the storage mode, rescoring from an in-memory source, or with
//! `SOURCE` = `store` from a storage-layer `VectorStore` (as a collection's index reads it:
//! id lookup, mapped slot, checksum), written to `CKPT.store/` the first time.

use std::path::Path;
use std::time::Instant;

use std::sync::Arc;

use nearstore_index::{
    DistanceMetric, HnswIndex, HnswParams, MemorySource, QuantConfig, SearchOptions, SearchQuality,
    StorageMode, VectorSource, vector_through_batch,
};
use nearstore_storage::{Durability, FsBackend, VectorStore, VectorStoreOptions, fs_backend};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().collect();
    let dir = Path::new(
        args.get(1)
            .map_or("../shared/data/wordnet-dev", String::as_str),
    );
    let metric = match args.get(2).map(String::as_str) {
        Some("l2") => DistanceMetric::Euclidean,
        _ => DistanceMetric::Cosine,
    };
    let ef: usize = args.get(3).map_or(Ok(24), |s| s.parse())?;
    let passes: usize = args.get(4).map_or(Ok(20), |s| s.parse())?;
    let ckpt = args.get(5).map(Path::new);
    let queries = nearstore_testkit::read_fvecs(dir.join("query.fvecs"))?;
    let gt_name =
        if metric == DistanceMetric::Euclidean && dir.join("groundtruth_l2.ivecs").exists() {
            "groundtruth_l2.ivecs"
        } else {
            "groundtruth.ivecs"
        };
    let gt = nearstore_testkit::read_ivecs(dir.join(gt_name))?;
    let mode = StorageMode::parse(args.get(6).map_or("full", String::as_str))?;
    let oversampling: Option<f32> = args.get(7).map(|s| s.parse()).transpose()?;
    let base = nearstore_testkit::read_fvecs(dir.join("base.fvecs"))?;
    let source = MemorySource::new();
    for i in 0..base.len() {
        source.put(i as u64, base.row(i));
    }
    let shared: Arc<dyn VectorSource> = match (args.get(8).map(String::as_str), ckpt) {
        (Some("store"), Some(p)) => Arc::new(StoreSource(open_store(p, &base)?)),
        (Some("store"), None) => return Err("SOURCE store needs CKPT".into()),
        (Some("memory") | None, _) => source.clone(),
        (Some(other), _) => return Err(format!("unknown SOURCE {other:?}").into()),
    };
    let index = match ckpt.filter(|p| p.exists()) {
        Some(p) => HnswIndex::load_with_source(&FsBackend, p, Some(shared))?.0,
        None => {
            let index = HnswIndex::new_quantized(
                base.dim,
                metric,
                HnswParams::default(),
                QuantConfig::new(mode),
                shared,
            )?;
            let points: Vec<(u64, &[f32])> =
                (0..base.len()).map(|i| (i as u64, base.row(i))).collect();
            let t = Instant::now();
            index.insert_batch(&points)?;
            eprintln!("built in {:.1} s", t.elapsed().as_secs_f64());
            if let Some(p) = ckpt {
                index.save(&FsBackend, p, 0)?;
            }
            index
        }
    };
    let nq = queries.len();
    let mut best = f64::INFINITY;
    let mut recall = 0.0;
    let mut visited = 0u64;
    for _ in 0..passes {
        let t = Instant::now();
        let mut hit = 0.0;
        visited = 0;
        for i in 0..nq {
            let opts = SearchOptions {
                rerank: None,
                oversampling,
            };
            let found: Vec<u64> = index
                .search_with(queries.row(i), 10, SearchQuality::Ef(ef), None, opts)?
                .iter()
                .map(|h| h.id)
                .collect();
            visited += nearstore_index::last_search_stats().nodes_visited;
            let truth: Vec<u64> = gt.row(i).iter().map(|&t| t as u64).collect();
            hit += nearstore_testkit::recall_at_k(&found, &truth, 10);
        }
        best = best.min(t.elapsed().as_secs_f64());
        recall = hit / nq as f64;
    }
    println!(
        "ef {ef}: recall@10 {recall:.4}, best QPS {:.0}, layer-0 nodes scored a query {:.0}",
        nq as f64 / best,
        visited as f64 / nq as f64
    );
    Ok(())
}

/// The vector store beside `ckpt` (`CKPT.store/`), filled with `base` the first time.
fn open_store(
    ckpt: &Path,
    base: &nearstore_testkit::Rows<f32>,
) -> Result<Arc<VectorStore>, Box<dyn std::error::Error>> {
    let mut dir = ckpt.as_os_str().to_owned();
    dir.push(".store");
    let dir = std::path::PathBuf::from(dir);
    let fresh = !dir.exists();
    let options = VectorStoreOptions {
        durability: Durability::Bulk,
        ..VectorStoreOptions::default()
    };
    let store = VectorStore::open_with(fs_backend(), &dir, base.dim, options)?;
    if fresh {
        for i in 0..base.len() {
            store.store(i as u64, base.row(i))?;
        }
        store.checkpoint()?;
    }
    Ok(Arc::new(store))
}

/// A `VectorSource` over a `VectorStore`; a damaged slot ends the run (a development aid).
#[derive(Debug)]
struct StoreSource(Arc<VectorStore>);

impl VectorSource for StoreSource {
    fn with_vector(&self, id: u64, f: &mut dyn FnMut(&[f32])) -> bool {
        vector_through_batch(self, id, f)
    }

    fn with_vectors(&self, ids: &[u64], f: &mut dyn FnMut(usize, &[f32])) {
        if let Err(e) = self.0.with_vectors(ids, f) {
            eprintln!("vector store read failed: {e}");
            std::process::exit(1);
        }
    }
}
