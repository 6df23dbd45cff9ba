"""Named dense vectors from Python: create_collection(vectors=...) and config, upsert in every
accepted form (the batch dict of numpy arrays, lists with None rows, per-point dicts), get /
scroll / search returning them, using= on search, search_batch, query (hybrid with text, dense=
legs), multi_query_search, hybrid_search and hybrid_sparse_search, each against a brute force
over the named vector written here (and shown to differ from the default vector's ranking),
updates and deletes, persistence across reopens, and the errors naming the vector."""

import numpy as np
import pytest

import nearstore
from conftest import brute_force
from test_fusion import assert_fused, assert_legs, fuse

# N stays below a fused request's default leg depth (80), so each leg's list is its whole
# ranking and the fusion formula here sees what the engine fuses.
N, DIM, IMAGE_DIM, TITLE_DIM = 60, 8, 5, 3
WORDS = ["graph", "vector", "pasta", "river"]


def has_image(i):
    """Every fourth point has no "image" vector."""
    return i % 4 != 3


@pytest.fixture
def named(db, rng):
    """A cosine collection of dim 8 with "alt" (dim 8, cosine: same shape as the default, so
    only the name tells them apart), "image" (dim 5, euclidean, own HNSW parameters) and
    "title" (dim 3, dot). Every point has a default, "alt" and "title" vector; some lack
    "image"."""
    c = db.create_collection(
        "docs",
        DIM,
        "cosine",
        vectors={
            "alt": {"dim": DIM},
            "image": {"dim": IMAGE_DIM, "metric": "euclidean", "m": 8, "ef_construction": 60},
            "title": TITLE_DIM,
        },
    )
    base = rng.normal(size=(N, DIM)).astype(np.float32)
    alt = rng.normal(size=(N, DIM)).astype(np.float32)
    image = rng.normal(size=(N, IMAGE_DIM)).astype(np.float32)
    title = rng.normal(size=(N, TITLE_DIM)).astype(np.float32)
    payloads = [{"i": i, "text": WORDS[i % 4], "group": "a" if i % 2 else "b"} for i in range(N)]
    c.upsert(
        np.arange(N),
        {
            "": base,
            "alt": alt,
            "image": [image[i] if has_image(i) else None for i in range(N)],
            "title": title,
        },
        payloads,
    )
    return c, {"": base, "alt": alt, "image": image, "title": title}


def exact(c, q, k, using, **options):
    return c.search(q, k, quality="perfect", using=using, **options)


def named_brute_force(vectors, name, q, k, metric, keep=lambda i: True):
    """Exact top k ids on one named vector among the points holding it (and passing keep)."""
    ids = np.array([i for i in range(N) if (name != "image" or has_image(i)) and keep(i)])
    order, scores = brute_force(vectors[name][ids], q, k, metric)
    return list(ids[order]), list(scores)


def test_config_reports_the_named_vectors(named):
    c, _ = named
    vectors = c.config["vectors"]
    assert set(vectors) == {"alt", "image", "title"}
    assert vectors["image"]["dim"] == IMAGE_DIM and vectors["image"]["metric"] == "euclidean"
    assert (vectors["image"]["m"], vectors["image"]["ef_construction"]) == (8, 60)
    assert vectors["title"]["metric"] == "cosine"  # the collection's metric by default
    assert vectors["title"]["m"] == c.config["m"]
    assert vectors["alt"]["storage_mode"] == "full"
    assert c.dim == DIM and c.metric == "cosine"


def test_using_ranks_by_the_named_vector_not_the_default_one(named, rng):
    c, vectors = named
    differs = 0
    for q in rng.normal(size=(8, DIM)).astype(np.float32):
        want, scores = named_brute_force(vectors, "alt", q, 10, "cosine")
        default, _ = named_brute_force(vectors, "", q, 10, "cosine")
        hits = exact(c, q, 10, "alt")
        assert [h["id"] for h in hits] == want
        assert [h["score"] for h in hits] == pytest.approx(scores, rel=1e-4, abs=1e-4)
        assert [h["id"] for h in c.search(q, 10, quality="perfect")] == default
        assert [h["id"] for h in exact(c, q, 10, "")] == default
        differs += want != default
    assert differs == 8


