"""Database.snapshot / Database.restore: a whole database restored to the snapshot's
state, handles following the restore, and a damaged snapshot refused untouched."""

import pytest

import nearstore


def test_restore_brings_back_the_snapshot_state(db, tmp_path):
    a = db.create_collection("a", 2, metric="euclidean")
    a.upsert([1, 2, 3], [[1.0, 0.0], [0.0, 1.0], [1.0, 1.0]], [{"n": 1}, {"n": 2}, {"n": 3}])
    db.create_collection("b", 2)
    snap = tmp_path / "snap"
    info = db.snapshot(snap)
    assert set(info["collections"]) == {"a", "b"}
    assert info["files"] > 0 and info["bytes"] > 0

    a.delete([1, 2])
    a.upsert([9], [[5.0, 5.0]])
    db.drop_collection("b")
    db.create_collection("c", 3)
    assert len(a) == 2

    restored = db.restore(snap)
    assert set(restored["collections"]) == {"a", "b"}
    assert sorted(db.list_collections()) == ["a", "b"]
    # The old handle follows the restore.
    assert len(a) == 3
    assert a.get([9]) == [None]
    assert db.get_collection("a").get([2])[0]["payload"] == {"n": 2}


def test_a_damaged_snapshot_is_refused_and_nothing_changes(db, tmp_path):
    a = db.create_collection("a", 2)
    a.upsert([1, 2], [[1.0, 0.0], [0.0, 1.0]])
    snap = tmp_path / "snap"
    db.snapshot(snap)
    a.delete([1])
    files = sorted(p for p in snap.rglob("*") if p.is_file() and p.name != "SNAPSHOT" and p.stat().st_size > 0)
    victim = files[0]
    data = bytearray(victim.read_bytes())
    data[0] ^= 0xFF
    victim.write_bytes(bytes(data))
    with pytest.raises(nearstore.Corruption) as caught:
        db.restore(snap)
    assert victim.name in str(caught.value)
    assert len(a) == 1
    with pytest.raises(nearstore.InvalidArgument):
        db.snapshot(snap)  # a directory that holds a snapshot already
