//! Qdrant routes and options added to the subset: dotted `with_payload` paths, recommend
//! (average_vector), `PATCH /collections/{name}`.

use nearstore_server::ServerConfig;
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use crate::harness::{TestServer, error_message, start};

fn ok(st: StatusCode, body: &Value) -> Value {
    assert_eq!(st, StatusCode::OK, "{body}");
    body["result"].clone()
}

async fn collection(s: &TestServer, name: &str, distance: &str) {
    let (st, b) = s
        .put(
            &format!("/collections/{name}"),
            json!({"vectors": {"size": 2, "distance": distance}}),
        )
        .await;
    ok(st, &b);
}

fn ids(hits: &Value) -> Vec<u64> {
    hits.as_array()
        .unwrap()
        .iter()
        .map(|h| h["id"].as_u64().unwrap())
        .collect()
}

#[tokio::test]
async fn with_payload_paths_may_be_dotted() {
    let s = start(ServerConfig::default()).await;
    collection(&s, "p", "Dot").await;
    let payload = json!({"country": {"name": "NL", "capital": "Amsterdam"}, "rank": 3});
    let (st, b) = s
        .put(
            "/collections/p/points",
            json!({"points": [{"id": 1, "vector": [1.0, 0.0], "payload": payload}]}),
        )
        .await;
    ok(st, &b);
    let (st, b) = s
        .post(
            "/collections/p/points/search",
            json!({"vector": [1.0, 0.0], "with_payload": ["country.name"]}),
        )
        .await;
    assert_eq!(ok(st, &b)[0]["payload"], json!({"country": {"name": "NL"}}));
    let (st, b) = s
        .post(
            "/collections/p/points/scroll",
            json!({"with_payload": {"exclude": ["country.capital"]}}),
        )
        .await;
    assert_eq!(
        ok(st, &b)["points"][0]["payload"],
        json!({"country": {"name": "NL"}, "rank": 3})
    );
    let (st, b) = s
        .post(
            "/collections/p/points",
            json!({"ids": [1], "with_payload": {"include": ["country.capital", "rank"]}}),
        )
        .await;
    assert_eq!(
        ok(st, &b)[0]["payload"],
        json!({"country": {"capital": "Amsterdam"}, "rank": 3})
    );
    // Array paths, as in filters: every element keeps (or loses) the part named.
    let cities = json!({"cities": [{"name": "a", "pop": 5}, {"name": "b", "pop": 9}]});
    let (st, b) = s
        .put(
            "/collections/p/points?wait=true",
            json!({"points": [{"id": 2, "vector": [0.0, 1.0], "payload": cities}]}),
        )
        .await;
    ok(st, &b);
    for (with_payload, expected) in [
        (
            json!(["cities[].pop"]),
            json!({"cities": [{"pop": 5}, {"pop": 9}]}),
        ),
        (
            json!({"include": ["cities[1].name"]}),
            json!({"cities": [{"name": "b"}]}),
        ),
        (
            json!({"exclude": ["cities[].pop"]}),
            json!({"cities": [{"name": "a"}, {"name": "b"}]}),
        ),
    ] {
        let (st, b) = s
            .post(
                "/collections/p/points",
                json!({"ids": [2], "with_payload": with_payload}),
            )
            .await;
        assert_eq!(ok(st, &b)[0]["payload"], expected, "{with_payload}");
    }
    // A malformed path is refused, not ignored.
    let (st, b) = s
        .post(
            "/collections/p/points/scroll",
            json!({"with_payload": ["cities[x]"]}),
        )
        .await;
    assert_eq!(st, StatusCode::BAD_REQUEST, "{b}");
    assert!(error_message(&b).contains("invalid payload path"), "{b}");
}

