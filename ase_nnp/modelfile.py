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
    /training_range         (optional)
        min_distance        float64 (n_el, n_el): smallest distance of each element pair
                            in the training data (Å; NaN: the pair never occurred)

Format version 2 adds (and is written only when the model has it)::

    /repulsion              attrs: kind = "zbl"
        inner, outer        float64 (n_el, n_el): switching distances r_1 < r_c (Å)

A version-1 reader would silently drop the repulsion, so such files say version
2 and older ase-nnp refuses them; files without it stay version 1.

Format version 3 is an ensemble (:class:`ase_nnp.Ensemble`)::

    /                       attrs as above, plus members = K; metadata: the ensemble's
    /members/<k>            attrs: metadata (the member's); below it, one potential in
                            the layout above (k = 0 .. K-1)
    /reference              (optional, a replica ensemble) the potential whose
                            predictions the ensemble reports, in the same layout

A single potential is never written as version 3, so older readers keep reading
every file they can represent.

Format version 4 is an ensemble with a partner (:class:`ase_nnp.Ensemble`'s ``partner``,
a potential of another kind mixed into every member)::

    /partner                attrs: metadata, weight (w in [0, 1]); below it, the partner
                            potential in the layout above

A version-3 reader would drop the partner and predict with the networks alone, so
such files say version 4; ensembles without one stay version 3.

Uncertainty (any version; written only when the model has it)::

    /active_set/<symbol>    (in each potential's group: the root, or /members/<k>) the
                            extrapolation grade's active set (ase_nnp.extrapolation_grade)
                            attrs: width (the last hidden layer's width)
        columns             int64 (m,)  kept columns of φ = (h, 1)
        rows                float64 (m, m)  the active atoms' features
    /calibration            (at the root: the model's) ase_nnp.uncertainty.Calibration
                            attrs: signals (JSON list), form, metadata (JSON object)
        energy, forces      float64 (3,)  (a, b, c) of log σ = a + b log s
                                          + c log(1 + ln max(γ, 1))
        stress              float64 (3,)  (optional)
        forces_scores       float64 (n,)  sorted conformal scores (optional)

Neither changes an energy, force or stress, so the format version stays: an older reader
ignores both groups and reports raw spreads, as it always did.

Writing refuses a potential with a NaN or infinite number anywhere before any
file is touched, then goes to a temporary file in the same directory
(``.<name>.XXXXXXXX.nnp.tmp``), reads that back with the reader below, flushes
it to disk and renames it over the target: a crash never leaves a half-written
model, and nothing is written that :func:`read` would reject. Reading checks
every item (types, shapes, finiteness) and raises :class:`ase_nnp.ModelFileError`
naming what is wrong.
"""

import datetime
import json
import os

import h5py
import numpy as np

from .atomic import atomic_path
from .elements import ATOMIC_NUMBERS, normalize_elements
from .exceptions import ModelFileError
from .network import Network
from .scaling import Scaling
from .descriptors import DESCRIPTOR_KINDS, descriptor_from_arrays
from .extrapolation_grade import ActiveSet
from .repulsion import REPULSION_KINDS
from .uncertainty import Calibration
from .version import __version__

FORMAT_NAME = "ase-nnp"
FORMAT_VERSION = 4          # the newest this reader understands


def _check_finite(potential, path):
    """ModelFileError before anything is written when any number is NaN or infinite."""
    bad = []
    for e in potential.elements:
        net = potential.networks[e]
        for k, (w, b) in enumerate(zip(net.weights, net.biases)):
            for name, arr in ((f"W{k}", w), (f"b{k}", b)):
                if not np.all(np.isfinite(arr)):
                    bad.append(f"network of {e} ({name})")
        sc = potential.scalings[e]
        for name in ("gmin", "gmax", "gmean", "gsigma", "smin", "smax"):
            if not np.all(np.isfinite(getattr(sc, name))):
                bad.append(f"scaling of {e} ({name[1:] if name[0] == 'g' else name})")
        if not np.isfinite(potential.energy_offsets[e]):
            bad.append(f"energy offset of {e}")
    for key, arr in potential.descriptor.to_arrays().items():
        arr = np.asarray(arr)
        if arr.dtype.kind == "f" and not np.all(np.isfinite(arr)):
            bad.append(f"descriptor ({key})")
    if potential.repulsion is not None:
        for key, arr in potential.repulsion.to_arrays().items():
            if not np.all(np.isfinite(arr)):
                bad.append(f"repulsion ({key})")
    if bad:
        raise ModelFileError(
            f"refusing to write {path}: NaN or infinite values in {', '.join(bad)} (a "
            "diverged training run?); nothing was written")


def _metadata_json(meta, path):
    try:
        return json.dumps(meta, default=str, allow_nan=False)
    except ValueError:
        raise ModelFileError(f"refusing to write {path}: the metadata holds NaN or infinite "
                             "numbers, which JSON cannot store; nothing was written") from None


def _write_root(f, version, meta_json):
    f.attrs["format"] = FORMAT_NAME
    f.attrs["format_version"] = version
    f.attrs["energy_unit"] = "eV"
    f.attrs["length_unit"] = "Angstrom"
    f.attrs["package_version"] = __version__
    f.attrs["created"] = datetime.datetime.now(datetime.timezone.utc).isoformat()
    f.attrs["metadata"] = meta_json


def _write_potential(f, potential):
    """Everything of one potential below the HDF5 group ``f`` (the schema above)."""
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
    if potential.min_distances is not None:
        f["training_range/min_distance"] = potential.min_distances
    if potential.repulsion is not None:
        r = f.create_group("repulsion")
        r.attrs["kind"] = potential.repulsion.kind
        for key, arr in potential.repulsion.to_arrays().items():
            r[key] = arr
    if getattr(potential, "active_set", None) is not None:
        for e, arrays in potential.active_set.to_arrays().items():
            g = f.create_group(f"active_set/{e}")
            g.attrs["width"] = arrays["width"]
            g["columns"] = arrays["columns"]
            g["rows"] = arrays["rows"]
    _write_calibration(f, getattr(potential, "calibration", None))


def _write_calibration(f, calibration):
    if calibration is None:
        return
    arrays, attrs = calibration.to_arrays()
    g = f.create_group("calibration")
    g.attrs["signals"] = json.dumps(attrs["signals"])
    g.attrs["form"] = attrs["form"]
    g.attrs["metadata"] = attrs["metadata"]
    for key, arr in arrays.items():
        g[key] = arr


def write(potential, path, metadata=None):
    path = os.fspath(path)
    meta = dict(potential.metadata)
    meta.update(metadata or {})
    _check_finite(potential, path)
    meta_json = _metadata_json(meta, path)
    version = 2 if potential.repulsion is not None else 1
    with atomic_path(path, suffix=".nnp.tmp") as tmp:
        with h5py.File(tmp, "w") as f:
            _write_root(f, version, meta_json)
            _write_potential(f, potential)
        read(tmp, type(potential))   # never rename a file into place that load would reject


def write_ensemble(ensemble, path, metadata=None):
    """An ensemble file (format version 3): the root's attributes as above plus
    ``members`` = K, and each member's potential below ``/members/<k>`` (its own metadata
    in that group's ``metadata`` attribute)."""
    path = os.fspath(path)
    members = list(ensemble.members)
    for m in members:
        _check_finite(m, path)
    meta = dict(ensemble.metadata)
    meta.update(metadata or {})
    meta_json = _metadata_json(meta, path)
    member_json = [_metadata_json(m.metadata, path) for m in members]
    ref = getattr(ensemble, "reference", None)
    if ref is not None:
        _check_finite(ref, path)
        ref_json = _metadata_json(ref.metadata, path)
    partner = getattr(ensemble, "partner", None)
    if partner is not None:
        _check_finite(partner, path)
        partner_json = _metadata_json(partner.metadata, path)
    with atomic_path(path, suffix=".nnp.tmp") as tmp:
        with h5py.File(tmp, "w") as f:
            _write_root(f, 3 if partner is None else 4, meta_json)
            f.attrs["members"] = len(members)
            for k, (m, mj) in enumerate(zip(members, member_json)):
                g = f.create_group(f"members/{k}")
                g.attrs["metadata"] = mj
                _write_potential(g, m)
            if ref is not None:
                g = f.create_group("reference")
                g.attrs["metadata"] = ref_json
                _write_potential(g, ref)
            if partner is not None:
                g = f.create_group("partner")
                g.attrs["metadata"] = partner_json
                g.attrs["weight"] = float(ensemble.partner_weight)
                _write_potential(g, partner)
            _write_calibration(f, getattr(ensemble, "calibration", None))
        read(tmp, type(members[0]), type(ensemble))


def _get(h, key, path):
    if key not in h:
        raise ModelFileError(f"{path}: missing '{h.name.rstrip('/')}/{key}'; the file is "
                             "incomplete or not an ase-nnp model")
    return h[key]


def _array(h, key, path, dtype, shape=None, allow_nan=False):
    item = _get(h, key, path)
    if not isinstance(item, h5py.Dataset):
        raise ModelFileError(f"{path}: '{item.name}' should be a dataset")
    stored = item.dtype
    if np.dtype(dtype).kind in "iu" and stored.kind not in "iu":
        raise ModelFileError(f"{path}: '{item.name}' must hold integers, it holds {stored}")
    if np.dtype(dtype).kind == "f" and stored.kind not in "iuf":
        raise ModelFileError(f"{path}: '{item.name}' must hold numbers, it holds {stored}")
    try:
        arr = np.asarray(item[()], dtype=dtype)
    except (TypeError, ValueError, OSError) as err:
        raise ModelFileError(f"{path}: cannot read '{item.name}' ({err})") from None
    if shape is not None and arr.shape != tuple(shape):
        raise ModelFileError(f"{path}: '{item.name}' has shape {arr.shape}, expected {tuple(shape)}")
    if arr.dtype.kind == "f":
        ok = ~np.isinf(arr) if allow_nan else np.isfinite(arr)
        if not np.all(ok):
            raise ModelFileError(f"{path}: '{item.name}' contains "
                                 f"{'infinite' if allow_nan else 'NaN or infinite'} values")
    return arr


def _attr(h, key, path, kind=None):
    """An attribute, checked: kind "str", "int" or "float" (finite), or None for any."""
    if key not in h.attrs:
        raise ModelFileError(f"{path}: '{h.name}' lacks the attribute '{key}'")
    v = h.attrs[key]
    v = v.decode() if isinstance(v, bytes) else v
    where = f"{path}: attribute '{key}' of '{h.name}'"
    if kind == "str" and not isinstance(v, str):
        raise ModelFileError(f"{where} must be a string, got {v!r}")
    if kind == "int":
        if isinstance(v, (bool, np.bool_)) or not isinstance(v, (int, np.integer)):
            raise ModelFileError(f"{where} must be an integer, got {v!r}")
        v = int(v)
    if kind == "float":
        if isinstance(v, (bool, np.bool_)) or not isinstance(v, (int, float, np.integer,
                                                                 np.floating)):
            raise ModelFileError(f"{where} must be a number, got {v!r}")
        v = float(v)
        if not np.isfinite(v):
            raise ModelFileError(f"{where} is {v}; it must be a finite number")
    return v


def read(path, build, build_ensemble=None):
    """Read and validate a ``.nnp`` file; return ``build(elements, descriptor, networks=...,
    scalings=..., energy_offsets=..., metadata=..., repulsion=..., min_distances=...)``, or
    for an ensemble file ``build_ensemble([member, ...], metadata=...)`` of such members
    (:meth:`ase_nnp.Potential.load` passes the Potential class: this module knows the file,
    not the potential, and imports nothing of it)."""
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
            return _read_open(f, path, build, build_ensemble)
    except OSError as err:  # h5py raises OSError for damaged data blocks
        raise ModelFileError(f"{path}: damaged HDF5 content ({err})") from None


def _json_attr(h, key, path, what):
    """A string attribute parsed as JSON (ModelFileError naming ``what`` when it is not)."""
    try:
        return json.loads(_attr(h, key, path, "str"))
    except json.JSONDecodeError as err:
        raise ModelFileError(f"{path}: {what} is not valid JSON ({err})") from None


def _read_metadata(h, path):
    metadata = _json_attr(h, "metadata", path, "metadata")
    if not isinstance(metadata, dict):
        raise ModelFileError(f"{path}: metadata must be a JSON object, got "
                             f"{type(metadata).__name__}")
    return metadata


def _read_open(f, path, build, build_ensemble):
    fmt = f.attrs.get("format")
    fmt = fmt.decode() if isinstance(fmt, bytes) else fmt
    if not isinstance(fmt, str) or fmt != FORMAT_NAME:
        raise ModelFileError(f"{path} is an HDF5 file but not an ase-nnp model "
                             f"(format attribute {fmt!r})")
    version = _attr(f, "format_version", path, "int")
    if version > FORMAT_VERSION:
        raise ModelFileError(f"{path} has format version {version}, newer than this ase-nnp "
                             f"reads ({FORMAT_VERSION}); upgrade ase-nnp")
    if version < 1:
        raise ModelFileError(f"{path}: unknown format version {version}")
    metadata = _read_metadata(f, path)
    if "members" not in f.attrs:
        return _read_potential(f, path, build, version, metadata)
    n = _attr(f, "members", path, "int")
    if version < 3 or n < 1:
        raise ModelFileError(f"{path}: an ensemble needs format version 3 and at least one "
                             f"member (the file says version {version}, {n} members)")
    if build_ensemble is None:
        raise ModelFileError(f"{path} holds an ensemble of {n} potentials; load it with "
                             "ase_nnp.load or ase_nnp.Ensemble.load (NNPCalculator takes it "
                             "as it is)")
    group = _get(f, "members", path)
    members = []
    for k in range(n):
        g = _get(group, str(k), path)
        members.append(_read_potential(g, path, build, version, _read_metadata(g, path)))
    reference = None
    if "reference" in f:
        g = _get(f, "reference", path)
        reference = _read_potential(g, path, build, version, _read_metadata(g, path))
    extra = {}
    if "partner" in f:
        if version < 4:
            raise ModelFileError(f"{path}: a partner needs format version 4, the file says "
                                 f"{version}")
        g = _get(f, "partner", path)
        extra["partner"] = _read_potential(g, path, build, version, _read_metadata(g, path))
        extra["partner_weight"] = _attr(g, "weight", path, "float")
    if "calibration" in f:
        extra["calibration"] = _read_calibration(_get(f, "calibration", path), path)
    try:
        return build_ensemble(members, metadata=metadata, reference=reference, **extra)
    except ValueError as err:
        raise ModelFileError(f"{path}: {err}") from None


def _read_potential(f, path, build, version, metadata):
    """One potential below the group ``f`` (the schema above)."""
    z = _array(f, "elements", path, np.int64)
    if z.ndim != 1 or not len(z):
        raise ModelFileError(f"{path}: 'elements' must be a non-empty list of atomic numbers")
    try:
        elements = normalize_elements(z.tolist())
    except ValueError as err:
        raise ModelFileError(f"{path}: {err}") from None
    offsets = _array(f, "energy_offsets", path, np.float64, (len(z),))
    d = _get(f, "descriptor", path)
    kind = _attr(d, "kind", path, "str")
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
            smin, smax = _attr(s, "smin", path, "float"), _attr(s, "smax", path, "float")
            if not smin < smax:
                raise ValueError(f"smin {smin} must be smaller than smax {smax}")
            scalings[e] = Scaling(_attr(s, "mode", path, "str"), *stats, smin, smax)
        except ValueError as err:
            raise ModelFileError(f"{path}: scaling of {e}: {err}") from None
        g = _get(_get(f, "networks", path), e, path)
        acts = [a.decode() if isinstance(a, bytes) else a
                for a in np.atleast_1d(_attr(g, "activations", path))]
        if not acts or not all(isinstance(a, str) for a in acts):
            raise ModelFileError(f"{path}: activations of {e} must be a list of names, got "
                                 f"{acts!r}")
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
    min_distances = None
    if "training_range" in f:
        n = len(elements)
        min_distances = _array(_get(f, "training_range", path), "min_distance", path,
                               np.float64, (n, n), allow_nan=True)
    repulsion = None
    if "repulsion" in f:
        if version < 2:
            raise ModelFileError(f"{path}: a repulsion needs format version 2, the file says "
                                 f"{version}")
        repulsion = _read_repulsion(_get(f, "repulsion", path), path, elements)
    extra = {}
    if "active_set" in f:
        extra["active_set"] = _read_active_set(_get(f, "active_set", path), path, elements)
    if "calibration" in f and "members" not in f.attrs:
        extra["calibration"] = _read_calibration(_get(f, "calibration", path), path)
    try:
        return build(elements, descriptor, networks=networks, scalings=scalings,
                     energy_offsets=dict(zip(elements, offsets.tolist())),
                     metadata=metadata, repulsion=repulsion, min_distances=min_distances,
                     **extra)
    except ValueError as err:
        raise ModelFileError(f"{path}: {err}") from None


def _read_repulsion(g, path, elements):
    kind = _attr(g, "kind", path, "str")
    if kind not in REPULSION_KINDS:
        raise ModelFileError(f"{path}: unknown repulsion kind {kind!r} (this ase-nnp knows "
                             f"{sorted(REPULSION_KINDS)}); upgrade ase-nnp")
    n = len(elements)
    arrays = {key: _array(g, key, path, np.float64, (n, n)) for key in ("inner", "outer")}
    return REPULSION_KINDS[kind].from_arrays(elements, arrays, path)


def _read_active_set(g, path, elements):
    widths, columns, rows = {}, {}, {}
    for e in elements:
        h = _get(g, e, path)
        widths[e] = _attr(h, "width", path, "int")
        columns[e] = _array(h, "columns", path, np.int64)
        m = len(columns[e])
        rows[e] = _array(h, "rows", path, np.float64, (m, m))
    try:
        return ActiveSet(widths, columns, rows)
    except ValueError as err:
        raise ModelFileError(f"{path}: {err}") from None


def _read_calibration(g, path):
    attrs = {"signals": _json_attr(g, "signals", path, "the calibration's signals"), "form": _attr(g, "form", path, "str"),
             "metadata": _attr(g, "metadata", path, "str")}
    arrays = {key: _array(g, key, path, np.float64, (3,))
              for key in ("energy", "forces", "stress") if key in g}
    if "forces_scores" in g:
        arrays["forces_scores"] = _array(g, "forces_scores", path, np.float64)
    try:
        return Calibration.from_arrays(arrays, attrs)
    except (ValueError, KeyError, TypeError) as err:
        raise ModelFileError(f"{path}: calibration: {err}") from None
