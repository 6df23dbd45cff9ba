"""Streaming ingest from Python: enable, stream one point or a batch, a full queue raising
Overloaded (deterministically: a tiny queue with the drain paused), visibility after the
drain, and the settings and arguments checked."""

import numpy as np
import pytest

import nearstore


@pytest.fixture
def coll(db):
    return db.create_collection("s", 3, metric="euclidean")


def test_streamed_points_are_visible_once_applied(coll):
    assert coll.streaming_status() is None
    with pytest.raises(nearstore.Conflict):
        coll.stream_insert(1, [1.0, 0.0, 0.0])
    coll.enable_streaming(buffer_size=100, batch_size=10, flush_interval=60.0)
    coll.set_streaming_paused(True)
    coll.stream_insert(1, [1.0, 0.0, 0.0], {"kind": "one"})
    coll.stream_insert_batch(
        np.array([2, 3], dtype=np.uint64),
        np.array([[0.0, 1.0, 0.0], [0.0, 0.0, 1.0]], dtype=np.float32),
        [{"kind": "two"}, None],
        ttl=3600,
    )
    status = coll.streaming_status()
    assert status == {
        "queued": 3,
        "buffer_size": 100,
        "batch_size": 10,
        "flush_interval": 60.0,
        "paused": True,
    }
    assert len(coll) == 0, "queued points are not visible before they are applied"
    coll.flush()
    assert len(coll) == 3
    hits = coll.search([1.0, 0.0, 0.0], k=1)
    assert hits[0]["id"] == 1 and hits[0]["payload"] == {"kind": "one"}
    assert coll.expires_at(2) is not None and coll.expires_at(1) is None
    coll.disable_streaming()
    assert coll.streaming_status() is None
    with pytest.raises(nearstore.Conflict):
        coll.stream_insert(9, [1.0, 0.0, 0.0])


def test_a_full_queue_raises_overloaded_and_writes_nothing(coll):
    coll.enable_streaming(buffer_size=2, batch_size=1, flush_interval=1.5)
    coll.set_streaming_paused(True)
    coll.stream_insert_batch([1, 2], [[1.0, 0.0, 0.0], [0.0, 1.0, 0.0]])
    with pytest.raises(nearstore.Overloaded) as caught:
        coll.stream_insert(3, [0.0, 0.0, 1.0])
    assert caught.value.retry_after == pytest.approx(1.5)
    assert isinstance(caught.value, nearstore.Error)
    assert caught.value.kind == "Overloaded"
    assert "streaming queue" in str(caught.value)
    assert coll.streaming_status()["queued"] == 2
    # A batch that can never fit is a plain argument error.
    with pytest.raises(nearstore.InvalidArgument):
        coll.stream_insert_batch([4, 5, 6], np.zeros((3, 3), dtype=np.float32))
    # Resuming drains the queue in the background; flush waits for nothing more.
    coll.set_streaming_paused(False)
    coll.flush()
    assert len(coll) == 2
    assert coll.get([3]) == [None]
    coll.stream_insert(3, [0.0, 0.0, 1.0])
    coll.flush()
    assert len(coll) == 3


def test_settings_and_points_are_checked(coll):
    with pytest.raises(nearstore.InvalidArgument):
        coll.enable_streaming(buffer_size=0)
    with pytest.raises(nearstore.InvalidArgument):
        coll.enable_streaming(flush_interval=0.0)
    with pytest.raises(nearstore.InvalidArgument):
        coll.enable_streaming(flush_interval=float("nan"))
    with pytest.raises(TypeError):
        coll.enable_streaming(buffer=3)
    coll.enable_streaming()
    status = coll.streaming_status()
    assert (status["buffer_size"], status["batch_size"]) == (10_000, 1_000)
    assert status["flush_interval"] == pytest.approx(0.05)
    coll.set_streaming_paused(True)
    with pytest.raises(nearstore.InvalidArgument):
        coll.stream_insert(1, [1.0, 0.0])
    with pytest.raises(nearstore.InvalidArgument):
        coll.stream_insert(1, [1.0, float("nan"), 0.0])
    with pytest.raises(nearstore.InvalidArgument):
        coll.stream_insert(1, [1.0, 0.0, 0.0], ttl=5, expires_at=1)
    with pytest.raises(nearstore.InvalidArgument):
        coll.stream_insert_batch([1, 2], [[1.0, 0.0, 0.0]])
    assert coll.streaming_status()["queued"] == 0
