//! Vector queries through the query language return the same results as the builder API
//! for the same request (proptest): the language lowers NEAR + payload conditions onto the
//! same `SearchRequest` path.

use nearstore::{Database, DistanceMetric, Filter, Point, SearchQuality, SearchRequest};
use proptest::prelude::*;
use serde_json::{Value, json};

/// A payload condition written both ways: as SQL text and as a filter.
#[derive(Debug, Clone)]
struct Cond {
    sql: String,
    filter: Filter,
}

fn cond() -> impl Strategy<Value = Cond> {
    prop_oneof![
        (0i64..5).prop_map(|n| Cond {
            sql: format!("n = {n}"),
            filter: Filter::eq("n", json!(n))
        }),
        (0i64..5).prop_map(|n| Cond {
            sql: format!("n >= {n}"),
            filter: Filter::gte("n", json!(n))
        }),
        (0i64..5).prop_map(|n| Cond {
            sql: format!("n < {n}"),
            filter: Filter::lt("n", json!(n))
        }),
        prop::sample::select(vec!["a", "b", "c"]).prop_map(|s| Cond {
            sql: format!("cat = '{s}'"),
            filter: Filter::eq("cat", json!(s)),
        }),
        (
            prop::sample::select(vec!["a", "b", "c"]),
            prop::sample::select(vec!["a", "b", "c"])
        )
            .prop_map(|(x, y)| Cond {
                sql: format!("cat IN ('{x}', '{y}')"),
                filter: Filter::is_in("cat", vec![json!(x), json!(y)]),
            }),
        (0i64..3, 2i64..5).prop_map(|(lo, hi)| Cond {
            sql: format!("n BETWEEN {lo} AND {hi}"),
            filter: Filter::between("n", json!(lo), json!(hi)),
        }),
        Just(Cond {
            sql: "tags CONTAINS 'x'".into(),
            filter: Filter::contains("tags", json!("x"))
        }),
    ]
}

fn conds() -> impl Strategy<Value = Vec<Cond>> {
    prop::collection::vec(cond(), 0..3)
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(32))]

    #[test]
    fn language_and_builder_give_the_same_hits(
        seed in 0u64..1000,
        conditions in conds(),
        k in 1usize..15,
        metric in prop::sample::select(vec![DistanceMetric::Euclidean, DistanceMetric::Cosine, DistanceMetric::DotProduct]),
        quality in prop::sample::select(vec![("balanced", SearchQuality::Balanced), ("perfect", SearchQuality::Perfect), ("fast", SearchQuality::Fast)]),
    ) {
        let dir = tempfile::tempdir().unwrap();
        let db = Database::open(dir.path()).unwrap();
        let c = db.create_collection("c", 4, metric).unwrap();
        let points: Vec<Point> = (0..300u64)
            .map(|id| {
                let x = |i: u64| ((id * 7919 + seed * 31 + i * 104_729) % 1000) as f32 / 100.0 - 5.0;
                let cat = ["a", "b", "c"][(id % 3) as usize];
                let payload = json!({
                    "n": (id + seed) % 5,
                    "cat": cat,
                    "tags": if id % 4 == 0 { json!(["x"]) } else { json!(["y"]) },
                });
                Point::new(id, vec![x(0), x(1), x(2), x(3)], Some(payload))
            })
            .collect();
        c.upsert_bulk(&points).unwrap();
        let q = [0.3f32, -1.2, 2.5, 0.7];
        let mut sql = String::from("SELECT * FROM c WHERE vector NEAR $v");
        for cnd in &conditions {
            sql.push_str(" AND ");
            sql.push_str(&cnd.sql);
        }
        sql.push_str(&format!(" LIMIT {k} WITH (mode = '{}')", quality.0));
        let via_language = db.execute(&sql, &json!({"v": q})).unwrap();
        let mut request = SearchRequest::new(&q).limit(k).quality(quality.1);
        match conditions.len() {
            0 => {}
            1 => request = request.filter(conditions[0].filter.clone()),
            _ => request = request.filter(Filter::and(conditions.iter().map(|c| c.filter.clone()).collect())),
        }
        let via_builder = c.query(request).unwrap();
        let language_rows: Vec<(u64, f32, Value)> = serde_json::to_value(&via_language).unwrap()["rows"]
            .as_array()
            .unwrap()
            .iter()
            .map(|r| (r["id"].as_u64().unwrap(), r["score"].as_f64().unwrap() as f32, r["payload"].clone()))
            .collect();
        let builder_rows: Vec<(u64, f32, Value)> = via_builder
            .iter()
            .map(|h| (h.point.id, h.score, h.point.payload.clone().unwrap()))
            .collect();
        prop_assert_eq!(language_rows, builder_rows, "{}", sql);
    }
}

#[test]
fn the_plan_cache_serves_repeated_statements_until_the_schema_changes() {
    let dir = tempfile::tempdir().unwrap();
    let db = Database::open(dir.path()).unwrap();
    db.execute("CREATE COLLECTION c (dimension = 2)", &Value::Null)
        .unwrap();
    db.execute(
        "INSERT INTO c (id, vector, n) VALUES (1, [1, 0], 5)",
        &Value::Null,
    )
    .unwrap();
    let (hits0, misses0) = db.plan_cache_stats();
    let q = "SELECT id FROM c WHERE n = $n";
    let first = db.execute(q, &json!({"n": 5})).unwrap();
    // The cache is keyed on the exact text: other parameters reuse the plan, another
    // spelling is parsed on its own (and gives the same rows).
    let second = db
        .execute("SELECT  id\nFROM c   WHERE n = $n ;", &json!({"n": 5}))
        .unwrap();
    let other = db.execute(q, &json!({"n": 6})).unwrap();
    let third = db.execute(q, &json!({"n": 5})).unwrap();
    assert_eq!(first, second);
    assert_eq!(first, third);
    assert!(other.rows.is_empty());
    let (hits1, misses1) = db.plan_cache_stats();
    assert_eq!((hits1 - hits0, misses1 - misses0), (2, 2));
    // A new collection bumps the schema generation: the next run parses again.
    db.execute("CREATE COLLECTION d (dimension = 2)", &Value::Null)
        .unwrap();
    db.execute(q, &json!({"n": 5})).unwrap();
    let (hits2, misses2) = db.plan_cache_stats();
    assert_eq!((hits2 - hits1, misses2 - misses1), (0, 2));
}
