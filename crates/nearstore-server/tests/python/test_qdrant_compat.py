"""The unmodified qdrant-client and langchain-qdrant against a NearStore server.

The server URL comes from NEARSTORE_URL (default http://127.0.0.1:6333). Run through run.sh.
"""

import os
import random
import uuid

import pytest
from qdrant_client import QdrantClient, models
from qdrant_client.http.exceptions import UnexpectedResponse

URL = os.environ.get("NEARSTORE_URL", "http://127.0.0.1:6333")
DIM = 8


@pytest.fixture(scope="module")
def client():
    c = QdrantClient(url=URL, timeout=30, check_compatibility=False)
    yield c
    c.close()


def vec(i):
    """A deterministic unit-ish vector."""
    v = [((i * 7 + j * 3) % 11) / 10.0 + 0.01 for j in range(DIM)]
    return v


def test_collection_lifecycle(client):
    name = "py_lifecycle"
    if client.collection_exists(name):
        client.delete_collection(name)
    client.create_collection(name, vectors_config=models.VectorParams(size=DIM, distance=models.Distance.COSINE))
    assert client.collection_exists(name)
    assert name in [c.name for c in client.get_collections().collections]
    info = client.get_collection(name)
    assert info.config.params.vectors.size == DIM
    assert info.config.params.vectors.distance == models.Distance.COSINE
    assert info.points_count == 0
    assert client.delete_collection(name)
    assert not client.collection_exists(name)


def test_points_roundtrip(client):
    name = "py_points"
    if client.collection_exists(name):
        client.delete_collection(name)
    client.create_collection(name, vectors_config=models.VectorParams(size=DIM, distance=models.Distance.COSINE))
    u1, u2 = str(uuid.uuid4()), uuid.uuid4().hex
    points = [
        models.PointStruct(id=1, vector=vec(1), payload={"city": "Berlin", "n": 1, "metadata": {"lang": "de"}}),
        models.PointStruct(id=2, vector=vec(2), payload={"city": "Paris", "n": 2, "metadata": {"lang": "fr"}}),
        models.PointStruct(id=u1, vector=vec(3), payload={"city": "Rome", "n": 3, "metadata": {"lang": "it"}}),
        models.PointStruct(id=u2, vector=vec(4), payload={"city": "Berlin", "n": 4, "metadata": {"lang": "de"}}),
    ]
    result = client.upsert(name, points=points, wait=True)
    assert result.status == models.UpdateStatus.COMPLETED
    client.upsert(
        name,
        points=models.Batch(ids=[5, 6], vectors=[vec(5), vec(6)], payloads=[{"city": "Oslo", "n": 5}, {"city": "Oslo", "n": 6}]),
    )
    client.create_payload_index(name, field_name="city", field_schema=models.PayloadSchemaType.KEYWORD)
    client.create_payload_index(name, field_name="n", field_schema=models.PayloadSchemaType.INTEGER)
    info = client.get_collection(name)
    assert info.points_count == 6
    assert set(info.payload_schema) == {"city", "n"}

    # query without filter: the point itself comes first
    hits = client.query_points(name, query=vec(3), limit=3, with_payload=True).points
    assert hits[0].id == u1
    assert hits[0].payload["city"] == "Rome"
    assert len(hits) == 3

    # query with filters
    berlin = models.Filter(must=[models.FieldCondition(key="city", match=models.MatchValue(value="Berlin"))])
    hits = client.query_points(name, query=vec(1), query_filter=berlin, limit=10).points
    assert sorted(str(h.id) for h in hits) == sorted(["1", u2])
    nested = models.Filter(must=[models.FieldCondition(key="metadata.lang", match=models.MatchAny(any=["fr", "it"]))])
    hits = client.query_points(name, query=vec(1), query_filter=nested, limit=10).points
    assert sorted(str(h.id) for h in hits) == sorted(["2", u1])
    ranged = models.Filter(
        must=[models.FieldCondition(key="n", range=models.Range(gte=2, lt=5))],
        must_not=[models.FieldCondition(key="city", match=models.MatchValue(value="Rome"))],
    )
    hits = client.query_points(name, query=vec(1), query_filter=ranged, limit=10).points
    assert sorted(str(h.id) for h in hits) == sorted(["2", u2])

    # scroll through everything in pages
    seen, offset = [], None
    while True:
        records, offset = client.scroll(name, limit=4, offset=offset, with_payload=True)
        seen.extend(r.id for r in records)
        if offset is None:
            break
    assert len(seen) == 6 and u1 in seen and u2 in seen and 1 in seen

    # retrieve keeps each id's form
    got = client.retrieve(name, ids=[u2, 1, u1], with_vectors=True)
    assert sorted(str(r.id) for r in got) == sorted([u2, "1", u1])
    assert all(len(r.vector) == DIM for r in got)
    assert all("__nearstore_uuid" not in r.payload for r in got)

    # count
    assert client.count(name, exact=True).count == 6
    assert client.count(name, count_filter=berlin, exact=True).count == 2

    # delete by id and by filter
    client.delete(name, points_selector=models.PointIdsList(points=[1, u1]), wait=True)
    assert client.count(name).count == 4
    client.delete(
        name,
        points_selector=models.FilterSelector(
            filter=models.Filter(must=[models.FieldCondition(key="city", match=models.MatchValue(value="Oslo"))])
        ),
    )
    assert client.count(name).count == 2
    assert sorted(str(r.id) for r in client.scroll(name, limit=10)[0]) == sorted(["2", u2])

    # a vector name the collection lacks answers 400 naming it
    with pytest.raises(Exception) as err:
        client.query_points(name, query=vec(1), using="image")
    assert "no vector named" in str(err.value) and "image" in str(err.value)
    client.delete_collection(name)


def test_batch_update_patch_and_dotted_payload(client):
    name = "py_ops"
    if client.collection_exists(name):
        client.delete_collection(name)
    client.create_collection(name, vectors_config=models.VectorParams(size=DIM, distance=models.Distance.EUCLID))

    # points/batch: operations applied in order
    client.batch_update_points(
        name,
        update_operations=[
            models.UpsertOperation(
                upsert=models.PointsList(
                    points=[
                        models.PointStruct(id=i, vector=vec(i), payload={"meta": {"a": i, "b": -i}, "n": i})
                        for i in range(1, 9)
                    ]
                )
            ),
            models.DeleteOperation(delete=models.PointIdsList(points=[8])),
        ],
    )
    assert client.count(name, exact=True).count == 7

    # with_payload include/exclude with dotted paths
    got = client.retrieve(name, ids=[2], with_payload=models.PayloadSelectorInclude(include=["meta.a"]))
    assert got[0].payload == {"meta": {"a": 2}}
    got = client.retrieve(name, ids=[2], with_payload=models.PayloadSelectorExclude(exclude=["meta.b", "n"]))
    assert got[0].payload == {"meta": {"a": 2}}

    # (recommend: qdrant-client 1.20 has no recommend call; its RecommendQuery through
    # query_points is in test_recommend_ordered_scroll_and_groups)

    # PATCH: unchanged parameters are accepted, a change the engine cannot make is a 400
    m = client.get_collection(name).config.hnsw_config.m
    assert client.update_collection(name, hnsw_config=models.HnswConfigDiff(m=m))
    with pytest.raises(Exception) as err:
        client.update_collection(name, optimizers_config=models.OptimizersConfigDiff(indexing_threshold=0))
    assert "not supported" in str(err.value)
    with pytest.raises(UnexpectedResponse) as err:
        client.update_collection(name, hnsw_config=models.HnswConfigDiff(m=m + 8))
    assert err.value.status_code == 400 and "hnsw_config.m" in str(err.value)
    with pytest.raises(UnexpectedResponse) as err:
        client.update_collection(name, metadata={"owner": "me"})
    assert err.value.status_code == 400 and "metadata" in str(err.value)
    # The graph's memory tier: pinned (held in memory) is accepted, cold is refused by name.
    assert client.update_collection(name, hnsw_config=models.HnswConfigDiff(memory=models.Memory.PINNED))
    with pytest.raises(UnexpectedResponse) as err:
        client.update_collection(name, hnsw_config=models.HnswConfigDiff(memory=models.Memory.COLD))
    assert err.value.status_code == 400 and "hnsw_config.memory" in str(err.value)
    assert client.get_collection(name).config.hnsw_config.m == m
    assert client.count(name, exact=True).count == 7
    client.delete_collection(name)


