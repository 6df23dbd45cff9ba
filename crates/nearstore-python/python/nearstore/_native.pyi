"""Type stubs of nearstore's native module (re-exported by `nearstore`)."""

from collections.abc import Sequence
from os import PathLike
from types import TracebackType
from typing import Any, Literal, TypedDict, final, overload

import numpy as np
import numpy.typing as npt

__all__ = [
    "Database",
    "Collection",
    "GraphCollection",
    "FusionStrategy",
    "AgentMemory",
    "__version__",
    "MAX_DIMENSION",
    "MAX_SEARCH_RESULTS",
    "COLLECTION_OPTIONS",
    "QUERY_OPTIONS",
    "RESERVED_QUERY_OPTIONS",
    "TEXT_ANALYZER_OPTIONS",
    "FUSION_STRATEGIES",
]

__version__: str
MAX_DIMENSION: int
MAX_SEARCH_RESULTS: int
COLLECTION_OPTIONS: list[str]
QUERY_OPTIONS: list[str]
RESERVED_QUERY_OPTIONS: list[str]
TEXT_ANALYZER_OPTIONS: list[str]
FUSION_STRATEGIES: list[str]

_JSON = Any
"""A JSON value: None, bool, int, float, str, list, dict (numpy scalars and arrays accepted)."""
_Filter = dict[str, Any]
"""A filter in the engine's JSON form, e.g. {"field": "lang", "eq": "en"}, {"and": [...]}."""
_Ids = Sequence[int] | npt.NDArray[np.integer[Any]]
_Vector = Sequence[float] | npt.NDArray[np.floating[Any] | np.integer[Any]]
_Matrix = Sequence[Sequence[float]] | Sequence[npt.NDArray[Any]] | npt.NDArray[np.floating[Any] | np.integer[Any]]
_Metric = Literal["cosine", "euclidean", "l2", "dot", "dot_product", "hamming", "jaccard", "manhattan", "l1"] | str
_Quality = Literal["fast", "balanced", "accurate", "perfect", "exact", "adaptive"]
_StorageMode = Literal["full", "sq8", "binary", "pq", "rabitq"]
_Tokenizer = Literal["alphanumeric", "word", "whitespace", "raw"]
_Stemmer = Literal[
    "arabic", "danish", "dutch", "english", "finnish", "french", "german", "greek",
    "hungarian", "italian", "norwegian", "portuguese", "romanian", "russian", "spanish",
    "swedish", "tamil", "turkish",
]
_TextOption = bool | str | Sequence[str]
"""create_collection(text=...): True (every string leaf as "_all"), False (off), field(s)."""

class _LegScore(TypedDict):
    """What one leg of a fused search said about a result."""

    leg: int
    name: str | None
    score: float
    rank: int

class _Hit(TypedDict, total=False):
    """A search result: always id, score and payload; vector when with_vector=True (and
    vectors / sparse, the named ones, when the point has any); legs in a search with several
    legs (hybrid, multi-query)."""

    id: int
    score: float
    payload: dict[str, Any] | None
    vector: npt.NDArray[np.float32] | None
    vectors: dict[str, npt.NDArray[np.float32]]
    sparse: dict[str, _SparseDict]
    legs: list[_LegScore]

_FusionName = Literal["rrf", "relative_score", "dbsf", "weighted", "average", "maximum"]
_Fusion = FusionStrategy | _FusionName | dict[str, Any] | None

@final
class FusionStrategy:
    """How the ranked lists of a search's legs become one ranking."""

    @staticmethod
    def rrf(k: int = 60) -> FusionStrategy: ...
    @staticmethod
    def relative_score(weights: Sequence[float] | None = None) -> FusionStrategy: ...
    @staticmethod
    def dbsf() -> FusionStrategy: ...
    @staticmethod
    def weighted(weights: Sequence[float] | None = None) -> FusionStrategy: ...
    @staticmethod
    def average() -> FusionStrategy: ...
    @staticmethod
    def maximum() -> FusionStrategy: ...
    @property
    def name(self) -> str: ...
    @property
    def k(self) -> int | None: ...
    @property
    def weights(self) -> list[float] | None: ...

class _SparseDict(TypedDict):
    """A sparse vector as results carry it: indices strictly increasing."""

    indices: list[int]
    values: list[float]

