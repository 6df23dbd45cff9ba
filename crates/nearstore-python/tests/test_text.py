"""Full-text search from Python: text_search / text_search_with_filter / query(text=...) and
MATCH in execute, checked against a BM25 oracle written here (the default analyzer: NFKD
ASCII folding, lowercase, split on everything not [a-z0-9]; k1 = 1.2, b = 0.75;
idf = ln(1 + (N - df + 0.5) / (df + 0.5)) over the live documents); text index
configuration; deletes, updates and reopen; errors."""

import math
import re
import unicodedata

import numpy as np
import pytest

import nearstore

K1, B = 1.2, 0.75

DOCS = {
    1: {"text": "Graph databases store nodes and edges", "lang": "en"},
    2: {"text": "Vector databases search embeddings quickly", "lang": "en"},
    3: {"text": "A graph of vector embeddings, and a graph of words", "lang": "en"},
    4: {"text": "Cooking pasta with tomato sauce", "lang": "it"},
    5: {"text": "Databases, databases: relational databases everywhere", "lang": "fr"},
    6: {"text": "Les bases de données vectorielles (café, naïve)", "lang": "fr"},
    7: {"text": "databases of graph embeddings", "lang": "de", "tags": ["search", "nodes"]},
    8: {"text": "Nodes, edges and paths: graph theory", "lang": "en"},
}


def tokens(text):
    folded = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode().lower()
    return re.findall(r"[a-z0-9]+", folded)


def leaves(value):
    """Every string leaf of a payload, in order (the default `_all` field)."""
    if isinstance(value, str):
        yield value
    elif isinstance(value, dict):
        for v in value.values():
            yield from leaves(v)
    elif isinstance(value, list):
        for v in value:
            yield from leaves(v)


def analyzed(docs):
    return {i: [t for leaf in leaves(p) for t in tokens(leaf)] for i, p in docs.items()}


def bm25(docs, terms, candidates=None):
    """Oracle scores of `terms` (each counted once) for every document holding one of them:
    {id: score}, only among `candidates` when given (N and df stay over all of `docs`)."""
    toks = analyzed(docs)
    toks = {i: t for i, t in toks.items() if t}
    n = len(toks)
    avgdl = sum(len(t) for t in toks.values()) / n
    scores = {}
    for term in dict.fromkeys(terms):
        df = sum(1 for t in toks.values() if term in t)
        if df == 0:
            continue
        idf = math.log(1 + (n - df + 0.5) / (df + 0.5))
        for i, t in toks.items():
            tf = t.count(term)
            if tf == 0 or (candidates is not None and i not in candidates):
                continue
            norm = tf * (K1 + 1) / (tf + K1 * (1 - B + B * len(t) / avgdl))
            scores[i] = scores.get(i, 0.0) + idf * norm
    return scores


def ranked(scores, k):
    """The oracle's top k: best score first, ties to the smaller id."""
    return sorted(scores.items(), key=lambda kv: (-kv[1], kv[0]))[:k]


def assert_matches_oracle(hits, want):
    assert [h["id"] for h in hits] == [i for i, _ in want]
    assert [h["score"] for h in hits] == pytest.approx([s for _, s in want], rel=1e-4)


def load(c, docs):
    ids = sorted(docs)
    c.upsert(ids, np.ones((len(ids), c.dim), np.float32), [docs[i] for i in ids])


@pytest.fixture
def docs(db):
    c = db.create_collection("docs", 2)
    load(c, DOCS)
    return c


@pytest.mark.parametrize(
    "query", ["graph", "databases", "graph embeddings", "nodes edges", "cafe", "DONNÉES", "tomato"]
)
def test_text_search_ranks_like_the_bm25_oracle(docs, query):
    hits = docs.text_search(query, top_k=5)
    assert_matches_oracle(hits, ranked(bm25(DOCS, tokens(query)), 5))
    assert hits and set(hits[0]) == {"id", "score", "payload"}
    assert hits[0]["payload"] == DOCS[hits[0]["id"]]


def test_simple_queries_give_the_expected_ids(docs):
    assert [h["id"] for h in docs.text_search("tomato")] == [4]
    # "search" is in 2's text and in 7's tags (every string leaf is indexed).
    assert sorted(h["id"] for h in docs.text_search("search")) == [2, 7]
    assert docs.text_search("zebra") == []
    # No indexable word: no rows, not an error.
    assert docs.text_search("!! ??") == []
    assert len(docs.text_search("graph", 2)) == 2
    assert docs.text_search("graph", top_k=0) == []


