"""nearstore.Collection: every method against a brute-force oracle where results are exact."""

import math

import numpy as np
import pytest

import nearstore
from conftest import brute_force

N, DIM = 400, 24


@pytest.fixture(params=["cosine", "euclidean", "dot", "manhattan"])
def loaded(request, db, rng):
    """A collection of N random points with payloads, under each metric."""
    metric = request.param
    base = rng.standard_normal((N, DIM)).astype(np.float32)
    c = db.create_collection("c", DIM, metric=metric)
    payloads = [
        {"i": i, "lang": ["en", "fr", "de"][i % 3], "tags": ["a", "b"] if i % 5 == 0 else []}
        for i in range(N)
    ]
    c.upsert(np.arange(N, dtype=np.uint64), base, payloads)
    return c, base, metric


def test_exact_search_matches_brute_force(loaded, rng):
    c, base, metric = loaded
    for q in rng.standard_normal((10, DIM)).astype(np.float32):
        hits = c.search(q, k=10, quality="perfect")
        want, scores = brute_force(base, q, 10, metric)
        assert [h["id"] for h in hits] == list(want)
        assert [h["score"] for h in hits] == pytest.approx(list(scores), rel=1e-4, abs=1e-4)
        assert set(hits[0]) == {"id", "score", "payload"}
        assert hits[0]["payload"]["i"] == hits[0]["id"]


def test_default_search_finds_nearly_all_true_neighbours(loaded, rng):
    c, base, metric = loaded
    found = 0
    queries = rng.standard_normal((20, DIM)).astype(np.float32)
    for q in queries:
        want, _ = brute_force(base, q, 10, metric)
        found += len({h["id"] for h in c.search(q, 10)} & set(want))
    assert found / (10 * len(queries)) >= 0.9


def test_filters_restrict_results(loaded, rng):
    c, base, metric = loaded
    q = rng.standard_normal(DIM).astype(np.float32)
    hits = c.search(q, k=20, filter={"field": "lang", "eq": "fr"}, quality="perfect")
    fr = np.arange(N)[np.arange(N) % 3 == 1]
    want, _ = brute_force(base[fr], q, 20, metric)
    assert [h["id"] for h in hits] == list(fr[want])
    # k results whenever k points match, through a small selective filter and HNSW.
    hits = c.search(q, k=5, filter={"and": [{"field": "tags", "contains": "a"},
                                            {"field": "i", "lt": 100}]})
    assert len(hits) == 5 and all(h["id"] % 5 == 0 and h["id"] < 100 for h in hits)
    with pytest.raises(nearstore.InvalidArgument, match="needs an operator"):
        c.search(q, filter={"field": "lang"})
    with pytest.raises(nearstore.InvalidArgument, match="filter"):
        c.search(q, filter="lang = 'en'")


def test_query_options(loaded, rng):
    c, base, metric = loaded
    q = rng.standard_normal(DIM).astype(np.float32)
    full = c.query(q, limit=12, quality="perfect")
    page = c.query(q, limit=4, offset=8, quality="perfect")
    assert [h["id"] for h in page] == [h["id"] for h in full[8:12]]
    bare = c.query(q, limit=3, with_payload=False, with_vector=True, ef=64)
    assert all(h["payload"] is None for h in bare)
    for h in bare:
        assert isinstance(h["vector"], np.ndarray) and h["vector"].dtype == np.float32
        if metric != "cosine":  # cosine vectors may come back normalized
            np.testing.assert_array_equal(h["vector"], base[h["id"]])
    threshold = full[5]["score"]
    kept = c.query(q, limit=12, quality="perfect", score_threshold=threshold)
    assert [h["id"] for h in kept] == [h["id"] for h in full[: len(kept)]]
    assert 5 <= len(kept) <= 6
    for quality in ["fast", "Balanced", "ACCURATE", "exact", "adaptive"]:
        assert len(c.query(q, limit=3, quality=quality)) == 3
    same = c.search(q, 12, quality="perfect")
    assert same == full


@pytest.mark.parametrize(
    "options,error,message",
    [
        ({"sparse": {"indices": [1]}}, nearstore.InvalidArgument, 'without "values"'),
        ({"fusion": "borda"}, nearstore.InvalidArgument, "unknown fusion"),
        ({"hybrid": True}, nearstore.InvalidArgument, "unknown query option"),
        ({"using": "title"}, nearstore.InvalidArgument, "no vector named \"title\""),
        ({"nprobe": 3}, nearstore.InvalidArgument, "unknown query option 'nprobe'|\"nprobe\""),
        ({"quality": "fast", "ef": 10}, nearstore.InvalidArgument, "not both"),
        ({"quality": "best"}, nearstore.InvalidArgument, "unknown quality"),
        ({"limit": 100_001}, nearstore.InvalidArgument, "at most"),
        ({"with_vector": "yes"}, nearstore.InvalidArgument, "True or False"),
        ({"score_threshold": float("nan")}, nearstore.InvalidArgument, "score_threshold"),
    ],
)
def test_query_refuses_unknown_and_unsupported_options(db, options, error, message):
    c = db.create_collection("c", 2)
    c.upsert([1], [[1.0, 0.0]])
    with pytest.raises(error, match=message):
        c.query([1.0, 0.0], **options)


