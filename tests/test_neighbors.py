"""The Numba cell list against ase.neighborlist.neighbor_list."""
import numpy as np
import pytest
from ase import Atoms
from ase.build import bulk
from ase.neighborlist import neighbor_list

from ase_nnp.exceptions import StructureError
from ase_nnp.neighbors import build
from conftest import random_cell


def _canonical(i, j, S, D):
    order = np.lexsort((S[:, 2], S[:, 1], S[:, 0], j, i))
    return i[order], j[order], S[order], D[order]


def assert_same_as_ase(positions, cell, pbc, cutoff):
    atoms = Atoms("H%d" % len(positions), positions=positions, cell=cell, pbc=pbc)
    i, j, D, S = neighbor_list("ijDS", atoms, cutoff)
    nl = build(positions, cell, pbc, cutoff)
    assert nl.n_pairs == len(i)
    a = _canonical(i, j, S, D)
    b = _canonical(nl.i, nl.j, nl.S, nl.D)
    np.testing.assert_array_equal(a[0], b[0])
    np.testing.assert_array_equal(a[1], b[1])
    np.testing.assert_array_equal(a[2], b[2])
    if len(i):
        assert np.abs(a[3] - b[3]).max() < 1e-12
        assert np.abs(np.linalg.norm(b[3], axis=1) - nl.r[np.lexsort(
            (nl.S[:, 2], nl.S[:, 1], nl.S[:, 0], nl.j, nl.i))]).max() < 1e-12
    # grouped by the first atom, first[] consistent
    assert np.all(np.diff(nl.i) >= 0)
    np.testing.assert_array_equal(np.bincount(nl.i, minlength=len(positions)),
                                  np.diff(nl.first))


@pytest.mark.parametrize("seed", range(60))
def test_random_cases_match_ase(seed):
    rng = np.random.default_rng(seed)
    n = int(rng.integers(1, 201))
    cell = random_cell(rng, 3.0, 10.0)
    pbc = rng.random(3) < 0.6
    cutoff = float(rng.uniform(2.0, 12.0))
    if pbc.all():  # keep ASE's own memory use sane for tiny cells + long cutoffs
        cutoff = min(cutoff, 2.0 * abs(np.linalg.det(cell)) ** (1 / 3))
    # atoms inside and outside the cell
    positions = rng.random((n, 3)) @ cell + rng.normal(0, 1.5, (n, 3))
    assert_same_as_ase(positions, cell, pbc, cutoff)


@pytest.mark.parametrize("pbc", [(1, 1, 1), (1, 0, 1), (0, 0, 1), (0, 0, 0)])
def test_strongly_skewed_cell(pbc):
    rng = np.random.default_rng(7)
    cell = np.array([[4.0, 0, 0], [3.7, 1.2, 0], [-3.5, 2.9, 1.5]])  # tilts ~ cell lengths
    positions = rng.random((40, 3)) @ cell
    assert_same_as_ase(positions, cell, np.array(pbc, bool), 5.0)


def test_cell_much_smaller_than_cutoff():
    si = bulk("Si", "diamond", a=5.43)  # 2-atom primitive cell, 3.84 A vectors
    si.rattle(0.05, seed=1)
    assert_same_as_ase(si.positions, si.cell[:], si.pbc, 6.5)
    nl = build(si.positions, si.cell[:], si.pbc, 6.5)
    assert np.any((nl.i == nl.j) & np.any(nl.S != 0, axis=1))  # own images present


def test_single_atom_self_images():
    assert_same_as_ase(np.zeros((1, 3)), np.eye(3) * 2.0, np.ones(3, bool), 4.5)


def test_molecule_with_zero_cell():
    rng = np.random.default_rng(3)
    pos = rng.normal(0, 2.0, (30, 3))
    assert_same_as_ase(pos, np.zeros((3, 3)), np.zeros(3, bool), 3.0)


def test_slab_with_zero_vacuum_vector():
    rng = np.random.default_rng(4)
    cell = np.array([[5.0, 0, 0], [1.0, 4.5, 0], [0, 0, 0]])
    pos = rng.random((25, 3)) * [5, 4.5, 6]
    assert_same_as_ase(pos, cell, np.array([1, 1, 0], bool), 4.0)


def test_nan_position_raises():
    pos = np.zeros((3, 3))
    pos[1, 2] = np.nan
    with pytest.raises(StructureError, match="NaN"):
        build(pos, np.eye(3) * 5, True, 3.0)


@pytest.mark.parametrize("cell,pbc", [
    (np.zeros((3, 3)), (1, 1, 1)),
    (np.diag([4.0, 4.0, 0.0]), (1, 1, 1)),
    (np.array([[3.0, 0, 0], [6.0, 0, 0], [0, 0, 4.0]]), (1, 1, 0)),
])
def test_zero_volume_cell_raises(cell, pbc):
    with pytest.raises(StructureError, match="zero"):
        build(np.ones((2, 3)), cell, np.array(pbc, bool), 3.0)


@pytest.mark.parametrize("threads", [1, 2])
@pytest.mark.parametrize("slack", [1.2, 0.05])   # 0.05: every chunk overflows, two passes
def test_one_pass_chunks_and_their_fallback_match_ase(threads, slack, monkeypatch):
    """Above ONE_PASS_ABOVE atoms: one pass into per-chunk buffers; chunks whose pairs
    do not fit (forced with a tiny SLACK) are redone in two passes. A dense cluster in a
    sparse gas, slab-periodic: the sample underestimates the cluster's chunks."""
    import numba
    from ase_nnp import neighbors
    monkeypatch.setattr(neighbors, "SLACK", slack)
    rng = np.random.default_rng(3)
    cell = np.array([[14.0, 0, 0], [2.0, 13.0, 0], [0, 0, 30.0]])
    gas = rng.random((500, 3)) @ cell
    cluster = rng.normal(0.0, 1.6, (300, 3)) + [7.0, 7.0, 15.0]
    positions = np.concatenate([gas[:250], cluster, gas[250:]])
    before = numba.get_num_threads()
    numba.set_num_threads(min(threads, numba.config.NUMBA_NUM_THREADS))
    try:
        assert_same_as_ase(positions, cell, np.array([1, 1, 0], bool), 3.5)
    finally:
        numba.set_num_threads(before)
