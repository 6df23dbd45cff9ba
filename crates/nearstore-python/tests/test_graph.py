"""Graph and metadata collections from Python, with the reference engine's names:
create_graph_collection / get_graph_collection, edges (add, batch, remove, list, outgoing,
incoming, degree, count), traversal (BFS, DFS), node payloads, search by embedding, errors,
persistence across reopen, and metadata collections refusing vector searches."""

import numpy as np
import pytest

import nearstore


def chain(db, dimension=None):
    """Graph g: nodes 1..5 (1 -> 2 -> 3 -> 4 KNOWS, 1 -> 5 LIKES)."""
    g = db.create_graph_collection("g", dimension=dimension)
    for node in range(1, 6):
        g.upsert_node_payload(node, {"name": f"n{node}", "_labels": ["Person"]})
    g.add_edge({"id": 10, "source": 1, "target": 2, "label": "KNOWS", "properties": {"since": 2020}})
    added = g.add_edges_batch([
        {"id": 11, "source": 2, "target": 3, "label": "KNOWS"},
        {"id": 12, "source": 3, "target": 4, "label": "KNOWS"},
        {"id": 13, "source": 1, "target": 5, "label": "LIKES"},
    ])
    assert added == 3
    return g


def test_edges_are_added_listed_and_removed(db):
    g = chain(db)
    assert isinstance(g, nearstore.GraphCollection)
    assert g.name == "g" and not g.has_embeddings and g.schema is None
    assert g.edge_count() == 4
    assert [e["id"] for e in g.get_edges()] == [10, 11, 12, 13]
    assert [e["id"] for e in g.get_edges("KNOWS")] == [10, 11, 12]
    first = g.get_edges("KNOWS")[0]
    assert first == {"id": 10, "source": 1, "target": 2, "label": "KNOWS",
                     "properties": {"since": 2020}}
    assert sorted(e["target"] for e in g.get_outgoing(1)) == [2, 5]
    assert [e["source"] for e in g.get_incoming(3)] == [2]
    assert g.node_degree(2) == (1, 1)
    assert g.node_degree(1) == (0, 2)
    assert g.remove_edge(13) is True
    assert g.remove_edge(13) is False
    assert g.edge_count() == 3


def test_traversals_follow_labels_and_depths(db):
    g = chain(db)
    bfs = g.traverse_bfs(1, max_depth=2)
    assert [(r["target_id"], r["depth"]) for r in bfs] == [(2, 1), (5, 1), (3, 2)] or \
        sorted((r["target_id"], r["depth"]) for r in bfs) == [(2, 1), (3, 2), (5, 1)]
    knows = g.traverse_bfs(1, max_depth=5, rel_types=["KNOWS"])
    assert [r["target_id"] for r in knows] == [2, 3, 4]
    assert knows[-1]["path"] == [10, 11, 12]
    dfs = g.traverse_dfs(1, max_depth=5, rel_types=["KNOWS"], min_depth=2)
    assert [(r["target_id"], r["depth"]) for r in dfs] == [(3, 2), (4, 3)]
    assert len(g.traverse_bfs(1, max_depth=5, limit=2)) == 2
    with pytest.raises(nearstore.InvalidArgument):
        g.traverse_bfs(1, max_depth=1_000)


def test_bad_edges_are_refused_and_nothing_is_written(db):
    g = chain(db)
    with pytest.raises(nearstore.Error):
        g.add_edge({"id": 20, "source": 1, "target": 99, "label": "KNOWS"})  # no node 99
    with pytest.raises(nearstore.Error):
        g.add_edge({"id": 10, "source": 1, "target": 3, "label": "KNOWS"})  # duplicate id
    with pytest.raises(nearstore.InvalidArgument):
        g.add_edge({"id": 21, "source": 1, "target": 3, "label": "  "})
    with pytest.raises(nearstore.InvalidArgument, match="weight"):
        g.add_edge({"id": 22, "source": 1, "target": 3, "label": "KNOWS", "weight": 1})
    with pytest.raises(nearstore.InvalidArgument, match="label"):
        g.add_edge({"id": 23, "source": 1, "target": 3})
    with pytest.raises(nearstore.Error):
        g.add_edges_batch([{"id": 24, "source": 1, "target": 3, "label": "A"},
                           {"id": 25, "source": 1, "target": 99, "label": "A"}])
    assert g.edge_count() == 4
    assert g.get_edges("A") == []


