//! The native graph routes: graph and metadata collections, edges, adjacency, traversal,
//! node payloads, search by embedding, and their error statuses.

use nearstore_server::ServerConfig;
use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::harness::{TestServer, error_message, start};

/// Graph `g` (2-d embeddings): nodes 1..=4, edges 1 -> 2 -> 3 -> 4 KNOWS (ids 10, 11, 12),
/// 1 -> 4 LIKES (id 13).
async fn with_graph() -> TestServer {
    let s = start(ServerConfig::default()).await;
    let (st, info) = s
        .post(
            "/v1/graphs",
            json!({"name": "g", "embedding": {"dim": 2, "metric": "cosine"}}),
        )
        .await;
    assert_eq!(st, StatusCode::CREATED, "{info}");
    assert_eq!(
        (
            info["embedding"]["dim"].clone(),
            info["edges_count"].clone()
        ),
        (json!(2), json!(0))
    );
    let (st, body) = s
        .put(
            "/v1/collections/g/points",
            json!([
                {"id": 1, "vector": [1.0, 0.0], "payload": {"name": "a"}},
                {"id": 2, "vector": [0.0, 1.0], "payload": {"name": "b"}},
                {"id": 3, "vector": [0.7, 0.7], "payload": {"name": "c"}},
                {"id": 4, "vector": [-1.0, 0.0], "payload": {"name": "d"}},
            ]),
        )
        .await;
    assert_eq!(st, StatusCode::OK, "{body}");
    let (st, body) = s
        .post(
            "/v1/graphs/g/edges",
            json!({"id": 10, "source": 1, "target": 2, "label": "KNOWS", "properties": {"since": 2020}}),
        )
        .await;
    assert_eq!((st, body), (StatusCode::OK, json!({"added": 1})));
    let (st, body) = s
        .post(
            "/v1/graphs/g/edges/batch",
            json!({"edges": [
                {"id": 11, "source": 2, "target": 3, "label": "KNOWS"},
                {"id": 12, "source": 3, "target": 4, "label": "KNOWS"},
                {"id": 13, "source": 1, "target": 4, "label": "LIKES"},
            ]}),
        )
        .await;
    assert_eq!((st, body), (StatusCode::OK, json!({"added": 3})));
    s
}

fn ids(list: &Value, key: &str) -> Vec<u64> {
    let mut ids: Vec<u64> = list
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e[key].as_u64().unwrap())
        .collect();
    ids.sort_unstable();
    ids
}

#[tokio::test]
async fn edges_are_added_listed_and_removed() {
    let s = with_graph().await;
    let (st, info) = s.get("/v1/graphs/g").await;
    assert_eq!(st, StatusCode::OK);
    assert_eq!(
        (info["points_count"].clone(), info["edges_count"].clone()),
        (json!(4), json!(4))
    );
    let (_, all) = s.get("/v1/graphs/g/edges").await;
    assert_eq!(ids(&all["edges"], "id"), [10, 11, 12, 13]);
    let (_, knows) = s.get("/v1/graphs/g/edges?label=KNOWS").await;
    assert_eq!(ids(&knows["edges"], "id"), [10, 11, 12]);
    assert_eq!(
        knows["edges"][0],
        json!({"id": 10, "source": 1, "target": 2, "label": "KNOWS", "properties": {"since": 2020}})
    );
    let (_, out) = s.get("/v1/graphs/g/nodes/1/outgoing").await;
    assert_eq!(ids(&out["edges"], "target"), [2, 4]);
    let (_, inc) = s.get("/v1/graphs/g/nodes/4/incoming").await;
    assert_eq!(ids(&inc["edges"], "source"), [1, 3]);
    let (st, deg) = s.get("/v1/graphs/g/nodes/2/degree").await;
    assert_eq!(
        (st, deg),
        (StatusCode::OK, json!({"incoming": 1, "outgoing": 1}))
    );
    let (st, body) = s.delete("/v1/graphs/g/edges/13").await;
    assert_eq!((st, body), (StatusCode::OK, json!({"removed": true})));
    let (st, body) = s.delete("/v1/graphs/g/edges/13").await;
    assert_eq!((st, body), (StatusCode::OK, json!({"removed": false})));
    let (_, info) = s.get("/v1/graphs/g").await;
    assert_eq!(info["edges_count"], 3);
    // deleting a node (a point) deletes its edges
    let (st, _) = s
        .post("/v1/collections/g/points/delete", json!({"ids": [2]}))
        .await;
    assert_eq!(st, StatusCode::OK);
    let (_, all) = s.get("/v1/graphs/g/edges").await;
    assert_eq!(ids(&all["edges"], "id"), [12]);
}