def test_query_without_vector_is_refused(db):
    c = db.create_collection("c", 2)
    with pytest.raises(nearstore.InvalidArgument, match="needs a vector"):
        c.query(limit=3)
    with pytest.raises(nearstore.InvalidArgument, match="give text=... too"):
        c.query(text_field="title")
    with pytest.raises(nearstore.InvalidArgument, match="search takes the number of results as k"):
        c.search([1.0, 0.0], limit=3)


def test_search_batch_returns_numpy_arrays(loaded, rng):
    c, base, metric = loaded
    queries = rng.standard_normal((7, DIM)).astype(np.float32)
    ids, scores = c.search_batch(queries, k=6, quality="perfect")
    assert ids.shape == (7, 6) and ids.dtype == np.uint64
    assert scores.shape == (7, 6) and scores.dtype == np.float32
    for row, q in enumerate(queries):
        want, want_scores = brute_force(base, q, 6, metric)
        assert list(ids[row]) == list(want)
        np.testing.assert_allclose(scores[row], want_scores, rtol=1e-4, atol=1e-4)
        assert [h["id"] for h in c.search(q, 6, quality="perfect")] == list(ids[row])
    ids, scores = c.search_batch(queries[:2], k=4, filter={"field": "i", "lt": 3})
    assert sorted(ids[0][:3]) == [0, 1, 2]
    assert np.isnan(scores[:, 3]).all() and (ids[:, 3] == 2**64 - 1).all()
    assert not np.isnan(scores[:, :3]).any()
    empty_ids, empty_scores = c.search_batch(np.empty((0, DIM), np.float32), k=3)
    assert empty_ids.shape == (0, 3) and empty_scores.shape == (0, 3)
    with pytest.raises(nearstore.InvalidArgument, match="ids and scores only"):
        c.search_batch(queries, k=3, with_payload=True)


def test_get(loaded):
    c, base, _ = loaded
    points = c.get([5, 10_000, 7])
    assert points[1] is None
    assert [p["id"] for p in (points[0], points[2])] == [5, 7]
    assert points[0]["payload"]["i"] == 5
    assert points[0]["vector"].shape == (DIM,)
    one = c.get(5, with_vector=False)
    assert one == {"id": 5, "payload": points[0]["payload"]}
    assert c.get(123_456) is None
    assert c.get(np.array([5], dtype=np.int64))[0]["id"] == 5
    with pytest.raises(nearstore.InvalidArgument, match="ids"):
        c.get("5")
    with pytest.raises(nearstore.InvalidArgument):
        c.get(-1)


def test_upsert_bulk_is_searchable_at_once_and_indexed_in_the_background(db, rng):
    base = rng.standard_normal((N, DIM)).astype(np.float32)
    c = db.create_collection("c", DIM, metric="euclidean")
    c.upsert_bulk(np.arange(N, dtype=np.uint64), base, [{"i": i} for i in range(N)])
    assert len(c) == N
    assert 0 <= c.pending_index_count() <= N
    queries = rng.standard_normal((5, DIM)).astype(np.float32)
    # Before and after the background indexing: every point is found, exactly here.
    for waited in (False, True):
        if waited:
            c.wait_indexed()
            assert c.pending_index_count() == 0
        for q in queries:
            want, _ = brute_force(base, q, 10, "euclidean")
            assert [h["id"] for h in c.search(q, k=10, quality="perfect")] == list(want)
            got = {h["id"] for h in c.search(q, k=10)}
            assert len(got & set(want)) >= 8
    assert c.get(7)["payload"] == {"i": 7}


def test_upsert_replaces_and_delete_removes(db):
    c = db.create_collection("c", 2, "euclidean")
    c.upsert([1, 2, 3], [[0, 0], [1, 1], [2, 2]], [{"v": 1}, {"v": 2}, None])
    c.upsert([2], [[5, 5]], [{"v": 20}])
    assert c.get(2)["payload"] == {"v": 20}
    np.testing.assert_array_equal(c.get(2)["vector"], [5, 5])
    assert c.get(3)["payload"] is None
    c.upsert([4, 4], [[1, 0], [0, 1]], [{"first": True}, {"second": True}])
    assert c.get(4)["payload"] == {"second": True}, "a later duplicate in the batch wins"
    assert c.delete([1, 99]) == 1
    assert c.delete(2) == 1
    assert c.count() == 2
    assert c.delete(filter={"field": "second", "eq": True}) == 1
    assert [p["id"] for p in c.scroll()[0]] == [3]
    with pytest.raises(nearstore.InvalidArgument, match="exactly one"):
        c.delete()
    with pytest.raises(nearstore.InvalidArgument, match="exactly one"):
        c.delete([3], filter={"field": "v", "eq": 1})
    with pytest.raises(nearstore.InvalidArgument, match="exactly one"):
        c.delete(filter=None)


