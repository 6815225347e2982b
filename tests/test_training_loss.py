"""The training loss gradient against finite differences of the loss."""
import numpy as np
import pytest

from ase_nnp.training import FrameSet, LossWeights, loss_and_gradient
from conftest import random_atoms, random_cell, sensitive_potential


def _frames(pot, structures, rng):
    frames = []
    for k, atoms in enumerate(structures):
        n = len(atoms)
        forces = rng.normal(0, 0.5, (n, 3)) if k != 1 else None          # frame 1: no forces
        stress = rng.normal(0, 0.01, (3, 3)) if atoms.pbc.all() and k != 2 else None
        if stress is not None:
            stress = 0.5 * (stress + stress.T)
        energies = rng.normal(-4, 0.3, n) if k in (0, 3) else None    # per-atom: frames 0, 3
        frames.append(dict(positions=atoms.positions, numbers=atoms.numbers, cell=atoms.cell[:],
                           pbc=atoms.pbc, energy=rng.normal(-4 * n, 1.0), forces=forces,
                           stress=stress, energies=energies))
    return FrameSet.from_arrays(pot.descriptor, frames)


@pytest.mark.parametrize("activation", ["tanh", "softplus"])
def test_loss_gradient_matches_finite_differences(activation):
    rng = np.random.default_rng(3)
    structures = [random_atoms(rng, 7, ["Si", "O"], random_cell(rng, 4.5, 6, 0.2), True, 1.5)
                  for _ in range(3)]
    slab = random_atoms(rng, 6, ["Si", "O"], np.diag([5.0, 5.0, 4.0]), (True, True, False), 1.5)
    structures.append(slab)
    pot = sensitive_potential(["Si", "O"], structures, hidden=(5, 4), activation=activation)
    frames = _frames(pot, structures, rng)
    weights = LossWeights(energy=1.0, forces=0.7, stress=50.0, atomic_energies=0.3)
    loss, grads, parts = loss_and_gradient(pot, frames, weights)
    assert min(parts[k] for k in ("energy", "forces", "stress", "atomic_energies")) > 0
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
    base = dict(positions=atoms.positions, numbers=atoms.numbers, cell=atoms.cell[:], pbc=True,
                energy=-20.0)
    with_forces = FrameSet.from_arrays(pot.descriptor, [dict(base, forces=np.zeros((6, 3)))])
    without = FrameSet.from_arrays(pot.descriptor, [base])
    _, g_with, p_with = loss_and_gradient(pot, with_forces, LossWeights(1, 1, 0))
    _, g_without, p_without = loss_and_gradient(pot, without, LossWeights(1, 1, 0))
    assert p_with["forces"] > 0 and p_without["forces"] == 0
    assert "forces" in p_with["rmse"] and "forces" not in p_without["rmse"]
    assert not np.allclose(g_with["Si"], g_without["Si"])
    with pytest.raises(ValueError, match="periodicity"):
        FrameSet.from_arrays(pot.descriptor, [dict(base, pbc=(1, 1, 0), stress=np.zeros((3, 3)))])


def test_batched_loss_equals_sum_over_structures():
    """The concatenated FrameSet gives the per-structure predictions of Potential.evaluate,
    and a subset gives the same numbers as building those frames alone."""
    rng = np.random.default_rng(5)
    structures = [random_atoms(rng, n, ["Si", "O"], random_cell(rng, 4.5, 6, 0.2), pbc, 1.5)
                  for n, pbc in ((5, True), (8, True), (3, (True, False, True)), (6, True))]
    pot = sensitive_potential(["Si", "O"], structures, hidden=(5,))
    fs = _frames(pot, structures, rng)
    from ase_nnp.training import predict
    pred = predict(pot, fs)
    for f, atoms in enumerate(structures):
        ref = pot.evaluate(atoms.positions, atoms.numbers, atoms.cell[:], atoms.pbc)
        a0, a1 = fs.atom_start[f], fs.atom_start[f + 1]
        assert pred.energy[f] == pytest.approx(ref.energy, rel=1e-12)
        np.testing.assert_allclose(pred.forces[a0:a1], ref.forces, atol=1e-10)
        if atoms.pbc.all():
            np.testing.assert_allclose(pred.stress[f], ref.stress, atol=1e-12)
    sub = fs.subset([3, 1])
    alone = _frames(pot, [structures[3], structures[1]], np.random.default_rng(0))
    np.testing.assert_array_equal(sub.J, alone.J)
    np.testing.assert_array_equal(sub.i, alone.i)
    np.testing.assert_array_equal(sub.pair_first, alone.pair_first)
    np.testing.assert_allclose(predict(pot, sub).forces, predict(pot, alone).forces, atol=1e-13)
