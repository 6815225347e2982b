"""Make the n2p2 golden data: potentials exported by ase-nnp, evaluated by n2p2 itself.

    python tests/data/n2p2/make_golden.py --nnp-predict /path/to/n2p2-2.3.0/bin/nnp-predict

For every case below this writes ``<case>/`` with the potential (``write_n2p2``:
input.nn, scaling.data, weights.ZZZ.data), one ``<structure>.data`` per structure
(``write_input_data``) and, from running ``nnp-predict 0`` on each, n2p2's
``output.data`` as ``<structure>.output.data`` (the structure with n2p2's energy and
forces, 17 significant digits; the same layout in n2p2's releases and master, unlike
energy.out and nnforces.out). ``tests/test_n2p2.py`` reads the potentials back with
``read_n2p2`` and compares ase-nnp's energies and forces with those files.

:data:`CASES` (Gaussian symmetry functions, types 2, 3, 9) together use every cutoff type
0-8, every scaling mode, the activations l, t, s, p, angular types 3 and 9 with and without
r_s, per-element energy offsets, the normalisation header, and 1-3 elements;
:data:`POLY_CASES` the polynomial symmetry functions, types 20-25 with every subtype
(p1-p4, p1a-p4a, e), one of them written in Bohr and Hartree. The structures are a
triclinic periodic cell, a periodic cell smaller than the cutoff and an open cluster.
"""

import argparse
import os
import shutil
import subprocess
import sys
import tempfile

import numpy as np
from ase import Atoms

from ase_nnp import Potential
from ase_nnp.descriptors import PolynomialSymmetryFunctions, SymmetryFunctions
from ase_nnp.interop import write_input_data, write_n2p2
from ase_nnp.neighbors import build
from ase_nnp.network import Network
from ase_nnp.scaling import Scaling

HERE = os.path.dirname(os.path.abspath(__file__))

# name: (elements, cutoff type, alpha, scaling mode, (smin, smax), activations, normalization)
CASES = {
    "si_cos_scalecenter_norm": (["Si"], "cos", 0.0, "scale_center", (-1.0, 1.0),
                                ["tanh", "tanh", "identity"], (-4.3, 2.5, 1.8)),
    "sio_poly2_sigma": (["Si", "O"], "poly2", 0.1, "sigma", (0.0, 1.0),
                        ["logistic", "softplus", "identity"], None),
    "sioc_tanh_scale": (["Si", "O", "C"], "tanh", 0.0, "scale", (0.0, 1.0),
                        ["softplus", "tanh", "identity"], None),
    "ho_hard_center": (["H", "O"], "hard", 0.0, "center", (0.0, 1.0),
                       ["tanh", "identity"], None),
    "si_tanhu_none": (["Si"], "tanhu", 0.0, "none", (0.0, 1.0),
                      ["tanh", "identity", "identity"], None),
    "cu_exp_scalecenter": (["Cu"], "exp", 0.2, "scale_center", (-1.0, 1.0),
                           ["softplus", "identity"], (-3.5, 0.7, 0.5)),
    "sio_poly1_scale": (["O", "Si"], "poly1", 0.3, "scale", (-1.0, 1.0),
                        ["tanh", "logistic", "identity"], None),
    "sic_poly3_sigma": (["Si", "C"], "poly3", 0.0, "sigma", (-1.0, 1.0),
                        ["tanh", "tanh", "identity"], None),
    "sioh_poly4_scalecenter": (["Si", "O", "H"], "poly4", 0.15, "scale_center", (-1.0, 1.0),
                               ["tanh", "softplus", "identity"], (-2.0, 4.0, 1.0)),
}
CUTOFF = 4.2
# name: (elements, subtypes (default first), scaling mode, (smin, smax), activations,
#        normalization, units of the files)
POLY_CASES = {
    "sioc_poly_scalecenter_norm": (["Si", "O", "C"], ("p2", "p2a", "p3", "p1a", "p4", "e"),
                                   "scale_center", (-1.0, 1.0), ["tanh", "softplus", "identity"],
                                   (-3.1, 1.7, 1.3), "angstrom-ev"),
    "ho_poly_sigma_bohr": (["H", "O"], ("p4a", "p1", "e", "p3a", "p2", "p4"), "sigma",
                           (0.0, 1.0), ["logistic", "tanh", "identity"], None, "bohr-hartree"),
    "cu_poly_scale": (["Cu"], ("p3", "p4a", "p2", "p1", "e", "p2a"), "scale", (0.0, 1.0),
                      ["softplus", "identity"], None, "angstrom-ev"),
}