def test_upsert_argument_errors(db):
    c = db.create_collection("c", 3)
    with pytest.raises(nearstore.InvalidArgument, match="2 ids but 1 vectors"):
        c.upsert([1, 2], [[1, 2, 3]])
    with pytest.raises(nearstore.InvalidArgument, match="1 ids but 2 payloads"):
        c.upsert([1], [[1, 2, 3]], [{}, {}])
    with pytest.raises(nearstore.InvalidArgument, match="dimension mismatch"):
        c.upsert([1], [[1, 2]])
    with pytest.raises(nearstore.InvalidArgument, match="non-finite"):
        c.upsert([1], [[1, math.nan, 3]])
    with pytest.raises(nearstore.InvalidArgument, match=r"payloads\[0\] must be a dict"):
        c.upsert([1], [[1, 2, 3]], ["text"])
    with pytest.raises(nearstore.InvalidArgument, match=r"payloads\[0\]\.when: a value of type"):
        import datetime
        c.upsert([1], [[1, 2, 3]], [{"when": datetime.date(2026, 1, 1)}])
    with pytest.raises(nearstore.InvalidArgument, match=r"payloads\[0\]\.x: inf cannot be stored"):
        c.upsert([1], [[1, 2, 3]], [{"x": math.inf}])
    with pytest.raises(nearstore.InvalidArgument, match="not a string"):
        c.upsert([1], [[1, 2, 3]], [{1: "a"}])
    with pytest.raises(nearstore.InvalidArgument, match="64-bit range"):
        c.upsert([1], [[1, 2, 3]], [{"big": 2**70}])
    with pytest.raises(nearstore.InvalidArgument, match="nested deeper"):
        deep = {}
        for _ in range(150):
            deep = {"d": deep}
        c.upsert([1], [[1, 2, 3]], [deep])
    assert c.count() == 0, "a refused batch writes nothing"


def test_payload_values_round_trip(db):
    c = db.create_collection("c", 2)
    payload = {
        "s": "text", "i": -3, "u": 2**64 - 1, "f": 0.25, "b": False, "n": None,
        "list": [1, "two", [3.5]], "nested": {"a": {"b": [True]}}, "tuple": (1, 2),
        "np_scalar": np.float32(0.5), "np_int": np.int64(7), "np_bool": np.bool_(True),
        "np_array": np.array([[1, 2], [3, 4]], dtype=np.int32),
    }
    c.upsert([1], [[1, 0]], [payload])
    back = c.get(1)["payload"]
    assert back == {
        "s": "text", "i": -3, "u": 2**64 - 1, "f": 0.25, "b": False, "n": None,
        "list": [1, "two", [3.5]], "nested": {"a": {"b": [True]}}, "tuple": [1, 2],
        "np_scalar": 0.5, "np_int": 7, "np_bool": True, "np_array": [[1, 2], [3, 4]],
    }
    assert type(back["np_int"]) is int and type(back["f"]) is float


def test_scroll_pages_through_everything(loaded):
    c, _, _ = loaded
    seen, cursor = [], None
    while True:
        points, cursor = c.scroll(limit=64, cursor=cursor)
        seen.extend(p["id"] for p in points)
        assert all("vector" not in p for p in points)
        if cursor is None:
            break
    assert seen == list(range(N))
    points, cursor = c.scroll(filter={"field": "lang", "eq": "de"}, limit=5, with_vector=True)
    assert [p["id"] for p in points] == [2, 5, 8, 11, 14]
    assert cursor is not None and cursor > 14
    assert points[0]["vector"].shape == (DIM,)


def test_count_and_len(loaded):
    c, _, _ = loaded
    assert c.count() == N == len(c)
    assert c.count({"field": "lang", "eq": "en"}) == len(range(0, N, 3))
    assert c.count(filter={"field": "tags", "contains": "b"}) == len(range(0, N, 5))


