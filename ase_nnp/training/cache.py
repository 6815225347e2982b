"""An HDF5 cache of prepared training data (a FrameSet), keyed by data and descriptor.

The key is the SHA-256 of the cache format version, the descriptor's full
specification (``to_arrays``) and every reference value the frames are built
from (positions, numbers, cell, pbc, energy, forces, stress, per-atom
energies, structure weight and per-atom force weights, with a marker for each
absent one). ``load_or_build`` reuses a cache
only when its key matches and it is marked complete; otherwise it rebuilds it and
says why: the hashes of the key's parts (:func:`key_parts`: descriptor, data,
weights, number of structures) are stored beside the key, so the log names what
changed, with the old file's size.

A cache is written to a temporary file in the same folder, marked complete as
the last step, flushed and renamed over the old one: a build that is
interrupted leaves no file at the final path, and a file without the mark
(written by something else) is never trusted.

Each dataset carries the SHA-256 of its dtype, shape and bytes (attribute
``sha256``), and the file lists its datasets (``datasets``). On reuse every one
is read and checked; a missing, extra, reshaped or damaged dataset, or any read
error, makes :func:`read` report why, and :func:`load_or_build` rebuilds the
cache instead of training on it.

Results derived from the frames that are costly to recompute (the GDF densities of
:mod:`ase_nnp.training.gdf_weighting`) are kept beside them in the group ``extras``:
:func:`write_extra` stores named arrays under a name with their own key (that of the
inputs they were computed from), a checksum per dataset and a completion mark written
last; :func:`read_extra` returns them only when the key, the mark and every checksum
match. ``extras`` is appended to the finished file in place (it is small); a name
written again is replaced; the whole group goes whenever the cache is rebuilt.
"""

import hashlib
import os

import numpy as np

from ..atomic import atomic_path
from .frameset import FrameSet
from .dataset import frames

CACHE_FORMAT = "ase-nnp-frameset-cache"
CACHE_VERSION = 3          # 2: per-dataset checksums; 3: structure and force weights
EXTRAS = "extras"          # the group of derived results, not part of the FrameSet


def cache_key(descriptor, refs):
    h = hashlib.sha256(f"{CACHE_FORMAT}:{CACHE_VERSION}".encode())
    spec = descriptor.to_arrays()
    for name in sorted(spec):
        h.update(name.encode())
        h.update(np.ascontiguousarray(spec[name]).tobytes())
    for r in refs:
        a = r.atoms
        for value in (a.positions, a.numbers.astype(np.int64), a.cell[:], a.pbc,
                      np.float64(r.energy), r.forces, r.stress, r.energies,
                      np.float64(r.weight), r.force_weight):
            if value is None:
                h.update(b"<none>")
            else:
                h.update(np.ascontiguousarray(value).tobytes())
    return h.hexdigest()


def key_parts(descriptor, refs):
    """The parts a cache key is made of, hashed one by one (stored beside the key, so a
    rebuild can say which changed): the descriptor specification, the structures and
    their references, the weights, and the number of structures."""
    hs = {k: hashlib.sha256() for k in ("descriptor", "data", "weights")}
    spec = descriptor.to_arrays()
    hs["descriptor"].update(descriptor.kind.encode())
    for name in sorted(spec):
        hs["descriptor"].update(name.encode())
        hs["descriptor"].update(np.ascontiguousarray(spec[name]).tobytes())
    for r in refs:
        a = r.atoms
        for part, values in (("data", (a.positions, a.numbers.astype(np.int64), a.cell[:],
                                       a.pbc, np.float64(r.energy), r.forces, r.stress,
                                       r.energies)),
                             ("weights", (np.float64(r.weight), r.force_weight))):
            for value in values:
                hs[part].update(b"<none>" if value is None
                                else np.ascontiguousarray(value).tobytes())
    out = {k: h.hexdigest() for k, h in hs.items()}
    out["structures"] = str(len(refs))
    return out


def _what_changed(f, parts):
    """Which part of the key differs from the one the file was built with."""
    said = {"descriptor": "the descriptor specification changed",
            "data": "the structures or their reference values changed",
            "weights": "the structure or force weights changed"}
    old = {k: _text(f.attrs.get(f"key_{k}")) for k in parts}
    if any(v is None for v in old.values()):
        return "it was built from other data or another descriptor"
    changed = [said[k] for k in ("descriptor", "data", "weights") if old[k] != parts[k]]
    if old["structures"] != parts["structures"]:
        changed.append(f"{old['structures']} structures then, {parts['structures']} now")
    return "; ".join(changed) or "it was built from other data or another descriptor"


def checksum(arr):
    """SHA-256 of an array's dtype, shape and bytes."""
    arr = np.ascontiguousarray(arr)
    h = hashlib.sha256(f"{arr.dtype.str}:{arr.shape}".encode())
    h.update(arr.tobytes())
    return h.hexdigest()


def _text(v):
    return v.decode() if isinstance(v, bytes) else v


