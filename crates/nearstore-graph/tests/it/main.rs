//! Scenario tests and proptests of the graph store (one integration binary).

mod codec;
mod match_model;
mod match_walks;
mod matching;
mod model;
mod oracle;
mod properties;
mod scenarios;
mod schema;
