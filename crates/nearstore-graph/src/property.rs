//! Property indexes on edges and nodes, answering equality and range conditions over JSON
//! scalars (integer, float, string, bool) with roaring id sets. Both are the filter crate's
//! [`PayloadIndexes`] (one implementation of JSON value ordering and index keys in the
//! workspace), persisted inside the graph image.
//!
//! - Edge indexes are keyed by edge id and kept up to date by the store's own writes.
//! - Node indexes are keyed by node id; node payloads are the engine's points, so the engine
//!   calls [`GraphStore::index_node`] / [`GraphStore::unindex_node`] with the payload when it
//!   writes or deletes a point (`remove_node` does not touch them: the graph never sees the
//!   payload).

use nearstore_filter::{Candidates, FieldIndexKind, Filter, PayloadIndexes};
use roaring::RoaringTreemap;
use serde_json::Value;

use crate::error::Result;
use crate::store::GraphStore;

/// Which property index.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum PropertyTarget {
    /// Edge properties, keyed by edge id.
    Edge,
    /// Node payloads, keyed by node id.
    Node,
}

impl GraphStore {
    fn indexes(&self, target: PropertyTarget) -> &PayloadIndexes {
        match target {
            PropertyTarget::Edge => &self.edge_indexes,
            PropertyTarget::Node => &self.node_indexes,
        }
    }

    /// Indexes edge property `field` (a dotted path) as `kind`, filling it from the stored
    /// edges. Creating an existing index with the same kind is a no-op.
    pub fn create_edge_index(&mut self, field: &str, kind: FieldIndexKind) -> Result<()> {
        let edges = &self.edges;
        let live = &self.live;
        let existing = edges
            .iter()
            .zip(live)
            .filter(|(_, live)| **live)
            .map(|(r, _)| (r.id, r.properties()));
        self.edge_indexes.create_field(field, kind, existing)?;
        Ok(())
    }

    /// Indexes node payload `field` as `kind`, filling it from `existing` (the engine's
    /// current points and payloads).
    pub fn create_node_index<'a>(
        &mut self,
        field: &str,
        kind: FieldIndexKind,
        existing: impl IntoIterator<Item = (u64, &'a Value)>,
    ) -> Result<()> {
        self.node_indexes.create_field(field, kind, existing)?;
        Ok(())
    }

    /// Drops a property index; false when there was none.
    pub fn drop_index(&mut self, target: PropertyTarget, field: &str) -> bool {
        match target {
            PropertyTarget::Edge => self.edge_indexes.drop_field(field),
            PropertyTarget::Node => self.node_indexes.drop_field(field),
        }
    }

    /// The indexed fields and kinds.
    pub fn indexed_fields(&self, target: PropertyTarget) -> Vec<(String, FieldIndexKind)> {
        self.indexes(target).fields()
    }

    /// Whether any node property index exists (the engine reads old payloads only then).
    pub fn has_node_indexes(&self) -> bool {
        !self.node_indexes.is_empty()
    }

    /// Adds a node's payload to the node indexes (call when the point is written).
    pub fn index_node(&mut self, node: u64, payload: &Value) {
        self.node_indexes.insert(node, payload);
    }

    /// Removes a node's payload from the node indexes; `payload` must be the one indexed.
    pub fn unindex_node(&mut self, node: u64, payload: &Value) {
        self.node_indexes.remove(node, payload);
    }

    /// The ids of the live edges matching `filter`, exactly: candidates come from the edge
    /// indexes, and any the indexes cannot decide are checked against the edge's properties.
    pub fn edges_matching(&self, filter: &Filter) -> Result<RoaringTreemap> {
        filter.validate()?;
        let candidates = self.edge_indexes.resolve(filter, &self.edge_ids);
        if candidates.exact {
            return Ok(candidates.ids);
        }
        Ok(candidates
            .ids
            .iter()
            .filter(|&id| {
                self.by_id
                    .get(&id)
                    .and_then(|&slot| self.edges.get(slot as usize))
                    .is_some_and(|r| filter.matches(r.properties()))
            })
            .collect())
    }

    /// The nodes among `universe` (the engine's live points) that may match `filter` by the
    /// node indexes; when `exact` is false the engine checks the payloads of `ids`.
    pub fn nodes_matching(&self, filter: &Filter, universe: &RoaringTreemap) -> Result<Candidates> {
        filter.validate()?;
        Ok(self.node_indexes.resolve(filter, universe))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{AnyNode, GraphEdge};
    use serde_json::json;

    fn store() -> GraphStore {
        let mut g = GraphStore::new();
        let edges = (0..20u64)
            .map(|i| {
                GraphEdge::new(i, i, i + 1, "R")
                    .with_properties(json!({"w": i, "k": format!("k{}", i % 3)}))
            })
            .collect();
        assert!(g.add_edges_batch(edges, &AnyNode).is_ok());
        g
    }

    #[test]
    fn edge_range_and_equality_come_from_the_index() {
        let mut g = store();
        assert!(g.create_edge_index("w", FieldIndexKind::Integer).is_ok());
        assert!(g.create_edge_index("k", FieldIndexKind::Keyword).is_ok());
        let range = g.edges_matching(&Filter::between("w", json!(3), json!(6)));
        assert_eq!(
            range.ok().map(|ids| ids.iter().collect::<Vec<_>>()),
            Some(vec![3, 4, 5, 6])
        );
        let eq = g.edges_matching(&Filter::and(vec![
            Filter::eq("k", json!("k1")),
            Filter::lt("w", json!(10)),
        ]));
        assert_eq!(
            eq.ok().map(|ids| ids.iter().collect::<Vec<_>>()),
            Some(vec![1, 4, 7])
        );
        // removal keeps the index in step
        assert!(g.remove_edge(4).is_some());
        let eq = g.edges_matching(&Filter::eq("k", json!("k1")));
        assert_eq!(eq.ok().map(|ids| ids.len()), Some(6));
    }

    #[test]
    fn unindexed_fields_are_answered_by_checking_properties() {
        let g = store();
        let gt = g.edges_matching(&Filter::gt("w", json!(17)));
        assert_eq!(
            gt.ok().map(|ids| ids.iter().collect::<Vec<_>>()),
            Some(vec![18, 19])
        );
    }

    #[test]
    fn node_indexes_follow_index_and_unindex() {
        let mut g = GraphStore::new();
        assert!(
            g.create_node_index("age", FieldIndexKind::Integer, [])
                .is_ok()
        );
        g.index_node(1, &json!({"age": 30}));
        g.index_node(2, &json!({"age": 40}));
        let universe: RoaringTreemap = [1u64, 2].into_iter().collect();
        let hits = g.nodes_matching(&Filter::gte("age", json!(35)), &universe);
        assert_eq!(
            hits.ok()
                .map(|c| (c.ids.iter().collect::<Vec<_>>(), c.exact)),
            Some((vec![2], true))
        );
        g.unindex_node(2, &json!({"age": 40}));
        let hits = g.nodes_matching(&Filter::gte("age", json!(35)), &universe);
        assert_eq!(hits.ok().map(|c| c.ids.len()), Some(0));
    }
}