async fn compass(s: &TestServer) {
    collection(s, "r", "Euclid").await;
    // Points on a line at x = 0..=9, y = 0, plus one at (5, 5) tagged "off".
    let mut points: Vec<Value> = (0..10)
        .map(|i| json!({"id": i, "vector": [i as f32, 0.0], "payload": {"tag": "line"}}))
        .collect();
    points.push(json!({"id": 10, "vector": [5.0, 5.0], "payload": {"tag": "off"}}));
    let (st, b) = s
        .put("/collections/r/points", json!({"points": points}))
        .await;
    ok(st, &b);
}

#[tokio::test]
async fn recommend_searches_the_average_vector_without_the_examples() {
    let s = start(ServerConfig::default()).await;
    compass(&s).await;
    // avg(positive) of points 2 and 4 is (3, 0): nearest is 3; 2 and 4 are as near as 1
    // and 5 but are the examples, which never come back.
    let (st, b) = s
        .post(
            "/collections/r/points/recommend",
            json!({"positive": [2, 4], "limit": 3}),
        )
        .await;
    let hits = ok(st, &b);
    let got = ids(&hits);
    assert_eq!(got[0], 3, "{hits}");
    assert!(!got.contains(&2) && !got.contains(&4), "{hits}");
    assert_eq!(got.len(), 3);
    // A negative example moves the target: avg(pos) = (6, 0), avg(neg) = (8, 0), so the
    // target is 2 * (6, 0) - (8, 0) = (4, 0).
    let (st, b) = s
        .post(
            "/collections/r/points/recommend",
            json!({"positive": [6], "negative": [8], "limit": 1, "strategy": "average_vector"}),
        )
        .await;
    assert_eq!(ids(&ok(st, &b)), [4]);
    // Vectors as examples, a filter, payloads and the batch form.
    let (st, b) = s
        .post(
            "/collections/r/points/recommend/batch",
            json!({"searches": [
                {"positive": [[5.0, 4.0]], "limit": 1, "with_payload": true},
                {"positive": [[5.0, 4.0]], "limit": 1,
                 "filter": {"must": [{"key": "tag", "match": {"value": "line"}}]}}
            ]}),
        )
        .await;
    let batch = ok(st, &b);
    assert_eq!(ids(&batch[0]), [10], "{batch}");
    assert_eq!(batch[0][0]["payload"], json!({"tag": "off"}));
    assert_eq!(ids(&batch[1]), [5], "{batch}");
}

#[tokio::test]
async fn query_recommend_is_the_average_vector_search() {
    let s = start(ServerConfig::default()).await;
    compass(&s).await;
    let query = |body: Value| s.post("/collections/r/points/query", body);
    // The same target as points/recommend: avg(pos) = (6, 0), avg(neg) = (8, 0), so
    // (4, 0); the examples 6 and 8 are excluded.
    let (st, b) = query(json!({
        "query": {"recommend": {"positive": [6], "negative": [8], "strategy": "average_vector"}},
        "limit": 4,
    }))
    .await;
    let got = ids(&ok(st, &b)["points"]);
    assert_eq!(got[0], 4, "{b}");
    assert!(!got.contains(&6) && !got.contains(&8), "{b}");
    // Example vectors mixed with ids; the outer filter is kept beside the exclusion.
    let (st, b) = query(json!({
        "query": {"recommend": {"positive": [[5.0, 4.0], 10]}},
        "filter": {"must": [{"key": "tag", "match": {"value": "line"}}]},
        "limit": 1,
    }))
    .await;
    assert_eq!(ids(&ok(st, &b)["points"]), [5], "{b}");
    // The route and the query answer the same points with the same scores.
    let (st, routed) = s
        .post(
            "/collections/r/points/recommend",
            json!({"positive": [2, 7], "negative": [[9.0, 0.0]], "limit": 5}),
        )
        .await;
    let routed = ok(st, &routed);
    let (st, queried) = query(json!({
        "query": {"recommend": {"positive": [2, 7], "negative": [[9.0, 0.0]]}},
        "limit": 5,
    }))
    .await;
    assert_eq!(ok(st, &queried)["points"], routed);
    // What one engine request cannot do is refused by name.
    for (body, needle) in [
        (
            json!({"query": {"recommend": {"positive": [1], "strategy": "sum_scores"}}}),
            "sum_scores",
        ),
        (
            json!({"query": {"recommend": {"negative": [1]}}}),
            "positive",
        ),
    ] {
        let (st, b) = query(body.clone()).await;
        assert_eq!(st, StatusCode::BAD_REQUEST, "{body}: {b}");
        assert!(error_message(&b).contains(needle), "{body}: {b}");
    }
}

