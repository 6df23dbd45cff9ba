"""numpy input: dtypes, memory layouts, shapes, ids; lists of lists and of arrays."""

import numpy as np
import pytest

import nearstore

DIM = 6


@pytest.fixture
def coll(db):
    return db.create_collection("c", DIM, metric="euclidean")


def stored(c, n):
    """The vectors of points 0..n-1 as a float32 matrix."""
    return np.stack([p["vector"] for p in c.get(list(range(n)))])


def test_float32_c_order(coll, rng):
    m = rng.standard_normal((5, DIM)).astype(np.float32)
    coll.upsert(np.arange(5), m)
    np.testing.assert_array_equal(stored(coll, 5), m)


@pytest.mark.parametrize(
    "layout",
    ["fortran", "transposed", "strided_rows", "strided_columns", "readonly", "big_endian"],
)
def test_float32_layouts(coll, rng, layout):
    base = rng.standard_normal((10, 2 * DIM)).astype(np.float32)
    if layout == "fortran":
        m = np.asfortranarray(base[:5, :DIM])
    elif layout == "transposed":
        m = np.ascontiguousarray(base[:DIM, :5]).T
    elif layout == "strided_rows":
        m = base[::2, :DIM]
    elif layout == "strided_columns":
        m = base[:5, ::2]
    elif layout == "readonly":
        m = base[:5, :DIM].copy()
        m.setflags(write=False)
    else:
        m = base[:5, :DIM].astype(">f4")
    assert m.shape == (5, DIM)
    coll.upsert(np.arange(5), m)
    np.testing.assert_array_equal(stored(coll, 5), np.asarray(m, dtype=np.float32))
    # The same layouts as query vectors.
    q = m[2]
    assert coll.search(q, 1, quality="perfect")[0]["id"] == 2


def test_float64_is_converted(coll, rng):
    m = rng.standard_normal((4, DIM))
    assert m.dtype == np.float64
    coll.upsert([0, 1, 2, 3], m)
    np.testing.assert_array_equal(stored(coll, 4), m.astype(np.float32))
    hit = coll.search(m[3], 1, quality="perfect")[0]
    assert hit["id"] == 3 and hit["score"] == pytest.approx(0.0, abs=1e-5)
    ids, _ = coll.search_batch(m[:, :], k=1, quality="perfect")
    assert list(ids[:, 0]) == [0, 1, 2, 3]
    strided = np.asfortranarray(m)[:, ::-1]
    coll.upsert([0, 1, 2, 3], strided)
    np.testing.assert_array_equal(stored(coll, 4), strided.astype(np.float32))


def test_float64_outside_float32_range_is_refused(coll):
    m = np.zeros((2, DIM))
    m[1, 3] = 1e300
    with pytest.raises(nearstore.InvalidArgument, match=r"vectors\[1\]\[3\]: 1e300 is outside the float32 range"):
        coll.upsert([0, 1], m)
    with pytest.raises(nearstore.InvalidArgument, match="outside the float32 range"):
        coll.search([1e300] + [0.0] * (DIM - 1), 1)
    assert coll.count() == 0


@pytest.mark.parametrize("dtype", [np.float16, np.int8, np.int32, np.uint16, np.int64])
def test_other_real_dtypes_are_converted(coll, dtype):
    m = (np.arange(3 * DIM).reshape(3, DIM) % 7).astype(dtype)
    coll.upsert([0, 1, 2], m)
    np.testing.assert_array_equal(stored(coll, 3), m.astype(np.float32))


@pytest.mark.parametrize("dtype", [np.bool_, np.complex64, object, "U3"])
def test_non_real_dtypes_are_refused(coll, dtype):
    m = np.zeros((2, DIM), dtype=dtype)
    with pytest.raises(nearstore.InvalidArgument, match="must hold real numbers"):
        coll.upsert([0, 1], m)
    with pytest.raises(nearstore.InvalidArgument, match="must hold real numbers"):
        coll.search(m[0], 1)