def test_langchain_vector_store():
    from langchain_core.documents import Document
    from langchain_core.embeddings import Embeddings
    from langchain_qdrant import QdrantVectorStore

    class FakeEmbeddings(Embeddings):
        """Deterministic bag-of-letters embeddings."""

        def _embed(self, text):
            v = [0.0] * 16
            for ch in text.lower():
                if ch.isalpha():
                    v[(ord(ch) - ord("a")) % 16] += 1.0
            v[15] += 0.5
            return v

        def embed_documents(self, texts):
            return [self._embed(t) for t in texts]

        def embed_query(self, text):
            return self._embed(text)

    texts = ["apples and pears", "bananas are yellow", "cherries are red", "apple pie recipe"]
    metadatas = [{"kind": "fruit", "n": 1}, {"kind": "fruit", "n": 2}, {"kind": "fruit", "n": 3}, {"kind": "food", "n": 4}]
    store = QdrantVectorStore.from_texts(
        texts,
        FakeEmbeddings(),
        metadatas=metadatas,
        url=URL,
        collection_name="py_langchain",
        force_recreate=True,
    )
    docs = store.similarity_search("apple pie", k=2)
    assert len(docs) == 2
    assert docs[0].page_content == "apple pie recipe"
    assert isinstance(docs[0], Document)

    only_fruit = store.similarity_search(
        "apple pie",
        k=4,
        filter=models.Filter(must=[models.FieldCondition(key="metadata.kind", match=models.MatchValue(value="fruit"))]),
    )
    assert [d.metadata["kind"] for d in only_fruit] == ["fruit"] * 3
    assert "apple pie recipe" not in [d.page_content for d in only_fruit]

    scored = store.similarity_search_with_score("bananas", k=1)
    assert scored[0][0].page_content == "bananas are yellow"

    ids = store.add_texts(["durian smells"], metadatas=[{"kind": "fruit", "n": 5}])
    assert len(ids) == 1
    assert store.similarity_search("durian smells", k=1)[0].page_content == "durian smells"
    got = store.get_by_ids(ids)
    assert [d.page_content for d in got] == ["durian smells"]
    assert store.delete(ids)
    assert all(d.page_content != "durian smells" for d in store.similarity_search("durian smells", k=5))
    assert store.client.count("py_langchain").count == 4


TEXTS = [
    "The quick brown fox jumps over the lazy dog",
    "A quick brown dog runs in the park",
    "Lazy afternoons in the park with a good book",
    "Foxes are quick and clever animals",
    "The dog sleeps all day long",
    "Brown bears and brown foxes live in the forest",
]


def test_full_text_index_and_match_text(client):
    name = "py_text"
    if client.collection_exists(name):
        client.delete_collection(name)
    client.create_collection(name, vectors_config=models.VectorParams(size=DIM, distance=models.Distance.COSINE))
    client.upsert(
        name,
        points=[models.PointStruct(id=i + 1, vector=vec(i + 1), payload={"body": t}) for i, t in enumerate(TEXTS)],
        wait=True,
    )
    client.create_payload_index(
        name,
        field_name="body",
        field_schema=models.TextIndexParams(
            type="text",
            tokenizer=models.TokenizerType.WORD,
            lowercase=True,
            min_token_len=2,
            max_token_len=20,
        ),
        wait=True,
    )
    schema = client.get_collection(name).payload_schema["body"]
    assert schema.data_type == models.PayloadSchemaType.TEXT
    assert schema.points == len(TEXTS)

    def cond(match):
        return models.Filter(must=[models.FieldCondition(key="body", match=match)])

    quick_fox = cond(models.MatchText(text="QUICK fox"))
    dog = cond(models.MatchText(text="dog"))
    # Search: every word present (any case), among the vector hits.
    hits = client.query_points(name, query=vec(1), query_filter=dog, limit=10).points
    assert sorted(h.id for h in hits) == [1, 2, 5]
    hits = client.query_points(name, query=vec(1), query_filter=quick_fox, limit=10).points
    assert [h.id for h in hits] == [1]
    # Scroll and count agree.
    records, _ = client.scroll(name, scroll_filter=dog, limit=10)
    assert sorted(r.id for r in records) == [1, 2, 5]
    assert client.count(name, count_filter=dog, exact=True).count == 3
    park_not_lazy = models.Filter(
        must=[models.FieldCondition(key="body", match=models.MatchText(text="park"))],
        must_not=[models.FieldCondition(key="body", match=models.MatchText(text="lazy"))],
    )
    assert client.count(name, count_filter=park_not_lazy, exact=True).count == 1
    if hasattr(models, "MatchPhrase"):
        phrase = cond(models.MatchPhrase(phrase="quick brown"))
        records, _ = client.scroll(name, scroll_filter=phrase, limit=10)
        assert sorted(r.id for r in records) == [1, 2]
        assert client.count(name, count_filter=cond(models.MatchPhrase(phrase="brown quick")), exact=True).count == 0

    # An option NearStore does not support is refused, not ignored.
    with pytest.raises(Exception, match="not supported"):
        client.create_payload_index(
            name,
            field_name="other",
            field_schema=models.TextIndexParams(type="text", tokenizer=models.TokenizerType.PREFIX),
            wait=True,
        )
    client.delete_payload_index(name, "body", wait=True)
    assert "body" not in client.get_collection(name).payload_schema
    client.delete_collection(name)