#[tokio::test]
async fn groups_count_groups_and_fill_them_best_first() {
    let s = start(ServerConfig::default()).await;
    compass(&s).await;
    // From (0, 0): "line" has 0, 1, 2, ...; "off" only 10 (at distance ~7.07, behind 0..=7).
    let expected = json!({"groups": [
        {"id": "line", "hits": [{"id": 0}, {"id": 1}]},
        {"id": "off", "hits": [{"id": 10}]},
    ]});
    let shape = |r: &Value| {
        json!({"groups": r["groups"].as_array().unwrap().iter().map(|g| json!({
            "id": g["id"],
            "hits": g["hits"].as_array().unwrap().iter().map(|h| json!({"id": h["id"]})).collect::<Vec<_>>(),
        })).collect::<Vec<_>>()})
    };
    let (st, b) = s
        .post(
            "/collections/r/points/search/groups",
            json!({"vector": [0.0, 0.0], "group_by": "tag", "group_size": 2, "limit": 2,
                   "with_payload": true}),
        )
        .await;
    let r = ok(st, &b);
    assert_eq!(shape(&r), expected, "{r}");
    assert_eq!(r["groups"][0]["hits"][1]["score"], 1.0);
    assert_eq!(r["groups"][0]["hits"][0]["payload"], json!({"tag": "line"}));
    let (st, b) = s
        .post(
            "/collections/r/points/query/groups",
            json!({"query": [0.0, 0.0], "group_by": "tag", "group_size": 2, "limit": 2,
                   "with_payload": false}),
        )
        .await;
    let r = ok(st, &b);
    assert_eq!(shape(&r), expected, "{r}");
    // The filter is inside the search: without "line" under x <= 3 only "off" can group.
    let (st, b) = s
        .post(
            "/collections/r/points/query/groups",
            json!({"query": [0.0, 0.0], "group_by": "tag", "limit": 5,
                   "filter": {"must_not": [{"key": "tag", "match": {"value": "line"}}]}}),
        )
        .await;
    assert_eq!(
        shape(&ok(st, &b)),
        json!({"groups": [{"id": "off", "hits": [{"id": 10}]}]})
    );
    // What groups cannot honour is refused by name.
    for (path, body, status, needle) in [
        (
            "/collections/r/points/search/groups",
            json!({"vector": [1.0, 0.0], "group_by": "tag", "with_lookup": "other"}),
            StatusCode::BAD_REQUEST,
            "with_lookup",
        ),
        (
            "/collections/r/points/query/groups",
            json!({"query": [1.0, 0.0], "group_by": "tag", "offset": 2}),
            StatusCode::BAD_REQUEST,
            "offset",
        ),
        (
            "/collections/r/points/query/groups",
            json!({"query": [1.0, 0.0], "group_by": "tag", "group_size": 0}),
            StatusCode::UNPROCESSABLE_ENTITY,
            "group_size",
        ),
        (
            "/collections/r/points/search/groups",
            json!({"vector": [1.0, 0.0]}),
            StatusCode::BAD_REQUEST,
            "group_by",
        ),
    ] {
        let (st, b) = s.post(path, body.clone()).await;
        assert_eq!(st, status, "{body}: {b}");
        assert!(error_message(&b).contains(needle), "{body}: {b}");
    }
}