def read(path, key, parts=None, jacobian_limit=None):
    """(FrameSet, None) when the cache at ``path`` matches ``key`` and every dataset its
    checksum; otherwise (None, why not; with ``parts`` of :func:`key_parts`, which part of
    the key changed). A stored dG/dD larger than ``jacobian_limit`` bytes is not read."""
    import h5py
    if not os.path.exists(path):
        return None, "there is none"
    try:
        with h5py.File(path, "r") as f:
            if _text(f.attrs.get("format")) != CACHE_FORMAT:
                return None, "it is not an ase-nnp cache"
            if int(f.attrs.get("version", -1)) != CACHE_VERSION:
                return None, f"it has cache version {f.attrs.get('version')}, not {CACHE_VERSION}"
            if _text(f.attrs.get("key")) != key:
                return None, (_what_changed(f, parts) if parts else
                              "it was built from other data or another descriptor")
            if not bool(f.attrs.get("complete", False)):
                return None, "its build never finished"
            skip = set()
            if (jacobian_limit is not None and "J" in f
                    and f["J"].size * f["J"].dtype.itemsize > jacobian_limit):
                skip.add("J")
            arrays, why = _checked_arrays(f, (k for k in f.keys() if k != EXTRAS), skip)
            if why:
                return None, why
        return FrameSet(arrays), None
    except (OSError, KeyError, ValueError, TypeError) as err:
        return None, f"it cannot be read ({type(err).__name__}: {err})"


def _checked_arrays(group, present, skip=()):
    """({name: array}, None) when the group's datasets are exactly those of its
    ``datasets`` attribute and each matches its checksum (those in ``skip`` are neither
    read nor returned); else (None, why not)."""
    import h5py
    present = sorted(present)
    names = [_text(n) for n in np.atleast_1d(group.attrs.get("datasets", []))]
    if sorted(names) != present:
        return None, (f"its datasets ({', '.join(present)}) are not those it was written "
                      f"with ({', '.join(sorted(names))})")
    arrays = {}
    for name in names:
        if name in skip:
            continue
        item = group[name]
        if not isinstance(item, h5py.Dataset):
            return None, f"'{name}' is not a dataset"
        arr = item[()]
        if checksum(arr) != _text(item.attrs.get("sha256")):
            return None, f"the checksum of '{name}' does not match: the file is damaged"
        arrays[name] = arr
    return arrays, None


def _write_arrays(group, arrays):
    import h5py
    for name, value in arrays.items():
        group.create_dataset(name, data=value)
        group[name].attrs["sha256"] = checksum(value)
    group.attrs["datasets"] = np.array(list(arrays), dtype=h5py.string_dtype())


def read_extra(path, name, key):
    """The arrays stored by :func:`write_extra` under ``name`` when their key is ``key``
    and they are complete and intact; else None."""
    import h5py
    try:
        with h5py.File(path, "r") as f:
            g = f.get(f"{EXTRAS}/{name}")
            if g is None or _text(g.attrs.get("key")) != key or not g.attrs.get("complete"):
                return None
            return _checked_arrays(g, g.keys())[0]
    except (OSError, KeyError, ValueError, TypeError):
        return None


def write_extra(path, name, key, arrays):
    """Store ``arrays`` (name -> array) under ``extras/name`` of the cache at ``path``,
    replacing what was there; returns None, or why it could not (e.g. a read-only file)."""
    import h5py
    try:
        with h5py.File(path, "a") as f:
            extras = f.require_group(EXTRAS)
            if name in extras:
                del extras[name]
            g = extras.create_group(name)
            g.attrs["key"] = key
            _write_arrays(g, arrays)
            g.attrs["complete"] = True
        return None
    except (OSError, ValueError, TypeError) as err:
        return f"{type(err).__name__}: {err}"


def write(path, key, fs, parts=None):
    import h5py
    with atomic_path(path, suffix=".h5.tmp") as tmp:
        with h5py.File(tmp, "w") as f:
            f.attrs["format"] = CACHE_FORMAT
            f.attrs["version"] = CACHE_VERSION
            f.attrs["key"] = key
            for name, value in (parts or {}).items():
                f.attrs[f"key_{name}"] = value
            _write_arrays(f, fs.arrays())
            f.attrs["complete"] = True


def load_or_build(path, descriptor, refs, log=None, key=None, jacobian_limit=None):
    """(FrameSet, "reused" | "built"); ``path`` None means no cache; ``key``, when
    the caller already has it, is ``cache_key(descriptor, refs)``; ``jacobian_limit``:
    the most bytes of dG/dD a new build stores (a reused cache keeps what it holds: with
    or without dG/dD the numbers are the same)."""
    if path is None:
        return frames(descriptor, refs, jacobian_limit), "built"
    if key is None:
        key = cache_key(descriptor, refs)
    parts = key_parts(descriptor, refs)
    fs, why = read(path, key, parts, jacobian_limit)
    if fs is not None:
        fs.descriptor = descriptor
        return fs, "reused"
    if log and os.path.exists(path):
        log(f"cache {path} ({os.path.getsize(path) / 2**20:.1f} MiB) is rebuilt: {why}")
    fs = frames(descriptor, refs, jacobian_limit)
    write(path, key, fs, parts)
    return fs, "built"