def test_payload_operations(client):
    name = "py_payload"
    if client.collection_exists(name):
        client.delete_collection(name)
    client.create_collection(name, vectors_config=models.VectorParams(size=DIM, distance=models.Distance.COSINE))
    u1 = str(uuid.uuid4())
    client.upsert(
        name,
        points=[
            models.PointStruct(id=1, vector=vec(1), payload={"a": 1, "m": {"n": 1, "o": 2}}),
            models.PointStruct(id=2, vector=vec(2), payload={"a": 2}),
            models.PointStruct(id=u1, vector=vec(3), payload={"a": 1}),
        ],
        wait=True,
    )

    def payloads():
        got = client.retrieve(name, ids=[1, 2, u1], with_payload=True)
        assert [p.id for p in got] == [1, 2, u1]
        return [p.payload for p in got]

    r = client.set_payload(name, payload={"b": True}, points=[1, u1], wait=True)
    assert r.status == models.UpdateStatus.COMPLETED
    assert payloads() == [{"a": 1, "m": {"n": 1, "o": 2}, "b": True}, {"a": 2}, {"a": 1, "b": True}]

    client.set_payload(name, payload={"k": 5}, points=[1], key="m", wait=True)
    assert payloads()[0]["m"] == {"n": 1, "o": 2, "k": 5}

    a1 = models.Filter(must=[models.FieldCondition(key="a", match=models.MatchValue(value=1))])
    client.delete_payload(name, keys=["b", "m.n"], points=a1, wait=True)
    assert payloads() == [{"a": 1, "m": {"o": 2, "k": 5}}, {"a": 2}, {"a": 1}]

    client.overwrite_payload(name, payload={"z": "new"}, points=[2, u1], wait=True)
    assert payloads() == [{"a": 1, "m": {"o": 2, "k": 5}}, {"z": "new"}, {"z": "new"}]
    z = models.Filter(must=[models.FieldCondition(key="z", match=models.MatchValue(value="new"))])
    hits, _ = client.scroll(name, scroll_filter=z, limit=10)
    assert sorted(str(p.id) for p in hits) == sorted(["2", u1])

    client.clear_payload(name, points_selector=models.PointIdsList(points=[1]), wait=True)
    client.clear_payload(name, points_selector=models.FilterSelector(filter=z), wait=True)
    assert payloads() == [{}, {}, {}]

    client.batch_update_points(
        name,
        update_operations=[
            models.SetPayloadOperation(set_payload=models.SetPayload(payload={"s": 1}, points=[1, 2])),
            models.DeletePayloadOperation(delete_payload=models.DeletePayload(keys=["s"], points=[2])),
        ],
        wait=True,
    )
    assert payloads() == [{"s": 1}, {}, {}]
    client.delete_collection(name)


def test_prefetch_with_rrf_and_dbsf(client):
    """qdrant-client's hybrid query shape over dense legs: prefetch + fusion, one engine request."""
    name = "py_fusion"
    if client.collection_exists(name):
        client.delete_collection(name)
    client.create_collection(name, vectors_config=models.VectorParams(size=DIM, distance=models.Distance.DOT))
    client.upsert(
        name,
        points=[models.PointStruct(id=i, vector=vec(i), payload={"even": i % 2 == 0}) for i in range(20)],
        wait=True,
    )
    even = models.Filter(must=[models.FieldCondition(key="even", match=models.MatchValue(value=True))])
    for fusion in (models.Fusion.RRF, models.Fusion.DBSF):
        res = client.query_points(
            name,
            prefetch=[
                models.Prefetch(query=vec(3), limit=5, filter=even),
                models.Prefetch(query=vec(8), limit=5, filter=even),
            ],
            query=models.FusionQuery(fusion=fusion),
            limit=6,
            with_payload=True,
        ).points
        assert 1 <= len(res) <= 6
        assert all(p.payload["even"] for p in res)
        scores = [p.score for p in res]
        assert scores == sorted(scores, reverse=True)
        # Each prefetch alone: the fused list holds only their points.
        legs = set()
        for q in (vec(3), vec(8)):
            alone = client.query_points(name, query=q, limit=5, query_filter=even).points
            legs.update(p.id for p in alone)
        assert {p.id for p in res} <= legs
    # RRF: a point ranked first by both legs scores 2 / (60 + 1).
    res = client.query_points(
        name,
        prefetch=[models.Prefetch(query=vec(3), limit=3), models.Prefetch(query=vec(3), limit=3)],
        query=models.FusionQuery(fusion=models.Fusion.RRF),
        limit=1,
    ).points
    assert abs(res[0].score - 2 / 61) < 1e-6
    client.delete_collection(name)


def test_prefetches_with_different_filters_fused_by_rrf(client):
    """Two prefetches, each with its own filter, fused by RRF: each leg searches under its
    own filter and the top-level one; the fused scores are RRF over each leg's own list."""
    name = "py_prefetch_filters"
    if client.collection_exists(name):
        client.delete_collection(name)
    client.create_collection(name, vectors_config=models.VectorParams(size=DIM, distance=models.Distance.DOT))
    client.upsert(
        name,
        points=[models.PointStruct(id=i, vector=vec(i), payload={"even": i % 2 == 0}) for i in range(20)],
        wait=True,
    )

    def parity(value):
        return models.Filter(must=[models.FieldCondition(key="even", match=models.MatchValue(value=value))])

    outer = models.Filter(must_not=[models.HasIdCondition(has_id=[0, 1, 2, 3])])
    legs = [(vec(3), parity(True)), (vec(8), parity(False))]
    res = client.query_points(
        name,
        prefetch=[models.Prefetch(query=q, using=None, filter=f, limit=4) for q, f in legs],
        query=models.FusionQuery(fusion=models.Fusion.RRF),
        query_filter=outer,
        limit=20,
    ).points
    # The oracle: RRF (k = 60, rank from 1) over each leg's own top 4, each computed alone
    # under its filter and the top-level one.
    expected = {}
    for q, f in legs:
        both = models.Filter(must=[f, outer])
        alone = client.query_points(name, query=q, query_filter=both, limit=4).points
        assert len(alone) == 4
        for rank, p in enumerate(alone):
            expected[p.id] = expected.get(p.id, 0.0) + 1.0 / (60 + rank + 1)
    assert {p.id for p in res} == set(expected)
    for p in res:
        assert p.id not in (0, 1, 2, 3)
        assert abs(p.score - expected[p.id]) < 1e-6
    scores = [p.score for p in res]
    assert scores == sorted(scores, reverse=True)
    # Both parities are there: neither leg's filter leaked into the other leg.
    assert {p.id % 2 for p in res} == {0, 1}
    client.delete_collection(name)


def word_sparse(text):
    """A tiny term-count sparse embedding: one dimension per word (a stable hash)."""
    counts = {}
    for w in text.lower().split():
        w = "".join(ch for ch in w if ch.isalpha())
        if w:
            dim = sum((i + 1) * ord(ch) for i, ch in enumerate(w)) % 100_000
            counts[dim] = counts.get(dim, 0.0) + 1.0
    dims = sorted(counts)
    return dims, [counts[d] for d in dims]


