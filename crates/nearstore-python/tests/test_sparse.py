"""Sparse vectors from Python: upsert(..., sparse=...) in every accepted form, get/scroll
returning them, sparse_search against a brute-force dot product written here (ties to the
smaller id, filters, names, updates and deletes, reopen), hybrid_sparse_search and
query(sparse=...) against the fusion formula over the single legs' own lists; errors."""

import numpy as np
import pytest

import nearstore
from nearstore import FusionStrategy

from test_fusion import assert_fused, assert_legs, fuse

N, DIM, VOCAB = 80, 4, 40


def random_sparse(rng, nnz):
    dims = rng.choice(VOCAB, size=nnz, replace=False)
    return {int(d): float(np.float32(rng.uniform(-1.0, 2.0))) for d in dims}


def dot(a, b):
    return sum(w * b[d] for d, w in a.items() if d in b)


def brute_force(docs, query, k, candidates=None):
    """Exact top k by dot product among the points holding a sparse vector: [(id, score)],
    ties to the smaller id."""
    scored = [
        (i, dot(query, v))
        for i, v in docs.items()
        if v and (candidates is None or i in candidates) and set(v) & set(query)
    ]
    return sorted(scored, key=lambda x: (-np.float32(x[1]), x[0]))[:k]


def as_indices_values(v):
    dims = sorted(v)
    return {"indices": dims, "values": [v[d] for d in dims]}


@pytest.fixture
def loaded(db, rng):
    c = db.create_collection("docs", DIM, "cosine")
    dense = rng.normal(size=(N, DIM)).astype(np.float32)
    docs = {i: (random_sparse(rng, 6) if i % 5 else {}) for i in range(N)}
    forms = []
    for i in range(N):
        v = docs[i]
        if not v:
            forms.append(None)
        elif i % 4 == 0:
            forms.append(as_indices_values(v))  # {"indices", "values"}
        elif i % 4 == 1:
            iv = as_indices_values(v)
            forms.append((np.array(iv["indices"], np.uint32), np.array(iv["values"], np.float32)))
        elif i % 4 == 2:
            forms.append(v)  # {dim: weight}
        else:
            forms.append({"": as_indices_values(v)})  # named, the default name
    payloads = [{"group": "a" if i % 2 else "b"} for i in range(N)]
    c.upsert(list(range(N)), dense, payloads, sparse=forms)
    return c, dense, docs, payloads


def hits_of(results):
    return [(h["id"], h["score"]) for h in results]


def assert_exact(results, want):
    assert [h["id"] for h in results] == [i for i, _ in want]
    assert [h["score"] for h in results] == pytest.approx([s for _, s in want], rel=1e-5, abs=1e-6)


def test_sparse_search_equals_a_brute_force_dot_product(loaded, rng):
    c, _, docs, payloads = loaded
    for _ in range(20):
        q = random_sparse(rng, 5)
        assert_exact(c.sparse_search(q, 10), brute_force(docs, q, 10))
        assert_exact(c.sparse_search(as_indices_values(q), 3, ""), brute_force(docs, q, 3))
        in_a = {i for i, p in enumerate(payloads) if p["group"] == "a"}
        got = c.sparse_search(q, 10, filter={"field": "group", "eq": "a"})
        assert_exact(got, brute_force(docs, q, 10, in_a))
    # Points without a sparse vector are never found.
    everything = c.sparse_search({d: 1.0 for d in range(VOCAB)}, N)
    assert {h["id"] for h in everything} == {i for i, v in docs.items() if v}


def test_get_returns_the_normalized_sparse_vectors(db):
    c = db.create_collection("c", 2)
    c.upsert([1, 2, 3], [[1.0, 0.0]] * 3, sparse=[
        {"indices": [5, 2, 5, 9], "values": [1.0, 0.5, 2.0, 0.0]},  # unsorted, repeated, zero
        {"title": ([1], [0.25]), "body": {7: -1.5}},
        None,
    ])
    p1, p2, p3 = c.get([1, 2, 3])
    assert p1["sparse"] == {"": {"indices": [2, 5], "values": [0.5, 3.0]}}
    assert p2["sparse"] == {
        "body": {"indices": [7], "values": [-1.5]},
        "title": {"indices": [1], "values": [0.25]},
    }
    assert "sparse" not in p3
    assert "sparse" not in c.get(1, with_vector=False)
    # An upsert replaces all of a point's sparse vectors.
    c.upsert([2], [[0.0, 1.0]], sparse=[{"title": {3: 1.0}}])
    assert c.get(2)["sparse"] == {"title": {"indices": [3], "values": [1.0]}}
    assert c.sparse_search({7: 1.0}, 5, "body") == []
    assert [h["id"] for h in c.sparse_search({3: 1.0}, 5, "title")] == [2]
    c.delete([2])
    assert c.sparse_search({3: 1.0}, 5, "title") == []


def test_sparse_vectors_survive_a_reopen(tmp_path, rng):
    docs = {i: random_sparse(rng, 4) for i in range(30)}
    q = random_sparse(rng, 6)
    with nearstore.Database(tmp_path / "d") as db:
        c = db.create_collection("c", 2)
        c.upsert(list(range(30)), np.ones((30, 2), np.float32), sparse=[docs[i] for i in range(30)])
        before = c.sparse_search(q, 10)
    with nearstore.Database(tmp_path / "d") as db:
        after = db.get_collection("c").sparse_search(q, 10)
    assert after == before
    assert_exact(after, brute_force(docs, q, 10))


