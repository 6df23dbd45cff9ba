"""Hybrid and multi-query search from Python: query(vector, text=..., fusion=...),
hybrid_search, multi_query_search and FusionStrategy, checked against each strategy's formula
written here over the single legs' own result lists (on a collection smaller than a leg's
default depth, so each leg's list is its whole ranking); per-leg scores and ranks; filters
inside every leg; errors."""

import numpy as np
import pytest

import nearstore
from nearstore import FusionStrategy

N, DIM = 60, 8
WORDS = ["graph", "vector", "pasta", "river", "engine", "cloud"]


def doc_text(i):
    """Two or three words per document, so each word matches a part of the corpus."""
    return " ".join(WORDS[j] for j in sorted({i % 6, (i * 7) % 5, (i // 3) % 6}))


@pytest.fixture
def corpus(db, rng):
    vectors = rng.normal(size=(N, DIM)).astype(np.float32)
    c = db.create_collection("docs", DIM, "cosine")
    payloads = [{"text": doc_text(i), "group": "a" if i % 3 else "b"} for i in range(N)]
    c.upsert(list(range(N)), vectors, payloads)
    return c, vectors, payloads


def dense_list(c, q, filter=None):
    """The dense leg's whole ranking: [(id, score)] best first."""
    return [(h["id"], h["score"]) for h in c.search(q, N, filter, quality="perfect")]


def text_list(c, text, filter=None):
    hits = c.text_search(text, N) if filter is None else c.text_search_with_filter(text, N, filter)
    return [(h["id"], h["score"]) for h in hits]


def f32(x):
    return float(np.float32(x))


def fuse(strategy, lists, weights=None, k=60):
    """The fused ranking of `lists` (each [(id, score)] best first, higher is better) by the
    formula of `strategy`, summed in leg order in float64 and ranked by the float32 score,
    ties to the smaller id: [(id, score)]."""
    acc = {}
    for leg, hits in enumerate(lists):
        w = 1.0 if weights is None else f32(weights[leg])
        scores = [s for _, s in hits]
        if strategy == "relative_score":
            lo = min(scores, default=0.0)
            span = max(scores, default=0.0) - lo
            norm = lambda o: (o - lo) / span if span > 0 else 1.0  # noqa: E731
        elif strategy == "dbsf":
            n = max(len(scores), 1)
            mean = sum(scores) / n
            sd = (sum((o - mean) * (o - mean) for o in scores) / n) ** 0.5
            lo, span = mean - 3.0 * sd, 6.0 * sd
            norm = lambda o: (o - lo) / span if span > 0 else 0.5  # noqa: E731
        for rank, (i, o) in enumerate(hits, start=1):
            e = acc.setdefault(i, [0.0, float("-inf"), 0])
            if strategy == "rrf":
                e[0] += 1.0 / (k + rank)
            elif strategy in ("relative_score", "dbsf"):
                e[0] += w * norm(o)
            else:
                e[0] += o
            e[1] = max(e[1], o)
            e[2] += 1
    fused = {
        i: e[0] / e[2] if strategy == "average" else e[1] if strategy == "maximum" else e[0]
        for i, e in acc.items()
    }
    return sorted(((i, f32(s)) for i, s in fused.items()), key=lambda x: (-x[1], x[0]))


def assert_fused(hits, want):
    assert [h["id"] for h in hits] == [i for i, _ in want]
    assert [h["score"] for h in hits] == pytest.approx([s for _, s in want], rel=1e-6, abs=1e-9)


def assert_legs(hits, lists, names):
    """Each hit's legs: every leg whose list holds it, with that list's score and rank."""
    for h in hits:
        want = []
        for leg, hits_of_leg in enumerate(lists):
            for rank, (i, s) in enumerate(hits_of_leg, start=1):
                if i == h["id"]:
                    want.append({"leg": leg, "name": names[leg], "score": s, "rank": rank})
        assert h["legs"] == want, h


@pytest.mark.parametrize(
    "fusion,name",
    [
        (None, "rrf"),
        ("rrf", "rrf"),
        (FusionStrategy.rrf(), "rrf"),
        ("relative_score", "relative_score"),
        (FusionStrategy.relative_score(), "relative_score"),
        ("dbsf", "dbsf"),
        (FusionStrategy.dbsf(), "dbsf"),
        ({"relative_score": {"weights": [1.0, 1.0]}}, "relative_score"),
    ],
)
def test_hybrid_query_equals_the_strategy_formula(corpus, rng, fusion, name):
    c, _, _ = corpus
    q = rng.normal(size=DIM).astype(np.float32)
    options = {} if fusion is None else {"fusion": fusion}
    hits = c.query(q, text="graph river", limit=15, quality="perfect", **options)
    lists = [dense_list(c, q), text_list(c, "graph river")]
    assert len(lists[1]) > 10  # the text leg holds a real list
    assert_fused(hits, fuse(name, lists)[:15])
    assert_legs(hits, lists, ["dense", "text"])


def test_rrf_k_and_offset_apply_to_the_fused_list(corpus, rng):
    c, _, _ = corpus
    q = rng.normal(size=DIM).astype(np.float32)
    lists = [dense_list(c, q), text_list(c, "pasta")]
    want = fuse("rrf", lists, k=5)
    hits = c.query(q, text="pasta", limit=6, offset=3, quality="perfect",
                   fusion=FusionStrategy.rrf(k=5))
    assert_fused(hits, want[3:9])
    with_dict = c.query(q, text="pasta", limit=6, offset=3, quality="perfect",
                        fusion={"rrf": {"k": 5}})
    assert with_dict == hits


def test_hybrid_search_is_relative_score_weighted_by_vector_weight(corpus, rng):
    c, _, _ = corpus
    q = rng.normal(size=DIM).astype(np.float32)
    lists = [dense_list(c, q), text_list(c, "engine cloud")]
    for w in [0.0, 0.3, 0.5, 1.0]:
        hits = c.hybrid_search(q, "engine cloud", 12, w)
        assert_fused(hits, fuse("relative_score", lists, weights=[w, 1.0 - w])[:12])
        assert hits == c.query(q, text="engine cloud", limit=12,
                               fusion=FusionStrategy.relative_score([w, 1.0 - w]))
    default = c.hybrid_search(q, "engine cloud")
    assert len(default) == 10
    assert default == c.hybrid_search(q, "engine cloud", top_k=10, vector_weight=0.5)
    for bad in [-0.1, 1.5, float("nan")]:
        with pytest.raises(nearstore.InvalidArgument, match="vector_weight"):
            c.hybrid_search(q, "engine", 5, bad)


def test_hybrid_filter_applies_inside_each_leg_even_when_one_leg_is_empty(corpus, rng):
    c, _, payloads = corpus
    q = rng.normal(size=DIM).astype(np.float32)
    only_b = {"field": "group", "eq": "b"}
    in_b = {i for i, p in enumerate(payloads) if p["group"] == "b"}
    hits = c.hybrid_search(q, "graph", 50, 0.5, only_b)
    assert hits and {h["id"] for h in hits} <= in_b
    lists = [dense_list(c, q, only_b), text_list(c, "graph", only_b)]
    assert_fused(hits, fuse("relative_score", lists, weights=[0.5, 0.5])[:50])
    # A word no document holds: the text leg is empty, the dense leg still filtered.
    for fusion in ["rrf", "dbsf", "relative_score"]:
        hits = c.query(q, text="zebra", filter=only_b, limit=N, fusion=fusion)
        assert {h["id"] for h in hits} == in_b
        assert all([leg["name"] for leg in h["legs"]] == ["dense"] for h in hits)


@pytest.mark.parametrize("fusion", ["rrf", "average", "maximum", "relative_score", "dbsf"])
def test_multi_query_search_equals_the_strategy_formula(corpus, rng, fusion):
    c, _, _ = corpus
    queries = rng.normal(size=(3, DIM)).astype(np.float32)
    lists = [dense_list(c, q) for q in queries]
    hits = c.multi_query_search(queries, 8, fusion)
    assert_fused(hits, fuse(fusion, lists)[:8])
    assert_legs(hits, lists, ["dense"] * 3)
    as_object = getattr(FusionStrategy, fusion)()
    assert c.multi_query_search([list(map(float, v)) for v in queries], 8, as_object) == hits


def test_multi_query_search_defaults_to_rrf_and_honours_the_filter(corpus, rng):
    c, _, payloads = corpus
    queries = rng.normal(size=(2, DIM)).astype(np.float32)
    assert c.multi_query_search(queries) == c.multi_query_search(queries, 10, "rrf")
    only_a = {"field": "group", "eq": "a"}
    hits = c.multi_query_search(queries, 30, FusionStrategy.rrf(), only_a)
    assert len(hits) == 30
    assert all(payloads[h["id"]]["group"] == "a" for h in hits)
    lists = [dense_list(c, q, only_a) for q in queries]
    assert_fused(hits, fuse("rrf", lists)[:30])


def test_single_leg_results_carry_no_legs(corpus, rng):
    c, _, _ = corpus
    q = rng.normal(size=DIM).astype(np.float32)
    assert all("legs" not in h for h in c.search(q, 5))
    assert all("legs" not in h for h in c.text_search("graph", 5))


def test_fusion_strategy_objects():
    assert FusionStrategy.rrf().name == "rrf" and FusionStrategy.rrf().k == 60
    assert FusionStrategy.rrf(k=7).k == 7
    assert repr(FusionStrategy.rrf(k=7)) == "FusionStrategy.rrf(k=7)"
    assert FusionStrategy.relative_score([0.25, 0.75]).weights == [0.25, 0.75]
    assert repr(FusionStrategy.relative_score([0.5, 0.5])) == (
        "FusionStrategy.relative_score(weights=[0.5, 0.5])"
    )
    assert FusionStrategy.dbsf().weights is None and FusionStrategy.dbsf().k is None
    assert FusionStrategy.weighted().weights == []
    assert FusionStrategy.average() == FusionStrategy.average()
    assert FusionStrategy.average() != FusionStrategy.maximum()
    assert sorted(nearstore.FUSION_STRATEGIES) == sorted(
        ["rrf", "relative_score", "dbsf", "weighted", "average", "maximum"]
    )
    with pytest.raises(nearstore.InvalidArgument, match="finite"):
        FusionStrategy.weighted([float("inf")])
    with pytest.raises(OverflowError):
        FusionStrategy.rrf(k=-1)


def test_bad_fusion_arguments_are_refused(corpus, rng):
    c, _, _ = corpus
    q = rng.normal(size=DIM).astype(np.float32)
    with pytest.raises(nearstore.InvalidArgument, match='unknown fusion "borda"'):
        c.query(q, text="graph", fusion="borda")
    with pytest.raises(nearstore.InvalidArgument, match="not a strategy"):
        c.query(q, text="graph", fusion={"rrf": {"k": "x"}})
    with pytest.raises(nearstore.InvalidArgument, match="3 weights for 2 legs"):
        c.query(q, text="graph", fusion=FusionStrategy.relative_score([1, 1, 1]))
    with pytest.raises(nearstore.InvalidArgument, match="unknown fusion"):
        c.multi_query_search([q, q], 5, "sum")
