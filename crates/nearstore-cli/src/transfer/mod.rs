//! `nearstore import` and `nearstore export`: points between a collection and JSONL, CSV,
//! `.npy` or `.fvecs` files, with a progress bar and a summary.
//!
//! - JSONL: one object per line, `{"id": 1, "vector": [...], "payload": {...}}` (payload
//!   optional).
//! - CSV: a header row; columns `id` and `vector` (a JSON array), then either a `payload`
//!   column (a JSON object) or any other columns, which become payload fields (values that
//!   parse as JSON numbers / booleans keep that type, the rest are strings).
//! - `.npy` (2-D float32/float64, C order) and `.fvecs`: vectors only; row `i` gets id
//!   `--id-start + i`, and `--payloads FILE.jsonl` gives row `i` the object on line `i`.
//!   Exporting to these writes vectors in ascending id order (ids and payloads are not kept:
//!   use JSONL or CSV for a full copy).
//!
//! The vector files are read and written by `nearstore_storage::vecfile` (streamed, every
//! length bounded, damage named by file and byte offset); this module only maps them to
//! points. It must not depend on `nearstore-testkit`.

pub mod edges;
pub mod export;
pub mod import;

use std::path::Path;

use anyhow::bail;
use clap::ValueEnum;
use indicatif::{ProgressBar, ProgressStyle};

/// A file format for points.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Format {
    /// One JSON object per line.
    Jsonl,
    /// Comma-separated with a header row.
    Csv,
    /// NumPy array (vectors only).
    Npy,
    /// TEXMEX `.fvecs` (vectors only).
    Fvecs,
}

impl Format {
    /// The format given, or the one the file's extension names.
    pub fn resolve(given: Option<Format>, path: &Path) -> anyhow::Result<Format> {
        if let Some(f) = given {
            return Ok(f);
        }
        let ext = path
            .extension()
            .and_then(|e| e.to_str())
            .unwrap_or_default()
            .to_ascii_lowercase();
        Ok(match ext.as_str() {
            "jsonl" | "ndjson" => Format::Jsonl,
            "csv" => Format::Csv,
            "npy" => Format::Npy,
            "fvecs" => Format::Fvecs,
            _ => bail!(
                "cannot tell the format of {} from its extension; pass --format",
                path.display()
            ),
        })
    }
}

/// A progress bar on stderr (hidden when stderr is not a terminal).
pub fn progress_bar(len: u64, unit: &str) -> ProgressBar {
    let bar = ProgressBar::new(len);
    let template = format!(
        "{{spinner}} [{{elapsed_precise}}] {{wide_bar}} {{human_pos}}/{{human_len}} {unit} ({{per_sec}}, eta {{eta}})"
    );
    if let Ok(style) = ProgressStyle::with_template(&template) {
        bar.set_style(style);
    }
    bar
}