def test_declared_names_and_the_idf_modifier(db):
    c = db.create_collection("c", 2, sparse={"text": {"modifier": "idf"}, "tags": None})
    assert c.config["sparse_vectors"] == {"tags": {"modifier": "none"}, "text": {"modifier": "idf"}}
    assert c.config["sparse_any_name"] is False
    with pytest.raises(nearstore.Error, match="other"):
        c.upsert([1], [[1.0, 0.0]], sparse=[{"other": {1: 1.0}}])
    assert len(c) == 0
    any_name = db.create_collection("d", 2)
    assert any_name.config["sparse_any_name"] is True
    listed = db.create_collection("e", 2, sparse=["a", "b"])
    assert set(listed.config["sparse_vectors"]) == {"a", "b"}


@pytest.mark.parametrize("fusion", [None, "rrf", "dbsf", FusionStrategy.relative_score([0.3, 0.7])])
def test_hybrid_sparse_search_equals_the_fusion_formula(loaded, rng, fusion):
    c, _, docs, _ = loaded
    q = rng.normal(size=DIM).astype(np.float32)
    sq = random_sparse(rng, 8)
    dense = hits_of(c.search(q, N, quality="perfect"))
    sparse = hits_of(c.sparse_search(sq, N))
    got = c.hybrid_sparse_search(q, sq, 12, "", fusion)
    if fusion is None or fusion == "rrf":
        want = fuse("rrf", [dense, sparse])
    elif fusion == "dbsf":
        want = fuse("dbsf", [dense, sparse])
    else:
        want = fuse("relative_score", [dense, sparse], weights=[0.3, 0.7])
    assert_fused(got, want[:12])
    assert_legs(got, [dense, sparse], ["dense", "sparse"])


def test_query_with_dense_text_and_sparse_legs(db, rng):
    c = db.create_collection("c", DIM)
    dense = rng.normal(size=(N, DIM)).astype(np.float32)
    words = ["graph", "vector", "pasta", "river"]
    payloads = [{"text": f"{words[i % 4]} {words[(i // 4) % 4]}"} for i in range(N)]
    docs = {i: random_sparse(rng, 5) for i in range(N)}
    c.upsert(list(range(N)), dense, payloads, sparse=[{"s": docs[i]} for i in range(N)])
    q = rng.normal(size=DIM).astype(np.float32)
    sq = random_sparse(rng, 6)
    lists = [
        hits_of(c.search(q, N, quality="perfect")),
        hits_of(c.text_search("graph river", N)),
        hits_of(c.sparse_search(sq, N, "s")),
    ]
    got = c.query(q, text="graph river", sparse={"s": sq}, limit=15, quality="perfect",
                  fusion="dbsf")
    assert_fused(got, fuse("dbsf", lists)[:15])
    assert_legs(got, lists, ["dense", "text", "sparse:s"])
    # A sparse leg alone: the sparse search itself.
    assert c.query(sparse={"s": sq}, limit=7) == c.sparse_search(sq, 7, "s")


@pytest.mark.parametrize(
    "bad,message",
    [
        ({"indices": [1, 2], "values": [1.0]}, "2 indices but 1 values"),
        ({"indices": [-1], "values": [1.0]}, "outside 0..2\\*\\*32"),
        ({"indices": [1], "values": [float("nan")]}, "finite"),
        ({"indices": [1], "values": [1.0], "extra": 1}, "exactly the keys"),
        ({"indices": [1]}, "without \"values\""),
        ({1.5: 1.0}, "integer dims|names are strings"),
        ("abc", "sparse vector is"),
        ([1.0, 2.0, 3.0], "sparse vector is"),
        (([1, 2], "ab"), "values must be"),
    ],
)
def test_bad_sparse_vectors_are_refused(db, bad, message):
    c = db.create_collection("c", 2)
    with pytest.raises(nearstore.InvalidArgument, match=message):
        c.sparse_search(bad, 3)
    with pytest.raises(nearstore.InvalidArgument, match=message):
        c.upsert([1], [[1.0, 0.0]], sparse=[bad])
    assert len(c) == 0


def test_sparse_argument_shapes_are_checked(db):
    c = db.create_collection("c", 2)
    with pytest.raises(nearstore.InvalidArgument, match="2 ids but 1 sparse"):
        c.upsert([1, 2], [[1.0, 0.0]] * 2, sparse=[{1: 1.0}])
    with pytest.raises(nearstore.InvalidArgument, match="one entry per point"):
        c.upsert([1], [[1.0, 0.0]], sparse=5)
    with pytest.raises(nearstore.InvalidArgument, match="search takes a dense vector"):
        c.search([1.0, 0.0], 3, sparse={1: 1.0})
    with pytest.raises(nearstore.InvalidArgument, match="sparse"):
        db.create_collection("d", 2, sparse=[1])
    with pytest.raises(nearstore.InvalidArgument, match="modifier"):
        db.create_collection("e", 2, sparse={"a": {"modifier": "bm42"}})