#[tokio::test]
async fn aliases_are_second_names_usable_wherever_a_collection_name_is() {
    let s = start(ServerConfig::default()).await;
    compass(&s).await;
    collection(&s, "r2", "Euclid").await;
    let change = |actions: Value| s.post("/collections/aliases", json!({"actions": actions}));
    let (st, b) = change(json!([
        {"create_alias": {"collection_name": "r", "alias_name": "prod"}},
        {"create_alias": {"collection_name": "r2", "alias_name": "old"}},
    ]))
    .await;
    assert_eq!(ok(st, &b), json!(true));
    // The alias searches, scrolls and describes its collection.
    let (st, b) = s
        .post(
            "/collections/prod/points/search",
            json!({"vector": [3.0, 0.0], "limit": 1}),
        )
        .await;
    assert_eq!(ids(&ok(st, &b)), [3]);
    let (st, b) = s.get("/collections/prod").await;
    assert_eq!(ok(st, &b)["points_count"], 11);
    let (st, b) = s.get("/aliases").await;
    assert_eq!(
        ok(st, &b),
        json!({"aliases": [
            {"alias_name": "old", "collection_name": "r2"},
            {"alias_name": "prod", "collection_name": "r"},
        ]})
    );
    let (st, b) = s.get("/collections/r/aliases").await;
    assert_eq!(
        ok(st, &b),
        json!({"aliases": [{"alias_name": "prod", "collection_name": "r"}]})
    );
    // Refusals: an alias to a missing collection (404), an alias named like a collection
    // (409), a missing alias (404); a failing batch applies nothing.
    for (actions, status, needle) in [
        (
            json!([{"create_alias": {"collection_name": "nope", "alias_name": "x"}}]),
            StatusCode::NOT_FOUND,
            "nope",
        ),
        (
            json!([{"create_alias": {"collection_name": "r", "alias_name": "r2"}}]),
            StatusCode::CONFLICT,
            "r2",
        ),
        (
            json!([
                {"rename_alias": {"old_alias_name": "prod", "new_alias_name": "live"}},
                {"delete_alias": {"alias_name": "zz"}},
            ]),
            StatusCode::NOT_FOUND,
            "zz",
        ),
        (
            json!([{"switch_alias": {"alias_name": "zz"}}]),
            StatusCode::BAD_REQUEST,
            "switch_alias",
        ),
    ] {
        let (st, b) = change(actions.clone()).await;
        assert_eq!(st, status, "{actions}: {b}");
        assert!(error_message(&b).contains(needle), "{actions}: {b}");
    }
    let (st, b) = s.get("/aliases").await;
    assert_eq!(ok(st, &b)["aliases"].as_array().unwrap().len(), 2);
    // A collection cannot take an alias's name.
    let (st, _) = s
        .put(
            "/collections/prod",
            json!({"vectors": {"size": 2, "distance": "Dot"}}),
        )
        .await;
    assert_eq!(st, StatusCode::CONFLICT);
    // Rename, then dropping a collection drops its aliases.
    let (st, b) = change(json!([
        {"rename_alias": {"old_alias_name": "prod", "new_alias_name": "live"}}
    ]))
    .await;
    ok(st, &b);
    let (st, b) = s.get("/collections/live/exists").await;
    assert_eq!(ok(st, &b)["exists"], true);
    let (st, b) = s.delete("/collections/r").await;
    assert_eq!(ok(st, &b), json!(true));
    let (st, b) = s.get("/aliases").await;
    assert_eq!(
        ok(st, &b),
        json!({"aliases": [{"alias_name": "old", "collection_name": "r2"}]})
    );
    let (st, _) = s.get("/collections/r/aliases").await;
    assert_eq!(st, StatusCode::NOT_FOUND);
    // An alias name breaks the collection-name rule as a validation error naming its field.
    let long = "a".repeat(256);
    for (action, field) in [
        (
            json!({"create_alias": {"collection_name": "r2", "alias_name": long}}),
            "alias_name",
        ),
        (
            json!({"rename_alias": {"old_alias_name": "old", "new_alias_name": ""}}),
            "new_alias_name",
        ),
    ] {
        let (st, b) = change(json!([action])).await;
        assert_eq!(st, StatusCode::UNPROCESSABLE_ENTITY, "{b}");
        assert!(
            error_message(&b).contains(&format!("{field}: length")),
            "{b}"
        );
    }
}

