"""nearstore.AgentMemory: every method of the reference's API on small embeddings, the
memories being ordinary collections, and close emptying the memory object."""

import pytest

import nearstore

DIM = 4


def e(*xs):
    return [float(x) for x in xs]


@pytest.fixture
def memory(db):
    return nearstore.AgentMemory(db, dim=DIM)


def test_the_three_memories_are_ordinary_collections(db, memory):
    names = set(db.list_collections())
    assert {"_semantic_memory", "_episodic_memory", "_procedural_memory"} <= names
    with pytest.raises(nearstore.InvalidArgument):
        memory.store(1, "wrong size", e(1, 0))


def test_semantic_store_query_delete(memory):
    memory.store(1, "the sky is blue", e(1, 0, 0, 0))
    memory.store(2, "grass is green", e(0, 1, 0, 0), importance=0.9)
    hits = memory.query(e(1, 0.1, 0, 0), k=2)
    assert [(h[0], h[2]) for h in hits] == [(1, "the sky is blue"), (2, "grass is green")]
    assert hits[0][1] > hits[1][1]
    assert memory.delete(1) is True
    assert memory.delete(1) is False
    assert [h[0] for h in memory.query(e(1, 0, 0, 0), k=5)] == [2]


def test_episodic_record_recent_older_than_recall_similar(memory):
    for i in range(5):
        memory.record(i, f"event {i}", 1_000 + i, e(1, i, 0, 0))
    memory.record(9, "no embedding", 2_000)
    assert [r[0] for r in memory.recent(limit=3)] == [9, 4, 3]
    assert [r[0] for r in memory.recent(limit=10, since=1_003)] == [9, 4]
    assert memory.older_than(1_002, limit=10) == [(0, "event 0", 1_000), (1, "event 1", 1_001)]
    similar = memory.recall_similar(e(1, 0, 0, 0), k=2)
    assert similar[0][:3] == (0, "event 0", 1_000)
    assert all(s[0] != 9 for s in memory.recall_similar(e(1, 0, 0, 0), k=10))


def test_procedural_learn_recall_reinforce_and_evict(memory):
    memory.learn(1, "make tea", ["boil", "steep"], e(1, 0, 0, 0), confidence=0.6)
    memory.learn(2, "make coffee", ["grind", "brew"], e(0.9, 0.1, 0, 0), confidence=0.2)
    found = memory.recall(e(1, 0, 0, 0), k=5, min_confidence=0.5)
    assert [p["id"] for p in found] == [1]
    assert found[0]["name"] == "make tea" and found[0]["steps"] == ["boil", "steep"]
    up = memory.reinforce(1, True)
    assert up is not None and up > 0.6
    down = memory.reinforce(1, False)
    assert down is not None and down < up
    with pytest.raises(nearstore.NotFound):
        memory.reinforce(77, True)
    assert memory.evict_below(0.3) == 1
    assert [p["id"] for p in memory.recall(e(1, 0, 0, 0), k=5)] == [1]
    memory.set_eviction_threshold(None)
    with pytest.raises(nearstore.InvalidArgument):
        memory.set_eviction_threshold(2.0)


def test_ttls_scored_recall_and_auto_expire(memory):
    memory.store(1, "old fact", e(1, 0, 0, 0), importance=0.1)
    memory.store(2, "important fact", e(0.8, 0.2, 0, 0), importance=1.0)
    memory.set_semantic_ttl(1, 3600)
    assert memory.auto_expire() == 0
    scored = memory.scored_recall("semantic", e(1, 0, 0, 0), k=2, weights=(0.0, 0.0, 1.0))
    assert [m["id"] for m in scored] == [2, 1], scored
    assert set(scored[0]) == {"id", "score", "relevance", "recency", "importance", "payload"}
    by_relevance = memory.scored_recall("semantic", e(1, 0, 0, 0), k=2, weights=(1.0, 0.0, 0.0))
    assert by_relevance[0]["id"] == 1
    with pytest.raises(nearstore.InvalidArgument):
        memory.scored_recall("procedural", e(1, 0, 0, 0))
    with pytest.raises(nearstore.InvalidArgument):
        memory.scored_recall("semantic", e(1, 0, 0, 0), half_life=0.0)
    memory.record(5, "an event", 1_000, e(0, 1, 0, 0))
    memory.set_episodic_ttl(5, 60)
    memory.learn(3, "p", ["s"], e(0, 0, 1, 0))
    memory.set_procedural_ttl(3, 60)
    with pytest.raises(nearstore.NotFound):
        memory.set_semantic_ttl(99, 10)


def test_closing_the_database_closes_the_memory(db, memory):
    memory.store(1, "x", e(1, 0, 0, 0))
    db.close()
    with pytest.raises(nearstore.Closed):
        memory.query(e(1, 0, 0, 0))
