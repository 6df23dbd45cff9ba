//! Durability modes: when a write survives power loss.
//!
//! The cost of each mode is measured by `cargo bench -p nearstore-storage --bench stores` and
//! reported in the README.

use serde::{Deserialize, Serialize};

/// When a write becomes durable (survives power loss, not only a process crash).
///
/// In every mode a write that returned is visible to readers at once, and (except in
/// [`Durability::Bulk`]) survives a crash of the process: it is in the OS page cache.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Durability {
    /// Every write is logged and the log is fsynced before the call returns. Slowest: one
    /// `fdatasync` per call (batches amortize it).
    PerWrite,
    /// Every write is logged; the log is fsynced by `flush()`, which is the durability
    /// barrier: once `flush()` returns, every earlier write survives power loss. The default.
    #[default]
    Flush,
    /// Bulk load: nothing is logged. `flush()` writes a checkpoint of the whole store and only
    /// then are earlier writes durable; a crash before it rolls back to the last checkpoint
    /// (never to a half-written state).
    Bulk,
}

impl Durability {
    /// Whether writes are appended to a write-ahead log in this mode.
    pub fn logs_writes(self) -> bool {
        !matches!(self, Durability::Bulk)
    }
}
