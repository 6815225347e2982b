"""An HDF5 cache of prepared training data (a FrameSet), keyed by data and descriptor.

The key is the SHA-256 of the cache format version, the descriptor's full
specification (``to_arrays``) and every reference value the frames are built
from (positions, numbers, cell, pbc, energy, forces, stress, per-atom
energies, with a marker for each absent one). ``load_or_build`` reuses a cache
only when its key matches and it is marked complete; otherwise it rebuilds it.

A cache is written to a temporary file in the same folder, marked complete as
the last step, flushed and renamed over the old one: a build that is
interrupted leaves no file at the final path, and a file without the mark
(written by something else) is never trusted.
"""

import hashlib
import os

import numpy as np

from ..atomic import atomic_path
from .frameset import FrameSet

CACHE_FORMAT = "ase-nnp-frameset-cache"
CACHE_VERSION = 1


def cache_key(descriptor, refs):
    h = hashlib.sha256(f"{CACHE_FORMAT}:{CACHE_VERSION}".encode())
    spec = descriptor.to_arrays()
    for name in sorted(spec):
        h.update(name.encode())
        h.update(np.ascontiguousarray(spec[name]).tobytes())
    for r in refs:
        a = r.atoms
        for value in (a.positions, a.numbers.astype(np.int64), a.cell[:], a.pbc,
                      np.float64(r.energy), r.forces, r.stress, r.energies):
            if value is None:
                h.update(b"<none>")
            else:
                h.update(np.ascontiguousarray(value).tobytes())
    return h.hexdigest()


def read(path, key):
    """The cached FrameSet, or None when there is none, it is incomplete or its key differs."""
    import h5py
    if not os.path.exists(path):
        return None
    try:
        with h5py.File(path, "r") as f:
            if (f.attrs.get("format") != CACHE_FORMAT
                    or int(f.attrs.get("version", -1)) != CACHE_VERSION
                    or f.attrs.get("key") != key or not bool(f.attrs.get("complete", False))):
                return None
            return FrameSet({k: f[k][()] for k in f.keys()})
    except (OSError, KeyError):
        return None


def write(path, key, fs):
    import h5py
    with atomic_path(path, suffix=".h5.tmp") as tmp:
        with h5py.File(tmp, "w") as f:
            f.attrs["format"] = CACHE_FORMAT
            f.attrs["version"] = CACHE_VERSION
            f.attrs["key"] = key
            for name, value in fs.arrays().items():
                f.create_dataset(name, data=value)
            f.attrs["complete"] = True


def load_or_build(path, descriptor, refs, log=None, key=None):
    """(FrameSet, "reused" | "built"); ``path`` None means no cache; ``key``, when
    the caller already has it, is ``cache_key(descriptor, refs)``."""
    from .dataset import frames
    if path is None:
        return frames(descriptor, refs), "built"
    if key is None:
        key = cache_key(descriptor, refs)
    fs = read(path, key)
    if fs is not None:
        return fs, "reused"
    if log and os.path.exists(path):
        log(f"cache {path} does not match this data and descriptor (or is incomplete): rebuilding")
    fs = frames(descriptor, refs)
    write(path, key, fs)
    return fs, "built"
