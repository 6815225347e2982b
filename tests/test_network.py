"""Network input and parameter gradients against finite differences."""
import numpy as np
import pytest

from ase_nnp.network import ACTIVATIONS, Network


def _net(activation, rng):
    net = Network.random(5, (7, 4), activation, rng=rng)
    for b in net.biases:
        b[:] = rng.normal(0, 0.3, b.shape)
    return net


@pytest.mark.parametrize("activation", [a for a in ACTIVATIONS if a != "identity"])
def test_input_gradient(activation):
    rng = np.random.default_rng(0)
    net = _net(activation, rng)
    x = rng.normal(size=(6, 5))
    _, grad = net.energy_and_input_gradient(x)
    h = 1e-6
    for a in range(5):
        e = np.zeros(5)
        e[a] = h
        num = (net.forward(x + e) - net.forward(x - e)) / (2 * h)
        np.testing.assert_allclose(grad[:, a], num, atol=1e-9)


@pytest.mark.parametrize("activation", ACTIVATIONS)
@pytest.mark.parametrize("with_directions", [False, True])
def test_parameter_gradient(activation, with_directions):
    rng = np.random.default_rng(1)
    net = _net(activation, rng)
    x = rng.normal(size=(8, 5))
    c = rng.normal(size=8)
    d = rng.normal(size=(8, 5)) if with_directions else None

    def phi(theta):
        net.parameters = theta
        y, grad = net.energy_and_input_gradient(x)
        return c @ y + (np.sum(grad * d) if d is not None else 0.0)

    theta0 = net.parameters.copy()
    analytic = net.parameter_gradient(x, c, d)
    h = 1e-6
    numeric = np.array([(phi(theta0 + h * e) - phi(theta0 - h * e)) / (2 * h)
                        for e in np.eye(len(theta0))])
    net.parameters = theta0
    assert np.abs(analytic).max() > 1e-3
    np.testing.assert_allclose(analytic, numeric, atol=1e-8, rtol=1e-6)


def test_parameters_roundtrip_and_shape_check():
    net = Network.random(3, (4,), rng=0)
    theta = net.parameters
    assert theta.shape == (net.n_parameters,) == (3 * 4 + 4 + 4 * 1 + 1,)
    net.parameters = theta * 2
    np.testing.assert_array_equal(net.parameters, theta * 2)
    with pytest.raises(ValueError, match="expected 21 parameters"):
        net.parameters = np.zeros(3)
