//! Graph patterns: `(a:Label {k: v})-[r:TYPE*1..3]->(b)`.

use super::OptionList;

/// A path pattern: a start node and zero or more hops.
#[derive(Debug, Clone, PartialEq)]
pub struct GraphPattern {
    /// The first node.
    pub start: NodePattern,
    /// Each following relationship and node, in order.
    pub hops: Vec<Hop>,
}

/// One `-[rel]->(node)` step.
#[derive(Debug, Clone, PartialEq)]
pub struct Hop {
    /// The relationship.
    pub relationship: RelationshipPattern,
    /// The node it leads to.
    pub node: NodePattern,
}

/// `(alias:Label:A|B@collection {prop: value, ...})`; every part optional.
///
/// Labels are conditions that all hold: each single label (`:Label`) is in `labels`, each
/// group of alternatives (`:A|B`, the node has at least one of them) in
/// `label_alternatives`. The printer writes `labels` first, then the groups; both mean the
/// same conjunction, whatever order they were written in.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct NodePattern {
    /// Variable name.
    pub alias: Option<String>,
    /// Single labels (all must hold).
    pub labels: Vec<String>,
    /// Groups of label alternatives (`:A|B`), each of at least two labels; every group must
    /// hold, by any of its labels.
    pub label_alternatives: Vec<Vec<String>>,
    /// `@collection`: the node lives in another collection.
    pub collection: Option<String>,
    /// Property equalities.
    pub properties: OptionList,
}

/// `-[alias:T1|T2*1..3 {prop: value}]->`, `<-[...]-` or `-[...]-`.
#[derive(Debug, Clone, PartialEq)]
pub struct RelationshipPattern {
    /// Variable name.
    pub alias: Option<String>,
    /// Allowed types (any of; empty = any type).
    pub types: Vec<String>,
    /// Direction relative to the reading order.
    pub direction: Direction,
    /// Variable length (`*`, `*2`, `*1..3`, `*..3`, `*1..`); `None` = exactly one hop.
    pub length: Option<HopRange>,
    /// Property equalities.
    pub properties: OptionList,
}

/// Edge direction as written.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Direction {
    /// `-[]->`
    Outgoing,
    /// `<-[]-`
    Incoming,
    /// `-[]-`
    Undirected,
}

/// Hop counts of a variable-length relationship; `None` bounds are open. `*n` is
/// `min = max = Some(n)`; bare `*` has both `None`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct HopRange {
    /// Minimum hops.
    pub min: Option<u32>,
    /// Maximum hops.
    pub max: Option<u32>,
}

impl NodePattern {
    /// Every label condition as a group of alternatives, single labels first (as one-label
    /// groups), then the `:A|B` groups: the node must hold every group, each by any of its
    /// labels. This is the shape a pattern matcher takes (`(n:C:A|B)` -> `[[C], [A, B]]`).
    pub fn label_groups(&self) -> impl Iterator<Item = &[String]> + '_ {
        self.labels
            .iter()
            .map(std::slice::from_ref)
            .chain(self.label_alternatives.iter().map(Vec::as_slice))
    }
}

impl GraphPattern {
    /// The relationships of the path, in order.
    pub fn relationships(&self) -> impl Iterator<Item = &RelationshipPattern> + '_ {
        self.hops.iter().map(|hop| &hop.relationship)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn label_groups_put_single_labels_first() {
        let node = NodePattern {
            labels: vec!["C".into()],
            label_alternatives: vec![vec!["A".into(), "B".into()]],
            ..NodePattern::default()
        };
        let groups: Vec<Vec<&str>> = node
            .label_groups()
            .map(|g| g.iter().map(String::as_str).collect())
            .collect();
        assert_eq!(groups, vec![vec!["C"], vec!["A", "B"]]);
        assert_eq!(NodePattern::default().label_groups().count(), 0);
    }
}
