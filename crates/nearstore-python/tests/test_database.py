"""nearstore.Database: collections, options, errors, the query language, close and reopen."""

import gc

import numpy as np
import pytest

import nearstore


def test_create_get_list_drop(db):
    assert db.list_collections() == []
    docs = db.create_collection("docs", 3)
    assert isinstance(docs, nearstore.Collection)
    assert docs.name == "docs"
    assert docs.dim == 3
    assert docs.metric == "cosine"
    db.create_collection("alpha", dim=2, metric="euclidean")
    assert db.list_collections() == ["alpha", "docs"]
    assert "docs" in db and "nope" not in db
    again = db.get_collection("docs")
    docs.upsert([1], [[1.0, 0.0, 0.0]])
    assert len(again) == 1, "two handles on one collection see the same points"
    db.drop_collection("docs")
    assert db.list_collections() == ["alpha"]
    with pytest.raises(nearstore.NotFound):
        docs.count()
    with pytest.raises(nearstore.NotFound):
        db.get_collection("docs")
    with pytest.raises(nearstore.NotFound):
        db.drop_collection("docs")


@pytest.mark.parametrize(
    "given,name",
    [("COSINE", "cosine"), ("L2", "euclidean"), ("Euclidean", "euclidean"), ("dot", "dot"),
     ("Dot_Product", "dot"), ("hamming", "hamming"), ("JACCARD", "jaccard"),
     ("manhattan", "manhattan"), ("L1", "manhattan")],
)
def test_metric_names_are_case_insensitive(db, given, name):
    c = db.create_collection("c", 4, metric=given)
    assert c.metric == name
    assert c.config["metric"] == name


def test_collection_options_are_applied(db):
    c = db.create_collection(
        "c", 8, "dot", m=8, ef_construction=40, ef_search=24, seed=3,
        durability="PER_WRITE", max_payload_bytes=64, storage_mode="full",
    )
    assert c.config == {
        "dim": 8, "metric": "dot", "m": 8, "ef_construction": 40, "ef_search": 24,
        "seed": 3, "durability": "per_write", "max_payload_bytes": 64, "storage_mode": "full",
        "oversampling": None, "train_at": None, "rabitq_bits": None, "quantile": None,
        "text_fields": ["_all"],
        "sparse_vectors": {},
        "sparse_any_name": True,
        "vectors": {},
    }
    c.ef_search = 50
    assert c.ef_search == 50
    with pytest.raises(nearstore.InvalidArgument):
        c.ef_search = 0
    with pytest.raises(nearstore.ResourceExhausted, match="64-byte limit"):
        c.upsert([1], np.ones((1, 8), np.float32), [{"text": "x" * 100}])


@pytest.mark.parametrize(
    "options,message",
    [
        ({"M": 8}, "unknown collection option 'M'|unknown collection option \"M\""),
        ({"ef": 8}, "accepted: m, ef_construction"),
        ({"m": 0}, "m must be a positive integer"),
        ({"m": "16"}, "m must be a positive integer"),
        ({"m": 2.5}, "m must be a positive integer"),
        ({"durability": "sometimes"}, "unknown durability"),
        ({"storage_mode": "opq"}, "unknown storage_mode"),
        ({"oversampling": 2}, "quantized storage mode"),
        ({"seed": -1}, "seed must be a non-negative integer"),
    ],
)
def test_bad_collection_options_are_refused(db, options, message):
    with pytest.raises(nearstore.InvalidArgument, match=message):
        db.create_collection("c", 4, **options)
    assert db.list_collections() == []


def test_creation_errors(db):
    db.create_collection("c", 4)
    with pytest.raises(nearstore.AlreadyExists):
        db.create_collection("c", 4)
    with pytest.raises(nearstore.InvalidArgument, match="invalid collection name"):
        db.create_collection("../escape", 4)
    with pytest.raises(nearstore.InvalidArgument, match="dimension must be"):
        db.create_collection("zero", 0)
    with pytest.raises(nearstore.InvalidArgument, match="unknown metric"):
        db.create_collection("m", 4, metric="taxicab")
    with pytest.raises(OverflowError):
        db.create_collection("neg", -1)


def test_exception_hierarchy():
    for cls in [nearstore.InvalidArgument, nearstore.NotFound, nearstore.AlreadyExists,
                nearstore.Conflict, nearstore.Corruption, nearstore.Io,
                nearstore.ResourceExhausted, nearstore.Cancelled, nearstore.Internal,
                nearstore.Closed, nearstore.Unsupported]:
        assert issubclass(cls, nearstore.Error)
    assert issubclass(nearstore.InvalidArgument, ValueError)
    assert issubclass(nearstore.Unsupported, nearstore.InvalidArgument)
    assert issubclass(nearstore.NotFound, LookupError)
    assert issubclass(nearstore.Io, OSError)
    assert nearstore.NotFound.kind == "NotFound"


def test_a_locked_directory_is_a_conflict(tmp_path):
    with nearstore.Database(tmp_path / "d") as first:
        first.create_collection("c", 2)
        with pytest.raises(nearstore.Conflict):
            nearstore.Database(tmp_path / "d")
    # Closed: the lock is released at once.
    with nearstore.Database(tmp_path / "d") as second:
        assert second.list_collections() == ["c"]


def test_close_empties_every_handle(tmp_path):
    db = nearstore.Database(tmp_path / "d")
    c = db.create_collection("c", 2)
    c.upsert([1], [[1.0, 2.0]])
    assert not db.closed
    db.close()
    assert db.closed
    db.close()  # idempotent
    with pytest.raises(nearstore.Closed, match="closed"):
        c.count()
    with pytest.raises(nearstore.Closed):
        db.list_collections()
    with pytest.raises(nearstore.Closed):
        db.get_collection("c")
    assert "closed" in repr(db)