# "title" was declared without a metric: the collection's (cosine).
@pytest.mark.parametrize("name,dim,metric", [("image", IMAGE_DIM, "euclidean"),
                                             ("title", TITLE_DIM, "cosine")])
def test_using_searches_with_the_named_vectors_dimension_and_metric(named, rng, name, dim, metric):
    c, vectors = named
    found = 0
    for q in rng.normal(size=(6, dim)).astype(np.float32):
        want, scores = named_brute_force(vectors, name, q, 10, metric)
        hits = exact(c, q, 10, name)
        assert [h["id"] for h in hits] == want
        assert [h["score"] for h in hits] == pytest.approx(scores, rel=1e-4, abs=1e-4)
        found += len({h["id"] for h in c.search(q, 10, using=name)} & set(want))
    assert found / 60 >= 0.9  # the HNSW search (default quality) on the named index
    if name == "image":
        # Points without the vector are never found on it.
        everything = c.search(np.zeros(dim, np.float32), N, quality="perfect", using=name)
        assert {h["id"] for h in everything} == {i for i in range(N) if has_image(i)}


def test_using_with_a_filter_offset_and_threshold(named, rng):
    c, vectors = named
    q = rng.normal(size=IMAGE_DIM).astype(np.float32)
    only_a = {"field": "group", "eq": "a"}
    want, scores = named_brute_force(vectors, "image", q, 12, "euclidean", lambda i: i % 2 == 1)
    hits = c.search(q, 12, only_a, quality="perfect", using="image")
    assert [h["id"] for h in hits] == want
    hits = c.query(q, using="image", filter=only_a, limit=5, offset=3, quality="perfect")
    assert [h["id"] for h in hits] == want[3:8]
    # A distance threshold is a maximum: halfway between the 6th and the 7th distance.
    hits = c.query(q, using="image", filter=only_a, limit=12, quality="perfect",
                   score_threshold=(scores[5] + scores[6]) / 2)
    assert [h["id"] for h in hits] == want[:6]


def test_search_batch_with_using(named, rng):
    c, vectors = named
    queries = rng.normal(size=(5, IMAGE_DIM)).astype(np.float32)
    ids, scores = c.search_batch(queries, 7, quality="perfect", using="image")
    assert ids.shape == (5, 7)
    for row, q in enumerate(queries):
        want, want_scores = named_brute_force(vectors, "image", q, 7, "euclidean")
        assert list(ids[row]) == want
        np.testing.assert_allclose(scores[row], want_scores, rtol=1e-4, atol=1e-4)


def test_get_scroll_and_search_return_named_vectors(named, rng):
    c, vectors = named
    p = c.get(3)  # has no "image"
    assert set(p["vectors"]) == {"alt", "title"}
    np.testing.assert_array_equal(p["vectors"]["alt"], vectors["alt"][3])
    assert p["vectors"]["title"].dtype == np.float32
    np.testing.assert_array_equal(p["vector"], vectors[""][3])
    p = c.get(4)
    assert set(p["vectors"]) == {"alt", "image", "title"}
    np.testing.assert_array_equal(p["vectors"]["image"], vectors["image"][4])
    assert "vectors" not in c.get(4, with_vector=False)
    points, _ = c.scroll(limit=10, with_vector=True)
    for p in points:
        np.testing.assert_array_equal(p["vectors"]["title"], vectors["title"][p["id"]])
        assert ("image" in p["vectors"]) == has_image(p["id"])
    points, _ = c.scroll(limit=10)
    assert all("vectors" not in p for p in points)
    q = rng.normal(size=TITLE_DIM).astype(np.float32)
    hits = c.search(q, 3, using="title", with_vector=True)
    for h in hits:
        np.testing.assert_array_equal(h["vectors"]["title"], vectors["title"][h["id"]])
        np.testing.assert_array_equal(h["vector"], vectors[""][h["id"]])
    assert all("vectors" not in h for h in c.search(q, 3, using="title"))