def test_sparse_vectors_and_hybrid_prefetch(client):
    name = "py_sparse"
    if client.collection_exists(name):
        client.delete_collection(name)
    client.create_collection(
        name,
        vectors_config=models.VectorParams(size=DIM, distance=models.Distance.DOT),
        sparse_vectors_config={"words": models.SparseVectorParams(modifier=models.Modifier.IDF)},
    )
    info = client.get_collection(name)
    assert info.config.params.sparse_vectors["words"].modifier == models.Modifier.IDF
    points = []
    for i, text in enumerate(TEXTS):
        dims, weights = word_sparse(text)
        points.append(
            models.PointStruct(
                id=i,
                vector={"": vec(i), "words": models.SparseVector(indices=dims, values=weights)},
                payload={"text": text},
            )
        )
    client.upsert(name, points=points, wait=True)
    got = client.retrieve(name, ids=[1], with_vectors=True)[0]
    dims, weights = word_sparse(TEXTS[1])
    assert got.vector["words"].indices == dims
    assert got.vector["words"].values == weights

    # Sparse alone: the documents that share words with the query, best first.
    dims, weights = word_sparse("lazy dog")
    q = models.SparseVector(indices=dims, values=weights)
    res = client.query_points(name, query=q, using="words", limit=10, with_payload=True).points
    found = [p.payload["text"] for p in res]
    assert found and all(("lazy" in t.lower()) or ("dog" in t.lower()) for t in found)
    assert set(found) == {t for t in TEXTS if "lazy" in t.lower() or "dog" in t.lower()}
    assert [p.score for p in res] == sorted((p.score for p in res), reverse=True)

    # Dense + sparse, fused: every hit comes from one of the two prefetches.
    for fusion in (models.Fusion.RRF, models.Fusion.DBSF):
        res = client.query_points(
            name,
            prefetch=[
                models.Prefetch(query=vec(2), limit=3),
                models.Prefetch(query=q, using="words", limit=3),
            ],
            query=models.FusionQuery(fusion=fusion),
            limit=5,
        ).points
        dense = {p.id for p in client.query_points(name, query=vec(2), limit=3).points}
        sparse = {p.id for p in client.query_points(name, query=q, using="words", limit=3).points}
        assert res and {p.id for p in res} <= dense | sparse
        assert [p.score for p in res] == sorted((p.score for p in res), reverse=True)
    client.delete_collection(name)


def test_langchain_hybrid_retrieval():
    from langchain_core.embeddings import Embeddings
    from langchain_qdrant import QdrantVectorStore, RetrievalMode, SparseEmbeddings, SparseVector

    class LetterEmbeddings(Embeddings):
        def _embed(self, text):
            v = [0.0] * 16
            for ch in text.lower():
                if ch.isalpha():
                    v[(ord(ch) - ord("a")) % 16] += 1.0
            v[15] += 0.5
            return v

        def embed_documents(self, texts):
            return [self._embed(t) for t in texts]

        def embed_query(self, text):
            return self._embed(text)

    class WordSparse(SparseEmbeddings):
        """The test's own sparse embedding: word counts (no model is downloaded)."""

        def embed_documents(self, texts):
            return [SparseVector(indices=d, values=w) for d, w in map(word_sparse, texts)]

        def embed_query(self, text):
            d, w = word_sparse(text)
            return SparseVector(indices=d, values=w)

    store = QdrantVectorStore.from_texts(
        TEXTS,
        embedding=LetterEmbeddings(),
        sparse_embedding=WordSparse(),
        retrieval_mode=RetrievalMode.HYBRID,
        url=URL,
        collection_name="py_langchain_hybrid",
        force_recreate=True,
        metadatas=[{"n": i} for i in range(len(TEXTS))],
    )
    docs = store.similarity_search("clever foxes", k=3)
    assert 1 <= len(docs) <= 3
    assert "Foxes are quick and clever animals" in [d.page_content for d in docs]
    filtered = store.similarity_search(
        "quick dog",
        k=3,
        filter=models.Filter(must=[models.FieldCondition(key="metadata.n", range=models.Range(gte=3))]),
    )
    assert filtered and all(d.metadata["n"] >= 3 for d in filtered)
    # Reopening the collection validates its dense and sparse configuration.
    again = QdrantVectorStore.from_existing_collection(
        collection_name="py_langchain_hybrid",
        embedding=LetterEmbeddings(),
        sparse_embedding=WordSparse(),
        retrieval_mode=RetrievalMode.HYBRID,
        url=URL,
    )
    assert again.similarity_search("brown bears", k=1)[0].page_content.startswith("Brown bears")


def test_named_dense_vectors(client):
    name = "py_named"
    if client.collection_exists(name):
        client.delete_collection(name)
    client.create_collection(
        name,
        vectors_config={
            "": models.VectorParams(size=DIM, distance=models.Distance.COSINE),
            "image": models.VectorParams(size=3, distance=models.Distance.EUCLID),
        },
    )
    info = client.get_collection(name)
    assert info.config.params.vectors["image"].size == 3
    client.upsert(
        name,
        points=[
            models.PointStruct(id=1, vector={"": vec(1), "image": [0.0, 0.0, 0.0]}),
            models.PointStruct(id=2, vector={"": vec(2), "image": [1.0, 1.0, 1.0]}),
            models.PointStruct(id=3, vector=vec(3)),
        ],
        wait=True,
    )
    res = client.query_points(name, query=[0.9, 0.9, 0.9], using="image", limit=5, with_vectors=["image"]).points
    assert [p.id for p in res] == [2, 1]
    assert res[0].vector["image"] == [1.0, 1.0, 1.0]
    res = client.query_points(
        name,
        prefetch=[models.Prefetch(query=vec(1), limit=3), models.Prefetch(query=[1.0, 1.0, 1.0], using="image", limit=3)],
        query=models.FusionQuery(fusion=models.Fusion.RRF),
        limit=3,
    ).points
    assert {p.id for p in res} <= {1, 2, 3}
    client.delete_collection(name)


def test_multi_stage_query_rescores_prefetched_points(client):
    """Qdrant's multi-stage query: a small vector finds candidates, a large one re-scores
    them; and a nested prefetch (hybrid fused inside, re-scored outside)."""
    name = "py_multi_stage"
    if client.collection_exists(name):
        client.delete_collection(name)
    client.create_collection(
        name,
        vectors_config={
            "small": models.VectorParams(size=2, distance=models.Distance.DOT),
            "large": models.VectorParams(size=DIM, distance=models.Distance.DOT),
        },
    )
    small = {i: [((i * 5) % 7) / 7.0 + 0.05, ((i * 3) % 5) / 5.0 + 0.05] for i in range(40)}
    client.upsert(
        name,
        points=[models.PointStruct(id=i, vector={"small": small[i], "large": vec(i)}) for i in range(40)],
        wait=True,
    )
    small_q, large_q = [1.0, 0.2], vec(5)
    found = client.query_points(name, query=small_q, using="small", limit=10).points
    assert len(found) == 10

    def large_score(i):
        return sum(a * b for a, b in zip(vec(i), large_q))

    expected = sorted((p.id for p in found), key=lambda i: (-large_score(i), i))[:5]
    res = client.query_points(
        name,
        prefetch=models.Prefetch(query=small_q, using="small", limit=10),
        query=large_q,
        using="large",
        limit=5,
    ).points
    assert [p.id for p in res] == expected
    for p in res:
        assert abs(p.score - large_score(p.id)) < 1e-4
    # Nested: the two vectors fused by RRF inside (top 6), re-scored by the large vector.
    inner = client.query_points(
        name,
        prefetch=[
            models.Prefetch(query=small_q, using="small", limit=5),
            models.Prefetch(query=large_q, using="large", limit=5),
        ],
        query=models.FusionQuery(fusion=models.Fusion.RRF),
        limit=6,
    ).points
    res = client.query_points(
        name,
        prefetch=models.Prefetch(
            prefetch=[
                models.Prefetch(query=small_q, using="small", limit=5),
                models.Prefetch(query=large_q, using="large", limit=5),
            ],
            query=models.FusionQuery(fusion=models.Fusion.RRF),
            limit=6,
        ),
        query=large_q,
        using="large",
        limit=6,
    ).points
    assert [p.id for p in res] == sorted((p.id for p in inner), key=lambda i: (-large_score(i), i))
    client.delete_collection(name)


