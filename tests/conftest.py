import numpy as np
import pytest
from ase import Atoms


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
