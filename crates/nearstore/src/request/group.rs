//! Grouped search: the best hits per value of a payload field (Qdrant's `search/groups`, the
//! query language's vector `GROUP BY`).
//!
//! The rule, over the request's ranked hits (all its legs, fused, past the score
//! threshold) read best first: a hit joins the group of each key its payload has at the
//! field (strings and integers; an array contributes each such element once; other values
//! and a missing field give no key, and the hit joins no group); a key that has no group yet
//! opens one while fewer than `limit` groups are open; a group keeps at most `group_size`
//! hits. So the groups come best group first (by their best hit), each group's hits best
//! first, and the answer depends only on the ranking.
//!
//! How deep it reads: the collection runs the request `limit * group_size` deep (at least
//! [`MIN_GROUP_DEPTH`]), groups the hits, and while some open group has room or fewer than
//! `limit` groups are open, and the ranking was not exhausted (it returned as many hits as
//! asked), runs it again [`GROUP_DEPTH_GROWTH`] times deeper, up to
//! [`crate::MAX_SEARCH_RESULTS`]. So a grouped search never comes back short while the
//! ranking has more hits (short only past `MAX_SEARCH_RESULTS` ranked hits). The offset
//! is not supported with groups (refused).

use std::collections::HashMap;

use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::MAX_SEARCH_RESULTS;
use super::fusion::FusedHit;
use crate::error::{Error, Result};
use crate::point::SearchResult;

/// The smallest depth a grouped search starts at.
pub const MIN_GROUP_DEPTH: usize = 64;
/// How much deeper each further pass of a grouped search reads.
pub const GROUP_DEPTH_GROWTH: usize = 4;

/// How a search groups its hits (see the module docs of `request::group`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct GroupBy {
    /// The payload field path whose values are the group keys.
    pub field: String,
    /// The most hits per group (at least 1).
    pub group_size: usize,
}

/// One group of a grouped search: its key and its best hits, best first.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SearchGroup {
    /// The payload value the group's hits share (a string or an integer).
    pub key: Value,
    /// The group's hits, best first.
    pub hits: Vec<SearchResult>,
}

impl GroupBy {
    /// Checks the grouping against a request of `limit` groups and `offset`.
    pub(crate) fn validate(&self, limit: usize, offset: usize) -> Result<()> {
        if self.field.is_empty() {
            return Err(Error::InvalidArgument("group_by needs a field".into()));
        }
        if self.group_size == 0 {
            return Err(Error::InvalidArgument(
                "group_size must be at least 1".into(),
            ));
        }
        if offset > 0 {
            return Err(Error::Unsupported(
                "an offset with group_by is not supported (groups are counted by limit)".into(),
            ));
        }
        if limit.saturating_mul(self.group_size) > MAX_SEARCH_RESULTS {
            return Err(Error::InvalidArgument(format!(
                "limit * group_size is {}, at most {MAX_SEARCH_RESULTS}",
                limit.saturating_mul(self.group_size)
            )));
        }
        Ok(())
    }

    /// The depth of the first pass for `limit` groups.
    pub(crate) fn first_depth(&self, limit: usize) -> usize {
        limit
            .saturating_mul(self.group_size)
            .clamp(MIN_GROUP_DEPTH, MAX_SEARCH_RESULTS)
    }
}

/// The group keys of a payload at `field` (see the module docs), each once, in document
/// order.
pub(crate) fn group_keys(payload: Option<&Value>, field: &str) -> Vec<Value> {
    let Some(payload) = payload else {
        return Vec::new();
    };
    let mut out: Vec<Value> = Vec::new();
    for v in nearstore_filter::field_values(payload, field) {
        let items = match v {
            Value::Array(items) => items.as_slice(),
            other => std::slice::from_ref(other),
        };
        for item in items {
            let keyable = matches!(item, Value::String(_))
                || matches!(item, Value::Number(n) if n.is_i64() || n.is_u64());
            if keyable && !out.contains(item) {
                out.push(item.clone());
            }
        }
    }
    out
}

