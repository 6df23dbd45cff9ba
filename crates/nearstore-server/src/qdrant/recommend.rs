//! Qdrant `points/recommend` and `points/recommend/batch` (and the Query API's
//! `{"recommend": ..}`). best_score is the engine's best-score leg over the examples
//! (`nearstore::Leg::best_score`). average_vector: the examples given by id are read from
//! the engine (with the request's other point ids, in [`crate::qdrant::query_plan`]), the
//! query vector is `avg(positive) + (avg(positive) - avg(negative))` (`avg(positive)`
//! without negatives), and one engine search runs for it with the examples' ids excluded
//! by a `must_not has_id` filter. Ranking, windowing and the filter stay in the engine;
//! `sum_scores` answers 400 "not supported".

use std::time::Instant;

use axum::extract::{Path, State};
use axum::response::Response;
use nearstore::VectorCollection;

use crate::body::{Typed, qdrant_ok};
use crate::error::{Error, Result};
use crate::qdrant::answer::{ScoredPoint, ScoredPoints, ScoredPointsBatch};
use crate::qdrant::collection;
use crate::qdrant::filter::from_raw;
use crate::qdrant::model::{Example, RecommendBatch, RecommendRequest};
use crate::qdrant::query::run;
use crate::qdrant::query_plan::{LegSpec, Search, Target, and_filters, recommend_input};
use crate::qdrant::request::{SearchParams, VectorInput, WithPayload, positive_limit};
use crate::state::AppState;

/// The mean of `vectors` (all of one length; checked by the caller).
fn mean(vectors: &[Vec<f32>]) -> Vec<f32> {
    let Some(first) = vectors.first() else {
        return Vec::new();
    };
    let mut sum = vec![0.0f64; first.len()];
    for v in vectors {
        for (s, x) in sum.iter_mut().zip(v) {
            *s += f64::from(*x);
        }
    }
    let n = vectors.len() as f64;
    sum.into_iter().map(|s| (s / n) as f32).collect()
}

/// `avg(positive) + (avg(positive) - avg(negative))`, or `avg(positive)`.
pub(crate) fn average_vector(positive: &[Vec<f32>], negative: &[Vec<f32>]) -> Result<Vec<f32>> {
    let dim = positive.first().map_or(0, Vec::len);
    if positive.iter().chain(negative).any(|v| v.len() != dim) {
        return Err(Error::bad_request(
            "recommend examples must all have the collection's dimension",
        ));
    }
    let pos = mean(positive);
    if negative.is_empty() {
        return Ok(pos);
    }
    let neg = mean(negative);
    Ok(pos.iter().zip(&neg).map(|(p, n)| p + (p - n)).collect())
}

async fn recommend_one(
    state: &AppState,
    c: &VectorCollection,
    r: RecommendRequest,
) -> Result<Vec<ScoredPoint>> {
    r.check()?;
    let example = |e: Example| match e {
        Example::Id(id) => VectorInput::Id(id),
        Example::Vector(v) => VectorInput::Dense(v),
    };
    let (input, exclude) = recommend_input(
        r.positive.into_vec().into_iter().map(example).collect(),
        r.negative.into_vec().into_iter().map(example).collect(),
        r.strategy.unwrap_or_default(),
    )?;
    let search = Search {
        target: Target::One(LegSpec {
            using: r.using.unwrap_or_default(),
            input,
            limit: None,
            filter: None,
        }),
        filter: and_filters(from_raw(r.filter.as_deref())?, exclude),
        limit: positive_limit("limit", r.limit, 10)?,
        offset: r.offset.unwrap_or(0),
        payload: WithPayload::selection(r.with_payload.as_ref(), false),
        vector: r.with_vector,
        score_threshold: r.score_threshold,
        tuning: SearchParams::tuning(r.params.as_ref())?,
    };
    run(state, c, search).await
}

/// `POST /collections/{name}/points/recommend`: `[ScoredPoint]`.
pub(crate) async fn recommend(
    State(state): State<AppState>,
    Path(name): Path<String>,
    Typed(body): Typed<RecommendRequest>,
) -> Result<Response> {
    let started = Instant::now();
    let c = collection(&state, &name)?;
    let hits = recommend_one(&state, &c, body).await?;
    Ok(qdrant_ok(ScoredPoints(hits), started))
}

/// `POST /collections/{name}/points/recommend/batch`: `[[ScoredPoint]]`.
pub(crate) async fn recommend_batch(
    State(state): State<AppState>,
    Path(name): Path<String>,
    Typed(body): Typed<RecommendBatch>,
) -> Result<Response> {
    let started = Instant::now();
    let c = collection(&state, &name)?;
    let mut out = Vec::new();
    for r in body.searches.into_vec() {
        out.push(recommend_one(&state, &c, r).await?);
    }
    Ok(qdrant_ok(ScoredPointsBatch(out), started))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_average_vector_moves_away_from_negatives() {
        let pos = vec![vec![1.0, 0.0], vec![0.0, 1.0]];
        assert_eq!(average_vector(&pos, &[]).unwrap(), vec![0.5, 0.5]);
        let neg = vec![vec![0.0, 1.0]];
        assert_eq!(average_vector(&pos, &neg).unwrap(), vec![1.0, 0.0]);
        assert!(average_vector(&pos, &[vec![1.0]]).is_err());
    }
}
