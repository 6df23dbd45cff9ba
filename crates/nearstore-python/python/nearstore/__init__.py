"""NearStore: the embedded vector database, in-process.

    import numpy as np
    import nearstore

    with nearstore.Database("./data") as db:
        docs = db.create_collection("docs", dim=4, metric="cosine")
        docs.upsert([1, 2], np.random.rand(2, 4).astype("float32"),
                    payloads=[{"lang": "en"}, {"lang": "fr"}])
        hits = docs.search([0.1, 0.2, 0.3, 0.4], k=1, filter={"field": "lang", "eq": "en"})
        # [{'id': 1, 'score': 0.93..., 'payload': {'lang': 'en'}}]
        docs.text_search("graph databases", top_k=5)  # BM25 over the payloads' strings
        docs.hybrid_search([0.1, 0.2, 0.3, 0.4], "graph databases", top_k=5)  # dense + BM25

`Database` opens a directory of collections; `Collection` holds points (integer id, float32
vector, optional JSON payload) and searches them; `GraphCollection` adds typed edges between
the points of a graph collection (traversal, node payloads, search by embedding). Engine errors raise the classes of
`nearstore.errors`, all subclasses of `nearstore.Error`. `nearstore.langchain` has a LangChain
vector store (needs `langchain-core`).
"""

from nearstore import errors
from nearstore._native import (
    COLLECTION_OPTIONS,
    FUSION_STRATEGIES,
    MAX_DIMENSION,
    MAX_SEARCH_RESULTS,
    QUERY_OPTIONS,
    RESERVED_QUERY_OPTIONS,
    TEXT_ANALYZER_OPTIONS,
    AgentMemory,
    Collection,
    Database,
    FusionStrategy,
    GraphCollection,
    __version__,
)
from nearstore.errors import (
    AlreadyExists,
    Cancelled,
    Closed,
    Conflict,
    Corruption,
    Error,
    Internal,
    InvalidArgument,
    Io,
    NotFound,
    Overloaded,
    ResourceExhausted,
    Unsupported,
)

__all__ = [
    "Database",
    "AgentMemory",
    "Collection",
    "GraphCollection",
    "FusionStrategy",
    "Error",
    "InvalidArgument",
    "Unsupported",
    "NotFound",
    "AlreadyExists",
    "Conflict",
    "Corruption",
    "Io",
    "ResourceExhausted",
    "Cancelled",
    "Internal",
    "Closed",
    "Overloaded",
    "errors",
    "COLLECTION_OPTIONS",
    "QUERY_OPTIONS",
    "RESERVED_QUERY_OPTIONS",
    "TEXT_ANALYZER_OPTIONS",
    "FUSION_STRATEGIES",
    "MAX_DIMENSION",
    "MAX_SEARCH_RESULTS",
    "__version__",
]