#[tokio::test]
async fn recommend_best_score_ranks_by_the_best_example_inside_the_filter() {
    let s = start(ServerConfig::default()).await;
    compass(&s).await;
    // Positives at x = 0 and 9, negative at 6 (all excluded from the answer): 1 and 8 are
    // 1 from a positive (sigmoid(-1) = 0.25, tie to the smaller id), then 2; 10 at (5, 5)
    // is nearer the negative (-sigmoid(-5.1)) but less so than 3, 4, 5 and 7.
    let body = json!({"positive": [0, 9], "negative": [6], "strategy": "best_score", "limit": 4});
    let (st, b) = s.post("/collections/r/points/recommend", body).await;
    let hits = ok(st, &b);
    assert_eq!(ids(&hits), [1, 8, 2, 10], "{hits}");
    assert_eq!(hits[0]["score"], 0.25);
    let (st, b) = s
        .post(
            "/collections/r/points/query",
            json!({"query": {"recommend": {"positive": [0, 9], "negative": [6],
                    "strategy": "best_score"}},
                   "filter": {"must": [{"key": "tag", "match": {"value": "line"}}]},
                   "limit": 4}),
        )
        .await;
    assert_eq!(ids(&ok(st, &b)["points"]), [1, 8, 2, 3]);
    // Vectors as examples, negatives only: farthest from (0, 0) first.
    let (st, b) = s
        .post(
            "/collections/r/points/query",
            json!({"query": {"recommend": {"negative": [[0.0, 0.0]], "strategy": "best_score"}},
                   "limit": 2}),
        )
        .await;
    assert_eq!(ids(&ok(st, &b)["points"]), [9, 8]);
}

#[tokio::test]
async fn recommend_refuses_what_it_cannot_honour() {
    let s = start(ServerConfig::default()).await;
    compass(&s).await;
    let cases = [
        (json!({"strategy": "best_score"}), 400, "best_score"),
        (
            json!({"positive": [1], "strategy": "sum_scores"}),
            400,
            "sum_scores",
        ),
        (json!({"negative": [1]}), 400, "positive"),
        (json!({"positive": [1], "using": "image"}), 400, "image"),
        (json!({"positive": [77]}), 404, "77"),
        (json!({"positive": [1], "strategy": "nope"}), 400, "nope"),
    ];
    for (body, want, needle) in cases {
        let (st, b) = s
            .post("/collections/r/points/recommend", body.clone())
            .await;
        assert_eq!(st.as_u16(), want, "{body}: {b}");
        assert!(
            error_message(&b)
                .to_lowercase()
                .contains(&needle.to_lowercase()),
            "{body}: {b}"
        );
    }
}

