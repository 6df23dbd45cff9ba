//! [`Vocabulary`]: every term ever indexed, per field, with its live document frequency.
//!
//! Term ids are dense and assigned in first-seen order. The text of every term lives once,
//! in one arena string; each field's lookup table holds term ids only and hashes through
//! the arena (a collection of short payloads adds a term for almost every document, so a
//! term costs no allocation of its own and its text is not held twice).

use std::hash::BuildHasher;

use hashbrown::HashTable;
use rustc_hash::FxBuildHasher;

/// Every term ever indexed, per field, with its live document frequency.
#[derive(Debug, Clone, Default)]
pub(crate) struct Vocabulary {
    /// Per field: the ids of its terms, found by their text.
    by_field: Vec<HashTable<u32>>,
    /// The text of every term, one after the other.
    text: String,
    /// Term `t`'s text is `text[ends[t - 1]..ends[t]]` (from 0 for the first).
    ends: Vec<usize>,
    /// Term id -> its field.
    fields: Vec<u16>,
    /// Term id -> live documents containing it.
    pub(crate) df: Vec<u32>,
}

fn hash(text: &str) -> u64 {
    FxBuildHasher.hash_one(text)
}

/// Term `id`'s text in the arena.
fn term_text<'a>(text: &'a str, ends: &[usize], id: u32) -> &'a str {
    let id = id as usize;
    let start = if id == 0 { 0 } else { ends[id - 1] };
    &text[start..ends[id]]
}

impl Vocabulary {
    pub(crate) fn new(n_fields: usize) -> Self {
        Vocabulary {
            by_field: vec![HashTable::new(); n_fields],
            ..Vocabulary::default()
        }
    }

    /// Number of terms.
    pub(crate) fn len(&self) -> usize {
        self.fields.len()
    }

    /// Term `id`'s field.
    pub(crate) fn field(&self, id: u32) -> u16 {
        self.fields[id as usize]
    }

    /// Term `id`'s text.
    pub(crate) fn text(&self, id: u32) -> &str {
        term_text(&self.text, &self.ends, id)
    }

    /// Every term as (field, text), in id order.
    pub(crate) fn iter(&self) -> impl Iterator<Item = (u16, &str)> {
        (0..self.len() as u32).map(|id| (self.field(id), self.text(id)))
    }

    /// The id of `text` in `field`, assigned on first sight.
    pub(crate) fn intern(&mut self, field: u16, text: &str) -> u32 {
        self.insert(field, text).unwrap_or_else(|id| id)
    }

    /// Adds `text` to `field` as a new term: `Ok(id)`, or `Err(id)` of the term it already is.
    pub(crate) fn insert(&mut self, field: u16, text: &str) -> Result<u32, u32> {
        let (arena, ends) = (&self.text, &self.ends);
        let entry = self.by_field[usize::from(field)].entry(
            hash(text),
            |&id| term_text(arena, ends, id) == text,
            |&id| hash(term_text(arena, ends, id)),
        );
        match entry {
            hashbrown::hash_table::Entry::Occupied(found) => Err(*found.get()),
            hashbrown::hash_table::Entry::Vacant(slot) => {
                let id = self.fields.len() as u32;
                slot.insert(id);
                self.text.push_str(text);
                self.ends.push(self.text.len());
                self.fields.push(field);
                self.df.push(0);
                Ok(id)
            }
        }
    }

    /// The id of `text` in `field`, if it was ever indexed.
    pub(crate) fn lookup(&self, field: usize, text: &str) -> Option<u32> {
        let (arena, ends) = (&self.text, &self.ends);
        self.by_field
            .get(field)?
            .find(hash(text), |&id| term_text(arena, ends, id) == text)
            .copied()
    }

    /// Bytes held (for memory accounting).
    pub(crate) fn heap_bytes(&self) -> usize {
        let tables: usize = self.by_field.iter().map(|t| t.capacity() * 5).sum();
        tables
            + self.text.capacity()
            + self.ends.capacity() * size_of::<usize>()
            + self.fields.capacity() * size_of::<u16>()
            + self.df.capacity() * size_of::<u32>()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn terms_are_interned_once_per_field_and_found_by_text() {
        let mut v = Vocabulary::new(2);
        let words: Vec<String> = (0..5000).map(|i| format!("w{i}")).collect();
        let ids: Vec<u32> = words.iter().map(|w| v.intern(0, w)).collect();
        assert_eq!(ids, (0..5000).collect::<Vec<u32>>());
        // the same text again is the same term; in another field, a new one
        assert_eq!(v.intern(0, "w17"), 17);
        assert_eq!(v.insert(0, "w17"), Err(17));
        assert_eq!(v.intern(1, "w17"), 5000);
        assert_eq!(v.len(), 5001);
        for (i, w) in words.iter().enumerate() {
            assert_eq!(v.lookup(0, w), Some(i as u32));
            assert_eq!(v.text(i as u32), w);
            assert_eq!(v.field(i as u32), 0);
        }
        assert_eq!(v.lookup(1, "w17"), Some(5000));
        assert_eq!(v.lookup(1, "w18"), None);
        assert_eq!(v.lookup(7, "w1"), None);
        assert_eq!(v.iter().nth(5000), Some((1, "w17")));
        assert_eq!(v.df.len(), 5001);
    }
}
