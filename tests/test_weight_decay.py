"""[loss] weight_decay: the penalty λ Σ W² over the network weights (biases excluded), its
gradient in the L-BFGS and Adam objectives against finite differences, and the refusals."""
import numpy as np
import pytest
from ase.build import bulk
from ase.calculators.emt import EMT

from ase_nnp import ConfigError, train
from ase_nnp.training import FrameSet, LossWeights, loss_and_gradient
from ase_nnp.training.config import TrainingConfig
from ase_nnp.training.optimizers import kalman, objective_for
from ase_nnp.training.regularization import weight_decay, weight_mask
from conftest import random_atoms, random_cell, sensitive_potential


def _setup(seed=5):
    rng = np.random.default_rng(seed)
    structures = [random_atoms(rng, 6, ["Si", "O"], random_cell(rng, 4.5, 6, 0.2), True, 1.5)
                  for _ in range(4)]
    pot = sensitive_potential(["Si", "O"], structures, hidden=(5, 4))
    frames = FrameSet.from_arrays(pot.descriptor, [
        dict(positions=a.positions, numbers=a.numbers, cell=a.cell[:], pbc=a.pbc,
             energy=rng.normal(-4 * len(a), 1.0), forces=rng.normal(0, 0.5, (len(a), 3)))
        for a in structures])
    return pot, frames


def test_the_mask_covers_the_weights_and_not_the_biases():
    pot, _ = _setup()
    net = pot.networks["Si"]
    mask = weight_mask(net)
    assert mask.sum() == sum(w.size for w in net.weights)
    assert (~mask).sum() == sum(b.size for b in net.biases)
    theta = net.parameters.copy()
    value, grads = weight_decay(pot, 0.3)
    expected = 0.3 * sum(float(np.sum(w ** 2)) for e in pot.elements
                         for w in pot.networks[e].weights)
    assert value == pytest.approx(expected, rel=1e-12)
    np.testing.assert_array_equal(grads["Si"][~mask], 0.0)
    np.testing.assert_allclose(grads["Si"][mask], 0.6 * theta[mask])
    with pytest.raises(ValueError, match="weight_decay"):
        weight_decay(pot, -1.0)


@pytest.mark.parametrize("frames_used", [None, [0, 2]], ids=["lbfgs-full-batch", "adam-batch"])
def test_objective_gradient_with_weight_decay_matches_finite_differences(frames_used):
    pot, fs = _setup()
    lam = 2e-3
    weights = LossWeights(energy=1.0, forces=0.5, stress=0.0, weight_decay=lam)
    pv, objective = objective_for(pot, fs, weights)
    theta0 = pv.get().copy()
    loss, grad = objective(theta0, frames_used)
    plain, _ = objective_for(pot, fs, LossWeights(1.0, 0.5, 0.0))[1](theta0, frames_used)
    penalty = weight_decay(pot, lam)[0]
    assert penalty > 1e-3 * plain          # the penalty matters in this check
    assert loss == pytest.approx(plain + penalty, rel=1e-12)
    h = 1e-6
    numeric = np.empty_like(theta0)
    for k in range(len(theta0)):
        step = np.zeros_like(theta0)
        step[k] = h
        numeric[k] = (objective(theta0 + step, frames_used)[0]
                      - objective(theta0 - step, frames_used)[0]) / (2 * h)
    np.testing.assert_allclose(grad, numeric, rtol=1e-5, atol=1e-9 * max(1, loss))
    # the validation loss (loss_and_gradient) does not carry the penalty
    pv.set(theta0)
    assert loss_and_gradient(pot, fs, weights, gradient=False)[0] == pytest.approx(
        plain if frames_used is None else
        loss_and_gradient(pot, fs, LossWeights(1.0, 0.5, 0.0), gradient=False)[0])


def test_kalman_and_linear_kinds_refuse_weight_decay(tmp_path):
    with pytest.raises(ConfigError, match="Kalman filter"):
        TrainingConfig(dict(train=["x.extxyz"], method="kalman", weight_decay=1e-9))
    with pytest.raises(ConfigError, match="ridge"):
        TrainingConfig(dict(train=["x.extxyz"], kind="linear", family="bispectrum",
                            weight_decay=1e-9))
    with pytest.raises(ConfigError, match="weight_decay"):
        TrainingConfig(dict(train=["x.extxyz"], weight_decay=-1.0))
    pot, fs = _setup()
    with pytest.raises(ConfigError, match="Kalman filter"):
        kalman(pot, fs, LossWeights(weight_decay=1e-6), epochs=1)
    TrainingConfig(dict(train=["x.extxyz"], method="adam", weight_decay=1e-9))


def test_training_with_weight_decay_shrinks_the_weights(tmp_path):
    images = []
    for k in range(8):
        a = bulk("Cu", "fcc", a=3.61, cubic=True)
        a.rattle(0.05, seed=k)
        a.calc = EMT()
        a.get_potential_energy()
        images.append(a)
    norms = {}
    for lam in (0.0, 1.0):
        r = train(images, model=str(tmp_path / f"m{lam}.nnp"), cutoff=4.0, radial_n=4,
                  angular_n=2, angular_r_low=2.0, zetas=[1], lambdas=[-1, 1],
                  hidden_layers=[6], max_epochs=15, weight_decay=lam, progress=False,
                  validation_fraction=0.0, cache="", log_file="", checkpoint_every=0,
                  log=lambda *a, **k: None)
        net = r.potential.networks["Cu"]
        norms[lam] = sum(float(np.sum(w ** 2)) for w in net.weights)
    assert norms[1.0] < 0.5 * norms[0.0]
