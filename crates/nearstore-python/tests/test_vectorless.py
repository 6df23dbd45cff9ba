"""Points without a dense vector and collections without a default vector, from Python:
upsert(vectors=None) and None entries, such points stored, counted, filtered, scrolled and
got (vector None) but found by no search; create_collection without dim (named vectors
only, or payloads only) with searches by name checked against a brute force, the default
vector refused by name, and persistence across reopens."""

import numpy as np
import pytest

import nearstore
from conftest import brute_force


def test_points_without_a_vector_are_stored_but_never_found(db, rng):
    c = db.create_collection("c", 4, "euclidean")
    base = rng.normal(size=(20, 4)).astype(np.float32)
    c.upsert(range(20), base, [{"has": True}] * 20)
    c.upsert([20, 21], payloads=[{"has": False}, {"has": False}])  # vectors=None
    c.upsert([22, 23], [None, base[0] + 1])                      # per point: None, a vector
    assert len(c) == 24
    assert c.count({"field": "has", "eq": False}) == 2
    p = c.get(20)
    assert p["vector"] is None and p["payload"] == {"has": False}
    assert c.get(22)["vector"] is None
    everything = c.search(np.zeros(4, np.float32), 100, quality="perfect")
    assert {h["id"] for h in everything} == set(range(20)) | {23}
    points, _ = c.scroll(limit=100, with_vector=True)
    assert [p["id"] for p in points] == list(range(24))
    # An upsert that drops the vector removes the point from the index, one that adds it back
    # makes it findable.
    c.upsert([0], [None])
    assert 0 not in {h["id"] for h in c.search(base[0], 100, quality="perfect")}
    c.upsert([20], base[:1])
    assert c.search(base[0], 1, quality="perfect")[0]["id"] == 20


def test_a_collection_of_named_vectors_only(tmp_path, rng):
    path = tmp_path / "d"
    a = rng.normal(size=(30, 3)).astype(np.float32)
    b = rng.normal(size=(30, 2)).astype(np.float32)
    queries = rng.normal(size=(4, 3)).astype(np.float32)
    with nearstore.Database(path) as db:
        c = db.create_collection("m", metric="dot",
                                 vectors={"a": {"dim": 3, "metric": "euclidean"}, "b": 2})
        assert c.dim is None and c.metric is None
        assert c.config["dim"] is None and c.config["metric"] is None
        assert c.config["vectors"]["b"]["metric"] == "dot"  # the metric= given
        c.upsert(range(30), {"a": a, "b": [b[i] if i % 2 else None for i in range(30)]})
        c.upsert([30], payloads=[{"bare": True}])
        before = [c.search(q, 5, using="a", quality="perfect") for q in queries]
        with pytest.raises(nearstore.InvalidArgument, match="no default vector"):
            c.search(queries[0][:2])
        with pytest.raises(nearstore.InvalidArgument, match="no default vector"):
            c.upsert([40], [{"": [1.0, 2.0, 3.0], "a": [1.0, 2.0, 3.0]}])
        assert c.get(40) is None
        config = c.config
    with nearstore.Database(path) as db:
        c = db.get_collection("m")
        assert c.config == config and len(c) == 31
        after = [c.search(q, 5, using="a", quality="perfect") for q in queries]
        assert after == before
        for q, hits in zip(queries, after):
            want, scores = brute_force(a, q, 5, "euclidean")
            assert [h["id"] for h in hits] == list(want)
            assert [h["score"] for h in hits] == pytest.approx(list(scores), rel=1e-4, abs=1e-4)
        found = c.search(np.ones(2, np.float32), 100, using="b", quality="perfect")
        assert {h["id"] for h in found} == {i for i in range(30) if i % 2}
        p = c.get(3)
        assert p["vector"] is None
        np.testing.assert_array_equal(p["vectors"]["b"], b[3])


def test_a_collection_of_payloads_only(db):
    c = db.create_collection("p")
    assert c.dim is None and c.config["vectors"] == {}
    c.upsert([1, 2, 3], payloads=[{"k": 1}, {"k": 2}, {"k": 3}])
    assert c.count({"field": "k", "gt": 1}) == 2
    assert [p["id"] for p in c.scroll()[0]] == [1, 2, 3]
    with pytest.raises(nearstore.InvalidArgument, match="no default vector"):
        c.upsert([4], [[1.0]])


def test_langchain_refuses_a_collection_without_a_default_vector(db):
    from langchain_core.embeddings import DeterministicFakeEmbedding

    from nearstore.langchain import NearStoreVectorStore

    c = db.create_collection("m", vectors={"a": 3})
    with pytest.raises(nearstore.InvalidArgument, match="no default vector"):
        NearStoreVectorStore(DeterministicFakeEmbedding(size=3), collection=c)
    with pytest.raises(nearstore.InvalidArgument, match="no default vector"):
        NearStoreVectorStore(DeterministicFakeEmbedding(size=3), database=db, collection_name="m")


def test_update_and_delete_single_vectors(db, rng):
    c = db.create_collection("c", 4, vectors={"img": {"dim": 3, "metric": "euclidean"}})
    base = rng.normal(size=(10, 4)).astype(np.float32)
    img = rng.normal(size=(10, 3)).astype(np.float32)
    c.upsert(range(10), {"": base, "img": img}, [{"i": i} for i in range(10)],
             sparse=[{1: 1.0}] * 10)
    target = np.array([9.0, 9.0, 9.0], np.float32)
    c.update_vectors([2], {"img": target[None, :]})
    p = c.get(2)
    np.testing.assert_array_equal(p["vectors"]["img"], target)
    np.testing.assert_array_equal(p["vector"], base[2])  # untouched
    assert p["payload"] == {"i": 2} and p["sparse"][""]["indices"] == [1]
    assert c.search(target, 1, using="img", quality="perfect")[0]["id"] == 2
    c.update_vectors([3], [{"": base[5]}])  # the default vector only
    np.testing.assert_array_equal(c.get(3)["vector"], base[5])
    np.testing.assert_array_equal(c.get(3)["vectors"]["img"], img[3])
    with pytest.raises(nearstore.NotFound, match="no point 77"):
        c.update_vectors([2, 77], {"img": [img[0], img[0]]})
    np.testing.assert_array_equal(c.get(2)["vectors"]["img"], target)  # nothing changed
    with pytest.raises(nearstore.NotFound, match="no point 77"):
        c.delete_vectors([1, 77], ["img"])
    np.testing.assert_array_equal(c.get(1)["vectors"]["img"], img[1])  # nothing changed
    c.delete_vectors([2, 4], "img")
    assert "vectors" not in c.get(2) and c.get(2)["payload"] == {"i": 2}
    found = {h["id"] for h in c.search(target, 10, using="img", quality="perfect")}
    assert found == set(range(10)) - {2, 4}
    c.delete_vectors(6, [""])
    assert c.get(6)["vector"] is None and "img" in c.get(6)["vectors"]
    assert "sparse" not in c.get(6)  # "" names the default sparse vector too
    assert 6 not in {h["id"] for h in c.search(base[6], 10, quality="perfect")}
    assert len(c) == 10
