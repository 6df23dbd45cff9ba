"""Python threads against one database: writes and reads at once, and close under load.

The engine releases the GIL during every call, so these threads really run engine code in
parallel; the assertions are about results (nothing lost, nothing torn, no deadlock), not
about timing.
"""

import threading

import numpy as np
import pytest

import nearstore

DIM = 16
WRITERS = 4
PER_WRITER = 250
BATCH = 25


def run_threads(targets):
    errors = []

    def wrap(fn):
        def run():
            try:
                fn()
            except BaseException as e:  # noqa: BLE001 - reported below
                errors.append(e)
        return run

    threads = [threading.Thread(target=wrap(t)) for t in targets]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return errors


def test_concurrent_writers_and_readers(db):
    c = db.create_collection("c", DIM, metric="euclidean")
    seed = np.random.default_rng(1)
    extra = list(range(10**6, 10**6 + 10))
    c.upsert(extra, seed.standard_normal((10, DIM)).astype(np.float32))
    done = threading.Event()
    searches = []

    def writer(w):
        def run():
            rng = np.random.default_rng(100 + w)
            for start in range(0, PER_WRITER, BATCH):
                ids = np.arange(w * PER_WRITER + start, w * PER_WRITER + start + BATCH)
                vectors = rng.standard_normal((BATCH, DIM)).astype(np.float32)
                vectors[:, 0] = ids  # each point's first coordinate is its id
                c.upsert(ids, vectors, [{"writer": w, "id": int(i)} for i in ids])
        return run

    def reader():
        rng = np.random.default_rng(7)
        while not done.is_set():
            q = rng.standard_normal(DIM).astype(np.float32)
            hits = c.search(q, 5)
            for h in hits:
                if h["id"] not in extra:
                    assert h["payload"]["id"] == h["id"], "payload and id belong together"
            ids, scores = c.search_batch(rng.standard_normal((4, DIM)).astype(np.float32), 3)
            assert not np.isnan(scores).any(), "3 results whenever 10 or more points exist"
            assert c.count() >= 10
            searches.append(len(hits))

    writers = [writer(w) for w in range(WRITERS)]
    readers_errors = []
    readers = [threading.Thread(target=lambda: readers_errors.extend(run_threads([reader])))
               for _ in range(2)]
    for r in readers:
        r.start()
    errors = run_threads(writers)
    done.set()
    for r in readers:
        r.join()
    assert errors == [] and readers_errors == []
    assert searches, "the readers ran"
    assert c.count() == WRITERS * PER_WRITER + len(extra)
    points = c.get(list(range(WRITERS * PER_WRITER)))
    for i, p in enumerate(points):
        assert p is not None and p["payload"] == {"writer": i // PER_WRITER, "id": i}
        assert p["vector"][0] == i
    # Every point is findable by its own vector.
    for i in [0, 333, 999]:
        assert c.search(points[i]["vector"], 1)[0]["id"] == i


def test_many_threads_on_many_collections(db):
    names = [f"c{i}" for i in range(4)]
    for n in names:
        db.create_collection(n, 4)

    def work(name):
        def run():
            c = db.get_collection(name)
            for i in range(50):
                c.upsert([i], [[1.0, float(i), 0.0, 1.0]], [{"name": name}])
                assert c.get(i)["payload"] == {"name": name}
        return run

    assert run_threads([work(n) for n in names]) == []
    assert [db.get_collection(n).count() for n in names] == [50] * 4


def test_close_while_threads_search(tmp_path):
    db = nearstore.Database(tmp_path / "d")
    c = db.create_collection("c", DIM)
    c.upsert(np.arange(500), np.random.default_rng(3).standard_normal((500, DIM)).astype(np.float32))
    started = threading.Barrier(4)
    outcomes = []

    def searcher():
        q = np.ones(DIM, np.float32)
        started.wait()
        while True:
            try:
                assert len(c.search(q, 10)) == 10
            except nearstore.Closed:
                outcomes.append("closed")
                return

    threads = [threading.Thread(target=searcher) for _ in range(3)]
    for t in threads:
        t.start()
    started.wait()
    db.close()
    for t in threads:
        t.join()
    assert outcomes == ["closed"] * 3
    # Closed means released: the directory opens again with everything in it.
    with nearstore.Database(tmp_path / "d") as again:
        assert again.get_collection("c").count() == 500


def test_concurrent_execute(db):
    db.execute("CREATE COLLECTION docs (dimension = 2, metric = 'euclidean')")
    db.execute("INSERT INTO docs (id, vector, n) VALUES (1, [0, 0], 1), (2, [1, 1], 2)")

    def query():
        for _ in range(50):
            rows = db.execute("SELECT SUM(n) AS total FROM docs")
            assert rows == [{"total": 3}]

    assert run_threads([query] * 4) == []


@pytest.mark.parametrize("n_threads", [8])
def test_concurrent_create_of_one_name(db, n_threads):
    results = []
    lock = threading.Lock()

    def create():
        try:
            db.create_collection("same", 3)
            outcome = "created"
        except nearstore.AlreadyExists:
            outcome = "exists"
        with lock:
            results.append(outcome)

    assert run_threads([create] * n_threads) == []
    assert sorted(results) == ["created"] + ["exists"] * (n_threads - 1)


def test_text_searches_run_while_writers_write(db):
    """Text searches from several threads while writers add documents: every hit holds the
    word, and once the writers are done the search finds exactly the documents written."""
    c = db.create_collection("t", 2)
    done = threading.Event()
    seen = []

    def writer(w):
        def run():
            for start in range(0, PER_WRITER, BATCH):
                ids = list(range(w * PER_WRITER + start, w * PER_WRITER + start + BATCH))
                words = [f"word{w} common id{i}" for i in ids]
                c.upsert(ids, np.ones((BATCH, 2), np.float32), [{"text": t} for t in words])
        return run

    def reader(w):
        def run():
            while not done.is_set():
                hits = c.text_search(f"word{w}", top_k=20)
                assert all(f"word{w}" in h["payload"]["text"] for h in hits)
                seen.append(len(hits))
        return run

    writers = [writer(w) for w in range(WRITERS)]
    readers = [reader(w) for w in range(2)]

    def writers_then_stop():
        try:
            assert run_threads(writers) == []
        finally:
            done.set()

    assert run_threads([writers_then_stop, *readers]) == []
    assert seen
    for w in range(WRITERS):
        hits = c.text_search(f"word{w}", top_k=PER_WRITER + 10)
        assert sorted(h["id"] for h in hits) == list(range(w * PER_WRITER, (w + 1) * PER_WRITER))
    assert len(c.text_search("common", top_k=WRITERS * PER_WRITER)) == WRITERS * PER_WRITER
