"""Fitting Stillinger-Weber Si: preprocessing, L-BFGS and Adam reduce the errors, deterministically."""
import numpy as np
import pytest
from ase.build import bulk

from ase_nnp import Potential
from ase_nnp.descriptors import SymmetryFunctions
from ase_nnp.training import FrameSet, LossWeights, loss_and_gradient
from ase_nnp.training.optimizers import ParameterVector, adam, lbfgs
from ase_nnp.training.preprocess import fit_energy_offsets, fit_scaling

pytest.importorskip("matscipy")


def _sw_frames(pot, n_frames=10, seed=0):
    from ase_nnp.training.reference import stillinger_weber_si
    calc = stillinger_weber_si()
    rng = np.random.default_rng(seed)
    frames = []
    for k in range(n_frames):
        atoms = bulk("Si", "diamond", a=5.43 * rng.uniform(0.97, 1.03), cubic=True)
        atoms.rattle(0.08, seed=int(rng.integers(1 << 30)))
        atoms.calc = calc
        frames.append(dict(positions=atoms.positions, numbers=atoms.numbers, cell=atoms.cell[:],
                           pbc=True, energy=atoms.get_potential_energy(),
                           forces=atoms.get_forces(), stress=atoms.get_stress(voigt=False)))
    return FrameSet.from_arrays(pot.descriptor, frames)


def _potential():
    sf = SymmetryFunctions(["Si"], cutoff=5.0)
    sf.add_radial_grid(4, "shifted")
    for zeta in (1, 4):
        for lam in (-1, 1):
            sf.add_angular(0.01, zeta, lam)
    return Potential(["Si"], sf, hidden_layers=(8, 8), seed=0)


def _prepared():
    pot = _potential()
    frames = _sw_frames(pot)
    fit_energy_offsets(pot, frames)
    fit_scaling(pot, frames)
    return pot, frames


def test_energy_offsets_by_least_squares():
    pot, frames = _prepared()
    mean_per_atom = np.mean(frames.energy / frames.n_atoms_per_frame)
    assert pot.energy_offsets["Si"] == pytest.approx(mean_per_atom, rel=1e-12)


def test_lbfgs_reduces_the_loss_and_is_deterministic():
    weights = LossWeights(energy=1.0, forces=0.1, stress=10.0)
    pot, frames = _prepared()
    before, _, parts0 = loss_and_gradient(pot, frames, weights)
    lbfgs(pot, frames, weights, max_iter=40)
    after, _, parts1 = loss_and_gradient(pot, frames, weights)
    assert after < 0.1 * before
    assert parts1["forces"] < 0.5 * parts0["forces"]
    pot2, frames2 = _prepared()
    lbfgs(pot2, frames2, weights, max_iter=40)
    np.testing.assert_array_equal(ParameterVector(pot).get(), ParameterVector(pot2).get())


def test_adam_reduces_the_loss_and_is_deterministic():
    weights = LossWeights(energy=1.0, forces=0.1, stress=0.0)
    pot, frames = _prepared()
    history = adam(pot, frames, weights, epochs=15, batch_size=4, lr=5e-3, decay=0.95, seed=3)
    assert history[-1] < 0.5 * history[0]
    pot2, frames2 = _prepared()
    adam(pot2, frames2, weights, epochs=15, batch_size=4, lr=5e-3, decay=0.95, seed=3)
    np.testing.assert_array_equal(ParameterVector(pot).get(), ParameterVector(pot2).get())
