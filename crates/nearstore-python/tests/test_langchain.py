"""nearstore.langchain: LangChain's own standard vector-store tests, then the rest of the
store's surface (filters, scores, MMR, from_texts, delete, reopen)."""

import numpy as np
import pytest
from langchain_core.documents import Document
from langchain_core.embeddings import DeterministicFakeEmbedding, Embeddings
from langchain_tests.integration_tests import VectorStoreIntegrationTests

import nearstore
from nearstore.langchain import NearStoreVectorStore, point_id, translate_filter


class TestNearStoreStandard(VectorStoreIntegrationTests):
    """LangChain's standard suite (sync and async, get_by_ids) on an empty embedded store."""

    @pytest.fixture
    def vectorstore(self, tmp_path):
        db = nearstore.Database(tmp_path / "lc")
        yield NearStoreVectorStore(self.get_embeddings(), database=db, collection_name="std")
        db.close()


class TestNearStoreStandardEuclidean(VectorStoreIntegrationTests):
    """The same suite with an L2 collection opened by path."""

    @pytest.fixture
    def vectorstore(self, tmp_path):
        store = NearStoreVectorStore(
            self.get_embeddings(), path=str(tmp_path / "lc"), metric="L2",
            collection_options={"durability": "per_write"},
        )
        yield store
        store.close()


class AxisEmbeddings(Embeddings):
    """Texts "a0".."a7" embed as unit axis vectors (a mixture for other texts)."""

    DIM = 8

    def _one(self, text):
        v = np.zeros(self.DIM, dtype=np.float32)
        for part in text.split():
            v[int(part[1:]) % self.DIM] += 1.0
        return v.tolist()

    def embed_documents(self, texts):
        return [self._one(t) for t in texts]

    def embed_query(self, text):
        return self._one(text)


@pytest.fixture
def store(tmp_path):
    db = nearstore.Database(tmp_path / "d")
    s = NearStoreVectorStore.from_texts(
        ["a0", "a1", "a2", "a0 a1", "a3"],
        AxisEmbeddings(),
        metadatas=[{"kind": "x", "year": 2020}, {"kind": "y", "year": 2021},
                   {"kind": "x", "year": 2022}, {"kind": "y", "year": 2023}, {}],
        ids=["d0", "d1", "d2", "d01", "d3"],
        database=db,
        collection_name="axis",
    )
    yield s
    db.close()


def test_from_texts_and_scores(store):
    hits = store.similarity_search_with_score("a0", k=2)
    assert [d.id for d, _ in hits] == ["d0", "d01"]
    assert hits[0][1] == pytest.approx(1.0)
    assert hits[1][1] == pytest.approx(1 / np.sqrt(2), rel=1e-5)
    assert hits[0][0] == Document(page_content="a0", metadata={"kind": "x", "year": 2020}, id="d0")
    relevance = store.similarity_search_with_relevance_scores("a0", k=1)
    assert relevance[0][1] == pytest.approx(1.0)


def test_filters_shorthand_and_engine_form(store):
    assert [d.id for d in store.similarity_search("a0", k=5, filter={"kind": "y"})] == ["d01", "d1"]
    assert [d.id for d in store.similarity_search("a0", k=5, filter={"kind": "x", "year": 2022})] == ["d2"]
    assert {d.id for d in store.similarity_search("a0", k=5, filter={"year": [2020, 2021]})} == {"d0", "d1"}
    got = store.similarity_search("a0", k=5, filter={"field": "year", "gte": 2022})
    assert {d.id for d in got} == {"d2", "d01"}
    got = store.similarity_search(
        "a0", k=5, filter={"or": [{"field": "kind", "eq": "x"}, {"not": {"field": "year", "is_not_null": True}}]}
    )
    assert {d.id for d in got} == {"d0", "d2", "d3"}
    assert translate_filter({"a": 1, "b": [2]}) == {"and": [
        {"field": "metadata.a", "eq": 1}, {"field": "metadata.b", "in": [2]}]}
    with pytest.raises(nearstore.InvalidArgument):
        store.similarity_search("a0", filter=["kind"])


def test_max_marginal_relevance_prefers_diversity(store):
    # Nearest to "a0 a1": d01 (exact), then d0 and d1 (both at 45°). MMR with low
    # lambda picks d01 then the most different of the rest.
    plain = store.similarity_search("a0 a1", k=2)
    assert plain[0].id == "d01"
    mmr = store.max_marginal_relevance_search("a0 a1", k=3, fetch_k=5, lambda_mult=0.1)
    assert mmr[0].id == "d01"
    assert {d.id for d in mmr[1:]} <= {"d0", "d1", "d2", "d3"}
    assert len({d.id for d in mmr}) == 3
    only_x = store.max_marginal_relevance_search("a0", k=2, fetch_k=5, filter={"kind": "x"})
    assert {d.id for d in only_x} == {"d0", "d2"}


def test_delete_by_ids_filter_and_all(store):
    store.delete(["d0"])
    assert store.get_by_ids(["d0", "d1"]) == [store.get_by_ids(["d1"])[0]]
    store.delete(filter={"kind": "y"})
    assert {d.id for d in store.get_by_ids(["d1", "d2", "d01", "d3"])} == {"d2", "d3"}
    store.delete()
    assert store.similarity_search("a2", k=3) == []
    with pytest.raises(nearstore.InvalidArgument):
        store.delete(["d2"], filter={"kind": "x"})


def test_ids_map_to_stable_point_ids(store):
    assert point_id("d0") == point_id("d0") != point_id("d1")
    assert 0 <= point_id("x") < 2**64
    assert store.collection.get(point_id("d3"))["payload"]["lc_id"] == "d3"


def test_bad_arguments_are_refused(tmp_path, store):
    with pytest.raises(nearstore.InvalidArgument, match="exactly one"):
        NearStoreVectorStore(AxisEmbeddings())
    with pytest.raises(nearstore.InvalidArgument, match="2 texts but 1 metadatas"):
        store.add_texts(["a1", "a2"], [{}])
    with pytest.raises(nearstore.InvalidArgument, match="unknown add_texts options"):
        store.add_texts(["a1"], batch=3)
    other = NearStoreVectorStore(DeterministicFakeEmbedding(size=3), collection=store.collection)
    with pytest.raises(nearstore.InvalidArgument, match="dimension mismatch"):
        other.add_texts(["three dimensions"])


def test_reopen_by_path_finds_the_documents(tmp_path):
    path = str(tmp_path / "p")
    s = NearStoreVectorStore.from_texts(["a1", "a2"], AxisEmbeddings(), path=path,
                                        collection_name="c", ids=["one", "two"])
    s.close()
    again = NearStoreVectorStore(AxisEmbeddings(), path=path, collection_name="c")
    assert [d.id for d in again.similarity_search("a2", k=1)] == ["two"]
    assert again.collection.metric == "cosine"
    again.close()


def test_retriever_interface(store):
    retriever = store.as_retriever(search_kwargs={"k": 1, "filter": {"kind": "y"}})
    assert [d.id for d in retriever.invoke("a1")] == ["d1"]
    mmr = store.as_retriever(search_type="mmr", search_kwargs={"k": 2, "fetch_k": 4})
    assert len(mmr.invoke("a0")) == 2


def test_fake_embeddings_dimension_is_the_collection_dimension(tmp_path):
    db = nearstore.Database(tmp_path / "f")
    s = NearStoreVectorStore(DeterministicFakeEmbedding(size=12), database=db)
    assert s.collection is None
    s.add_texts(["hello"])
    assert s.collection.dim == 12
    db.close()
