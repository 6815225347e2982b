import os

import numpy as np
import pytest
from ase import Atoms


def pytest_configure(config):
    """Under pytest-xdist (the README's ``-n 2``) each worker has a core: its Numba
    kernels run on one thread (tests of threading set their own count)."""
    if os.environ.get("PYTEST_XDIST_WORKER"):
        import numba
        numba.set_num_threads(1)


def random_cell(rng, lo=3.0, hi=9.0, skew=0.35):
    """A triclinic cell with lengths in [lo, hi] and random tilts."""
    lengths = rng.uniform(lo, hi, 3)
    cell = np.diag(lengths) + rng.uniform(-skew, skew, (3, 3)) * lengths[:, None]
    return cell


def random_atoms(rng, n, symbols, cell, pbc, min_dist=1.2, max_tries=2000):
    """Random atoms in ``cell`` that keep at least ``min_dist`` apart (with images)."""
    from ase.neighborlist import neighbor_list
    pos = []
    atoms = Atoms(cell=cell, pbc=pbc)
    for _ in range(max_tries):
        if len(pos) == n:
            break
        trial = rng.random(3) @ cell
        cand = Atoms("H" * (len(pos) + 1), positions=pos + [trial], cell=cell, pbc=pbc)
        i, j = neighbor_list("ij", cand, min_dist)
        if not np.any((i == len(pos)) | (j == len(pos))):
            pos.append(trial)
    syms = [symbols[k % len(symbols)] for k in range(len(pos))]
    rng.shuffle(syms)
    atoms = Atoms(syms, positions=pos, cell=cell, pbc=pbc)
    return atoms


@pytest.fixture
def rng():
    return np.random.default_rng(12345)


# ---------------------------------------------------------------- potentials
def mixed_descriptor(elements, cutoff=5.0):
    """All three function types and three cutoff kinds, with shifts and inner cutoffs."""
    from ase_nnp.descriptors import SymmetryFunctions
    sf = SymmetryFunctions(elements, cutoff=cutoff, cutoff_function="cos")
    sf.add_radial(0.05)
    sf.add_radial(0.6, rs=1.8, cutoff_function="poly2", alpha=0.25)
    sf.add_radial(0.3, rs=2.5, cutoff_function="exp", cutoff=cutoff - 0.5)
    sf.add_angular(0.01, 2, 1, kind="narrow")
    sf.add_angular(0.03, 1, -1, kind="narrow", rs=0.8, cutoff_function="poly4", alpha=0.1)
    sf.add_angular(0.02, 4, -1, kind="wide", cutoff_function="tanh", cutoff=cutoff - 0.3)
    sf.add_angular(0.005, 3.5, 1, kind="wide", rs=1.0)
    return sf


def sensitive_potential(elements, structures, seed=0, hidden=(12, 8), activation="tanh",
                        descriptor=None):
    """A random potential whose input scaling is fitted to ``structures``, so that
    every network input actually varies (forces are not lost in saturated tanh).
    ``descriptor`` defaults to ``mixed_descriptor(elements)``."""
    from ase_nnp import Potential
    from ase_nnp.neighbors import build
    from ase_nnp.scaling import Scaling
    sf = mixed_descriptor(elements) if descriptor is None else descriptor
    pot = Potential(elements, sf, hidden_layers=hidden, activation=activation, seed=seed)
    rows = {e: [] for e in elements}
    for atoms in structures:
        species = pot.species_indices(atoms.numbers)
        nl = build(atoms.positions, atoms.cell[:], atoms.pbc, sf.cutoff)
        G = sf.forward(nl, species)
        for k, e in enumerate(elements):
            rows[e].append(G[species == k, :sf.n_features(e)])
    for e in elements:
        data = np.concatenate(rows[e])
        if len(data):
            # floor the range: a one-structure "training set" can leave a feature
            # almost constant, and a huge scale factor would amplify rounding
            lo, hi, mean = data.min(0), data.max(0), data.mean(0)
            hi = np.maximum(hi, lo + 0.2 * np.abs(mean) + 0.05)
            pot.scalings[e] = Scaling("scale_center", lo, hi, mean, data.std(0), -1.0, 1.0)
    rng = np.random.default_rng(seed)
    pot.energy_offsets = {e: float(rng.normal(-3, 1)) for e in elements}
    return pot


# ------------------------------------------------------- finite differences
def numerical_forces(atoms, h=1e-5):
    F = np.zeros((len(atoms), 3))
    pos0 = atoms.positions.copy()
    for a in range(len(atoms)):
        for d in range(3):
            e = []
            for s in (1, -1):
                p = pos0.copy()
                p[a, d] += s * h
                atoms.positions = p
                e.append(atoms.get_potential_energy())
            F[a, d] = -(e[0] - e[1]) / (2 * h)
    atoms.positions = pos0
    return F


def numerical_stress(atoms, h=1e-5):
    """σ_ab = (1/V) dE/dε_ab by central differences of a homogeneous strain."""
    cell0 = atoms.cell[:].copy()
    pos0 = atoms.positions.copy()
    V = atoms.get_volume()
    sigma = np.zeros((3, 3))
    for a in range(3):
        for b in range(3):
            e = []
            for s in (1, -1):
                eps = np.eye(3)
                eps[a, b] += s * h
                atoms.set_cell(cell0 @ eps, scale_atoms=False)
                atoms.positions = pos0 @ eps
                e.append(atoms.get_potential_energy())
            sigma[a, b] = (e[0] - e[1]) / (2 * h) / V
    atoms.set_cell(cell0, scale_atoms=False)
    atoms.positions = pos0
    return sigma
