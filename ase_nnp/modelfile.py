"""The versioned ``.nnp`` model file (HDF5).

Schema, format version 1::

    /                       attrs: format = "ase-nnp", format_version = 1,
                                   energy_unit = "eV", length_unit = "Angstrom",
                                   package_version, created (ISO 8601 UTC),
                                   metadata (JSON object: free text, training summary)
    /elements               int64 (n_el,)  atomic numbers, in the potential's order
    /energy_offsets         float64 (n_el,)  per-element atomic energy E^0 (eV)
    /descriptor             attrs: kind = "symmetry_functions"
        type, center, neighbor1, neighbor2, cutoff_type   int64 (n_f,)
        eta, rs, zeta, lambda, cutoff, alpha              float64 (n_f,)
    /scaling/<symbol>       attrs: mode, smin, smax
        min, max, mean, sigma                             float64 (n_features(el),)
    /networks/<symbol>      attrs: activations (one string per layer)
        W0, b0, W1, b1, ...   W_k: (n_in, n_out), b_k: (n_out,)

Writing goes to a temporary file in the same directory, is flushed to disk and
then renamed over the target, so a crash never leaves a half-written model.
Reading checks every item and raises :class:`ase_nnp.ModelFileError` naming
what is wrong.
"""

import datetime
import json
import os

import h5py
import numpy as np

from .atomic import atomic_path
from .elements import ATOMIC_NUMBERS, normalize_elements
from .errors import ModelFileError
from .network import Network
from .scaling import Scaling

FORMAT_NAME = "ase-nnp"
FORMAT_VERSION = 1


def write(potential, path, metadata=None):
    from . import __version__
    meta = dict(potential.metadata)
    meta.update(metadata or {})
    with atomic_path(path, suffix=".nnp.tmp") as tmp:
        with h5py.File(tmp, "w") as f:
            f.attrs["format"] = FORMAT_NAME
            f.attrs["format_version"] = FORMAT_VERSION
            f.attrs["energy_unit"] = "eV"
            f.attrs["length_unit"] = "Angstrom"
            f.attrs["package_version"] = __version__
            f.attrs["created"] = datetime.datetime.now(datetime.timezone.utc).isoformat()
            f.attrs["metadata"] = json.dumps(meta, default=str)
            f["elements"] = np.array([ATOMIC_NUMBERS[e] for e in potential.elements])
            f["energy_offsets"] = np.array([potential.energy_offsets[e] for e in potential.elements])
            d = f.create_group("descriptor")
            d.attrs["kind"] = potential.descriptor.kind
            for key, arr in potential.descriptor.to_arrays().items():
                if key != "elements":
                    d[key] = arr
            for e in potential.elements:
                sc = potential.scalings[e]
                s = f.create_group(f"scaling/{e}")
                s.attrs["mode"] = sc.mode
                s.attrs["smin"] = sc.smin
                s.attrs["smax"] = sc.smax
                for key in ("min", "max", "mean", "sigma"):
                    s[key] = getattr(sc, "g" + key)
                net = potential.networks[e]
                g = f.create_group(f"networks/{e}")
                g.attrs["activations"] = np.array(net.activations, dtype=h5py.string_dtype())
                for k, (w, b) in enumerate(zip(net.weights, net.biases)):
                    g[f"W{k}"] = w
                    g[f"b{k}"] = b


def _get(h, key, path):
    if key not in h:
        raise ModelFileError(f"{path}: missing '{h.name.rstrip('/')}/{key}'; the file is "
                             "incomplete or not an ase-nnp model")
    return h[key]


def _array(h, key, path, dtype, shape=None):
    item = _get(h, key, path)
    if not isinstance(item, h5py.Dataset):
        raise ModelFileError(f"{path}: '{item.name}' should be a dataset")
    try:
        arr = np.asarray(item[()], dtype=dtype)
    except (TypeError, ValueError, OSError) as err:
        raise ModelFileError(f"{path}: cannot read '{item.name}' ({err})") from None
    if shape is not None and arr.shape != tuple(shape):
        raise ModelFileError(f"{path}: '{item.name}' has shape {arr.shape}, expected {tuple(shape)}")
    if arr.dtype.kind == "f" and not np.all(np.isfinite(arr)):
        raise ModelFileError(f"{path}: '{item.name}' contains NaN or infinite values")
    return arr


def _attr(h, key, path):
    if key not in h.attrs:
        raise ModelFileError(f"{path}: '{h.name}' lacks the attribute '{key}'")
    v = h.attrs[key]
    return v.decode() if isinstance(v, bytes) else v