#[tokio::test]
async fn bad_edges_get_the_engine_status_and_write_nothing() {
    let s = with_graph().await;
    let (st, body) = s
        .post(
            "/v1/graphs/g/edges",
            json!({"id": 20, "source": 1, "target": 99, "label": "KNOWS"}),
        )
        .await;
    assert_eq!(st, StatusCode::NOT_FOUND, "{body}");
    assert!(error_message(&body).contains("99"), "{body}");
    let (st, body) = s
        .post(
            "/v1/graphs/g/edges",
            json!({"id": 10, "source": 1, "target": 3, "label": "KNOWS"}),
        )
        .await;
    assert_eq!(st, StatusCode::CONFLICT, "{body}");
    let (st, _) = s
        .post(
            "/v1/graphs/g/edges",
            json!({"id": 21, "source": 1, "target": 3, "label": " "}),
        )
        .await;
    assert_eq!(st, StatusCode::BAD_REQUEST);
    let (st, _) = s
        .post(
            "/v1/graphs/g/edges",
            json!({"id": 22, "source": 1, "target": 3, "label": "A", "weight": 1}),
        )
        .await;
    assert_eq!(st, StatusCode::BAD_REQUEST);
    let (st, _) = s
        .post(
            "/v1/graphs/g/edges/batch",
            json!({"edges": [{"id": 23, "source": 1, "target": 3, "label": "A"},
                             {"id": 24, "source": 1, "target": 98, "label": "A"}]}),
        )
        .await;
    assert_eq!(st, StatusCode::NOT_FOUND);
    let (_, info) = s.get("/v1/graphs/g").await;
    assert_eq!(info["edges_count"], 4);
    let (st, body) = s.delete("/v1/graphs/g/edges/x").await;
    assert_eq!(st, StatusCode::BAD_REQUEST);
    assert!(error_message(&body).contains("edge id"), "{body}");
    let (st, _) = s.get("/v1/graphs/nothing/edges").await;
    assert_eq!(st, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn traversals_follow_types_and_depths() {
    let s = with_graph().await;
    let (st, body) = s
        .post(
            "/v1/graphs/g/traverse/bfs",
            json!({"source": 1, "max_depth": 5, "rel_types": ["KNOWS"]}),
        )
        .await;
    assert_eq!(st, StatusCode::OK, "{body}");
    let reached: Vec<(u64, u64)> = body["results"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| (r["target"].as_u64().unwrap(), r["depth"].as_u64().unwrap()))
        .collect();
    assert_eq!(reached, [(2, 1), (3, 2), (4, 3)]);
    assert_eq!(body["results"][2]["path"], json!([10, 11, 12]));
    let (_, body) = s
        .post(
            "/v1/graphs/g/traverse/bfs",
            json!({"source": 1, "max_depth": 5}),
        )
        .await;
    // 4 is one LIKES hop away: breadth-first reports it at depth 1
    assert!(
        body["results"]
            .as_array()
            .unwrap()
            .iter()
            .any(|r| r["target"] == 4 && r["depth"] == 1)
    );
    let (st, body) = s
        .post(
            "/v1/graphs/g/traverse/dfs",
            json!({"source": 1, "min_depth": 2, "max_depth": 5, "rel_types": ["KNOWS"], "limit": 1}),
        )
        .await;
    assert_eq!(st, StatusCode::OK, "{body}");
    assert_eq!(body["results"].as_array().unwrap().len(), 1);
    assert_eq!(body["results"][0]["target"], 3);
    let (st, body) = s
        .post(
            "/v1/graphs/g/traverse/bfs",
            json!({"source": 1, "max_depth": 1000}),
        )
        .await;
    assert_eq!(st, StatusCode::BAD_REQUEST, "{body}");
    let (st, _) = s
        .post(
            "/v1/graphs/g/traverse/bfs",
            json!({"source": 1, "limit": 100_000_000}),
        )
        .await;
    assert_eq!(st, StatusCode::PAYLOAD_TOO_LARGE);
}

#[tokio::test]
async fn node_payloads_and_search_by_embedding() {
    let s = with_graph().await;
    let (st, body) = s.get("/v1/graphs/g/nodes/3/payload").await;
    assert_eq!(
        (st, body),
        (StatusCode::OK, json!({"id": 3, "payload": {"name": "c"}}))
    );
    let (st, _) = s
        .put(
            "/v1/graphs/g/nodes/3/payload",
            json!({"payload": {"name": "C", "n": 1}}),
        )
        .await;
    assert_eq!(st, StatusCode::OK);
    let (_, body) = s.get("/v1/graphs/g/nodes/3/payload").await;
    assert_eq!(body["payload"], json!({"name": "C", "n": 1}));
    // the node kept its embedding
    let (st, body) = s
        .post(
            "/v1/graphs/g/search",
            json!({"vector": [0.6, 0.8], "limit": 1}),
        )
        .await;
    assert_eq!(st, StatusCode::OK, "{body}");
    assert_eq!(body["results"][0]["id"], 3);
    assert_eq!(body["results"][0]["payload"]["name"], "C");
    let (st, _) = s.get("/v1/graphs/g/nodes/77/payload").await;
    assert_eq!(st, StatusCode::NOT_FOUND);
    let (st, _) = s
        .put("/v1/graphs/g/nodes/3/payload", json!({"payload": [1, 2]}))
        .await;
    assert_eq!(st, StatusCode::BAD_REQUEST);
}

#[tokio::test]
async fn graphs_without_embeddings_schemas_and_metadata_collections() {
    let s = start(ServerConfig::default()).await;
    let (st, info) = s.post("/v1/graphs", json!({"name": "plain"})).await;
    assert_eq!(st, StatusCode::CREATED, "{info}");
    assert!(info.get("embedding").is_none(), "{info}");
    let (st, _) = s
        .put(
            "/v1/graphs/plain/nodes/1/payload",
            json!({"payload": {"x": 1}}),
        )
        .await;
    assert_eq!(st, StatusCode::OK);
    let (st, body) = s
        .post("/v1/graphs/plain/search", json!({"vector": [1.0, 0.0]}))
        .await;
    assert_eq!(st, StatusCode::BAD_REQUEST, "{body}");
    let (st, again) = s.post("/v1/graphs", json!({"name": "plain"})).await;
    assert_eq!(st, StatusCode::CONFLICT, "{again}");
    let schema = json!({
        "node_types": [{"label": "Person", "properties": [["name", "String"]]},
                       {"label": "City", "properties": []}],
        "edge_types": [{"label": "LIVES_IN", "from": "Person", "to": "City"}],
    });
    let (st, info) = s
        .post("/v1/graphs", json!({"name": "typed", "schema": schema}))
        .await;
    assert_eq!(st, StatusCode::CREATED, "{info}");
    assert_eq!(info["schema"]["edge_types"][0]["label"], "LIVES_IN");
    for bad in [
        json!({"name": "b1", "schema": {"node_types": "x"}}),
        json!({"name": "b2", "embedding": {"dim": 0}}),
        json!({"name": "b3", "embedding": {"dim": 2, "metric": "taxicab"}}),
        json!({"name": "b4", "surprise": 1}),
    ] {
        let (st, body) = s.post("/v1/graphs", bad.clone()).await;
        assert!(st.is_client_error(), "{bad} -> {st} {body}");
    }
    let (st, info) = s
        .post("/v1/metadata_collections", json!({"name": "meta"}))
        .await;
    assert_eq!(st, StatusCode::CREATED, "{info}");
    assert_eq!(info["kind"], "metadata");
    let (_, list) = s.get("/v1/collections").await;
    let kinds: Vec<(String, String)> = list["collections"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| {
            (
                c["name"].as_str().unwrap().into(),
                c["kind"].as_str().unwrap().into(),
            )
        })
        .collect();
    assert!(
        kinds.contains(&("plain".into(), "graph".into())),
        "{kinds:?}"
    );
    assert!(
        kinds.contains(&("meta".into(), "metadata".into())),
        "{kinds:?}"
    );
    let (st, body) = s
        .post("/v1/collections/meta/search", json!({"vector": [1.0]}))
        .await;
    assert_eq!(st, StatusCode::BAD_REQUEST);
    assert!(error_message(&body).contains("metadata"), "{body}");
    // graph routes on a collection that is not a graph
    let (st, body) = s.get("/v1/graphs/meta").await;
    assert_eq!(st, StatusCode::BAD_REQUEST);
    assert!(error_message(&body).contains("not a graph"), "{body}");
}

#[tokio::test]
async fn graph_statements_go_through_the_query_route() {
    let s = with_graph().await;
    let (st, body) = s
        .post(
            "/v1/query",
            json!({"query": "INSERT EDGE INTO g (id = 30, source = 4, target = 1, label = 'KNOWS')"}),
        )
        .await;
    assert_eq!(st, StatusCode::OK, "{body}");
    let (_, info) = s.get("/v1/graphs/g").await;
    assert_eq!(info["edges_count"], 5);
    // MATCH with a similarity condition: the engine plans and ranks, the route only passes
    // the statement on
    let (st, body) = s
        .post(
            "/v1/query",
            json!({"query": "MATCH (a {name: 'a'})-[:KNOWS]->(b)-[:KNOWS]->(c) \
                             WHERE similarity(c.embedding, $v) > 0.5 \
                             RETURN c.name AS name, similarity() AS s ORDER BY s DESC LIMIT 5",
                   "params": {"v": [0.6, 0.8]}}),
        )
        .await;
    assert_eq!(st, StatusCode::OK, "{body}");
    let names: Vec<&str> = body["rows"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["c"], "{body}");
}
