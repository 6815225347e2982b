"""Make the n2p2 golden data: potentials exported by ase-nnp, evaluated by n2p2 itself.

    python tests/data/n2p2/make_golden.py --nnp-predict /path/to/n2p2/bin/nnp-predict

For every case below this writes ``<case>/`` with the potential (``write_n2p2``:
input.nn, scaling.data, weights.ZZZ.data), one ``<structure>.data`` per structure
(``write_input_data``) and, from running ``nnp-predict 0`` on each, n2p2's printed
``<structure>.energy.out`` and ``<structure>.nnforces.out``. ``tests/test_n2p2.py``
reads the potentials back with ``read_n2p2`` and compares ase-nnp's energies and
forces with those files. The cases together use every cutoff type 0-8, every scaling
mode, the activations l, t, s, p, angular types 3 and 9 with and without r_s, per-element
energy offsets, the normalisation header, and 1-3 elements; the structures are a
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
from ase_nnp.descriptors import SymmetryFunctions
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
    sf = SymmetryFunctions(elements, CUTOFF, cutoff_function=ctype, alpha=alpha)
    for eta, rs in ((0.02, 0.0), (0.4, 1.6), (1.0, 2.6)):
        sf.add_radial(eta, rs)
    sf.add_angular(0.01, 1, 1, kind="narrow")
    sf.add_angular(0.03, 2, -1, kind="narrow", rs=0.5)
    sf.add_angular(0.02, 4, 1, kind="wide")
    sf.add_angular(0.05, 1, -1, kind="wide", rs=1.2)
    hidden = [7, 5][:len(acts) - 1]
    pot = Potential(elements, sf, hidden_layers=hidden, seed=seed)
    for e in elements:
        net = pot.networks[e]
        pot.networks[e] = Network(net.weights, net.biases, acts)
    rng = np.random.default_rng(seed)
    rows = {e: [] for e in elements}
    for atoms in structures(elements, seed).values():
        sp = pot.species_indices(atoms.numbers)
        G = sf.forward(build(atoms.positions, atoms.cell[:], atoms.pbc, CUTOFF), sp)
        for k, e in enumerate(elements):
            rows[e].append(G[sp == k, :sf.n_features(e)])
    for e in elements:
        G = np.concatenate(rows[e])
        lo, hi = G.min(0), G.max(0)
        hi = np.maximum(hi, lo + 0.1)
        sigma = np.maximum(G.std(0), 0.05)
        pot.scalings[e] = Scaling(mode, lo, hi, G.mean(0), sigma, *srange)
        pot.energy_offsets[e] = float(rng.normal(-3.0, 1.0))
    return pot


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


def read_energy(path):
    """Ennp, the fourth column of nnp-predict's energy.out."""
    rows = [line.split() for line in open(path) if line.strip() and not line.startswith("#")]
    return float(rows[0][3])


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--nnp-predict", required=True, help="path of n2p2's nnp-predict binary")
    args = ap.parse_args()
    exe = os.path.abspath(args.nnp_predict)
    for seed, (name, (elements, ctype, alpha, mode, srange, acts, norm)) in enumerate(
            CASES.items()):
        pot = potential(name, elements, ctype, alpha, mode, srange, acts, seed)
        case = os.path.join(HERE, name)
        if os.path.isdir(case):
            shutil.rmtree(case)
        write_n2p2(pot, case, normalization=norm)
        for sname, atoms in structures(elements, seed).items():
            write_input_data([atoms], os.path.join(case, f"{sname}.data"))
            tmp = predict(exe, case, os.path.join(case, f"{sname}.data"))
            for out in ("energy.out", "nnforces.out"):
                shutil.copy(os.path.join(tmp, out), os.path.join(case, f"{sname}.{out}"))
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
                        write_input_data([moved], path)
                        tmp = predict(exe, case, path)
                        e.append(read_energy(os.path.join(tmp, "energy.out")))
                        shutil.rmtree(tmp)
                        shutil.rmtree(os.path.dirname(path))
                    rows.append(f"{a} {d} {FD_STEP!r} {e[0]!r} {e[1]!r}")
                with open(os.path.join(case, "small.fd.out"), "w") as fh:
                    fh.write("# atom component step E(+step) E(-step), by n2p2's nnp-predict\n"
                             + "\n".join(rows) + "\n")
        print(f"{name}: {', '.join(elements)}, cutoff {ctype} α={alpha}, scaling {mode}, "
              f"activations {acts}, normalisation {norm}")


if __name__ == "__main__":
    main()
