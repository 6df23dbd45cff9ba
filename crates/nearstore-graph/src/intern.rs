//! Interning tables: labels (strings -> dense `u32`) and nodes (external `u64` ids -> dense
//! `u32` rows of the adjacency arrays).
//!
//! Invariant: `names[i]` maps back to `i` in `index` and vice versa; entries are never
//! removed (a label or node without edges keeps its number, so the arrays stay addressable
//! by it), and numbers are assigned in first-seen order.

use rustc_hash::FxHashMap;

use crate::error::{Error, Result};

/// Dense numbers fit in `u32`; one number is kept free so `len + 1` offsets still fit.
pub(crate) const MAX_DENSE: usize = u32::MAX as usize - 1;

/// Label strings <-> dense label numbers.
#[derive(Debug, Clone, Default)]
pub(crate) struct LabelTable {
    names: Vec<String>,
    index: FxHashMap<String, u32>,
}

impl LabelTable {
    pub(crate) fn len(&self) -> usize {
        self.names.len()
    }

    pub(crate) fn get(&self, name: &str) -> Option<u32> {
        self.index.get(name).copied()
    }

    pub(crate) fn name(&self, label: u32) -> &str {
        self.names.get(label as usize).map_or("", String::as_str)
    }

    pub(crate) fn names(&self) -> &[String] {
        &self.names
    }

    /// The number of `name`, interning it when new.
    pub(crate) fn intern(&mut self, name: &str) -> Result<u32> {
        if let Some(label) = self.get(name) {
            return Ok(label);
        }
        let label = dense(self.names.len(), "labels")?;
        self.names.push(name.to_owned());
        self.index.insert(name.to_owned(), label);
        Ok(label)
    }
}

/// External node ids <-> dense node rows.
#[derive(Debug, Clone, Default)]
pub(crate) struct NodeTable {
    ids: Vec<u64>,
    index: FxHashMap<u64, u32>,
}

impl NodeTable {
    pub(crate) fn len(&self) -> usize {
        self.ids.len()
    }

    pub(crate) fn get(&self, id: u64) -> Option<u32> {
        self.index.get(&id).copied()
    }

    /// The external id of row `node` (rows come from this table, so it is in range; an out of
    /// range row maps to `u64::MAX` rather than panicking).
    pub(crate) fn id(&self, node: u32) -> u64 {
        self.ids.get(node as usize).copied().unwrap_or(u64::MAX)
    }

    pub(crate) fn intern(&mut self, id: u64) -> Result<u32> {
        if let Some(node) = self.get(id) {
            return Ok(node);
        }
        let node = dense(self.ids.len(), "nodes")?;
        self.ids.push(id);
        self.index.insert(id, node);
        Ok(node)
    }

    pub(crate) fn reserve(&mut self, additional: usize) {
        self.ids.reserve(additional);
        self.index.reserve(additional);
    }
}

/// `n` as a dense number, or [`Error::CapacityExceeded`].
pub(crate) fn dense(n: usize, what: &'static str) -> Result<u32> {
    if n >= MAX_DENSE {
        return Err(Error::CapacityExceeded {
            what,
            max: MAX_DENSE as u64,
        });
    }
    u32::try_from(n).map_err(|_| Error::CapacityExceeded {
        what,
        max: MAX_DENSE as u64,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn interning_is_stable_and_first_seen_ordered() {
        let mut labels = LabelTable::default();
        assert_eq!(labels.intern("B").ok(), Some(0));
        assert_eq!(labels.intern("A").ok(), Some(1));
        assert_eq!(labels.intern("B").ok(), Some(0));
        assert_eq!(labels.name(1), "A");
        assert_eq!(labels.get("C"), None);
        let mut nodes = NodeTable::default();
        assert_eq!(nodes.intern(70).ok(), Some(0));
        assert_eq!(nodes.intern(7).ok(), Some(1));
        assert_eq!(nodes.id(0), 70);
        assert_eq!(nodes.id(9), u64::MAX);
    }
}