#[tokio::test]
async fn patch_changes_the_search_ef_and_refuses_the_rest() {
    let s = start(ServerConfig::default()).await;
    collection(&s, "c", "Cosine").await;
    let patch = |body: Value| s.call(Method::PATCH, "/collections/c", Some(body));
    let (st, b) = patch(json!({"hnsw_config": {"ef": 77}})).await;
    assert_eq!(ok(st, &b), json!(true));
    let (st, info) = s.get("/v1/collections/c").await;
    assert_eq!(st, StatusCode::OK);
    assert_eq!(info["hnsw"]["ef_search"], 77, "{info}");
    // Unchanged values and empty sections are accepted.
    let (st, info) = s.get("/collections/c").await;
    let m = ok(st, &info)["config"]["hnsw_config"]["m"].clone();
    let (st, b) =
        patch(json!({"hnsw_config": {"m": m}, "optimizers_config": {}, "params": null})).await;
    assert_eq!(ok(st, &b), json!(true));
    let refused = [
        (
            json!({"optimizers_config": {"indexing_threshold": 0}}),
            400,
            "optimizers_config",
        ),
        (json!({"hnsw_config": {"m": 3}}), 400, "hnsw_config.m"),
        (json!({"vectors": {"": {"on_disk": true}}}), 400, "vectors"),
        (json!({"hnsw_config": {"ef": 0}}), 422, "ef"),
    ];
    for (body, want, needle) in refused {
        let (st, b) = patch(body.clone()).await;
        assert_eq!(st.as_u16(), want, "{body}: {b}");
        assert!(error_message(&b).contains(needle), "{body}: {b}");
    }
    let (st, info) = s.get("/v1/collections/c").await;
    assert_eq!(st, StatusCode::OK);
    assert_eq!(
        info["hnsw"]["ef_search"], 77,
        "a refused PATCH changes nothing"
    );
    let (st, _) = s
        .call(Method::PATCH, "/collections/missing", Some(json!({})))
        .await;
    assert_eq!(st, StatusCode::NOT_FOUND);
}

async fn stored(s: &TestServer, name: &str) -> Vec<u64> {
    let (st, b) = s
        .post(
            &format!("/collections/{name}/points/scroll"),
            json!({"limit": 100}),
        )
        .await;
    ids(&ok(st, &b)["points"])
}

#[tokio::test]
async fn points_batch_applies_upserts_and_deletes_in_order() {
    let s = start(ServerConfig::default()).await;
    collection(&s, "b", "Dot").await;
    let (st, b) = s
        .post(
            "/collections/b/points/batch",
            json!({"operations": [
                {"upsert": {"points": [
                    {"id": 1, "vector": [1.0, 0.0], "payload": {"k": "a"}},
                    {"id": 2, "vector": [0.0, 1.0], "payload": {"k": "b"}},
                    {"id": 3, "vector": [1.0, 1.0], "payload": {"k": "b"}}
                ]}},
                {"delete": {"points": [1]}},
                {"upsert": {"batch": {"ids": [1, 4], "vectors": [[0.5, 0.5], [0.2, 0.2]]}}},
                {"delete": {"filter": {"must": [{"key": "k", "match": {"value": "b"}}]}}}
            ]}),
        )
        .await;
    let result = ok(st, &b);
    assert_eq!(result[0]["status"], "completed", "{result}");
    // 1 deleted then written again (without payload), 2 and 3 removed by the filter.
    assert_eq!(stored(&s, "b").await, [1, 4]);
    let (st, b) = s.get("/collections/b/points/1").await;
    assert_eq!(ok(st, &b)["vector"], json!([0.5, 0.5]));

    // A refused operation anywhere refuses the whole batch before anything is applied.
    for refused in [
        json!({"delete_payload": {"keys": ["x"], "points": [1], "shard_key": "s"}}),
        json!({"update_vectors": {"points": [{"id": 4, "vector": [1.0, 0.0]}], "shard_key": "s"}}),
        json!({"delete": {}}),
    ] {
        let (st, b) = s
            .post(
                "/collections/b/points/batch",
                json!({"operations": [{"delete": {"points": [4]}}, refused]}),
            )
            .await;
        assert_eq!(st, StatusCode::BAD_REQUEST, "{b}");
        assert_eq!(stored(&s, "b").await, [1, 4], "{b}");
    }
    let (st, b) = s
        .post(
            "/collections/b/points/batch",
            json!({"operations": [{"move": {}}]}),
        )
        .await;
    assert_eq!(st, StatusCode::BAD_REQUEST, "{b}");
}