def test_recommend_ordered_scroll_and_groups(client):
    name = "py_line"
    if client.collection_exists(name):
        client.delete_collection(name)
    client.create_collection(name, vectors_config=models.VectorParams(size=2, distance=models.Distance.EUCLID))
    # Points on a line at x = 0..9; n is x, f is x / 4, tag splits them in two.
    client.upsert(
        name,
        points=[
            models.PointStruct(id=i, vector=[float(i), 0.0], payload={"n": i, "f": i / 4, "tag": "lo" if i < 5 else "hi"})
            for i in range(10)
        ],
        wait=True,
    )
    client.create_payload_index(name, field_name="n", field_schema=models.PayloadSchemaType.INTEGER)
    client.create_payload_index(name, field_name="f", field_schema=models.PayloadSchemaType.FLOAT)

    # recommend (average_vector): avg(positive) = (6, 0), avg(negative) = (8, 0), so the
    # target is (4, 0); the examples never come back.
    hits = client.query_points(
        name,
        query=models.RecommendQuery(
            recommend=models.RecommendInput(positive=[6], negative=[8], strategy=models.RecommendStrategy.AVERAGE_VECTOR)
        ),
        limit=4,
    ).points
    assert hits[0].id == 4 and hits[0].score == 0.0
    assert not {6, 8} & {h.id for h in hits}
    # A vector example beside an id: avg((3, 0), (9, 0)) = (6, 0); under the filter the
    # nearest are 4 then 3.
    lo = models.Filter(must=[models.FieldCondition(key="tag", match=models.MatchValue(value="lo"))])
    hits = client.query_points(
        name, query=models.RecommendQuery(recommend=models.RecommendInput(positive=[[3.0, 0.0], 9])), query_filter=lo, limit=2
    ).points
    assert [h.id for h in hits] == [4, 3]
    # best_score: each candidate by its best example; positives 0 and 9, negative 6: 1 and 8
    # are 1 from a positive (sigmoid(-1) = 0.25, tie to the smaller id), then 2
    hits = client.query_points(
        name,
        query=models.RecommendQuery(
            recommend=models.RecommendInput(positive=[0, 9], negative=[6], strategy=models.RecommendStrategy.BEST_SCORE)
        ),
        limit=3,
    ).points
    assert [h.id for h in hits] == [1, 8, 2] and hits[0].score == 0.25
    hits = client.query_points(
        name,
        query=models.RecommendQuery(
            recommend=models.RecommendInput(positive=[0, 9], negative=[6], strategy=models.RecommendStrategy.BEST_SCORE)
        ),
        query_filter=lo,
        limit=3,
    ).points
    assert [h.id for h in hits] == [1, 2, 3]
    with pytest.raises(Exception) as err:
        client.query_points(
            name,
            query=models.RecommendQuery(recommend=models.RecommendInput(positive=[1], strategy=models.RecommendStrategy.SUM_SCORES)),
        )
    assert "sum_scores" in str(err.value) and "not supported" in str(err.value)

    # ordered scroll over an integer and a float index, both directions, with start_from
    points, nxt = client.scroll(name, order_by=models.OrderBy(key="n", direction=models.Direction.DESC), limit=3)
    assert [p.id for p in points] == [9, 8, 7] and nxt is None
    points, _ = client.scroll(
        name, order_by=models.OrderBy(key="n", direction=models.Direction.DESC, start_from=6), limit=3
    )
    assert [p.id for p in points] == [6, 5, 4]
    points, _ = client.scroll(name, order_by="f", scroll_filter=lo, limit=10)
    assert [p.id for p in points] == [0, 1, 2, 3, 4]
    points, _ = client.scroll(name, order_by=models.OrderBy(key="f", start_from=1.5), limit=2, with_payload=["f"])
    assert [(p.id, p.payload) for p in points] == [(6, {"f": 1.5}), (7, {"f": 1.75})]
    # as in Qdrant, ordering needs a range index: "tag" has none
    with pytest.raises(UnexpectedResponse) as err:
        client.scroll(name, order_by="tag", limit=3)
    assert err.value.status_code == 400 and "No range index" in str(err.value)
    # a datetime payload index is the engine's datetime index
    client.create_payload_index(name, field_name="at", field_schema=models.PayloadSchemaType.DATETIME, wait=True)
    assert client.get_collection(name).payload_schema["at"].data_type == models.PayloadSchemaType.DATETIME

    # groups: limit counts groups, each filled best first (from (3.1, 0): 3, 4, 2, 5, 1, 6...)
    res = client.query_points_groups(name, query=[3.1, 0.0], group_by="tag", limit=2, group_size=2)
    assert [(g.id, [h.id for h in g.hits]) for g in res.groups] == [("lo", [3, 4]), ("hi", [5, 6])]
    res = client.query_points_groups(name, query=[3.1, 0.0], group_by="n", limit=3, group_size=1, query_filter=lo)
    assert [(g.id, [h.id for h in g.hits]) for g in res.groups] == [(3, [3]), (4, [4]), (2, [2])]
    if hasattr(client, "search_groups"):
        res = client.search_groups(name, query_vector=[9.0, 0.0], group_by="tag", limit=5, group_size=1)
        assert [(g.id, [h.id for h in g.hits]) for g in res.groups] == [("hi", [9]), ("lo", [4])]
    with pytest.raises(Exception) as err:
        client.query_points_groups(
            name, query=[1.0, 0.0], group_by="tag", with_lookup=models.WithLookup(collection=name)
        )
    assert "with_lookup" in str(err.value)

    # update_mode insert_only (a conditional write) is refused by name when the client has it
    if "update_mode" in client.upsert.__code__.co_varnames:
        with pytest.raises(Exception) as err:
            client.upsert(name, points=[models.PointStruct(id=0, vector=[0.5, 0.0])], update_mode="insert_only")
        assert "insert_only" in str(err.value)
        with pytest.raises(Exception) as err:
            client.upsert(name, points=[models.PointStruct(id=0, vector=[0.5, 0.0])], update_mode="update_only")
        assert "update_only" in str(err.value)
    assert client.retrieve(name, ids=[0], with_vectors=True)[0].vector == [0.0, 0.0]
    # MMR re-ranking is not done by NearStore: refused by name, never ignored
    with pytest.raises(UnexpectedResponse) as err:
        client.query_points(name, query=models.NearestQuery(nearest=[1.0, 0.0], mmr=models.Mmr(diversity=0.5)))
    assert err.value.status_code == 400 and "MMR" in str(err.value)
    client.delete_collection(name)