_SparseVector = (
    _SparseDict
    | dict[str, Sequence[int] | Sequence[float] | npt.NDArray[Any]]
    | tuple[Sequence[int] | npt.NDArray[np.integer[Any]], Sequence[float] | npt.NDArray[Any]]
    | dict[int, float]
)
"""{"indices": [...], "values": [...]}, (indices, values) or {dim: weight}."""
_NamedSparse = _SparseVector | dict[str, _SparseVector]
"""One sparse vector (the default name "") or {name: sparse vector}."""

class _StoredPoint(TypedDict, total=False):
    """A point from get/scroll: always id and payload; vector (and vectors / sparse, when it
    has named dense / sparse vectors) when asked for."""

    id: int
    payload: dict[str, Any] | None
    vector: npt.NDArray[np.float32] | None
    vectors: dict[str, npt.NDArray[np.float32]]
    sparse: dict[str, _SparseDict]

class _VectorSpace(TypedDict, total=False):
    """A named dense vector of create_collection(vectors={name: ...}): "dim" is required; the
    metric and HNSW parameters left out are the collection's."""

    dim: int
    metric: _Metric
    m: int
    ef_construction: int
    ef_search: int
    seed: int
    storage_mode: Literal["full"]

class _VectorConfig(TypedDict):
    """A named dense vector as Collection.config["vectors"] reports it."""

    dim: int
    metric: str
    m: int
    ef_construction: int
    ef_search: int
    seed: int
    storage_mode: Literal["full"]

_PointVectors = (
    _Matrix
    | dict[str, _Matrix | Sequence[_Vector | None]]
    | Sequence[_Vector | dict[str, _Vector] | None]
)
"""upsert's vectors: the default vectors (n, dim); {name: (n, dim) rows} ("" the default,
None rows leave a point without that vector); or one entry per point, a vector,
{name: vector} or None (no dense vector)."""

class _SnapshotInfo(TypedDict):
    collections: dict[str, int]
    files: int
    bytes: int

class _StreamingStatus(TypedDict):
    queued: int
    buffer_size: int
    batch_size: int
    flush_interval: float
    paused: bool

class _CollectionConfig(TypedDict):
    dim: int | None
    metric: str | None
    m: int
    ef_construction: int
    ef_search: int
    seed: int
    durability: Literal["per_write", "flush", "bulk"]
    max_payload_bytes: int
    storage_mode: _StorageMode
    oversampling: float | None
    train_at: int | None
    rabitq_bits: int | None
    quantile: float | None
    text_fields: list[str] | None
    sparse_vectors: dict[str, dict[str, str]]
    sparse_any_name: bool
    vectors: dict[str, _VectorConfig]

class _Analyzer(TypedDict):
    tokenizer: _Tokenizer
    lowercase: bool
    ascii_folding: bool
    stemmer: _Stemmer | None
    stop_words: list[str]
    min_token_chars: int
    max_token_chars: int | None

class _TextField(TypedDict):
    analyzer: _Analyzer
    k1: float
    b: float

class _TextIndexInfo(TypedDict):
    """text_index_info(): the text fields and the index's counts."""

    fields: dict[str, _TextField]
    documents: int
    dead_entries: int
    segments: int
    heap_bytes: int
    image_bytes: int

