"""TEXMEX .fvecs / .ivecs I/O and recall helpers shared by bench/peers.py and bench/peer_run.py.

Format (little-endian): every row is an int32 count d, then d float32 (.fvecs) or d int32
(.ivecs).  Same layout as /work/shared/data/tools/annio.py; reimplemented here so the bench
does not depend on where shared/ is mounted, and so a large base file is read into ONE
contiguous array in chunks (no transient second copy that would inflate peak RSS).
"""
import os

import numpy as np

CHUNK_BYTES = 4 << 20  # small: the read buffer must not show up in peak RSS


def vecs_shape(path):
    """(rows, dim) of an .fvecs/.ivecs file, from its size and first header."""
    size = os.path.getsize(path)
    if size < 4:
        raise ValueError(f"{path}: empty or truncated file")
    with open(path, "rb") as f:
        d = int.from_bytes(f.read(4), "little", signed=True)
    if d <= 0:
        raise ValueError(f"{path}: bad dimension {d} in first row")
    row = 4 * (d + 1)
    if size % row:
        raise ValueError(f"{path}: size {size} is not a multiple of the row size {row} (dim {d})")
    return size // row, d


def read_vecs(path, kind="f", limit=None):
    """Read an .fvecs (kind 'f') or .ivecs (kind 'i') file into a C-contiguous (n, d) array.

    limit: read only the first `limit` rows.
    """
    n, d = vecs_shape(path)
    if limit is not None:
        n = min(n, limit)
    dtype = np.dtype("<f4") if kind == "f" else np.dtype("<i4")
    out = np.empty((n, d), dtype=dtype.newbyteorder("="))
    rows_per_chunk = max(1, CHUNK_BYTES // (4 * (d + 1)))
    with open(path, "rb") as f:
        s = 0
        while s < n:
            k = min(rows_per_chunk, n - s)
            buf = np.fromfile(f, dtype=dtype, count=k * (d + 1))
            if buf.size != k * (d + 1):
                raise ValueError(f"{path}: truncated at row {s}")
            buf = buf.reshape(k, d + 1)
            if not (buf[:, 0].view("<i4") == d).all():
                raise ValueError(f"{path}: inconsistent row dimension near row {s}")
            out[s:s + k] = buf[:, 1:]
            s += k
    return out


def mmap_fvecs(path):
    """Memory-mapped (n, d) float32 view of an .fvecs file (strided, read-only)."""
    n, d = vecs_shape(path)
    raw = np.memmap(path, dtype="<f4", mode="r", shape=(n, d + 1))
    return raw[:, 1:]


def recall_at_k(found, gt, k=10):
    """Mean over queries of |found[:k] & gt[:k]| / k.  Negative ids (padding) never match."""
    found = np.asarray(found)[:, :k].astype(np.int64)
    gt = np.asarray(gt)[:, :k].astype(np.int64)
    hits = 0
    for f, g in zip(found, gt):
        hits += len(set(f[f >= 0].tolist()) & set(g.tolist()))
    return hits / (k * len(gt))


def exact_topk(base, queries, metric, k=10, chunk=65536):
    """Exact top-k ids of `queries` over `base` (may be a memmap), in float64 for the check."""
    q = np.asarray(queries, dtype=np.float64)
    if metric == "cosine":
        q = q / np.maximum(np.linalg.norm(q, axis=1, keepdims=True), 1e-30)
    best_s = np.full((len(q), 0), -np.inf)
    best_i = np.zeros((len(q), 0), dtype=np.int64)
    for s in range(0, base.shape[0], chunk):
        b = np.asarray(base[s:s + chunk], dtype=np.float64)
        if metric == "l2":
            sc = -(np.sum(b * b, axis=1)[None, :] - 2.0 * q @ b.T)  # larger = closer
        elif metric == "cosine":
            nb = np.maximum(np.linalg.norm(b, axis=1), 1e-30)
            sc = (q @ b.T) / nb[None, :]
        else:
            sc = q @ b.T
        ids = np.broadcast_to(np.arange(s, s + b.shape[0]), sc.shape)
        best_s = np.concatenate([best_s, sc], axis=1)
        best_i = np.concatenate([best_i, ids], axis=1)
        if best_s.shape[1] > k:
            # order by score descending, then id ascending (ground-truth tie rule)
            order = np.lexsort((best_i, -best_s), axis=1)[:, :k]
            best_s = np.take_along_axis(best_s, order, axis=1)
            best_i = np.take_along_axis(best_i, order, axis=1)
    order = np.lexsort((best_i, -best_s), axis=1)[:, :k]
    return np.take_along_axis(best_i, order, axis=1)


def check_gt(base, query, gt_path, metric, nq_check, k=10):
    """Mean overlap between the gt file's top-k and an exact recomputation, first nq_check queries."""
    q = read_vecs(query, "f", limit=nq_check)
    gt = read_vecs(gt_path, "i", limit=nq_check)[:, :k]
    ex = exact_topk(mmap_fvecs(base), q, metric, k=k)
    return float(np.mean([len(set(a.tolist()) & set(b.tolist())) / k for a, b in zip(ex, gt)]))


def is_unit_length(base_path, sample=2000):
    x = mmap_fvecs(base_path)
    idx = np.linspace(0, x.shape[0] - 1, min(sample, x.shape[0])).astype(np.int64)
    norms = np.linalg.norm(np.asarray(x[idx], dtype=np.float64), axis=1)
    return bool(np.all(np.abs(norms - 1.0) < 1e-3))


def peak_rss_mib():
    """This process's own peak RSS in MiB: VmHWM of /proc/self/status (per address space, so
    not inherited from the parent), and getrusage ru_maxrss (which on Linux keeps the parent's
    high-water mark across fork+exec).  Returns (vmhwm or None, ru_maxrss)."""
    import resource
    ru = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0  # KiB on Linux
    try:
        with open("/proc/self/status") as f:
            for line in f:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) / 1024.0, ru
    except OSError:
        pass
    return None, ru


if __name__ == "__main__":
    # helper commands for bench/peers.py, which keeps numpy out of its own process
    import json
    import sys
    cmd, args = sys.argv[1], sys.argv[2:]
    if cmd == "check-gt":
        print(json.dumps(check_gt(args[0], args[1], args[2], args[3], int(args[4]))))
    elif cmd == "unit-length":
        print(json.dumps(is_unit_length(args[0])))
    else:
        raise SystemExit(f"unknown command {cmd}")