def test_shapes_are_checked(coll):
    with pytest.raises(nearstore.InvalidArgument, match=r"2-D array of shape \(n, dim\), got shape \[6\]"):
        coll.upsert([0], np.zeros(DIM, np.float32))
    with pytest.raises(nearstore.InvalidArgument, match="2-D"):
        coll.upsert([0], np.zeros((1, 1, DIM), np.float32))
    with pytest.raises(nearstore.InvalidArgument, match="1-D vector"):
        coll.search(np.zeros((1, DIM), np.float32), 1)
    with pytest.raises(nearstore.InvalidArgument, match="dimension mismatch"):
        coll.search(np.zeros(DIM + 1, np.float32), 1)
    with pytest.raises(nearstore.InvalidArgument, match="dimension mismatch"):
        coll.upsert([0], np.zeros((1, 0), np.float32))
    with pytest.raises(nearstore.InvalidArgument, match="must be a numpy array or a list"):
        coll.search("0.1 0.2", 1)
    with pytest.raises(nearstore.InvalidArgument, match="must be a 1-D numpy array or a list"):
        coll.search(42, 1)
    with pytest.raises(nearstore.InvalidArgument, match=r"vector\[1\] must be a number, got str"):
        coll.search([0.0, "x"] + [0.0] * 4, 1)


def test_lists_tuples_and_lists_of_arrays(coll, rng):
    m = rng.standard_normal((3, DIM)).astype(np.float32)
    coll.upsert([0, 1, 2], m.tolist())
    np.testing.assert_array_equal(stored(coll, 3), m)
    coll.upsert((0, 1, 2), [m[2], m[1], m[0]])
    np.testing.assert_array_equal(stored(coll, 3), m[::-1])
    coll.upsert(range(3), tuple(tuple(row) for row in m.tolist()))
    np.testing.assert_array_equal(stored(coll, 3), m)
    with pytest.raises(nearstore.InvalidArgument, match="dimension mismatch"):
        coll.upsert([5, 6], [[0.0] * DIM, [0.0] * (DIM - 1)])
    assert coll.count() == 3


@pytest.mark.parametrize("dtype", [np.uint64, np.int64, np.int32, np.uint8])
def test_integer_id_arrays(coll, dtype):
    ids = np.array([3, 1, 2], dtype=dtype)
    coll.upsert(ids, np.ones((3, DIM), np.float32))
    assert sorted(p["id"] for p in coll.scroll()[0]) == [1, 2, 3]
    assert coll.delete(ids[:2]) == 2


def test_bad_ids_are_refused(coll):
    v = np.ones((1, DIM), np.float32)
    with pytest.raises(nearstore.InvalidArgument, match=r"ids\[0\] = -1"):
        coll.upsert(np.array([-1]), v)
    with pytest.raises(nearstore.InvalidArgument, match=r"ids\[0\] must be an integer id"):
        coll.upsert([-1], v)
    with pytest.raises(nearstore.InvalidArgument, match=r"ids\[0\] must be an integer id"):
        coll.upsert([1.5], v)
    with pytest.raises(nearstore.InvalidArgument, match="must hold integers"):
        coll.upsert(np.array([1.0]), v)
    with pytest.raises(nearstore.InvalidArgument, match="must be a numpy array or a list"):
        coll.upsert("1", v)
    with pytest.raises(nearstore.InvalidArgument, match="must be 1-D"):
        coll.upsert(np.array([[1]]), v)
    coll.upsert([2**64 - 1], v)
    assert coll.get(2**64 - 1)["id"] == 2**64 - 1


def test_input_arrays_are_not_modified(coll, rng):
    m = rng.standard_normal((3, DIM)).astype(np.float32)
    original = m.copy()
    coll.upsert([0, 1, 2], m)
    coll.search(m[0], 2)
    coll.search_batch(m, 2)
    np.testing.assert_array_equal(m, original)


def test_result_vectors_are_independent_arrays(coll):
    coll.upsert([0], np.ones((1, DIM), np.float32))
    v = coll.get(0)["vector"]
    v[:] = 5.0
    np.testing.assert_array_equal(coll.get(0)["vector"], np.ones(DIM, np.float32))