@final
class Database:
    """An open database directory (locked against other processes while open)."""

    def __new__(cls, path: str | PathLike[str]) -> Database: ...
    @property
    def path(self) -> Any: ...
    @property
    def closed(self) -> bool: ...
    def create_collection(
        self,
        name: str,
        dim: int | None = None,
        metric: _Metric | None = None,
        *,
        m: int = ...,
        ef_construction: int = ...,
        ef_search: int = ...,
        seed: int = ...,
        durability: Literal["per_write", "flush", "bulk"] = ...,
        max_payload_bytes: int = ...,
        storage_mode: _StorageMode = ...,
        oversampling: float = ...,
        train_at: int = ...,
        rabitq_bits: Literal[1, 4] = ...,
        quantile: float = ...,
        text: _TextOption = True,
        sparse: Sequence[str] | dict[str, dict[str, str] | None] | None = None,
        vectors: dict[str, int | _VectorSpace] | None = None,
    ) -> Collection: ...
    def get_collection(self, name: str) -> Collection: ...
    def create_graph_collection(
        self,
        name: str,
        dimension: int | None = None,
        metric: _Metric = "cosine",
        schema: dict[str, Any] | None = None,
    ) -> GraphCollection: ...
    def get_graph_collection(self, name: str) -> GraphCollection: ...
    def create_metadata_collection(self, name: str) -> Collection: ...
    def list_collections(self) -> list[str]: ...
    def drop_collection(self, name: str) -> None: ...
    def __contains__(self, name: str, /) -> bool: ...
    @overload
    def execute(
        self, sql: str, params: dict[str, _JSON] | None = None, *, columns: Literal[False] = False
    ) -> list[dict[str, Any]]: ...
    @overload
    def execute(
        self, sql: str, params: dict[str, _JSON] | None = None, *, columns: Literal[True]
    ) -> dict[str, list[Any]]: ...
    def snapshot(self, dir: str | PathLike[str]) -> _SnapshotInfo: ...
    def restore(self, dir: str | PathLike[str]) -> _SnapshotInfo: ...
    def flush(self) -> None: ...
    def close(self) -> None: ...
    def __enter__(self) -> Database: ...
    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> bool: ...

class _Edge(TypedDict):
    id: int
    source: int
    target: int
    label: str
    properties: dict[str, Any]

class _EdgeIn(TypedDict, total=False):
    id: int
    source: int
    target: int
    label: str
    properties: dict[str, Any] | None

class _Reached(TypedDict):
    target_id: int
    depth: int
    path: list[int]

@final
class GraphCollection:
    """A graph collection: nodes (its points) and typed, directed edges."""

    @property
    def name(self) -> str: ...
    @property
    def has_embeddings(self) -> bool: ...
    @property
    def schema(self) -> dict[str, Any] | None: ...
    def add_edge(self, edge: _EdgeIn) -> None: ...
    def add_edges_batch(self, edges: Sequence[_EdgeIn]) -> int: ...
    def remove_edge(self, edge_id: int) -> bool: ...
    def get_edges(self, label: str | None = None) -> list[_Edge]: ...
    def get_outgoing(self, node_id: int) -> list[_Edge]: ...
    def get_incoming(self, node_id: int) -> list[_Edge]: ...
    def node_degree(self, node_id: int) -> tuple[int, int]: ...
    def edge_count(self) -> int: ...
    def traverse_bfs(
        self,
        source_id: int,
        max_depth: int = 3,
        limit: int = 100,
        rel_types: Sequence[str] | None = None,
        min_depth: int = 1,
    ) -> list[_Reached]: ...
    def traverse_dfs(
        self,
        source_id: int,
        max_depth: int = 3,
        limit: int = 100,
        rel_types: Sequence[str] | None = None,
        min_depth: int = 1,
    ) -> list[_Reached]: ...
    def upsert_node_payload(self, node_id: int, payload: dict[str, _JSON]) -> None: ...
    def store_node_payload(self, node_id: int, payload: dict[str, _JSON]) -> None: ...
    def get_node_payload(self, node_id: int) -> dict[str, Any] | None: ...
    def search_by_embedding(self, query: _Vector, k: int = 10) -> list[_Hit]: ...
    def flush(self) -> None: ...
    def __len__(self) -> int: ...

