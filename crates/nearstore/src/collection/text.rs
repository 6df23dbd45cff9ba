//! The collection's full-text index: its checkpoint file, and turning indexing on, off or to
//! other fields on a loaded collection.
//!
//! The text index is derived from payloads, like the payload indexes: every logged upsert
//! indexes the point's payload and every logged delete removes it, in the same short write
//! section that changes the live set (`write.rs`), so a point's text is searchable exactly
//! when its payload is. It is checkpointed with the collection into `text.index` (two
//! checksummed sections: the operation sequence number it reflects, then the
//! `nearstore-text` image) and on open loaded from there, after which the operation log's
//! tail past that number is replayed into it (no fsync per document, no rebuild on open).
//! The manifest's configuration says whether a file is in use and its generation which
//! file (`text-<generation>.index`): a configuration change writes a new generation, so a
//! crash before the manifest names it leaves the old configuration with its own file.
//!
//! Invariant: the text configuration has one owner, the `TextIndex` in the collection's
//! state (`None`: off); the manifest records it at every checkpoint.

use std::path::Path;

use super::{Collection, VectorCollection};
use crate::error::{Error, Result};
use nearstore_storage::SharedBackend;
use nearstore_storage::sections::{read_sections, write_sections};
use nearstore_text::{AnalyzerConfig, FieldConfig, TextIndex, TextIndexConfig};

const TEXT_MAGIC: [u8; 8] = *b"NSTXTCK1";

/// A merge of the text index runs at a checkpoint when it holds more than this share of
/// dead entries (deleted or replaced documents) over its live ones, plus a floor.
const MERGE_DEAD_FRACTION: usize = 4;
const MERGE_DEAD_FLOOR: usize = 1024;

/// What a collection's text index holds (for benchmarks, `inspect` and EXPLAIN).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TextIndexInfo {
    /// Live documents with at least one indexed term.
    pub documents: usize,
    /// Entries kept for documents since deleted or replaced (reclaimed by merges).
    pub dead_entries: usize,
    /// Segments (sealed ones plus the writable one).
    pub segments: usize,
    /// Approximate heap bytes of the in-memory index.
    pub heap_bytes: usize,
    /// Bytes of its checkpoint image.
    pub image_bytes: usize,
}

/// The text index file of a generation.
pub(crate) fn text_file(generation: u64) -> String {
    format!("text-{generation}.index")
}

/// Writes the text index image with the sequence number it reflects.
pub(super) fn write_text_index(
    backend: &SharedBackend,
    dir: &Path,
    generation: u64,
    image: &[u8],
    seq: u64,
) -> Result<()> {
    write_sections(
        backend.as_ref(),
        &dir.join(text_file(generation)),
        &TEXT_MAGIC,
        &[&seq.to_le_bytes(), image],
    )?;
    Ok(())
}

/// Reads the text index and its sequence number; the image must hold `expected`'s fields.
/// A damaged image is a corruption error naming the file and the byte where it failed.
pub(super) fn read_text_index(
    backend: &SharedBackend,
    dir: &Path,
    generation: u64,
    expected: &TextIndexConfig,
) -> Result<(TextIndex, u64)> {
    let path = dir.join(text_file(generation));
    let sections = read_sections(backend.as_ref(), &path, &TEXT_MAGIC)?;
    let [seq, image] = sections.as_slice() else {
        return Err(Error::corruption(path.display(), "expected two sections"));
    };
    let seq: [u8; 8] = seq
        .as_slice()
        .try_into()
        .map_err(|_| Error::corruption(path.display(), "bad sequence number"))?;
    let index = TextIndex::decode(image).map_err(|e| {
        Error::corruption(
            path.display(),
            format!("section 2 (the text index image): {e}"),
        )
    })?;
    if index.config() != expected {
        return Err(Error::corruption(
            path.display(),
            "the text index's fields differ from the manifest's text configuration",
        ));
    }
    Ok((index, u64::from_le_bytes(seq)))
}

impl Collection {
    /// Encodes the text index for a checkpoint, merging it first when dead entries have
    /// piled up (the merge is where deletes and updates give their space back).
    pub(super) fn text_image(&self) -> Option<Vec<u8>> {
        let needs_merge = {
            let st = self.state.read();
            let text = st.text.as_ref()?;
            text.dead_entries() > text.len() / MERGE_DEAD_FRACTION + MERGE_DEAD_FLOOR
        };
        if needs_merge && let Some(text) = self.state.write().text.as_mut() {
            text.merge_all();
        }
        self.state.read().text.as_ref().map(TextIndex::encode)
    }

