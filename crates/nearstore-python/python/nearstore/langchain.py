"""A LangChain vector store backed by NearStore, embedded in-process (needs `langchain-core`).

    from nearstore.langchain import NearStoreVectorStore

    store = NearStoreVectorStore.from_texts(
        ["the cat sat", "dogs bark"], embeddings, metadatas=[{"kind": "cat"}, {"kind": "dog"}],
        path="./data", collection_name="pets",
    )
    store.similarity_search("kitten", k=1, filter={"kind": "cat"})

Each document is one point: its vector is the embedding of its text, its payload
``{"page_content": text, "metadata": {...}, "lc_id": id}``. LangChain ids are strings (a
UUID when none is given); NearStore ids are 64-bit integers, so the point id is the first 8
bytes of the BLAKE2b hash of the string id, and the string is kept in the payload. The
collection is created on the first write (its dimension is the embeddings' length), with
the metric given (``cosine`` by default).

Filters are dicts, either LangChain's shorthand ``{"key": value, ...}`` (equality on the
metadata keys, all of them; a list value means "one of these"), or NearStore's filter form
(a dict with a ``field``, ``and``, ``or`` or ``not`` key), whose field paths are relative to
the metadata: ``{"field": "year", "gte": 2020}``, ``{"or": [...]}``.

Scores from ``similarity_search_with_score`` are the engine's: cosine and dot similarities
(higher is better), euclidean distances (lower is better). Hybrid (text + vector) retrieval
will be added here when the engine has full-text search.
"""

from __future__ import annotations

import hashlib
import threading
import uuid
from collections.abc import Iterable, Sequence
from typing import Any, Callable

import numpy as np
from langchain_core.documents import Document
from langchain_core.embeddings import Embeddings
from langchain_core.vectorstores import VectorStore
from langchain_core.vectorstores.utils import maximal_marginal_relevance

import nearstore

__all__ = ["NearStoreVectorStore", "point_id"]

_LOGICAL = ("and", "or", "not")


def point_id(doc_id: str) -> int:
    """The NearStore point id of a LangChain document id (64 bits of its BLAKE2b hash)."""
    digest = hashlib.blake2b(str(doc_id).encode("utf-8"), digest_size=8).digest()
    return int.from_bytes(digest, "little")


def _metadata_paths(f: Any) -> Any:
    """A NearStore filter with every field path moved under `metadata.`."""
    if not isinstance(f, dict):
        raise nearstore.InvalidArgument(f"a filter must be a dict, got {type(f).__name__}")
    if "field" in f:
        out = dict(f)
        out["field"] = f"metadata.{f['field']}"
        return out
    if "not" in f:
        return {**f, "not": _metadata_paths(f["not"])}
    for key in ("and", "or"):
        if key in f:
            parts = f[key]
            if not isinstance(parts, (list, tuple)):
                raise nearstore.InvalidArgument(f"filter {key!r} takes a list of filters")
            return {**f, key: [_metadata_paths(p) for p in parts]}
    return f


def translate_filter(f: dict[str, Any] | None) -> dict[str, Any] | None:
    """A LangChain-style or NearStore-form filter on metadata as a NearStore payload filter."""
    if f is None:
        return None
    if not isinstance(f, dict):
        raise nearstore.InvalidArgument(f"a filter must be a dict, got {type(f).__name__}")
    if "field" in f or any(k in f for k in _LOGICAL):
        return _metadata_paths(f)
    conditions = []
    for key, value in f.items():
        if isinstance(value, (list, tuple)):
            conditions.append({"field": f"metadata.{key}", "in": list(value)})
        else:
            conditions.append({"field": f"metadata.{key}", "eq": value})
    return conditions[0] if len(conditions) == 1 else {"and": conditions}


