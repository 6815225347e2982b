"""The training loss gradient against finite differences of the loss."""
import numpy as np
import pytest

from ase_nnp.training import Frame, LossWeights, loss_and_gradient
from conftest import random_atoms, random_cell, sensitive_potential


def _frames(pot, structures, rng):
    frames = []
    for k, atoms in enumerate(structures):
        n = len(atoms)
        forces = rng.normal(0, 0.5, (n, 3)) if k != 1 else None          # frame 1: no forces
        stress = rng.normal(0, 0.01, (3, 3)) if atoms.pbc.all() and k != 2 else None
        if stress is not None:
            stress = 0.5 * (stress + stress.T)
        frames.append(Frame.from_arrays(pot, atoms.positions, atoms.numbers, atoms.cell[:],
                                        atoms.pbc, rng.normal(-4 * n, 1.0), forces, stress))
    return frames


@pytest.mark.parametrize("activation", ["tanh", "softplus"])
def test_loss_gradient_matches_finite_differences(activation):
    rng = np.random.default_rng(3)
    structures = [random_atoms(rng, 7, ["Si", "O"], random_cell(rng, 4.5, 6, 0.2), True, 1.5)
                  for _ in range(3)]
    slab = random_atoms(rng, 6, ["Si", "O"], np.diag([5.0, 5.0, 4.0]), (True, True, False), 1.5)
    structures.append(slab)
    pot = sensitive_potential(["Si", "O"], structures, hidden=(5, 4), activation=activation)
    frames = _frames(pot, structures, rng)
    weights = LossWeights(energy=1.0, forces=0.7, stress=50.0)
    loss, grads, parts = loss_and_gradient(pot, frames, weights)
    assert parts["energy"] > 0 and parts["forces"] > 0 and parts["stress"] > 0
    h = 1e-6
    for e in pot.elements:
        net = pot.networks[e]
        theta0 = net.parameters.copy()
        numeric = np.empty_like(theta0)
        for k in range(len(theta0)):
            step = np.zeros_like(theta0)
            step[k] = h
            net.parameters = theta0 + step
            lp = loss_and_gradient(pot, frames, weights)[0]
            net.parameters = theta0 - step
            lm = loss_and_gradient(pot, frames, weights)[0]
            numeric[k] = (lp - lm) / (2 * h)
        net.parameters = theta0
        assert np.abs(grads[e]).max() > 1e-4
        np.testing.assert_allclose(grads[e], numeric, rtol=1e-5, atol=1e-9 * max(1, loss))


def test_missing_references_are_masked_not_zero():
    """A frame without forces must not pull predicted forces towards zero."""
    rng = np.random.default_rng(4)
    atoms = random_atoms(rng, 6, ["Si"], random_cell(rng, 5, 6, 0.1), True, 1.8)
    pot = sensitive_potential(["Si"], [atoms], hidden=(4,))
    with_forces = Frame.from_arrays(pot, atoms.positions, atoms.numbers, atoms.cell[:], True,
                                    -20.0, forces=np.zeros((6, 3)))
    without = Frame.from_arrays(pot, atoms.positions, atoms.numbers, atoms.cell[:], True, -20.0)
    _, g_with, p_with = loss_and_gradient(pot, [with_forces], LossWeights(1, 1, 0))
    _, g_without, p_without = loss_and_gradient(pot, [without], LossWeights(1, 1, 0))
    assert p_with["forces"] > 0 and p_without["forces"] == 0
    assert not np.allclose(g_with["Si"], g_without["Si"])
    with pytest.raises(ValueError, match="periodicity"):
        Frame.from_arrays(pot, atoms.positions, atoms.numbers, atoms.cell[:], (1, 1, 0), -20.0,
                          stress=np.zeros((3, 3)))