/// Groups as they fill: each key with its hits, best group first.
pub(crate) type RankedGroups = Vec<(Value, Vec<FusedHit>)>;

/// The groups of `hits` (ranked best first) by the rule in the module docs, and whether
/// they are complete (`limit` groups, each with `group_size` hits: no deeper hit could
/// change them). `keys` gives a hit's group keys.
pub(crate) fn group_hits(
    hits: &[FusedHit],
    limit: usize,
    group_size: usize,
    mut keys: impl FnMut(u64) -> Result<Vec<Value>>,
) -> Result<(RankedGroups, bool)> {
    let mut groups: RankedGroups = Vec::new();
    let mut slot: HashMap<String, usize> = HashMap::new();
    let mut full = 0;
    for hit in hits {
        if full == limit {
            break;
        }
        for key in keys(hit.id)? {
            let name = key.to_string();
            let i = match slot.get(&name) {
                Some(&i) => i,
                None if groups.len() < limit => {
                    groups.push((key, Vec::new()));
                    slot.insert(name, groups.len() - 1);
                    groups.len() - 1
                }
                None => continue,
            };
            let members = &mut groups[i].1;
            if members.len() < group_size {
                members.push(hit.clone());
                if members.len() == group_size {
                    full += 1;
                }
            }
        }
    }
    Ok((groups, full == limit))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn hit(id: u64, score: f32) -> FusedHit {
        FusedHit {
            id,
            score,
            legs: Vec::new(),
        }
    }

    #[test]
    fn keys_are_strings_and_integers_an_array_giving_each_element_once() {
        let p = json!({"a": ["x", 3, "x", 1.5, null, true], "b": {"c": 7}, "f": 2.5});
        assert_eq!(group_keys(Some(&p), "a"), [json!("x"), json!(3)]);
        assert_eq!(group_keys(Some(&p), "b.c"), [json!(7)]);
        assert!(group_keys(Some(&p), "f").is_empty());
        assert!(group_keys(Some(&p), "missing").is_empty());
        assert!(group_keys(None, "a").is_empty());
    }

    #[test]
    fn groups_fill_best_first_and_stop_opening_at_the_limit() {
        let hits: Vec<FusedHit> = (0..8).map(|i| hit(i, 10.0 - i as f32)).collect();
        // id -> key: 0 a, 1 b, 2 a, 3 c, 4 a, 5 b, 6 both a and c, 7 none
        let key = |id: u64| {
            Ok(match id {
                0 | 2 | 4 => vec![json!("a")],
                1 | 5 => vec![json!("b")],
                3 => vec![json!("c")],
                6 => vec![json!("a"), json!("c")],
                _ => vec![],
            })
        };
        let (groups, complete) = group_hits(&hits, 2, 2, key).unwrap();
        let ids: Vec<(Value, Vec<u64>)> = groups
            .iter()
            .map(|(k, h)| (k.clone(), h.iter().map(|h| h.id).collect()))
            .collect();
        assert_eq!(ids, [(json!("a"), vec![0, 2]), (json!("b"), vec![1, 5])]);
        assert!(complete);
        let (groups, complete) = group_hits(&hits, 3, 3, key).unwrap();
        assert_eq!(groups[2].0, json!("c"));
        assert_eq!(groups[2].1.iter().map(|h| h.id).collect::<Vec<_>>(), [3, 6]);
        assert!(!complete, "b and c have room: a deeper pass may fill them");
    }

    #[test]
    fn an_offset_a_zero_group_size_and_a_too_large_product_are_refused() {
        let g = GroupBy {
            field: "k".into(),
            group_size: 0,
        };
        assert!(g.validate(10, 0).is_err());
        let g = GroupBy {
            field: "k".into(),
            group_size: 3,
        };
        assert!(g.validate(10, 1).is_err());
        assert!(g.validate(MAX_SEARCH_RESULTS, 0).is_err());
        g.validate(10, 0).unwrap();
        assert_eq!(g.first_depth(10), MIN_GROUP_DEPTH);
        assert_eq!(g.first_depth(100), 300);
    }
}