def test_the_upsert_forms_agree(db, rng):
    c = db.create_collection("c", 4, "euclidean", vectors={"v": {"dim": 2}})
    base = rng.normal(size=(6, 4)).astype(np.float32)
    v = rng.normal(size=(6, 2))  # float64: converted
    # The batch form with numpy arrays, with lists, and the per-point form.
    c.upsert([0, 1], {"": base[:2], "v": v[:2]})
    c.upsert([2, 3], {"": [list(map(float, r)) for r in base[2:4]], "v": [v[2], None]})
    c.upsert([4, 5], [{"": base[4], "v": list(v[4])}, base[5]])
    for i in range(6):
        p = c.get(i)
        np.testing.assert_array_equal(p["vector"], base[i])
        if i in (3, 5):
            assert "vectors" not in p
        else:
            np.testing.assert_allclose(p["vectors"]["v"], v[i].astype(np.float32))
    # A plain matrix still means the default vectors; the point loses its named ones.
    c.upsert([0], base[:1])
    assert "vectors" not in c.get(0)
    assert {h["id"] for h in c.search([0.0, 0.0], 10, using="v")} == {1, 2, 4}


def test_updates_and_deletes_reach_the_named_indexes(named, rng):
    c, vectors = named
    q = vectors["image"][0]
    assert exact(c, q, 1, "image")[0]["id"] == 0
    c.upsert([0], [{"": vectors[""][0], "alt": vectors["alt"][0]}])  # "image" dropped
    assert 0 not in {h["id"] for h in exact(c, q, N, "image")}
    c.upsert([3], {"": vectors[""][3:4], "image": q[None, :]})  # 3 gains "image"
    assert exact(c, q, 1, "image")[0]["id"] == 3
    assert 3 not in {h["id"] for h in exact(c, vectors["alt"][3], N, "alt")}  # replaced whole
    assert exact(c, vectors["alt"][5], 1, "alt")[0]["id"] == 5
    assert c.delete([3, 5]) == 2
    assert {3, 5}.isdisjoint(h["id"] for h in exact(c, q, N, "image"))
    assert {3, 5}.isdisjoint(h["id"] for h in exact(c, vectors["alt"][5], N, "alt"))
    assert {3, 5}.isdisjoint(h["id"] for h in exact(c, vectors["title"][5], N, "title"))


def test_named_vectors_survive_reopens(tmp_path, rng):
    path = tmp_path / "d"
    base = rng.normal(size=(40, 4)).astype(np.float32)
    img = rng.normal(size=(40, 6)).astype(np.float32)
    queries = rng.normal(size=(3, 6)).astype(np.float32)
    with nearstore.Database(path) as db:
        c = db.create_collection("c", 4, vectors={"img": {"dim": 6, "metric": "dot", "seed": 9}})
        c.upsert(range(20), {"": base[:20], "img": img[:20]})
        c.checkpoint()
        c.upsert(range(20, 40), {"": base[20:], "img": img[20:]})  # only in the log
        c.flush()
        before = [exact(c, q, 10, "img") for q in queries]
        config = c.config
    for _ in range(2):
        with nearstore.Database(path) as db:
            c = db.get_collection("c")
            assert c.config == config
            assert c.config["vectors"]["img"]["metric"] == "dot"
            assert [exact(c, q, 10, "img") for q in queries] == before
            for q in queries:
                order = np.argsort(-(img.astype(np.float64) @ q), kind="stable")[:10]
                assert [h["id"] for h in exact(c, q, 10, "img")] == list(order)
            np.testing.assert_array_equal(c.get(33)["vectors"]["img"], img[33])