def read(path):
    """Read and validate a ``.nnp`` file; return a :class:`~ase_nnp.Potential`."""
    from .descriptors import descriptor_from_arrays
    from .potential import Potential
    path = os.fspath(path)
    if not os.path.exists(path):
        raise FileNotFoundError(f"no model file at {path}")
    try:
        f = h5py.File(path, "r")
    except OSError as err:
        raise ModelFileError(f"{path} is not a readable HDF5 file (truncated, or not an "
                             f".nnp model at all): {err}") from None
    try:
        with f:
            return _read_open(f, path, Potential, descriptor_from_arrays)
    except OSError as err:  # h5py raises OSError for damaged data blocks
        raise ModelFileError(f"{path}: damaged HDF5 content ({err})") from None


def _read_open(f, path, Potential, descriptor_from_arrays):
    from .descriptors import DESCRIPTOR_KINDS
    fmt = f.attrs.get("format")
    fmt = fmt.decode() if isinstance(fmt, bytes) else fmt
    if fmt != FORMAT_NAME:
        raise ModelFileError(f"{path} is an HDF5 file but not an ase-nnp model "
                             f"(format attribute {fmt!r})")
    version = _attr(f, "format_version", path)
    try:
        version = int(version)
    except (TypeError, ValueError):
        raise ModelFileError(f"{path}: format_version {version!r} is not an integer") from None
    if version > FORMAT_VERSION:
        raise ModelFileError(f"{path} has format version {version}, newer than this ase-nnp "
                             f"reads ({FORMAT_VERSION}); upgrade ase-nnp")
    if version < 1:
        raise ModelFileError(f"{path}: unknown format version {version}")
    z = _array(f, "elements", path, np.int64)
    if z.ndim != 1 or not len(z):
        raise ModelFileError(f"{path}: 'elements' must be a non-empty list of atomic numbers")
    try:
        elements = normalize_elements(z.tolist())
    except ValueError as err:
        raise ModelFileError(f"{path}: {err}") from None
    offsets = _array(f, "energy_offsets", path, np.float64, (len(z),))
    d = _get(f, "descriptor", path)
    kind = str(_attr(d, "kind", path))
    if kind not in DESCRIPTOR_KINDS:
        raise ModelFileError(f"{path}: unknown descriptor kind {kind!r} (this ase-nnp knows "
                             f"{sorted(DESCRIPTOR_KINDS)}); upgrade ase-nnp")
    arrays = {"elements": z}
    for key, dtype in DESCRIPTOR_KINDS[kind].ARRAY_TYPES.items():
        arrays[key] = np.atleast_1d(_array(d, key, path, dtype))
    try:
        descriptor = descriptor_from_arrays(kind, arrays)
    except ValueError as err:
        raise ModelFileError(f"{path}: invalid descriptor specification: {err}") from None
    networks, scalings = {}, {}
    for e in elements:
        nf = descriptor.n_features(e)
        s = _get(_get(f, "scaling", path), e, path)
        stats = [_array(s, key, path, np.float64, (nf,)) for key in ("min", "max", "mean", "sigma")]
        try:
            scalings[e] = Scaling(str(_attr(s, "mode", path)), *stats,
                                  float(_attr(s, "smin", path)), float(_attr(s, "smax", path)))
        except ValueError as err:
            raise ModelFileError(f"{path}: scaling of {e}: {err}") from None
        g = _get(_get(f, "networks", path), e, path)
        acts = [a.decode() if isinstance(a, bytes) else str(a)
                for a in np.atleast_1d(_attr(g, "activations", path))]
        weights, biases = [], []
        for k in range(len(acts)):
            weights.append(_array(g, f"W{k}", path, np.float64))
            biases.append(_array(g, f"b{k}", path, np.float64))
        try:
            networks[e] = Network(weights, biases, acts)
        except ValueError as err:
            raise ModelFileError(f"{path}: network of {e}: {err}") from None
        if networks[e].n_inputs != nf:
            raise ModelFileError(f"{path}: network of {e} takes {networks[e].n_inputs} inputs but "
                                 f"the descriptor gives {nf}")
    try:
        metadata = json.loads(_attr(f, "metadata", path))
    except json.JSONDecodeError as err:
        raise ModelFileError(f"{path}: metadata is not valid JSON ({err})") from None
    return Potential(elements, descriptor, networks=networks, scalings=scalings,
                     energy_offsets=dict(zip(elements, offsets.tolist())), metadata=metadata)