def test_named_only_collection_missing_vectors_and_vector_edits(client):
    name = "py_named_only"
    if client.collection_exists(name):
        client.delete_collection(name)
    client.create_collection(
        name,
        vectors_config={
            "text": models.VectorParams(size=DIM, distance=models.Distance.COSINE),
            "image": models.VectorParams(size=3, distance=models.Distance.EUCLID),
        },
        sparse_vectors_config={"words": models.SparseVectorParams()},
    )
    info = client.get_collection(name)
    assert set(info.config.params.vectors) == {"text", "image"}
    assert info.config.params.vectors["image"].size == 3
    assert set(info.config.params.sparse_vectors) == {"words"}

    dims, weights = word_sparse("quick brown fox")
    words = models.SparseVector(indices=dims, values=weights)
    client.upsert(
        name,
        points=[
            models.PointStruct(id=1, vector={"text": vec(1), "image": [0.0, 0.0, 0.0], "words": words}, payload={"k": "a"}),
            models.PointStruct(id=2, vector={"text": vec(2)}, payload={"k": "b"}),
            models.PointStruct(id=3, vector={"image": [1.0, 1.0, 1.0]}, payload={"k": "a"}),
            models.PointStruct(id=4, vector={}, payload={"k": "c"}),
        ],
        wait=True,
    )
    assert client.count(name).count == 4
    got = {p.id: p.vector for p in client.retrieve(name, ids=[1, 2, 3, 4], with_vectors=True)}
    assert set(got[1]) == {"text", "image", "words"}
    assert got[1]["words"].indices == dims
    assert set(got[2]) == {"text"}
    assert set(got[3]) == {"image"}
    assert not got[4]
    only_image = client.retrieve(name, ids=[1], with_vectors=["image"])[0].vector
    assert only_image == {"image": [0.0, 0.0, 0.0]}

    # Each search finds only the points carrying its vector.
    hits = client.query_points(name, query=[0.9, 0.9, 0.9], using="image", limit=10).points
    assert [p.id for p in hits] == [3, 1]
    hits = client.query_points(name, query=vec(2), using="text", limit=10).points
    assert [p.id for p in hits][0] == 2 and {p.id for p in hits} == {1, 2}
    hits = client.query_points(name, query=words, using="words", limit=10).points
    assert [p.id for p in hits] == [1]
    # Without `using` there is no vector to search.
    with pytest.raises(Exception) as err:
        client.query_points(name, query=vec(1), limit=3)
    assert "default vector" in str(err.value)

    # update_vectors: the vectorless point gains "image"; point 2 gains "words"; the rest stays.
    client.update_vectors(
        name,
        points=[
            models.PointVectors(id=4, vector={"image": [2.0, 2.0, 2.0]}),
            models.PointVectors(id=2, vector={"words": words}),
        ],
        wait=True,
    )
    p4 = client.retrieve(name, ids=[4], with_vectors=True, with_payload=True)[0]
    assert p4.vector == {"image": [2.0, 2.0, 2.0]} and p4.payload == {"k": "c"}
    assert set(client.retrieve(name, ids=[2], with_vectors=True)[0].vector) == {"text", "words"}
    hits = client.query_points(name, query=[2.0, 2.0, 2.0], using="image", limit=10).points
    assert [p.id for p in hits] == [4, 3, 1]
    with pytest.raises(Exception):
        client.update_vectors(name, points=[models.PointVectors(id=99, vector={"image": [1.0, 1.0, 1.0]})])

    # delete_vectors by ids, then by filter: the points and their other vectors stay.
    client.delete_vectors(name, vectors=["text"], points=[1, 2], wait=True)
    assert client.query_points(name, query=vec(1), using="text", limit=10).points == []
    assert set(client.retrieve(name, ids=[1], with_vectors=True)[0].vector) == {"image", "words"}
    a = models.Filter(must=[models.FieldCondition(key="k", match=models.MatchValue(value="a"))])
    client.delete_vectors(name, vectors=["image"], points=a, wait=True)
    hits = client.query_points(name, query=[2.0, 2.0, 2.0], using="image", limit=10).points
    assert [p.id for p in hits] == [4]
    assert set(client.retrieve(name, ids=[1], with_vectors=True)[0].vector) == {"words"}
    assert not client.retrieve(name, ids=[3], with_vectors=True)[0].vector
    assert client.count(name).count == 4

    # The batch forms of both edits.
    client.batch_update_points(
        name,
        update_operations=[
            models.UpdateVectorsOperation(
                update_vectors=models.UpdateVectors(points=[models.PointVectors(id=3, vector={"text": vec(3)})])
            ),
            models.DeleteVectorsOperation(
                delete_vectors=models.DeleteVectors(points=[2, 1], vector=["words"])
            ),
        ],
        wait=True,
    )
    assert [p.id for p in client.query_points(name, query=vec(3), using="text", limit=10).points] == [3]
    assert client.query_points(name, query=words, using="words", limit=10).points == []
    client.delete_collection(name)


def test_aliases(client):
    a, b = "py_alias_a", "py_alias_b"
    for n in (a, b, "py_live", "py_next"):
        if client.collection_exists(n):
            client.delete_collection(n)
    for n, x in ((a, 1.0), (b, 2.0)):
        client.create_collection(n, vectors_config=models.VectorParams(size=2, distance=models.Distance.EUCLID))
        client.upsert(n, points=[models.PointStruct(id=int(x), vector=[x, 0.0])], wait=True)
    client.update_collection_aliases(
        change_aliases_operations=[models.CreateAliasOperation(create_alias=models.CreateAlias(collection_name=a, alias_name="py_live"))]
    )
    # the alias is usable wherever a collection name is
    assert [h.id for h in client.query_points("py_live", query=[0.0, 0.0]).points] == [1]
    assert client.collection_exists("py_live")
    assert client.get_collection("py_live").points_count == 1
    mine = {(x.alias_name, x.collection_name) for x in client.get_aliases().aliases}
    assert ("py_live", a) in mine
    assert [x.alias_name for x in client.get_collection_aliases(a).aliases] == ["py_live"]
    # the documented switch: delete and create in one request, then a rename
    client.update_collection_aliases(
        change_aliases_operations=[
            models.DeleteAliasOperation(delete_alias=models.DeleteAlias(alias_name="py_live")),
            models.CreateAliasOperation(create_alias=models.CreateAlias(collection_name=b, alias_name="py_live")),
        ]
    )
    assert [h.id for h in client.query_points("py_live", query=[0.0, 0.0]).points] == [2]
    client.update_collection_aliases(
        change_aliases_operations=[
            models.RenameAliasOperation(rename_alias=models.RenameAlias(old_alias_name="py_live", new_alias_name="py_next"))
        ]
    )
    assert [x.alias_name for x in client.get_collection_aliases(b).aliases] == ["py_next"]
    assert client.get_collection_aliases(a).aliases == []
    # an alias to a missing collection is refused
    with pytest.raises(Exception) as err:
        client.update_collection_aliases(
            change_aliases_operations=[
                models.CreateAliasOperation(create_alias=models.CreateAlias(collection_name="py_missing", alias_name="py_x"))
            ]
        )
    assert "py_missing" in str(err.value)
    # dropping the collection drops its aliases
    client.delete_collection(b)
    assert all(x.collection_name != b for x in client.get_aliases().aliases)
    assert not client.collection_exists("py_next")
    client.delete_collection(a)


