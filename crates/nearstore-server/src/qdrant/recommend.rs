//! Qdrant `points/recommend` and `points/recommend/batch`, average_vector strategy: the
//! examples given by id are read from the engine, the query vector is
//! `avg(positive) + (avg(positive) - avg(negative))` (`avg(positive)` without negatives),
//! and one engine search runs for it with the examples' ids excluded by a
//! `must_not has_id` filter. Ranking, windowing and the filter stay in the engine; the
//! other strategies (`best_score`, `sum_scores`) score against every example and answer
//! 400 "not supported".

use std::collections::HashMap;
use std::time::Instant;

use axum::extract::{Path, State};
use axum::response::Response;
use nearstore::{Filter, VectorCollection};

use crate::body::{Typed, qdrant_ok};
use crate::error::{Error, Result, blocking};
use crate::qdrant::answer::{ScoredPoint, ScoredPoints, ScoredPointsBatch};
use crate::qdrant::collection;
use crate::qdrant::filter::from_raw;
use crate::qdrant::ids::ExtId;
use crate::qdrant::model::{Example, RecommendBatch, RecommendRequest};
use crate::qdrant::query::run;
use crate::qdrant::query_plan::{Search, Target};
use crate::qdrant::request::{SearchParams, WithPayload};
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
    let filter = from_raw(r.filter.as_deref())?;
    let quality = SearchParams::quality(r.params.as_ref())?;
    let payload = WithPayload::selection(r.with_payload.as_ref(), false);
    let vector = r.with_vector;
    let (positive, negative) = (r.positive.into_vec(), r.negative.into_vec());
    let mut ids: Vec<ExtId> = Vec::new();
    for example in positive.iter().chain(&negative) {
        if let Example::Id(v) = example {
            ids.push(ExtId::parse(v)?);
        }
    }
    let internal: Vec<u64> = ids.iter().map(ExtId::internal).collect();
    let lookup = internal.clone();
    let c2 = c.clone();
    let found = blocking(move || Ok(c2.get(&lookup)?)).await?;
    let mut stored: HashMap<u64, Vec<f32>> = HashMap::new();
    for (id, point) in ids.iter().zip(found) {
        match point {
            Some(p) => {
                stored.insert(p.id, p.vector);
            }
            None => {
                return Err(Error::NotFound(format!(
                    "No point with id {} found",
                    id.to_json()
                )));
            }
        }
    }
    let resolve = |examples: Vec<Example>| -> Result<Vec<Vec<f32>>> {
        examples
            .into_iter()
            .map(|e| match e {
                Example::Vector(v) => Ok(v),
                Example::Id(v) => {
                    let id = ExtId::parse(&v)?.internal();
                    stored
                        .get(&id)
                        .cloned()
                        .ok_or_else(|| Error::Internal(format!("example {v} was not read")))
                }
            })
            .collect()
    };
    let target = average_vector(&resolve(positive)?, &resolve(negative)?)?;
    let filter = if internal.is_empty() {
        filter
    } else {
        let exclude = Filter::not(Filter::has_id(internal));
        Some(match filter {
            Some(f) => Filter::and(vec![f, exclude]),
            None => exclude,
        })
    };
    let search = Search {
        target: Target::vector(target),
        filter,
        limit: r.limit.unwrap_or(10),
        offset: r.offset.unwrap_or(0),
        payload,
        vector,
        score_threshold: r.score_threshold,
        quality,
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