def test_node_payloads_and_deleting_a_node_deletes_its_edges(db):
    g = chain(db)
    assert g.get_node_payload(3) == {"name": "n3", "_labels": ["Person"]}
    g.store_node_payload(3, {"name": "three"})
    assert g.get_node_payload(3) == {"name": "three"}
    assert g.get_node_payload(99) is None
    points = db.get_collection("g")
    points.delete([2])
    assert g.edge_count() == 2
    assert [e["id"] for e in g.get_edges()] == [12, 13]


def test_search_by_embedding_and_persistence(tmp_path, rng):
    path = tmp_path / "d"
    base = rng.normal(size=(5, 4)).astype(np.float32)
    with nearstore.Database(path) as db:
        g = chain(db, dimension=4)
        assert g.has_embeddings
        db.get_collection("g").upsert(range(1, 6), base,
                                      [g.get_node_payload(i) for i in range(1, 6)])
        hits = g.search_by_embedding(base[2], k=2)
        assert hits[0]["id"] == 3 and hits[0]["payload"]["name"] == "n3"
        assert len(hits) == 2
        g.flush()
    with nearstore.Database(path) as db:
        g = db.get_graph_collection("g")
        assert g.edge_count() == 4
        assert sorted(e["target"] for e in g.get_outgoing(1)) == [2, 5]
        assert g.search_by_embedding(base[0], k=1)[0]["id"] == 1
    with pytest.raises(nearstore.Closed):
        g.edge_count()


def test_a_graph_without_embeddings_refuses_a_search(db):
    g = chain(db)
    with pytest.raises(nearstore.Error):
        g.search_by_embedding([1.0, 0.0], k=1)


def test_get_graph_collection_of_a_missing_or_plain_collection(db):
    with pytest.raises(nearstore.NotFound):
        db.get_graph_collection("nothing")
    db.create_collection("plain", 2)
    with pytest.raises(nearstore.Error):
        db.get_graph_collection("plain")
    with pytest.raises(nearstore.AlreadyExists):
        db.create_graph_collection("plain")


def test_a_schema_is_enforced(db):
    schema = {
        "node_types": [{"label": "Person", "properties": [["name", "String"]]},
                       {"label": "City", "properties": []}],
        "edge_types": [{"label": "LIVES_IN", "from": "Person", "to": "City"}],
    }
    g = db.create_graph_collection("s", schema=schema)
    assert g.schema is not None
    g.upsert_node_payload(1, {"_labels": ["Person"], "name": "a"})
    g.upsert_node_payload(2, {"_labels": ["City"]})
    g.add_edge({"id": 1, "source": 1, "target": 2, "label": "LIVES_IN"})
    with pytest.raises(nearstore.Error):
        g.add_edge({"id": 2, "source": 2, "target": 1, "label": "LIVES_IN"})
    with pytest.raises(nearstore.InvalidArgument):
        db.create_graph_collection("bad", schema={"node_types": "x"})


def test_metadata_collections_hold_payloads_only(db):
    m = db.create_metadata_collection("meta")
    m.upsert([1, 2], payloads=[{"k": "a"}, {"k": "b"}])
    assert len(m) == 2
    assert m.count({"field": "k", "eq": "a"}) == 1
    with pytest.raises(nearstore.Error, match="metadata"):
        m.search([1.0, 0.0], 1)


def test_match_runs_through_execute(db):
    g = chain(db, dimension=2)
    db.get_collection("g").upsert(
        range(1, 6), np.array([[1, 0], [0, 1], [0.7, 0.7], [-1, 0], [0.5, 0.5]], np.float32),
        [g.get_node_payload(i) for i in range(1, 6)])
    rows = db.execute(
        "MATCH (a:Person {name: 'n1'})-[:KNOWS]->(b)-[:KNOWS]->(c) "
        "WHERE similarity(c.embedding, $v) > 0.5 "
        "RETURN c.name AS name, similarity() AS s ORDER BY s DESC LIMIT 5",
        {"v": [0.6, 0.8]})
    assert [r["name"] for r in rows] == ["n3"]
    assert rows[0]["s"] > 0.9