def test_hybrid_query_with_a_named_dense_leg(named, rng):
    c, _ = named
    q = rng.normal(size=IMAGE_DIM).astype(np.float32)
    for fusion in ["rrf", "dbsf"]:
        hits = c.query(q, using="image", text="graph river", limit=15, quality="perfect",
                       fusion=fusion)
        lists = [[(h["id"], h["score"]) for h in exact(c, q, N, "image")],
                 [(h["id"], h["score"]) for h in c.text_search("graph river", N)]]
        # Euclidean is lower-is-better: the engine fuses the leg's own ranking.
        if fusion == "rrf":
            assert_fused(hits, fuse("rrf", lists)[:15])
        assert_legs(hits, lists, ["dense:image", "text"])
    hits = c.hybrid_search(q, "pasta", 10, 0.5, using="image")
    assert all(leg["name"] in ("dense:image", "text") for h in hits for leg in h["legs"])
    assert any(leg["name"] == "dense:image" for h in hits for leg in h["legs"])


def test_query_dense_legs_by_name(named, rng):
    c, _ = named
    qa = rng.normal(size=DIM).astype(np.float32)
    qt = rng.normal(size=TITLE_DIM).astype(np.float32)
    hits = c.query(dense={"alt": qa, "title": qt}, limit=12, quality="perfect")
    lists = [[(h["id"], h["score"]) for h in exact(c, qa, N, "alt")],
             [(h["id"], h["score"]) for h in exact(c, qt, N, "title")]]
    assert_fused(hits, fuse("rrf", lists)[:12])
    assert_legs(hits, lists, ["dense:alt", "dense:title"])
    # The query vector's leg comes first, then the dense= legs in name order.
    q = rng.normal(size=DIM).astype(np.float32)
    hits = c.query(q, dense={"title": qt, "alt": qa}, limit=12, quality="perfect",
                   fusion="average")
    lists = [[(h["id"], h["score"]) for h in exact(c, q, N, "")]] + lists
    assert_fused(hits, fuse("average", lists)[:12])
    assert_legs(hits, lists, ["dense", "dense:alt", "dense:title"])


def test_multi_query_search_by_name(named, rng):
    c, _ = named
    queries = rng.normal(size=(3, IMAGE_DIM)).astype(np.float32)
    hits = c.multi_query_search(queries, 8, "rrf", using="image")
    lists = [[(h["id"], h["score"]) for h in exact(c, q, N, "image")] for q in queries]
    assert_fused(hits, fuse("rrf", lists)[:8])
    assert_legs(hits, lists, ["dense:image"] * 3)
    qa = rng.normal(size=DIM).astype(np.float32)
    mixed = c.multi_query_search([qa, qa], 8, "maximum", using=["alt", ""])
    lists = [[(h["id"], h["score"]) for h in exact(c, qa, N, name)] for name in ("alt", "")]
    assert_fused(mixed, fuse("maximum", lists)[:8])
    assert_legs(mixed, lists, ["dense:alt", "dense"])
    with pytest.raises(nearstore.InvalidArgument, match="2 queries but 1 names"):
        c.multi_query_search([qa, qa], using=["alt"])


def test_hybrid_sparse_search_by_name(db, rng):
    c = db.create_collection("c", 4, vectors={"img": 3})
    n = 30
    img = rng.normal(size=(n, 3)).astype(np.float32)
    sparse = [{int(i % 7): 1.0 + i / 10.0} for i in range(n)]
    c.upsert(range(n), {"": rng.normal(size=(n, 4)), "img": img}, sparse=sparse)
    q = rng.normal(size=3).astype(np.float32)
    hits = c.hybrid_sparse_search(q, {2: 1.0}, 10, using="img")
    lists = [[(h["id"], h["score"]) for h in exact(c, q, n, "img")],
             [(h["id"], h["score"]) for h in c.sparse_search({2: 1.0}, n)]]
    assert_fused(hits, fuse("rrf", lists)[:10])
    assert_legs(hits, lists, ["dense:img", "sparse"])