def test_null_empty_array_paths_and_validation(client):
    name = "py_checks"
    if client.collection_exists(name):
        client.delete_collection(name)
    # Memory tiers: the vector file is read through the page cache (cached or cold), so
    # pinned vectors are refused by name, like Qdrant refuses them.
    with pytest.raises(UnexpectedResponse) as err:
        client.create_collection(
            name, vectors_config=models.VectorParams(size=2, distance=models.Distance.DOT, memory=models.Memory.PINNED)
        )
    assert err.value.status_code == 400 and "vectors.memory" in str(err.value)
    client.create_collection(
        name, vectors_config=models.VectorParams(size=2, distance=models.Distance.DOT, memory=models.Memory.CACHED)
    )
    city = lambda *pops: {"country": {"cities": [{"population": p} for p in pops]}}
    client.upsert(
        name,
        points=[
            models.PointStruct(id=1, vector=[1.0, 0.0], payload={"t": None, **city(1.5, 9.5)}),
            models.PointStruct(id=2, vector=[0.9, 0.1], payload={"t": [], **city(2.0)}),
            models.PointStruct(id=3, vector=[0.8, 0.2], payload={"t": "x"}),
            models.PointStruct(id=4, vector=[0.7, 0.3], payload=city(12.0, 0.5)),
        ],
        wait=True,
    )

    def ids(flt):
        return sorted(p.id for p in client.scroll(name, scroll_filter=flt, limit=10)[0])

    # is_null: only an explicit null; is_empty: null, [] or missing.
    assert ids(models.Filter(must=[models.IsNullCondition(is_null=models.PayloadField(key="t"))])) == [1]
    assert ids(models.Filter(must=[models.IsEmptyCondition(is_empty=models.PayloadField(key="t"))])) == [1, 2, 4]
    assert ids(models.Filter(must=[models.FieldCondition(key="t", is_null=True)])) == [1]
    assert ids(models.Filter(must=[models.FieldCondition(key="t", is_empty=True)])) == [1, 2, 4]
    # An array path, in a filter and in a payload index (any element matches).
    field = "country.cities[].population"
    big = models.Filter(must=[models.FieldCondition(key=field, range=models.Range(gt=9.0))])
    assert ids(big) == [1, 4]
    client.create_payload_index(name, field_name=field, field_schema=models.PayloadSchemaType.FLOAT, wait=True)
    assert client.get_collection(name).payload_schema[field].points == 3
    assert ids(big) == [1, 4]
    assert client.count(name, count_filter=big, exact=True).count == 2
    # The same paths select payload parts: each city keeps (or loses) its population only.
    got = client.retrieve(name, ids=[1], with_payload=models.PayloadSelectorInclude(include=[field]))
    assert got[0].payload == {"country": {"cities": [{"population": 1.5}, {"population": 9.5}]}}
    got = client.retrieve(name, ids=[1], with_payload=models.PayloadSelectorExclude(exclude=[field, "t"]))
    assert got[0].payload == {"country": {"cities": [{}, {}]}}
    # Scores and vectors print as f32 (0.15 stays 0.15).
    client.upsert(name, points=[models.PointStruct(id=5, vector=[0.15, 0.7])], wait=True)
    hit = client.query_points(name, query=[1.0, 0.0], query_filter=models.Filter(must=[models.HasIdCondition(has_id=[5])]), with_vectors=True).points[0]
    assert hit.score == 0.15 and hit.vector == [0.15, 0.7]
    # Validation errors are 422 as in Qdrant: a limit of 0, an rrf k of 0.
    for call in (
        lambda: client.query_points(name, query=[1.0, 0.0], limit=0),
        lambda: client.query_points(
            name, prefetch=[models.Prefetch(query=[1.0, 0.0])], query=models.RrfQuery(rrf=models.Rrf(k=0))
        ),
        lambda: client.query_points_groups(name, query=[1.0, 0.0], group_by="t", limit=0),
    ):
        with pytest.raises(UnexpectedResponse) as err:
            call()
        assert err.value.status_code == 422 and "value 0 invalid" in str(err.value)
    client.delete_collection(name)


def test_manhattan_distance(client):
    name = "py_manhattan"
    if client.collection_exists(name):
        client.delete_collection(name)
    client.create_collection(name, vectors_config=models.VectorParams(size=3, distance=models.Distance.MANHATTAN))
    assert client.get_collection(name).config.params.vectors.distance == models.Distance.MANHATTAN
    client.upsert(
        name,
        points=[
            models.PointStruct(id=1, vector=[0.0, 0.0, 0.0]),
            models.PointStruct(id=2, vector=[1.0, 1.0, 1.0]),
            models.PointStruct(id=3, vector=[0.0, -2.5, 0.0]),
        ],
        wait=True,
    )
    # L1 from [0.5, 0, 0]: 1 -> 0.5, 2 -> 2.5, 3 -> 3.0; a distance, ascending like Euclid.
    hits = client.query_points(name, query=[0.5, 0.0, 0.0], limit=3).points
    assert [(h.id, h.score) for h in hits] == [(1, 0.5), (2, 2.5), (3, 3.0)]
    near = client.query_points(name, query=[0.5, 0.0, 0.0], score_threshold=2.5).points
    assert [h.id for h in near] == [1, 2]
    client.delete_collection(name)


def test_scalar_quantization_and_quantization_search_params(client):
    """ScalarQuantization is NearStore's sq8 storage mode: it trains by itself at 1024
    points; QuantizationSearchParams steer rescoring, and what cannot be honoured is 400."""
    name = "py_quantized"
    if client.collection_exists(name):
        client.delete_collection(name)
    client.create_collection(
        name,
        vectors_config=models.VectorParams(size=DIM, distance=models.Distance.COSINE),
        quantization_config=models.ScalarQuantization(
            scalar=models.ScalarQuantizationConfig(type=models.ScalarType.INT8, always_ram=True)
        ),
    )
    q = client.get_collection(name).config.quantization_config
    assert isinstance(q, models.ScalarQuantization)
    # Left out, Qdrant's quantile is the whole range of values.
    assert q.scalar.type == models.ScalarType.INT8 and q.scalar.quantile == 1.0
    n = 1100
    rng = random.Random(16)
    vectors = [[rng.uniform(-1.0, 1.0) for _ in range(DIM)] for _ in range(n)]
    client.upsert(
        name, points=[models.PointStruct(id=i, vector=v) for i, v in enumerate(vectors)], wait=True
    )
    query = [0.3, -0.2, 0.1, 0.4, -0.1, 0.2, 0.0, -0.3]
    exact = client.query_points(name, query=query, limit=10, search_params=models.SearchParams(exact=True)).points
    rescored = client.query_points(
        name,
        query=query,
        limit=10,
        search_params=models.SearchParams(
            hnsw_ef=128,
            quantization=models.QuantizationSearchParams(rescore=True, oversampling=4.0),
        ),
    ).points
    assert [h.id for h in rescored] == [h.id for h in exact]
    assert [h.score for h in rescored] == pytest.approx([h.score for h in exact], abs=1e-5)
    approx = client.query_points(
        name,
        query=query,
        limit=10,
        search_params=models.SearchParams(quantization=models.QuantizationSearchParams(rescore=False)),
    ).points
    assert len(approx) == 10
    ignored = client.query_points(
        name,
        query=query,
        limit=10,
        search_params=models.SearchParams(quantization=models.QuantizationSearchParams(ignore=True)),
    ).points
    assert [h.id for h in ignored] == [h.id for h in exact]
    with pytest.raises(UnexpectedResponse) as e:
        client.query_points(
            name,
            query=query,
            search_params=models.SearchParams(
                quantization=models.QuantizationSearchParams(ignore=True, rescore=False)
            ),
        )
    assert e.value.status_code == 400
    with pytest.raises(UnexpectedResponse) as e:
        client.create_collection(
            "py_quantized_x4",
            vectors_config=models.VectorParams(size=DIM, distance=models.Distance.COSINE),
            quantization_config=models.ProductQuantization(
                product=models.ProductQuantizationConfig(compression=models.CompressionRatio.X4)
            ),
        )
    assert e.value.status_code == 400 and "x16" in str(e.value)
    assert not client.collection_exists("py_quantized_x4")
    client.delete_collection(name)