@final
class Collection:
    """A collection of points (integer id, float32 vector, optional JSON payload)."""

    @property
    def name(self) -> str: ...
    @property
    def dim(self) -> int | None: ...
    @property
    def metric(self) -> str | None: ...
    @property
    def config(self) -> _CollectionConfig: ...
    ef_search: int
    def __len__(self) -> int: ...
    def upsert(
        self,
        ids: _Ids,
        vectors: _PointVectors | None = None,
        payloads: Sequence[dict[str, _JSON] | None] | None = None,
        sparse: Sequence[_NamedSparse | None] | None = None,
        *,
        ttl: float | Sequence[float | None] | None = None,
        expires_at: int | str | Sequence[int | str | None] | None = None,
    ) -> None: ...
    def upsert_bulk(
        self,
        ids: _Ids,
        vectors: _PointVectors | None = None,
        payloads: Sequence[dict[str, _JSON] | None] | None = None,
        sparse: Sequence[_NamedSparse | None] | None = None,
        *,
        ttl: float | Sequence[float | None] | None = None,
        expires_at: int | str | Sequence[int | str | None] | None = None,
    ) -> None: ...
    def wait_indexed(self) -> None: ...
    def pending_index_count(self) -> int: ...
    def set_ttl(self, ids: _Ids, seconds: float) -> None: ...
    def set_expiry(self, ids: _Ids, expires_at: int | str | None) -> None: ...
    def expires_at(self, id: int) -> int | None: ...
    def purge_expired(self) -> int: ...
    def enable_streaming(
        self,
        buffer_size: int | None = None,
        batch_size: int | None = None,
        flush_interval: float | None = None,
    ) -> None: ...
    def disable_streaming(self) -> None: ...
    def stream_insert(
        self,
        id: int,
        vector: _Vector | None = None,
        payload: dict[str, _JSON] | None = None,
        *,
        ttl: float | None = None,
        expires_at: int | str | None = None,
    ) -> None: ...
    def stream_insert_batch(
        self,
        ids: _Ids,
        vectors: _PointVectors | None = None,
        payloads: Sequence[dict[str, _JSON] | None] | None = None,
        sparse: Sequence[_NamedSparse | None] | None = None,
        *,
        ttl: float | Sequence[float | None] | None = None,
        expires_at: int | str | Sequence[int | str | None] | None = None,
    ) -> None: ...
    def streaming_status(self) -> _StreamingStatus | None: ...
    def set_streaming_paused(self, paused: bool) -> None: ...
    def update_vectors(
        self,
        ids: _Ids,
        vectors: _PointVectors | None = None,
        sparse: Sequence[_NamedSparse | None] | None = None,
    ) -> None: ...
    def delete_vectors(self, ids: int | _Ids, names: str | Sequence[str]) -> None: ...
    def search(
        self,
        vector: _Vector,
        k: int = 10,
        filter: _Filter | None = None,
        *,
        offset: int = 0,
        quality: _Quality | None = None,
        ef: int | None = None,
        with_payload: bool = True,
        with_vector: bool = False,
        score_threshold: float | None = None,
        rerank: bool | None = None,
        oversampling: float | None = None,
        using: str = "",
    ) -> list[_Hit]: ...
    def query(
        self,
        vector: _Vector | None = None,
        *,
        limit: int = 10,
        offset: int = 0,
        filter: _Filter | None = None,
        quality: _Quality | None = None,
        ef: int | None = None,
        with_payload: bool = True,
        with_vector: bool = False,
        score_threshold: float | None = None,
        rerank: bool | None = None,
        oversampling: float | None = None,
        text: str | None = None,
        text_field: str | None = None,
        fusion: _Fusion = None,
        sparse: _NamedSparse | None = None,
        dense: dict[str, _Vector] | None = None,
        using: str | None = None,
    ) -> list[_Hit]: ...
    def search_batch(
        self,
        vectors: _Matrix,
        k: int = 10,
        filter: _Filter | None = None,
        *,
        offset: int = 0,
        quality: _Quality | None = None,
        ef: int | None = None,
        score_threshold: float | None = None,
        rerank: bool | None = None,
        oversampling: float | None = None,
        using: str = "",
    ) -> tuple[npt.NDArray[np.uint64], npt.NDArray[np.float32]]: ...
    @overload
    def get(self, ids: int, with_vector: bool = True) -> _StoredPoint | None: ...
    @overload
    def get(self, ids: _Ids, with_vector: bool = True) -> list[_StoredPoint | None]: ...
    def delete(self, ids: int | _Ids | None = None, *, filter: _Filter | None = None) -> int: ...
    def scroll(
        self,
        filter: _Filter | None = None,
        limit: int = 100,
        cursor: int | None = None,
        with_vector: bool = False,
    ) -> tuple[list[_StoredPoint], int | None]: ...
    def count(self, filter: _Filter | None = None) -> int: ...
    def flush(self) -> None: ...
    def checkpoint(self) -> None: ...
    def train_quantizer(self) -> bool: ...
    @property
    def quantizer_trained(self) -> bool: ...
    def create_payload_index(
        self, field: str, kind: Literal["keyword", "integer", "float", "bool", "datetime"]
    ) -> None: ...
    def drop_payload_index(self, field: str) -> bool: ...
    def payload_indexes(self) -> dict[str, str]: ...
    def text_search(self, query: str, top_k: int = 10, *, field: str | None = None) -> list[_Hit]: ...
    def hybrid_search(
        self,
        vector: _Vector,
        query: str,
        top_k: int = 10,
        vector_weight: float = 0.5,
        filter: _Filter | None = None,
        *,
        using: str | None = None,
    ) -> list[_Hit]: ...
    def sparse_search(
        self,
        vector: _SparseVector,
        top_k: int = 10,
        name: str = "",
        filter: _Filter | None = None,
    ) -> list[_Hit]: ...
    def hybrid_sparse_search(
        self,
        vector: _Vector,
        sparse_vector: _SparseVector,
        top_k: int = 10,
        name: str = "",
        fusion: _Fusion = None,
        filter: _Filter | None = None,
        *,
        using: str | None = None,
    ) -> list[_Hit]: ...
    def multi_query_search(
        self,
        vectors: _Matrix,
        top_k: int = 10,
        fusion: _Fusion = None,
        filter: _Filter | None = None,
        *,
        using: str | Sequence[str] | None = None,
    ) -> list[_Hit]: ...
    def text_search_with_filter(
        self, query: str, top_k: int, filter: _Filter, *, field: str | None = None
    ) -> list[_Hit]: ...
    def create_text_index(
        self,
        field: str,
        *,
        tokenizer: _Tokenizer = ...,
        lowercase: bool = ...,
        ascii_folding: bool = ...,
        stemmer: _Stemmer | None = ...,
        stop_words: Sequence[str] = ...,
        min_token_chars: int = ...,
        max_token_chars: int | None = ...,
    ) -> None: ...
    def drop_text_index(self, field: str) -> bool: ...
    def text_index_info(self) -> _TextIndexInfo | None: ...
    def _rust_search_seconds(self, vectors: _Matrix, k: int = 10) -> float: ...
    def __enter__(self) -> Collection: ...
    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> bool: ...

