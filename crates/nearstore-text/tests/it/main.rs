//! Integration tests of `nearstore-text`: the index against a brute-force oracle, the
//! persisted image, and BM25 exactness against the wordnet-dev ground truth.

mod image;
mod index_vs_oracle;
mod matching;
mod oracle;
mod sparse;
mod wordnet;
