"""The training loss gradient against finite differences of the loss."""
import numpy as np
import pytest

from ase_nnp.training import FrameSet, LossWeights, loss_and_gradient
from conftest import random_atoms, random_cell, sensitive_potential


def _frames(pot, structures, rng, weighted=False):
    """References for the structures; ``weighted``: random structure weights (one of
    them 0) and per-atom force weights."""
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
        if weighted:
            frames[-1]["weight"] = 0.0 if k == 2 else rng.uniform(0.5, 3.0)
            frames[-1]["force_weight"] = rng.uniform(0.0, 2.0, n)
    return FrameSet.from_arrays(pot.descriptor, frames)


def _si_o_structures(rng):
    structures = [random_atoms(rng, 7, ["Si", "O"], random_cell(rng, 4.5, 6, 0.2), True, 1.5)
                  for _ in range(3)]
    structures.append(random_atoms(rng, 6, ["Si", "O"], np.diag([5.0, 5.0, 4.0]),
                                   (True, True, False), 1.5))
    return structures


@pytest.mark.parametrize("activation, weighted", [("tanh", False), ("softplus", False),
                                                  ("tanh", True)])
def test_loss_gradient_matches_finite_differences(activation, weighted):
    """Also with non-uniform structure weights (one 0) and per-atom force weights."""
    rng = np.random.default_rng(3)
    structures = _si_o_structures(rng)
    pot = sensitive_potential(["Si", "O"], structures, hidden=(5, 4), activation=activation)
    frames = _frames(pot, structures, rng, weighted)
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


def _plain_loss(fs, pred, w):
    """The unweighted loss, written out: plain means over the frames (atoms) with each
    reference."""
    N = fs.n_atoms_per_frame
    e = np.mean(((pred.energy - fs.energy) / N) ** 2)
    fm = fs.has_forces[fs.frame]
    f = np.sum(np.sum((pred.forces - fs.forces)[fm] ** 2, axis=1) / (3 * N[fs.frame][fm])) \
        / fs.has_forces.sum()
    s = np.sum((pred.stress - fs.stress)[fs.has_stress] ** 2) / 9 / fs.has_stress.sum()
    am = fs.has_energies[fs.frame]
    a = np.mean((pred.energies - fs.energies)[am] ** 2)
    return w.energy * e + w.forces * f + w.stress * s + w.atomic_energies * a, (e, f, s, a)


def _setup(seed=3, weighted=False):
    rng = np.random.default_rng(seed)
    structures = _si_o_structures(rng)
    pot = sensitive_potential(["Si", "O"], structures, hidden=(5, 4))
    return pot, _frames(pot, structures, rng, weighted)


W = LossWeights(energy=1.0, forces=0.7, stress=50.0, atomic_energies=0.3)


def test_unit_weights_give_the_plain_means():
    from ase_nnp.training import predict
    pot, fs = _setup()
    loss, _, parts = loss_and_gradient(pot, fs, W)
    expected, (e, f, s, a) = _plain_loss(fs, predict(pot, fs), W)
    assert loss == pytest.approx(expected, rel=1e-14)
    for name, value in zip(("energy", "forces", "stress", "atomic_energies"), (e, f, s, a)):
        assert parts[name] == pytest.approx(value, rel=1e-14)


def test_force_weight_scales_that_atoms_squared_error():
    """L_F = Σ_f w_f Σ_a w_a |ΔF_a|² / (3 N_f) / Σ_{f with forces} w_f, by hand."""
    from ase_nnp.training import predict
    pot, fs = _setup(weighted=True)
    pred = predict(pot, fs)
    N, w = fs.n_atoms_per_frame, fs.weight
    sq = fs.force_weight * np.sum((pred.forces - fs.forces) ** 2, axis=1)
    per_frame = np.array([sq[fs.atom_start[f]:fs.atom_start[f + 1]].sum() / (3 * N[f])
                          for f in range(fs.n_frames)])
    expected = np.sum((w * per_frame)[fs.has_forces]) / np.sum(w[fs.has_forces])
    parts = loss_and_gradient(pot, fs, W, gradient=False)[2]
    assert parts["forces"] == pytest.approx(expected, rel=1e-13)
    # doubling one atom's force weight adds its weighted squared error once more
    a = 3
    f = fs.frame[a]
    doubled = fs.force_weight.copy()
    doubled[a] *= 2
    fs.set_force_weights(doubled)
    extra = w[f] * sq[a] / (3 * N[f]) / np.sum(w[fs.has_forces])
    assert loss_and_gradient(pot, fs, W, gradient=False)[2]["forces"] == \
        pytest.approx(expected + extra, rel=1e-13)
    with pytest.raises(ValueError, match="one value per atom"):
        fs.set_force_weights(np.ones(fs.n_atoms - 1))
    with pytest.raises(ValueError, match="finite numbers >= 0"):
        fs.set_force_weights(-doubled)


def test_weight_two_is_a_duplicate_and_weight_zero_no_frame():
    pot, fs = _setup()
    weighted = fs.subset(range(fs.n_frames))
    weighted.weight = np.array([1.0, 2.0, 0.0, 1.0])
    same = fs.subset([0, 1, 1, 3])            # frame 1 twice, frame 2 dropped
    loss_w, g_w, parts_w = loss_and_gradient(pot, weighted, W)
    loss_d, g_d, parts_d = loss_and_gradient(pot, same, W)
    assert loss_w == pytest.approx(loss_d, rel=1e-13)
    for name in ("energy", "forces", "stress", "atomic_energies"):
        assert parts_w[name] == pytest.approx(parts_d[name], rel=1e-13)
    for e in pot.elements:
        np.testing.assert_allclose(g_w[e], g_d[e], rtol=1e-12, atol=1e-15 * np.abs(g_d[e]).max())