def test_phrases_and_required_and_excluded_words(docs):
    # Adjacent and in order: 1 ("graph databases"), not 7 ("databases of graph").
    assert [h["id"] for h in docs.text_search('"graph databases"')] == [1]
    assert [h["id"] for h in docs.text_search('"vector embeddings"')] == [3]
    assert docs.text_search('"embeddings vector"') == []
    # +vector: only the documents holding "vector", ranked by every positive word.
    want = bm25(DOCS, ["vector", "databases"], candidates={2, 3})
    assert_matches_oracle(docs.text_search("+vector databases"), ranked(want, 10))
    # -graph: "databases" without the documents holding "graph" (excluded words do not score).
    want = bm25(DOCS, ["databases"], candidates={2, 5})
    assert_matches_oracle(docs.text_search("databases -graph"), ranked(want, 10))
    assert docs.text_search("-graph") == []
    assert [h["id"] for h in docs.text_search("+graph +edges -theory")] == [1]


def test_filter_is_applied_inside_the_text_search(docs):
    en = {i for i, p in DOCS.items() if p["lang"] == "en"}
    hits = docs.text_search_with_filter("databases graph", 10, {"field": "lang", "eq": "en"})
    assert_matches_oracle(hits, ranked(bm25(DOCS, ["databases", "graph"], en), 10))
    # Never short: k results whenever k matching points contain the query.
    hits = docs.text_search_with_filter("graph", 2, {"field": "lang", "in": ["en", "de"]})
    assert len(hits) == 2
    # Full-text filter conditions too.
    hits = docs.text_search_with_filter("databases", 10, {"field": "text", "text": "vector"})
    assert [h["id"] for h in hits] == [2]
    with pytest.raises(nearstore.InvalidArgument, match="needs a filter"):
        docs.text_search_with_filter("graph", 3, None)


def test_query_with_text_is_the_same_search(docs):
    full = docs.text_search("graph databases", 10)
    assert docs.query(text="graph databases", limit=10) == full
    assert docs.query(text="graph databases", limit=2, offset=1) == full[1:3]
    hits = docs.query(text="graph", filter={"field": "lang", "eq": "en"}, with_payload=False)
    assert [h["id"] for h in hits] == [
        h["id"] for h in docs.text_search_with_filter("graph", 10, {"field": "lang", "eq": "en"})
    ]
    assert all(h["payload"] is None for h in hits)
    with_vec = docs.query(text="tomato", with_vector=True)
    assert with_vec[0]["vector"].tolist() == [1.0, 1.0]
    # A vector and a text together: a hybrid search, both legs reported per result.
    hybrid = docs.query([1.0, 0.0], text="graph")
    assert {h["id"] for h in full if "graph" in h["payload"]["text"].lower()} <= {
        h["id"] for h in docs.query([1.0, 0.0], text="graph", limit=len(DOCS))
    }
    assert all(leg["name"] in ("dense", "text") for h in hybrid for leg in h["legs"])
    with pytest.raises(nearstore.InvalidArgument, match="always exact"):
        docs.query(text="graph", quality="fast")


def test_deletes_and_updates_count_at_once(docs):
    live = dict(DOCS)
    assert 1 in {h["id"] for h in docs.text_search("graph")}
    assert docs.delete([1, 8]) == 2
    del live[1], live[8]
    assert_matches_oracle(docs.text_search("graph", 10), ranked(bm25(live, ["graph"]), 10))
    assert docs.delete(filter={"field": "lang", "eq": "it"}) == 1
    del live[4]
    assert docs.text_search("tomato") == []
    # An update replaces the old words.
    live[3] = {"text": "tomato soup", "lang": "en"}
    docs.upsert([3], [[1.0, 1.0]], [live[3]])
    assert 3 not in {h["id"] for h in docs.text_search("graph")}
    assert_matches_oracle(docs.text_search("tomato soup"), ranked(bm25(live, ["tomato", "soup"]), 10))
    assert_matches_oracle(docs.text_search("databases", 10), ranked(bm25(live, ["databases"]), 10))
    info = docs.text_index_info()
    assert info["documents"] == len(live)


def test_text_search_survives_reopen(tmp_path):
    path = tmp_path / "data"
    with nearstore.Database(path) as db:
        c = db.create_collection("docs", 2)
        load(c, DOCS)
        c.delete(5)
        c.create_text_index("text", stemmer="english")
        before = c.text_search("databases graph", 10)
        c.upsert([9], [[1.0, 1.0]], [{"text": "graph databases again"}])
        c.flush()
        after_write = c.text_search("databases graph", 10)
        stemmed = c.text_search("storing", field="text")
    with nearstore.Database(path) as db:
        c = db.get_collection("docs")
        assert c.text_search("databases graph", 10) == after_write
        assert {h["id"] for h in after_write} - {h["id"] for h in before} == {9}
        assert 5 not in {h["id"] for h in after_write}
        assert set(c.text_index_info()["fields"]) == {"_all", "text"}
        assert c.text_search("storing", field="text") == stemmed
        assert [h["id"] for h in stemmed] == [1]