def test_payload_indexes(loaded, rng):
    c, base, metric = loaded
    q = rng.standard_normal(DIM).astype(np.float32)
    f = {"field": "lang", "eq": "de"}
    before = c.search(q, 10, filter=f, quality="perfect")
    c.create_payload_index("lang", "KEYWORD")
    c.create_payload_index("i", "integer")
    c.create_payload_index("lang", "keyword")  # same kind again: nothing happens
    assert c.payload_indexes() == {"lang": "keyword", "i": "integer"}
    assert c.search(q, 10, filter=f, quality="perfect") == before
    assert c.count({"field": "i", "between": [10, 19]}) == 10
    assert c.drop_payload_index("i") is True
    assert c.drop_payload_index("i") is False
    assert c.payload_indexes() == {"lang": "keyword"}
    with pytest.raises(nearstore.InvalidArgument, match="unknown payload index kind"):
        c.create_payload_index("x", "fulltext")


def test_datetime_payload_index(db):
    c = db.create_collection("events", 2)
    c.upsert(
        [1, 2, 3],
        [[1, 0], [0, 1], [1, 1]],
        [{"at": "2024-01-02T00:00:00Z"}, {"at": "2023-05-01"}, {"at": "2024-01-02T01:00:00+02:00"}],
    )
    c.create_payload_index("at", "datetime")
    assert c.payload_indexes() == {"at": "datetime"}
    # 3's offset puts it at 2024-01-01T23:00Z, before 1
    assert c.count({"field": "at", "datetime_range": {"lt": "2024-01-02T00:00:00Z"}}) == 2


def test_flush_and_checkpoint(db):
    c = db.create_collection("c", 2, durability="bulk")
    c.upsert([1], [[1, 2]])
    c.flush()
    c.checkpoint()
    db.flush()
    assert c.count() == 1


def test_reserved_options_are_listed():
    assert "using" not in nearstore.RESERVED_QUERY_OPTIONS
    assert {"using", "dense"} <= set(nearstore.QUERY_OPTIONS)
    assert "vectors" in nearstore.COLLECTION_OPTIONS
    assert "sparse" not in nearstore.RESERVED_QUERY_OPTIONS
    assert "text" not in nearstore.RESERVED_QUERY_OPTIONS
    assert {"text", "text_field"} <= set(nearstore.QUERY_OPTIONS)
    assert "limit" in nearstore.QUERY_OPTIONS
    assert "m" in nearstore.COLLECTION_OPTIONS


def test_rust_search_timer_runs_the_same_searches(loaded, rng):
    c, _, _ = loaded
    seconds = c._rust_search_seconds(rng.standard_normal((5, DIM)).astype(np.float32), 10)
    assert seconds > 0.0


def test_rust_upsert_timer_writes_the_points(db, rng):
    c = db.create_collection("t", DIM)
    seconds = c._rust_upsert_seconds(np.arange(5), rng.standard_normal((5, DIM)), [{"a": 1}] * 5)
    assert seconds > 0.0
    assert c.count({"field": "a", "eq": 1}) == 5


def test_point_expiry(db):
    c = db.create_collection("mem", 2)
    far = 4_102_444_800_000  # 2100-01-01T00:00:00Z
    c.upsert([1, 2, 3], [[1, 0], [0, 1], [1, 1]], expires_at=[None, far, "2100-01-01T00:00:00Z"])
    assert c.expires_at(1) is None
    assert c.expires_at(2) == far == c.expires_at(3)
    assert c.get(2)["expires_at"] == far
    assert "expires_at" not in c.get(1)
    # a point already past its time is invisible at once, everywhere
    c.upsert([4], [[0.5, 0.5]], expires_at=1_000)
    assert c.get(4) is None
    assert c.count() == 3
    assert sorted(h["id"] for h in c.search([0.5, 0.5], 10)) == [1, 2, 3]
    c.set_expiry([2], 1_000)
    assert c.count() == 2 and c.get(2) is None
    c.set_expiry([3], None)
    assert c.expires_at(3) is None
    c.set_ttl([1], 3600)
    assert c.expires_at(1) is not None
    c.upsert([5], [[0, 0.5]], ttl=3600)
    assert c.expires_at(5) is not None
    assert c.purge_expired() == 2  # 2 and 4
    with pytest.raises(nearstore.NotFound):
        c.set_ttl([2], 10)
    with pytest.raises(nearstore.InvalidArgument, match="not both"):
        c.upsert([6], [[1, 1]], ttl=5, expires_at=far)
    with pytest.raises(nearstore.InvalidArgument, match="ttl"):
        c.upsert([6], [[1, 1]], ttl=-1)
    with pytest.raises(nearstore.InvalidArgument, match="datetime"):
        c.upsert([6], [[1, 1]], expires_at="tomorrow")
    with pytest.raises(nearstore.InvalidArgument, match="2 ids but 1"):
        c.upsert([6, 7], [[1, 1], [0, 1]], ttl=[5])
    assert c.get(6) is None
