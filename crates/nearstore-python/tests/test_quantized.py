"""Quantized collections from Python: every storage mode, the quantizer's settings,
training on demand, and the rerank / oversampling search options."""

import numpy as np
import pytest

import nearstore
from conftest import brute_force

DIM = 32
N = 1200
MODES = ["sq8", "binary", "pq", "rabitq"]


def clustered(rng, n):
    centers = rng.uniform(-1, 1, (8, DIM))
    return (centers[np.arange(n) % 8] + rng.uniform(-0.3, 0.3, (n, DIM))).astype(np.float32)


@pytest.mark.parametrize("mode", MODES)
def test_every_mode_trains_and_returns_exact_scores(db, rng, mode):
    base = clustered(rng, N)
    c = db.create_collection("c", DIM, "cosine", storage_mode=mode.upper())
    assert c.config["storage_mode"] == mode
    assert (c.config["oversampling"], c.config["train_at"]) == (None, None)
    assert not c.quantizer_trained
    c.upsert(np.arange(N, dtype=np.uint64), base)
    assert c.quantizer_trained, "trains by itself at the default threshold (1024 points)"
    q = clustered(rng, 1)[0]
    want, scores = brute_force(base, q, 10, "cosine")
    # 32 bits per vector rank too coarsely for 30 candidates a result: binary rescores
    # 1,000 of the 1,200 (the walk's pool grows to the candidates kept).
    hits = c.search(q, k=10, oversampling=100.0 if mode == "binary" else 30.0, quality="accurate")
    # Rescored: exact float32 scores of the points found, best first.
    exact = dict(zip(*brute_force(base, q, N, "cosine")))
    for h in hits:
        assert h["score"] == pytest.approx(exact[h["id"]], abs=1e-4)
    # Every mode finds nearly all (see the engine's recall tests).
    assert len(set(h["id"] for h in hits) & set(want)) >= 8
    assert [h["id"] for h in c.search(q, k=10, quality="perfect")] == list(want)


def test_settings_training_on_demand_and_rerank(tmp_path, rng):
    base = clustered(rng, 500)
    q = clustered(rng, 1)[0]
    with nearstore.Database(tmp_path / "d") as db:
        c = db.create_collection("c", DIM, storage_mode="sq8", oversampling=3, train_at=0)
        assert (c.config["oversampling"], c.config["train_at"]) == (3.0, 0)
        assert c.train_quantizer() is False, "nothing to train on yet"
        c.upsert(np.arange(500, dtype=np.uint64), base)
        assert not c.quantizer_trained, "train_at=0: only on demand"
        assert c.train_quantizer() is True
        assert c.quantizer_trained
        approx = c.query(q, limit=10, rerank=False, with_payload=False)
        exact = dict(zip(*brute_force(base, q, 500, "cosine")))
        assert len(approx) == 10
        assert any(abs(h["score"] - exact[h["id"]]) > 1e-6 for h in approx), (
            "rerank=False returns the codes' estimates"
        )
        for h in c.search(q, k=10, rerank=True, oversampling=4):
            assert h["score"] == pytest.approx(exact[h["id"]], abs=1e-4)
        ids, scores = c.search_batch(np.stack([q, q]), k=5, oversampling=2.0)
        assert ids.shape == (2, 5) and not np.isnan(scores).any()
    # Training and settings survive a reopen.
    with nearstore.Database(tmp_path / "d") as db:
        c = db.get_collection("c")
        assert c.quantizer_trained
        assert c.config["storage_mode"] == "sq8"
        assert c.config["train_at"] == 0


def test_code_settings_per_mode_are_kept(tmp_path, rng):
    base = clustered(rng, 1100)
    with nearstore.Database(tmp_path / "d") as db:
        s = db.create_collection("s", DIM, storage_mode="sq8", quantile=0.99)
        r = db.create_collection("r", DIM, storage_mode="rabitq", rabitq_bits=1)
        for c in (s, r):
            c.upsert(np.arange(1100, dtype=np.uint64), base)
            assert c.quantizer_trained
    with nearstore.Database(tmp_path / "d") as db:
        assert db.get_collection("s").config["quantile"] == 0.99
        assert db.get_collection("r").config["rabitq_bits"] == 1
        with pytest.raises(nearstore.InvalidArgument, match="quantile"):
            db.create_collection("a", 8, storage_mode="sq8", quantile=0.2)
        with pytest.raises(nearstore.InvalidArgument, match="rabitq_bits"):
            db.create_collection("a", 8, storage_mode="rabitq", rabitq_bits=2)
        with pytest.raises(nearstore.InvalidArgument, match="rabitq_bits"):
            db.create_collection("a", 8, storage_mode="sq8", rabitq_bits=1)


def test_bad_quantization_options_are_refused(db):
    with pytest.raises(nearstore.InvalidArgument, match="unknown storage_mode"):
        db.create_collection("a", 8, storage_mode="opq")
    with pytest.raises(nearstore.InvalidArgument, match="quantized storage mode"):
        db.create_collection("a", 8, oversampling=2)
    with pytest.raises(nearstore.InvalidArgument, match="oversampling"):
        db.create_collection("a", 8, storage_mode="pq", oversampling=500)
    with pytest.raises(nearstore.InvalidArgument, match="train_at"):
        db.create_collection("a", 8, storage_mode="pq", train_at=-1)
    with pytest.raises(nearstore.InvalidArgument, match="only the default vector"):
        db.create_collection("a", 8, vectors={"img": {"dim": 4, "storage_mode": "sq8"}})
    with pytest.raises(nearstore.InvalidArgument):
        db.create_collection("a", 8, metric="manhattan", storage_mode="sq8")
    assert "a" not in db
    full = db.create_collection("f", 8)
    with pytest.raises(nearstore.InvalidArgument, match="full"):
        full.train_quantizer()
    assert not full.quantizer_trained
    full.upsert([1], [[1.0] * 8])
    with pytest.raises(nearstore.InvalidArgument, match="oversampling"):
        full.search([1.0] * 8, oversampling=0.5)
    with pytest.raises(nearstore.InvalidArgument, match="rerank"):
        full.search([1.0] * 8, rerank="no")
    with pytest.raises(nearstore.InvalidArgument, match="rerank"):
        full.query(text="x", rerank=True)
    b = db.create_collection("b", 8, storage_mode="binary")
    b.upsert([1], [[1.0] * 8])
    with pytest.raises(nearstore.InvalidArgument, match="always rescores"):
        b.search([1.0] * 8, rerank=False)
    with pytest.raises(nearstore.InvalidArgument, match="always rescores"):
        b.search_batch([[1.0] * 8], rerank=False)