class _Procedure(TypedDict):
    id: int
    name: str
    steps: list[str]
    confidence: float
    score: float
    usage_count: int

class _ScoredMemory(TypedDict):
    id: int
    score: float
    relevance: float
    recency: float
    importance: float
    payload: Any

@final
class AgentMemory:
    def __new__(cls, db: Database, dim: int | None = None) -> AgentMemory: ...
    def store(
        self, id: int, content: str, embedding: _Vector, importance: float | None = None
    ) -> None: ...
    def query(self, embedding: _Vector, k: int = 10) -> list[tuple[int, float, str]]: ...
    def delete(self, id: int) -> bool: ...
    def record(
        self,
        event_id: int,
        description: str,
        timestamp: int,
        embedding: _Vector | None = None,
        importance: float | None = None,
    ) -> None: ...
    def recent(self, limit: int = 10, since: int | None = None) -> list[tuple[int, str, int]]: ...
    def older_than(self, timestamp: int, limit: int = 100) -> list[tuple[int, str, int]]: ...
    def recall_similar(
        self, embedding: _Vector, k: int = 10
    ) -> list[tuple[int, str, int, float]]: ...
    def learn(
        self,
        id: int,
        name: str,
        steps: list[str],
        embedding: _Vector | None = None,
        confidence: float = 0.5,
    ) -> None: ...
    def recall(
        self, embedding: _Vector, k: int = 10, min_confidence: float = 0.0
    ) -> list[_Procedure]: ...
    def reinforce(self, id: int, success: bool) -> float | None: ...
    def set_eviction_threshold(self, threshold: float | None) -> None: ...
    def evict_below(self, threshold: float) -> int: ...
    def set_semantic_ttl(self, id: int, secs: int) -> None: ...
    def set_episodic_ttl(self, id: int, secs: int) -> None: ...
    def set_procedural_ttl(self, id: int, secs: int) -> None: ...
    def auto_expire(self) -> int: ...
    def scored_recall(
        self,
        memory: Literal["semantic", "episodic"],
        embedding: _Vector,
        k: int = 10,
        *,
        text: str | None = None,
        weights: tuple[float, float, float] = ...,
        half_life: float = 86400.0,
        now: int | None = None,
    ) -> list[_ScoredMemory]: ...