    /// Replaces the text configuration (`None`: off): builds the new index over every live
    /// point's payload in bulk, installs it and checkpoints (which records it in the
    /// manifest). Searches keep using the old index until the new one is installed.
    pub(crate) fn set_text_config(&self, config: Option<TextIndexConfig>) -> Result<()> {
        self.change_text_config(|_| Some(config)).map(|_| ())
    }

    /// Replaces the text configuration with what `change` makes of the current one (`None`
    /// from `change`: leave it as it is), reading and replacing under the writer lock so
    /// that two concurrent changes (adding two fields) never lose one another's edit.
    /// Returns whether the configuration was replaced.
    pub(crate) fn change_text_config(
        &self,
        change: impl FnOnce(Option<TextIndexConfig>) -> Option<Option<TextIndexConfig>>,
    ) -> Result<bool> {
        self.check_open()?;
        let mut w = self.lock_writer()?;
        self.check_writable(&w)?;
        let Some(config) = change(self.text_config()) else {
            return Ok(false);
        };
        let built = match config {
            None => None,
            Some(config) => {
                let mut index = TextIndex::new(config)?;
                // The writer lock is held: no write changes the live set or payloads now.
                let ids: Vec<u64> = self.state.read().live.iter().collect();
                for id in ids {
                    if let Some(payload) = self.current_payload(id)? {
                        index.index_document(id, &payload);
                    }
                }
                Some(index)
            }
        };
        let previous = w.text_generation;
        w.text_generation += 1;
        self.state.write().text = built;
        self.checkpoint_forced(&mut w)?;
        // The manifest no longer names the previous file (best effort: a file left behind
        // is never read).
        let _ = self
            .backend
            .remove_file(&self.dir.join(text_file(previous)));
        Ok(true)
    }

    pub(crate) fn text_config(&self) -> Option<TextIndexConfig> {
        self.state.read().text.as_ref().map(|t| t.config().clone())
    }

    pub(crate) fn text_info(&self) -> Option<TextIndexInfo> {
        let st = self.state.read();
        let text = st.text.as_ref()?;
        Some(TextIndexInfo {
            documents: text.len(),
            dead_entries: text.dead_entries(),
            segments: text.segment_count(),
            heap_bytes: text.heap_bytes(),
            image_bytes: text.encode().len(),
        })
    }
}

impl VectorCollection {
    /// The text configuration (`None`: text indexing off).
    pub fn text_config(&self) -> Option<TextIndexConfig> {
        self.inner.text_config()
    }

    /// Turns text indexing off (`None`) or sets its fields. Indexes every existing point in
    /// bulk before returning, and persists the configuration (a checkpoint).
    pub fn set_text_config(&self, config: Option<TextIndexConfig>) -> Result<()> {
        self.inner.set_text_config(config)
    }

    /// Adds a text field (a dotted payload path, or [`nearstore_text::ALL_FIELD`] for every
    /// string leaf) with `analyzer`, indexing the existing points. With text indexing off,
    /// the field becomes the only one; creating a field that exists with the same analyzer
    /// is a no-op, with another analyzer it is re-indexed.
    pub fn create_text_index(&self, field: &str, analyzer: AnalyzerConfig) -> Result<()> {
        self.inner
            .change_text_config(|current| {
                let mut config = current.unwrap_or(TextIndexConfig { fields: Vec::new() });
                match config.fields.iter_mut().find(|f| f.name == field) {
                    Some(existing) if existing.analyzer == analyzer => return None,
                    Some(existing) => existing.analyzer = analyzer,
                    None => {
                        let mut f = FieldConfig::new(field);
                        f.analyzer = analyzer;
                        config.fields.push(f);
                    }
                }
                Some(Some(config))
            })
            .map(|_| ())
    }

    /// Removes a text field; returns whether there was one. Removing the last field turns
    /// text indexing off.
    pub fn drop_text_index(&self, field: &str) -> Result<bool> {
        self.inner.change_text_config(|current| {
            let mut config = current?;
            let before = config.fields.len();
            config.fields.retain(|f| f.name != field);
            (config.fields.len() != before).then(|| (!config.fields.is_empty()).then_some(config))
        })
    }

    /// Counts and sizes of the text index (`None`: text indexing off).
    pub fn text_index_info(&self) -> Option<TextIndexInfo> {
        self.inner.text_info()
    }
}