def test_context_managers_flush_and_close(tmp_path):
    path = tmp_path / "d"
    with nearstore.Database(path) as db:
        with db.create_collection("c", 2, durability="flush") as c:
            c.upsert([1, 2], [[1.0, 0.0], [0.0, 1.0]], [{"a": 1}, None])
        assert len(c) == 2
    assert db.closed
    with nearstore.Database(str(path)) as db:
        c = db.get_collection("c")
        assert c.count() == 2
        assert c.get(1)["payload"] == {"a": 1}


def test_reopen_keeps_points_config_and_indexes(tmp_path, rng):
    path = tmp_path / "d"
    base = rng.standard_normal((300, 16)).astype(np.float32)
    with nearstore.Database(path) as db:
        c = db.create_collection("c", 16, "euclidean", m=12, ef_search=33)
        c.upsert(np.arange(300), base, [{"i": i, "even": i % 2 == 0} for i in range(300)])
        c.create_payload_index("even", "bool")
        c.delete([0, 1, 2])
        before = c.search(base[10], k=5, quality="perfect")
    with nearstore.Database(path) as db:
        c = db.get_collection("c")
        assert c.config["m"] == 12 and c.config["ef_search"] == 33
        assert c.count() == 297
        assert c.payload_indexes() == {"even": "bool"}
        missing, three = c.get([0, 3])
        assert missing is None and three["payload"] == {"i": 3, "even": False}
        assert c.search(base[10], k=5, quality="perfect") == before
        assert c.count({"field": "even", "eq": True}) == 148  # 4, 6, ..., 298


def test_an_unclosed_database_is_released_when_collected(tmp_path):
    path = tmp_path / "d"
    db = nearstore.Database(path)
    db.create_collection("c", 2).upsert([7], [[0.5, 0.5]])
    db.flush()
    del db
    gc.collect()
    with nearstore.Database(path) as again:
        assert again.get_collection("c").get(7)["id"] == 7


def test_a_handle_keeps_its_database_open(tmp_path):
    c = nearstore.Database(tmp_path / "d").create_collection("c", 2)
    gc.collect()
    c.upsert([1], [[1.0, 1.0]])
    assert c.count() == 1
    with pytest.raises(nearstore.Conflict):
        nearstore.Database(tmp_path / "d")


def test_execute_returns_rows_as_dicts(db):
    rows = db.execute("CREATE COLLECTION docs (dimension = 2, metric = 'cosine')")
    assert isinstance(rows, list)
    docs = db.get_collection("docs")
    db.execute(
        "INSERT INTO docs (id, vector, lang, year) VALUES "
        "(1, [1, 0], 'en', 2020), (2, [0, 1], 'fr', 2021), (3, [0.9, 0.1], 'en', 2019)"
    )
    assert docs.count() == 3
    rows = db.execute(
        "SELECT * FROM docs WHERE vector NEAR $v AND lang = $lang LIMIT 5",
        {"v": np.array([1.0, 0.0], dtype=np.float32), "lang": "en"},
    )
    assert [r["id"] for r in rows] == [1, 3]
    assert rows[0]["payload"] == {"lang": "en", "year": 2020}
    assert rows[0]["score"] == pytest.approx(1.0)
    rows = db.execute("SELECT lang, COUNT(*) AS n FROM docs GROUP BY lang ORDER BY n DESC")
    assert rows == [{"lang": "en", "n": 2}, {"lang": "fr", "n": 1}]
    rows = db.execute("SELECT id, year FROM docs WHERE year >= $y ORDER BY id", {"y": np.int64(2020)})
    assert rows == [{"id": 1, "year": 2020}, {"id": 2, "year": 2021}]


def test_execute_errors(db):
    with pytest.raises(nearstore.InvalidArgument, match="line 1"):
        db.execute("SELEC * FROM docs")
    with pytest.raises(nearstore.NotFound):
        db.execute("SELECT * FROM missing LIMIT 1")
    with pytest.raises(nearstore.InvalidArgument, match="params"):
        db.execute("SELECT 1", [1, 2])
    with pytest.raises(nearstore.InvalidArgument, match="not bound"):
        db.create_collection("docs", 2)
        db.execute("SELECT * FROM docs WHERE vector NEAR $v LIMIT 1")
    with pytest.raises(nearstore.InvalidArgument, match=r"params\.v: a value of type set"):
        db.execute("SELECT * FROM docs WHERE vector NEAR $v LIMIT 1", {"v": {1.0, 2.0}})


def test_repr_and_path(db, tmp_path):
    assert db.path == tmp_path / "data"
    assert "open" in repr(db)
    c = db.create_collection("c", 2)
    assert repr(c) == "<nearstore.Collection 'c'>"


def test_execute_columns_form(db):
    db.execute("CREATE COLLECTION docs (dimension = 2, metric = 'euclidean')")
    db.execute("INSERT INTO docs (id, vector, lang) VALUES (1, [0, 0], 'en'), (2, [1, 1], 'fr')")
    db.execute("INSERT INTO docs (id, vector) VALUES (3, [2, 2])")
    table = db.execute("SELECT id, lang FROM docs ORDER BY id", columns=True)
    assert table == {"id": [1, 2, 3], "lang": ["en", "fr", None]}
    hits = db.execute("SELECT * FROM docs WHERE vector NEAR [0, 0] LIMIT 2", columns=True)
    assert list(hits) == ["id", "score", "payload"]
    assert hits["id"] == [1, 2] and hits["score"][0] == 0.0
    assert db.execute("SELECT id FROM docs WHERE id > 10", columns=True) == {}
