"""Fixtures shared by the nearstore Python tests: a fresh database per test, seeded data."""

import numpy as np
import pytest

import nearstore


@pytest.fixture
def db(tmp_path):
    """An open database in a fresh directory, closed after the test."""
    database = nearstore.Database(tmp_path / "data")
    yield database
    database.close()


@pytest.fixture
def rng():
    return np.random.default_rng(20261205)


def brute_force(base, query, k, metric):
    """Exact k nearest rows of `base` to `query`: (indexes, scores), best first."""
    base = np.asarray(base, dtype=np.float64)
    query = np.asarray(query, dtype=np.float64)
    if metric == "cosine":
        b = base / np.linalg.norm(base, axis=1, keepdims=True)
        scores = b @ (query / np.linalg.norm(query))
        order = np.argsort(-scores, kind="stable")
    elif metric == "dot":
        scores = base @ query
        order = np.argsort(-scores, kind="stable")
    elif metric == "euclidean":
        scores = np.linalg.norm(base - query, axis=1)
        order = np.argsort(scores, kind="stable")
    elif metric == "manhattan":
        scores = np.abs(base - query).sum(axis=1)
        order = np.argsort(scores, kind="stable")
    else:
        raise ValueError(metric)
    return order[:k], scores[order[:k]]