def test_create_collection_refuses_bad_named_vectors(db):
    for vectors, message in [
        ({"a": {}}, "needs a dimension"),
        ({"a": {"dim": 0}}, 'vector "a"'),
        ({"a": {"size": 4}}, "unknown vector \"a\" option"),
        ({"a": {"dim": 4, "metric": "taxicab"}}, "unknown metric"),
        ({"a": {"dim": 4, "m": 0}}, 'vector "a": m must be'),
        ({"": {"dim": 4}}, "named vectors need a name"),
        ({"a": "4"}, "expected its dimension"),
        (["a"], "vectors must be"),
    ]:
        with pytest.raises(nearstore.InvalidArgument, match=message):
            db.create_collection("c", 4, vectors=vectors)
    assert "c" not in db


def test_bad_named_vectors_are_refused_naming_the_vector(named, rng):
    c, vectors = named
    good = {"": vectors[""][:2], "alt": vectors["alt"][:2]}
    cases = [
        ({**good, "nope": vectors["alt"][:2]}, nearstore.InvalidArgument, 'no vector named "nope"'),
        ({**good, "image": np.ones((2, 4), np.float32)}, nearstore.InvalidArgument,
         'vector "image"..holds 5-d vectors, got 4'),
        ({**good, "image": [None, [1.0, float("nan"), 0, 0, 0]]}, nearstore.InvalidArgument,
         r'vector "image" of point 1 .*vectors\["image"\]\[1\].*non-finite'),
        ({**good, "alt": vectors["alt"][:3]}, nearstore.InvalidArgument,
         r'2 ids but 3 rows in vectors\["alt"\]'),
        ({**good, 7: vectors["alt"][:2]}, nearstore.InvalidArgument, "names must be strings"),
        ({**good, "alt": "xy"}, nearstore.InvalidArgument, "2-D numpy array or a list"),
        ([{"": vectors[""][0], "image": [np.inf] * 5}, vectors[""][1]], nearstore.InvalidArgument,
         r'vector "image" of point 0 \(vectors\[0\]\["image"\]\) has a non-finite'),
        ([{"": vectors[""][0]}], nearstore.InvalidArgument, "2 ids but 1 vectors"),
    ]
    for points, error, message in cases:
        with pytest.raises(error, match=message):
            c.upsert([0, 1], points)
    # Nothing of a refused batch was written.
    np.testing.assert_array_equal(c.get(0)["vectors"]["alt"], vectors["alt"][0])
    assert c.count() == N


def test_bad_using_queries_are_refused_naming_the_vector(named, rng):
    c, _ = named
    q = rng.normal(size=IMAGE_DIM).astype(np.float32)
    with pytest.raises(nearstore.InvalidArgument, match='no vector named "nope"'):
        c.search(q, using="nope")
    with pytest.raises(nearstore.InvalidArgument, match='vector "image"..holds 5-d vectors, got 8'):
        c.search(np.ones(DIM, np.float32), using="image")
    bad = q.copy()
    bad[2] = np.nan
    for call in [
        lambda: c.search(bad, using="image"),
        lambda: c.query(bad, using="image", text="graph"),
        lambda: c.search_batch(np.stack([q, bad]), using="image"),
        lambda: c.multi_query_search([q, bad], using="image"),
        lambda: c.query(dense={"image": bad}),
        lambda: c.hybrid_search(bad, "graph", using="image"),
    ]:
        with pytest.raises(nearstore.InvalidArgument, match='vector "image".*non-finite.*index 2'):
            call()
    with pytest.raises(nearstore.InvalidArgument, match="give a vector too"):
        c.query(text="graph", using="image")
    with pytest.raises(nearstore.InvalidArgument, match="query"):
        c.search(q, dense={"image": q})
    with pytest.raises(nearstore.InvalidArgument, match="dict"):
        c.query(dense=[q])


def test_the_query_language_searches_a_named_vector_like_using(db, named, rng):
    c, _ = named
    q = rng.normal(size=IMAGE_DIM).astype(np.float32)
    hits = c.search(q, 5, using="image", quality="perfect")
    rows = db.execute(
        "SELECT id FROM docs WHERE image NEAR $v LIMIT 5 WITH (mode = 'perfect')", {"v": q}
    )
    assert [r["id"] for r in rows] == [h["id"] for h in hits]