def test_match_in_execute(db, docs):
    rows = db.execute("SELECT id, similarity() AS bm25 FROM docs WHERE MATCH 'graph' LIMIT 3")
    want = docs.text_search("graph", 3)
    assert [r["id"] for r in rows] == [h["id"] for h in want]
    assert [r["bm25"] for r in rows] == pytest.approx([h["score"] for h in want], rel=1e-6)
    rows = db.execute("SELECT id FROM docs WHERE MATCH $q AND lang = 'en'", {"q": "databases"})
    en = {i for i, p in DOCS.items() if p["lang"] == "en"}
    assert [r["id"] for r in rows] == [i for i, _ in ranked(bm25(DOCS, ["databases"], en), 10)]
    rows = db.execute("SELECT id FROM docs WHERE _all MATCH '\"graph databases\"'")
    assert rows == [{"id": 1}]
    with pytest.raises(nearstore.InvalidArgument, match="no text index on field"):
        db.execute("SELECT id FROM docs WHERE title MATCH 'graph'")


def test_text_index_configuration(db):
    c = db.create_collection("c", 2, text=False)
    assert c.config["text_fields"] is None and c.text_index_info() is None
    c.upsert([1, 2, 3], np.ones((3, 2)), [
        {"title": "Running shoes", "body": "tomato"},
        {"title": "He runs daily", "body": "shoes"},
        {"title": "The walk", "body": "running"},
    ])
    with pytest.raises(nearstore.InvalidArgument, match="no text index"):
        c.text_search("running")
    # Enabling it indexes the existing points.
    c.create_text_index("title", stemmer="english", stop_words=["the"])
    assert c.config["text_fields"] == ["title"]
    assert sorted(h["id"] for h in c.text_search("run")) == [1, 2]
    assert c.text_search("the") == []
    assert c.text_search("tomato") == []  # body is not a text field
    c.create_text_index("body")
    assert [h["id"] for h in c.text_search("tomato")] == [1]
    assert [h["id"] for h in c.text_search("shoes", field="body")] == [2]
    assert [h["id"] for h in c.text_search("body:running")] == [3]
    info = c.text_index_info()
    assert info["documents"] == 3
    assert info["fields"]["title"]["analyzer"]["stemmer"] == "english"
    assert info["fields"]["title"]["analyzer"]["stop_words"] == ["the"]
    assert info["fields"]["body"]["analyzer"]["tokenizer"] == "alphanumeric"
    assert (info["fields"]["body"]["k1"], info["fields"]["body"]["b"]) == (K1, B)
    assert set(info["fields"]["body"]["analyzer"]) == set(nearstore.TEXT_ANALYZER_OPTIONS)
    # A raw tokenizer keeps the whole value as one token.
    c.create_text_index("title", tokenizer="raw")
    assert [h["id"] for h in c.text_search('"he runs daily"', field="title")] == [2]
    assert c.drop_text_index("body") is True
    assert c.drop_text_index("body") is False
    assert c.drop_text_index("title") is True
    assert c.text_index_info() is None and c.config["text_fields"] is None
    named = db.create_collection("named", 2, text=["a.b", "c"])
    assert named.config["text_fields"] == ["a.b", "c"]
    named.upsert([7], [[1, 1]], [{"a": {"b": "deep words"}, "d": "ignored words"}])
    assert [h["id"] for h in named.text_search("deep")] == [7]
    assert named.text_search("ignored") == []


@pytest.mark.parametrize(
    "options,message",
    [
        ({"stemmer": "klingon"}, "unknown variant"),
        ({"tokenizer": "ngram"}, "unknown variant"),
        ({"stemming": "english"}, "accepted: tokenizer"),
        ({"lowercase": "yes"}, "bad text analyzer options"),
        ({"min_token_chars": -1}, "bad text analyzer options"),
    ],
)
def test_bad_analyzer_options_are_refused(docs, options, message):
    with pytest.raises(nearstore.InvalidArgument, match=message):
        docs.create_text_index("text", **options)
    assert set(docs.text_index_info()["fields"]) == {"_all"}


def test_bad_text_input_is_refused(db, docs):
    with pytest.raises(nearstore.InvalidArgument, match="no text index on field"):
        docs.text_search("graph", field="title")
    with pytest.raises(nearstore.InvalidArgument, match="at most"):
        docs.text_search("graph", nearstore.MAX_SEARCH_RESULTS + 1)
    with pytest.raises(nearstore.InvalidArgument, match="needs an operator"):
        docs.text_search_with_filter("graph", 3, {"field": "lang"})
    with pytest.raises(TypeError):
        docs.text_search(42)  # type: ignore[arg-type]
    with pytest.raises(OverflowError):
        docs.text_search("graph", -1)
    with pytest.raises(nearstore.InvalidArgument, match="text must be"):
        db.create_collection("bad", 2, text=3)
    with pytest.raises(nearstore.InvalidArgument, match="text=False"):
        db.create_collection("bad", 2, text=[])
    db.drop_collection("docs")
    with pytest.raises(nearstore.NotFound):
        docs.text_search("graph")
