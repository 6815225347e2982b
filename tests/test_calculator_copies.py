"""Copies of NNPCalculator: pickle, deepcopy, Atoms.copy() and reattaching, ASE's NEB with
one calculator per image, and a multiprocessing pool."""

import copy
import multiprocessing
import os
import pickle
import threading

import numpy as np
import pytest
from ase.build import bulk

try:                                     # ASE >= 3.23
    from ase.mep import NEB
except ImportError:
    from ase.neb import NEB

from ase_nnp import Ensemble, NNPCalculator, Potential, load

SI = os.path.join(os.path.dirname(__file__), os.pardir, "data", "si.nnp")
PROPERTIES = ("energy", "forces", "stress", "energies", "stresses")


def _si(seed=0, repeat=1):
    atoms = bulk("Si", "diamond", a=5.431, cubic=True).repeat(repeat)
    atoms.rattle(0.05, seed=seed)
    return atoms


def _ensemble():
    pot = load(SI)
    other = Potential(pot.elements, pot.descriptor, hidden_layers=(7, 5), seed=3,
                      scalings=pot.scalings, energy_offsets=pot.energy_offsets)
    return Ensemble([pot, other])


def _results(calc, atoms):
    return {k: np.array(calc.get_property(k, atoms)) for k in PROPERTIES}


@pytest.mark.parametrize("make", [lambda: load(SI), _ensemble], ids=["potential", "ensemble"])
@pytest.mark.parametrize("how", ["pickle", "deepcopy"])
def test_a_copy_gives_the_same_numbers_and_has_its_own_lock(make, how):
    atoms = _si()
    calc = NNPCalculator(make(), extrapolation="ignore", warn_every=7)
    before = _results(calc, atoms)          # the copy also carries results and atoms
    dup = pickle.loads(pickle.dumps(calc)) if how == "pickle" else copy.deepcopy(calc)
    assert dup._lock is not calc._lock and isinstance(dup._lock, type(threading.RLock()))
    assert dup.parameters == calc.parameters and dup.extrapolation_log.every == 7
    assert dup.extrapolation_log.calls == calc.extrapolation_log.calls == 1   # one pass
    moved = atoms.copy()
    moved.positions[0] += 0.02               # a new configuration: the copy evaluates it
    fresh = _results(NNPCalculator(make()), moved)
    again = _results(dup, moved)
    for k in PROPERTIES:
        np.testing.assert_array_equal(again[k], fresh[k], err_msg=k)
    assert abs(fresh["energy"] - before["energy"]) > 1e-6      # the test can fail
    for k in PROPERTIES:                     # and the original is untouched
        np.testing.assert_array_equal(_results(calc, atoms)[k], before[k], err_msg=k)


def test_atoms_copy_with_a_reattached_calculator():
    atoms = _si()
    atoms.calc = NNPCalculator(SI)
    e, f = atoms.get_potential_energy(), atoms.get_forces()
    dup = atoms.copy()
    assert dup.calc is None                  # ASE does not copy calculators
    dup.calc = copy.deepcopy(atoms.calc)
    assert dup.get_potential_energy() == e
    np.testing.assert_array_equal(dup.get_forces(), f)
    dup.positions[1] += 0.03
    assert dup.get_potential_energy() != e and atoms.get_potential_energy() == e


def test_neb_with_one_copied_calculator_per_image():
    """Each image gets a deepcopy of one calculator (allow_shared_calculator=False, the
    default, refuses a shared one); a few optimiser steps run and lower the force."""
    from ase.optimize import FIRE
    initial = _si(seed=2)
    final = initial.copy()
    final.positions[0] += (0.25, 0.15, -0.1)
    calc = NNPCalculator(SI)
    images = [initial] + [initial.copy() for _ in range(3)] + [final]
    for im in images:
        im.calc = copy.deepcopy(calc)
    neb = NEB(images, allow_shared_calculator=False, method="improvedtangent")
    neb.interpolate()
    assert len({id(im.calc) for im in images}) == len(images)
    f0 = np.sqrt((neb.get_forces() ** 2).sum(axis=1).max())
    FIRE(neb, logfile=None).run(fmax=1e-6, steps=3)
    f3 = np.sqrt((neb.get_forces() ** 2).sum(axis=1).max())
    assert np.isfinite(f3) and f3 < f0
    for im in images[1:-1]:                  # every image's own calculator is right
        ref = NNPCalculator(SI).get_potential_energy(im.copy())
        assert im.get_potential_energy() == pytest.approx(ref, abs=1e-10)


def _energy_in_worker(calc_and_atoms):
    calc, atoms = calc_and_atoms
    atoms.calc = calc
    return atoms.get_potential_energy(), atoms.get_forces()


def test_multiprocessing_pool_matches_the_serial_energies():
    calc = NNPCalculator(SI)
    structures = [_si(seed=s) for s in range(4)]
    serial = [_energy_in_worker((NNPCalculator(SI), a.copy())) for a in structures]
    with multiprocessing.get_context("spawn").Pool(2) as pool:
        parallel = pool.map(_energy_in_worker, [(calc, a) for a in structures])
    for (e, f), (e_ref, f_ref) in zip(parallel, serial):
        assert e == pytest.approx(e_ref, abs=1e-10)
        np.testing.assert_allclose(f, f_ref, atol=1e-10)
    assert len({round(e, 6) for e, _ in serial}) == len(structures)   # distinct structures