def structures(elements, seed):
    rng = np.random.default_rng(seed)
    out = {}
    # triclinic periodic cell, 12 atoms
    cell = np.array([[6.1, 0.0, 0.0], [1.4, 5.8, 0.0], [-0.9, 0.7, 6.4]])
    out["bulk"] = _place(rng, 12, elements, cell, True)
    # periodic cell smaller than the cutoff (every atom sees its own images)
    small = np.array([[3.1, 0.0, 0.0], [0.6, 3.3, 0.0], [0.3, -0.4, 3.6]])
    out["small"] = _place(rng, 3, elements, small, True, min_dist=1.7)
    # open cluster
    out["cluster"] = _place(rng, 9, elements, np.eye(3) * 5.0, False)
    return out


def _place(rng, n, elements, cell, periodic, min_dist=1.5):
    pos = []
    while len(pos) < n:
        p = rng.random(3) @ cell
        trial = Atoms("H" * (len(pos) + 1), positions=pos + [p], cell=cell, pbc=periodic)
        if len(pos) == 0 or trial.get_distances(len(pos), range(len(pos)), mic=periodic).min() \
                > min_dist:
            pos.append(p)
    symbols = [elements[k % len(elements)] for k in range(n)]
    return Atoms(symbols, positions=pos, cell=cell if periodic else np.zeros((3, 3)),
                 pbc=periodic)


def potential(name, elements, ctype, alpha, mode, srange, acts, seed):
    """A Gaussian-symmetry-function case of :data:`CASES`."""
    sf = SymmetryFunctions(elements, CUTOFF, cutoff_function=ctype, alpha=alpha)
    for eta, rs in ((0.02, 0.0), (0.4, 1.6), (1.0, 2.6)):
        sf.add_radial(eta, rs)
    sf.add_angular(0.01, 1, 1, kind="narrow")
    sf.add_angular(0.03, 2, -1, kind="narrow", rs=0.5)
    sf.add_angular(0.02, 4, 1, kind="wide")
    sf.add_angular(0.05, 1, -1, kind="wide", rs=1.2)
    return fitted(sf, elements, mode, srange, acts, seed)


def poly_potential(name, elements, subtypes, mode, srange, acts, seed):
    """A polynomial-symmetry-function case of :data:`POLY_CASES`: every type 20-25, radial
    windows centred on the atom and shifted, angle windows inside [0, 180] degrees and
    centred on 0 and 180. (No two narrow functions of one centre and neighbour pair share
    r_l and r_c with different subtypes: n2p2 v2.3.0's SymGrpCompAngn reuses the C(r_jk) of
    the previous function of its group in that case, docs/interop.md.)"""
    a, b, c, d, e, f = subtypes
    p = PolynomialSymmetryFunctions(elements, CUTOFF, subtype=a)
    p.add_radial()
    p.add_radial(rl=0.8, rc=3.1, subtype=b)
    p.add_radial(rl=1.9, rc=CUTOFF, subtype=c)
    p.add_angular(-90.0, 90.0)
    p.add_angular(60.0, 180.0, kind="narrow", rl=-3.9, rc=3.9, subtype=d)
    p.add_angular(90.0, 270.0, kind="wide", rl=0.3, rc=4.0, subtype=e)
    p.add_angular(20.0, 110.0, kind="narrow", subtype=f)
    p.add_weighted_radial(rl=-1.0, rc=4.1, subtype=d)
    p.add_weighted_angular(0.0, 180.0, kind="wide", subtype=e)
    p.add_weighted_angular(30.0, 150.0, kind="narrow", rl=-0.5, rc=4.0, subtype=b)
    return fitted(p, elements, mode, srange, acts, seed)


def fitted(descriptor, elements, mode, srange, acts, seed):
    """A random potential on ``descriptor`` whose scaling statistics are those of the
    case's structures, with random energy offsets."""
    pot = Potential(elements, descriptor, hidden_layers=[7, 5][:len(acts) - 1], seed=seed)
    for e in elements:
        net = pot.networks[e]
        pot.networks[e] = Network(net.weights, net.biases, acts)
    rng = np.random.default_rng(seed)
    rows = {e: [] for e in elements}
    for atoms in structures(elements, seed).values():
        sp = pot.species_indices(atoms.numbers)
        G = descriptor.forward(build(atoms.positions, atoms.cell[:], atoms.pbc,
                                     descriptor.cutoff), sp)
        for k, e in enumerate(elements):
            rows[e].append(G[sp == k, :descriptor.n_features(e)])
    for e in elements:
        G = np.concatenate(rows[e])
        lo, hi = G.min(0), G.max(0)
        hi = np.maximum(hi, lo + 0.1)
        sigma = np.maximum(G.std(0), 0.05)
        pot.scalings[e] = Scaling(mode, lo, hi, G.mean(0), sigma, *srange)
        pot.energy_offsets[e] = float(rng.normal(-3.0, 1.0))
    return pot