class NearStoreVectorStore(VectorStore):
    """LangChain ``VectorStore`` over a NearStore collection in this process.

    Give the collection directly (``collection=``), or a database (``database=``, an open
    ``nearstore.Database``) or a directory (``path=``, opened here) plus ``collection_name``;
    a missing collection is created on the first write with ``metric`` and
    ``collection_options`` (``m``, ``ef_construction``, ``durability``, ...).
    """

    def __init__(
        self,
        embedding: Embeddings,
        *,
        collection: nearstore.Collection | None = None,
        database: nearstore.Database | None = None,
        path: str | None = None,
        collection_name: str = "langchain",
        metric: str = "cosine",
        collection_options: dict[str, Any] | None = None,
    ) -> None:
        given = sum(x is not None for x in (collection, database, path))
        if given != 1:
            raise nearstore.InvalidArgument(
                "give exactly one of collection=, database= or path="
            )
        self._embedding = embedding
        self._collection = collection
        self._database = database if database is not None else (
            nearstore.Database(path) if path is not None else None
        )
        self._owns_database = path is not None
        self._name = collection.name if collection is not None else collection_name
        self._options = dict(collection_options or {})
        self._lock = threading.Lock()
        if self._collection is None and self._name in self._database:
            self._collection = self._database.get_collection(self._name)
        self._metric = metric
        if self._collection is not None:
            if self._collection.metric is None:
                raise nearstore.InvalidArgument(
                    f"collection {self._name!r} has no default vector; the LangChain store "
                    "keeps its embeddings in the default vector"
                )
            self._metric = self._collection.metric

    # ------------------------------------------------------------------ plumbing

    @property
    def embeddings(self) -> Embeddings:
        return self._embedding

    @property
    def collection(self) -> nearstore.Collection | None:
        """The NearStore collection (``None`` until the first write created it)."""
        return self._collection

    def close(self) -> None:
        """Flushes; closes the database too when this store opened it (``path=``)."""
        if self._collection is not None:
            self._collection.flush()
        if self._owns_database and self._database is not None:
            self._database.close()

    def _writable(self, dim: int) -> nearstore.Collection:
        if self._collection is not None:
            return self._collection
        with self._lock:
            if self._collection is None:
                try:
                    self._collection = self._database.create_collection(
                        self._name, dim, metric=self._metric, **self._options
                    )
                except nearstore.AlreadyExists:
                    self._collection = self._database.get_collection(self._name)
            return self._collection

    @staticmethod
    def _document(hit: dict[str, Any]) -> Document:
        payload = hit.get("payload") or {}
        return Document(
            page_content=payload.get("page_content", ""),
            metadata=payload.get("metadata") or {},
            id=payload.get("lc_id", str(hit["id"])),
        )

    # ------------------------------------------------------------------ writes

    def add_texts(
        self,
        texts: Iterable[str],
        metadatas: list[dict] | None = None,
        *,
        ids: list[str] | None = None,
        **kwargs: Any,
    ) -> list[str]:
        """Embeds and stores ``texts``; returns their ids (new UUIDs where none is given).
        An existing id is replaced."""
        if kwargs:
            raise nearstore.InvalidArgument(f"unknown add_texts options: {sorted(kwargs)}")
        texts = list(texts)
        if metadatas is not None and len(metadatas) != len(texts):
            raise nearstore.InvalidArgument(
                f"{len(texts)} texts but {len(metadatas)} metadatas"
            )
        if ids is not None and len(ids) != len(texts):
            raise nearstore.InvalidArgument(f"{len(texts)} texts but {len(ids)} ids")
        if not texts:
            return []
        doc_ids = [
            str(i) if i is not None else str(uuid.uuid4())
            for i in (ids if ids is not None else [None] * len(texts))
        ]
        vectors = np.asarray(self._embedding.embed_documents(texts), dtype=np.float32)
        payloads = [
            {
                "page_content": text,
                "metadata": dict(metadatas[i]) if metadatas is not None and metadatas[i] else {},
                "lc_id": doc_ids[i],
            }
            for i, text in enumerate(texts)
        ]
        collection = self._writable(vectors.shape[1])
        collection.upsert([point_id(i) for i in doc_ids], vectors, payloads)
        return doc_ids

    def delete(self, ids: list[str] | None = None, **kwargs: Any) -> bool | None:
        """Deletes documents by id, or those matching ``filter=`` (a metadata filter), or,
        with neither, every document."""
        filter_ = kwargs.pop("filter", None)
        if kwargs:
            raise nearstore.InvalidArgument(f"unknown delete options: {sorted(kwargs)}")
        if self._collection is None:
            return True
        if ids is not None:
            if filter_ is not None:
                raise nearstore.InvalidArgument("delete takes ids or filter=, not both")
            self._collection.delete([point_id(i) for i in ids])
        elif filter_ is not None:
            self._collection.delete(filter=translate_filter(filter_))
        else:
            self._collection.delete(filter={"and": []})
        return True

    def get_by_ids(self, ids: Sequence[str], /) -> list[Document]:
        """The stored documents with these ids (missing ones left out, duplicates once)."""
        if self._collection is None:
            return []
        unique = list(dict.fromkeys(str(i) for i in ids))
        points = self._collection.get([point_id(i) for i in unique], with_vector=False)
        return [self._document(p) for p in points if p is not None]

    # ------------------------------------------------------------------ searches

    def similarity_search_with_score_by_vector(
        self,
        embedding: Sequence[float],
        k: int = 4,
        filter: dict[str, Any] | None = None,
        **kwargs: Any,
    ) -> list[tuple[Document, float]]:
        """Documents nearest to ``embedding`` with the engine's scores, best first. Extra
        keyword options go to ``Collection.search`` (``ef``, ``quality``,
        ``score_threshold``, ...)."""
        if self._collection is None:
            return []
        hits = self._collection.search(
            np.asarray(embedding, dtype=np.float32), k, translate_filter(filter), **kwargs
        )
        return [(self._document(h), h["score"]) for h in hits]

    def similarity_search_with_score(
        self,
        query: str,
        k: int = 4,
        filter: dict[str, Any] | None = None,
        **kwargs: Any,
    ) -> list[tuple[Document, float]]:
        return self.similarity_search_with_score_by_vector(
            self._embedding.embed_query(query), k, filter, **kwargs
        )

    def similarity_search_by_vector(
        self,
        embedding: list[float],
        k: int = 4,
        filter: dict[str, Any] | None = None,
        **kwargs: Any,
    ) -> list[Document]:
        return [
            d for d, _ in self.similarity_search_with_score_by_vector(embedding, k, filter, **kwargs)
        ]

    def similarity_search(
        self,
        query: str,
        k: int = 4,
        filter: dict[str, Any] | None = None,
        **kwargs: Any,
    ) -> list[Document]:
        return [d for d, _ in self.similarity_search_with_score(query, k, filter, **kwargs)]

    def _select_relevance_score_fn(self) -> Callable[[float], float]:
        if self._metric in ("cosine", "dot", "jaccard"):
            # Already similarities (for normalized embeddings: cosine in [-1, 1]).
            return lambda score: score
        if self._metric == "euclidean":
            return self._euclidean_relevance_score_fn
        raise NotImplementedError(f"no relevance score for metric {self._metric!r}")

    def max_marginal_relevance_search_by_vector(
        self,
        embedding: list[float],
        k: int = 4,
        fetch_k: int = 20,
        lambda_mult: float = 0.5,
        filter: dict[str, Any] | None = None,
        **kwargs: Any,
    ) -> list[Document]:
        """``k`` documents picked among the ``fetch_k`` nearest for relevance and
        diversity (``lambda_mult``: 1 = relevance only, 0 = diversity only)."""
        if self._collection is None:
            return []
        query = np.asarray(embedding, dtype=np.float32)
        hits = self._collection.search(
            query, fetch_k, translate_filter(filter), with_vector=True, **kwargs
        )
        if not hits:
            return []
        chosen = maximal_marginal_relevance(
            query, [h["vector"] for h in hits], lambda_mult=lambda_mult, k=k
        )
        return [self._document(hits[i]) for i in chosen]

    def max_marginal_relevance_search(
        self,
        query: str,
        k: int = 4,
        fetch_k: int = 20,
        lambda_mult: float = 0.5,
        filter: dict[str, Any] | None = None,
        **kwargs: Any,
    ) -> list[Document]:
        return self.max_marginal_relevance_search_by_vector(
            self._embedding.embed_query(query), k, fetch_k, lambda_mult, filter, **kwargs
        )

    # ------------------------------------------------------------------ construction

    @classmethod
    def from_texts(
        cls,
        texts: list[str],
        embedding: Embeddings,
        metadatas: list[dict] | None = None,
        *,
        ids: list[str] | None = None,
        **kwargs: Any,
    ) -> NearStoreVectorStore:
        """A store (arguments as for the constructor: ``path=`` or ``database=`` or
        ``collection=``, ``collection_name``, ``metric``, ``collection_options``) holding
        ``texts``."""
        store = cls(embedding, **kwargs)
        store.add_texts(texts, metadatas, ids=ids)
        return store