def test_datetime_index_and_range(client):
    name = "py_datetime"
    if client.collection_exists(name):
        client.delete_collection(name)
    client.create_collection(name, vectors_config=models.VectorParams(size=2, distance=models.Distance.EUCLID))
    client.upsert(
        name,
        points=[
            models.PointStruct(id=1, vector=[0.0, 1.0], payload={"at": "2024-01-02T03:04:05Z"}),
            models.PointStruct(id=2, vector=[1.0, 0.0], payload={"at": "2025-06-01T00:00:00+02:00"}),
        ],
        wait=True,
    )
    client.create_payload_index(name, field_name="at", field_schema=models.PayloadSchemaType.DATETIME, wait=True)
    after = models.Filter(must=[models.FieldCondition(key="at", range=models.DatetimeRange(gt="2024-06-01T00:00:00Z"))])
    assert client.count(name, count_filter=after).count == 1
    points, _ = client.scroll(name, scroll_filter=after)
    assert [p.id for p in points] == [2]
    # ordered by time, newest first; order_value is the instant in microseconds
    points, _ = client.scroll(name, order_by=models.OrderBy(key="at", direction=models.Direction.DESC))
    assert [p.id for p in points] == [2, 1]
    assert points[1].order_value == 1704164645000000
    client.delete_collection(name)


def test_collection_snapshots_create_list_download_and_recover(client):
    """Qdrant's collection snapshot routes: create, list, download, recover from an upload
    and from a file:// location inside the server's snapshot directory, delete."""
    import httpx

    name = "py_snapshots"
    if client.collection_exists(name):
        client.delete_collection(name)
    client.create_collection(name, vectors_config=models.VectorParams(size=DIM, distance=models.Distance.EUCLID))
    client.upsert(name, points=[models.PointStruct(id=i, vector=vec(i), payload={"i": i}) for i in range(30)])

    made = client.create_snapshot(name)
    assert made.name.startswith(f"{name}-") and made.name.endswith(".snapshot")
    assert made.size > 0 and len(made.checksum) == 64
    assert made.creation_time is not None
    listed = client.list_snapshots(name)
    assert [s.name for s in listed] == [made.name]
    assert listed[0].size == made.size and listed[0].checksum == made.checksum

    download = httpx.get(f"{URL}/collections/{name}/snapshots/{made.name}", timeout=30)
    assert download.status_code == 200
    archive = download.content
    assert len(archive) == made.size
    import hashlib

    assert hashlib.sha256(archive).hexdigest() == made.checksum

    # Change the collection, then recover it from the uploaded archive.
    client.delete(name, points_selector=models.PointIdsList(points=list(range(10))))
    client.upsert(name, points=[models.PointStruct(id=99, vector=vec(99), payload={"i": 99})])
    assert client.count(name).count == 21
    upload = httpx.post(
        f"{URL}/collections/{name}/snapshots/upload",
        params={"priority": "snapshot", "checksum": made.checksum},
        files={"snapshot": (made.name, archive, "application/octet-stream")},
        timeout=60,
    )
    assert upload.status_code == 200, upload.text
    assert upload.json()["result"] is True
    assert client.count(name).count == 30
    assert client.retrieve(name, [99]) == []
    assert client.retrieve(name, [3])[0].payload == {"i": 3}

    # Refusals: another priority, a wrong checksum, a damaged archive, a remote location.
    bad = httpx.post(
        f"{URL}/collections/{name}/snapshots/upload",
        params={"priority": "replica"},
        files={"snapshot": (made.name, archive)},
        timeout=30,
    )
    assert bad.status_code == 400 and "not supported" in bad.text
    bad = httpx.post(
        f"{URL}/collections/{name}/snapshots/upload",
        params={"checksum": "0" * 64},
        files={"snapshot": (made.name, archive)},
        timeout=30,
    )
    assert bad.status_code == 400 and "checksum" in bad.text
    damaged = bytearray(archive)
    damaged[len(damaged) // 2] ^= 0x20
    bad = httpx.post(
        f"{URL}/collections/{name}/snapshots/upload",
        files={"snapshot": (made.name, bytes(damaged))},
        timeout=30,
    )
    assert bad.status_code == 400, bad.text
    assert client.count(name).count == 30, "a refused snapshot changes nothing"
    with pytest.raises(UnexpectedResponse) as e:
        client.recover_snapshot(name, location="http://example.invalid/x.snapshot")
    assert e.value.status_code == 400

    # Recover by location (the file the create wrote), after another change.
    client.delete(name, points_selector=models.PointIdsList(points=[0, 1]))
    data = os.environ.get("NEARSTORE_DATA")
    if data:
        # The default snapshot directory: a sibling of the data directory.
        location = f"file://{data}-snapshots/{name}/{made.name}"
        assert client.recover_snapshot(name, location=location, priority=models.SnapshotPriority.SNAPSHOT)
        assert client.count(name).count == 30

    assert client.delete_snapshot(name, made.name)
    assert client.list_snapshots(name) == []
    missing = httpx.get(f"{URL}/collections/{name}/snapshots/{made.name}", timeout=30)
    assert missing.status_code == 404
    client.delete_collection(name)


def test_full_storage_snapshots_create_list_download_and_delete(client):
    """Qdrant's full-storage snapshot routes: the whole database as one archive in the
    server's snapshot directory."""
    import hashlib

    import httpx

    made = client.create_full_snapshot()
    assert made.name.startswith("full-snapshot-") and made.name.endswith(".snapshot")
    assert made.size > 0 and len(made.checksum) == 64
    assert made.name in [s.name for s in client.list_full_snapshots()]
    download = httpx.get(f"{URL}/snapshots/{made.name}", timeout=30)
    assert download.status_code == 200 and len(download.content) == made.size
    assert hashlib.sha256(download.content).hexdigest() == made.checksum
    assert client.delete_full_snapshot(made.name)
    assert made.name not in [s.name for s in client.list_full_snapshots()]
    missing = httpx.get(f"{URL}/snapshots/{made.name}", timeout=30)
    assert missing.status_code == 404