def all_cases():
    """(name, elements, potential, normalization, units) of every case; seeds by order."""
    out = []
    for seed, (name, (elements, ctype, alpha, mode, srange, acts, norm)) in enumerate(
            CASES.items()):
        out.append((name, elements, potential(name, elements, ctype, alpha, mode, srange,
                                              acts, seed), norm, "angstrom-ev", seed))
    for seed, (name, (elements, subtypes, mode, srange, acts, norm, units)) in enumerate(
            POLY_CASES.items(), len(CASES)):
        out.append((name, elements, poly_potential(name, elements, subtypes, mode, srange,
                                                   acts, seed), norm, units, seed))
    return out


FD_COMPONENTS = ((0, 0), (1, 1), (2, 2), (0, 2))
FD_STEP = 1e-4


def predict(exe, case, structure):
    """Run ``nnp-predict 0`` on one structure with the potential in ``case``; the folder."""
    tmp = tempfile.mkdtemp()
    for f in os.listdir(case):
        if f.startswith(("input.nn", "scaling.data", "weights.")):
            shutil.copy(os.path.join(case, f), tmp)
    shutil.copy(structure, os.path.join(tmp, "input.data"))
    run = subprocess.run([exe, "0"], cwd=tmp, capture_output=True, text=True)
    if run.returncode != 0:
        sys.exit(f"{case}: nnp-predict failed:\n{run.stdout}\n{run.stderr}\n"
                 + open(os.path.join(tmp, "nnp-predict.log")).read()[-3000:])
    return tmp


def read_output(path):
    """(energy, forces) of nnp-predict's output.data (one structure), in the files'
    units: the 'energy' line and the last three fields of every 'atom' line."""
    energy, forces = None, []
    for line in open(path):
        w = line.split()
        if w and w[0] == "energy":
            energy = float(w[1])
        elif w and w[0] == "atom":
            forces.append([float(x) for x in w[-3:]])
    return energy, np.array(forces)


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--nnp-predict", required=True, help="path of n2p2's nnp-predict binary")
    args = ap.parse_args()
    exe = os.path.abspath(args.nnp_predict)
    for name, elements, pot, norm, units, seed in all_cases():
        case = os.path.join(HERE, name)
        if os.path.isdir(case):
            shutil.rmtree(case)
        write_n2p2(pot, case, normalization=norm, units=units)
        for sname, atoms in structures(elements, seed).items():
            write_input_data([atoms], os.path.join(case, f"{sname}.data"), units=units)
            tmp = predict(exe, case, os.path.join(case, f"{sname}.data"))
            shutil.copy(os.path.join(tmp, "output.data"),
                        os.path.join(case, f"{sname}.output.data"))
            shutil.rmtree(tmp)
            if sname == "small":
                # n2p2's own energies at displaced positions, for central differences
                rows = []
                for a, d in FD_COMPONENTS:
                    e = []
                    for sign in (1, -1):
                        moved = atoms.copy()
                        moved.positions[a, d] += sign * FD_STEP
                        path = os.path.join(tempfile.mkdtemp(), "moved.data")
                        write_input_data([moved], path, units=units)
                        tmp = predict(exe, case, path)
                        e.append(read_output(os.path.join(tmp, "output.data"))[0])
                        shutil.rmtree(tmp)
                        shutil.rmtree(os.path.dirname(path))
                    rows.append(f"{a} {d} {FD_STEP!r} {e[0]!r} {e[1]!r}")
                with open(os.path.join(case, "small.fd.out"), "w") as fh:
                    fh.write("# atom component step(Angstrom) E(+step) E(-step) (in the "
                             "files' energy unit), by n2p2's nnp-predict\n"
                             + "\n".join(rows) + "\n")
        print(f"{name}: {', '.join(elements)}, {pot.descriptor!r}, units {units}")


if __name__ == "__main__":
    main()
