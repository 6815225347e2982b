"""Descriptor values outside the training range: counted in the energy pass, reported."""

import warnings

import numpy as np
import pytest
from ase.build import bulk

from ase_nnp import ExtrapolationError, ExtrapolationWarning, NNPCalculator, Potential
from ase_nnp.engine import training_range

from conftest import random_atoms, random_cell, sensitive_potential


@pytest.fixture(scope="module")
def si():
    return Potential.load("data/si.nnp")


def _si(scale=1.0):
    atoms = bulk("Si", "diamond", a=5.431 * scale, cubic=True)
    return atoms


def _count_by_hand(pot, atoms):
    """Columns outside [min, max] of the training statistics, written out with numpy."""
    G = pot.descriptor.compute(atoms)
    species = pot.species_indices(atoms.numbers)
    out = np.zeros(len(atoms), dtype=int)
    for a in range(len(atoms)):
        sc = pot.scalings[pot.elements[species[a]]]
        g = G[a, :sc.n_features]
        varied = sc.gmax > sc.gmin
        out[a] = np.count_nonzero(varied & ((g < sc.gmin) | (g > sc.gmax)))
    return out


def test_counts_of_the_fused_pass_and_of_the_energy_pass_are_the_hand_count(rng):
    atoms = random_atoms(rng, 12, ["Si", "O"], random_cell(rng, 5.0, 7.0), True)
    train = random_atoms(rng, 12, ["Si", "O"], random_cell(rng, 6.0, 8.0), True)
    pot = sensitive_potential(["Si", "O"], [train])
    a = (atoms.positions, atoms.numbers, atoms.cell[:], atoms.pbc)
    expected = _count_by_hand(pot, atoms)
    assert expected.sum() > 0                                    # some atoms outside
    fused = pot.evaluate(*a)
    alone = pot.evaluate(*a, forces=False, stress=False)
    np.testing.assert_array_equal(fused.outside, expected)
    np.testing.assert_array_equal(alone.outside, expected)
    np.testing.assert_allclose(fused.excess, alone.excess, rtol=1e-12, atol=1e-15)
    lo, hi = training_range(pot.scalings["Si"])
    assert np.all(np.isinf(lo) == ~(pot.scalings["Si"].gmax > pot.scalings["Si"].gmin))
    # an untrained potential (no statistics) never counts
    bare = Potential(["Si", "O"], pot.descriptor, seed=0)
    assert bare.evaluate(*a).outside.sum() == 0


def test_perfect_crystal_is_inside_and_a_compressed_cell_warns_by_name(si):
    atoms = _si()
    atoms.calc = NNPCalculator(si)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        atoms.get_forces()
    assert atoms.calc.results["extrapolation"].sum() == 0
    squeezed = _si(0.85)
    squeezed.calc = NNPCalculator(si)
    with pytest.warns(ExtrapolationWarning, match=r"8 of 8 atoms .* atom \d \(Si\), \d+ "
                      r"column\(s\).*column \d+ G\d"):
        squeezed.get_forces()
    assert np.all(squeezed.calc.results["extrapolation"] > 0)
    squeezed.calc = NNPCalculator(si, extrapolation="raise")
    with pytest.raises(ExtrapolationError, match="extrapolating"):
        squeezed.get_potential_energy()
    squeezed.calc = NNPCalculator(si, extrapolation="ignore")
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        squeezed.get_potential_energy()
    assert squeezed.calc.extrapolation_log.extrapolating_atoms == 8


def test_warnings_are_rate_limited_over_a_run(si):
    atoms = _si(0.9).repeat((2, 1, 1))
    calc = NNPCalculator(si, warn_every=5)
    atoms.calc = calc
    with warnings.catch_warnings(record=True) as seen:
        warnings.simplefilter("always")
        for step in range(12):
            atoms.positions[0, 0] += 1e-4            # a new structure every call
            atoms.get_potential_energy()
    texts = [str(w.message) for w in seen if w.category is ExtrapolationWarning]
    assert len(texts) == 3                           # calls 1, 6 and 11
    assert "extrapolating call(s) since the last warning" in texts[1]
    log = calc.extrapolation_log
    assert log.calls == 12 and log.extrapolating_calls == 12


def test_an_unknown_extrapolation_mode_is_refused(si):
    with pytest.raises(ValueError, match="extrapolation must be 'warn', 'raise' or 'ignore'"):
        NNPCalculator(si, extrapolation="loud")
