r"""Per-element feed-forward networks: E_i = NN(x_i), with the gradient dE_i/dx_i.

Layer k maps h_{k-1} (h_0 = x) to h_k = a_k(h_{k-1} W_k + b_k); the last layer
has one neuron and is usually linear. Backpropagation gives the input gradient

    dE/dh_{k-1} = (dE/dh_k ⊙ a_k'(z_k)) W_kᵀ,   z_k = h_{k-1} W_k + b_k.

Activations (n2p2 letter in brackets where n2p2 has one)::

    identity [l]          a = z                    a' = 1
    tanh [t]              a = tanh z               a' = 1 - a²
    logistic [s]          a = 1 / (1 + e^-z)       a' = a (1 - a)
    softplus [p]          a = ln(1 + e^z)          a' = logistic(z)
    shifted_softplus      a = ln(1 + e^z) - ln 2   a' = logistic(z)

Weights are stored as (n_in, n_out) matrices so that a batch of atoms is one
matrix product per layer.
"""

import numpy as np
from scipy.special import expit

ACTIVATIONS = ("identity", "tanh", "logistic", "softplus", "shifted_softplus")
_LN2 = np.log(2.0)


def activate(name, z):
    """(a(z), a'(z)) for activation ``name``."""
    if name == "tanh":
        a = np.tanh(z)
        return a, 1.0 - a * a
    if name == "identity":
        return z, np.ones_like(z)
    if name == "logistic":
        a = expit(z)
        return a, a * (1.0 - a)
    if name == "softplus":
        return np.logaddexp(0.0, z), expit(z)
    if name == "shifted_softplus":
        return np.logaddexp(0.0, z) - _LN2, expit(z)
    raise ValueError(f"unknown activation {name!r}; choose one of {ACTIVATIONS}")


class Network:
    """A feed-forward network with one output neuron.

    Parameters
    ----------
    weights : list of (n_in, n_out) arrays
    biases : list of (n_out,) arrays
    activations : list of str, one per layer (the last one is the output's)
    """

    def __init__(self, weights, biases, activations):
        self.weights = [np.ascontiguousarray(w, dtype=np.float64) for w in weights]
        self.biases = [np.ascontiguousarray(b, dtype=np.float64) for b in biases]
        self.activations = list(activations)
        if not (len(self.weights) == len(self.biases) == len(self.activations) >= 1):
            raise ValueError("weights, biases and activations need one entry per layer")
        for a in self.activations:
            if a not in ACTIVATIONS:
                raise ValueError(f"unknown activation {a!r}; choose one of {ACTIVATIONS}")
        for k, (w, b) in enumerate(zip(self.weights, self.biases)):
            if w.ndim != 2 or b.shape != (w.shape[1],):
                raise ValueError(f"layer {k}: weights {w.shape} and biases {b.shape} do not fit")
            if k and w.shape[0] != self.weights[k - 1].shape[1]:
                raise ValueError(f"layer {k} takes {w.shape[0]} inputs but layer {k - 1} "
                                 f"gives {self.weights[k - 1].shape[1]}")
        if self.weights[-1].shape[1] != 1:
            raise ValueError("the output layer must have exactly one neuron")

    @classmethod
    def random(cls, n_inputs, hidden_layers, activation="tanh", output_activation="identity",
               rng=None):
        """Glorot/Xavier-uniform weights, zero biases:
        W ~ U(-sqrt(6 / (n_in + n_out)), +sqrt(6 / (n_in + n_out)))."""
        rng = np.random.default_rng(rng)
        sizes = [int(n_inputs), *map(int, hidden_layers), 1]
        weights, biases = [], []
        for n_in, n_out in zip(sizes[:-1], sizes[1:]):
            limit = np.sqrt(6.0 / (n_in + n_out))
            weights.append(rng.uniform(-limit, limit, (n_in, n_out)))
            biases.append(np.zeros(n_out))
        acts = [activation] * len(hidden_layers) + [output_activation]
        return cls(weights, biases, acts)

    @property
    def n_inputs(self):
        return self.weights[0].shape[0]

    @property
    def layer_sizes(self):
        return [self.n_inputs] + [w.shape[1] for w in self.weights]

    @property
    def n_parameters(self):
        return sum(w.size + b.size for w, b in zip(self.weights, self.biases))

    def forward(self, x):
        """Outputs, shape (n,), for inputs x of shape (n, n_inputs)."""
        h = x
        for w, b, act in zip(self.weights, self.biases, self.activations):
            h, _ = activate(act, h @ w + b)
        return h[:, 0]

    def energy_and_input_gradient(self, x):
        """(outputs (n,), d output / d x (n, n_inputs))."""
        h = x
        slopes = []
        for w, b, act in zip(self.weights, self.biases, self.activations):
            h, da = activate(act, h @ w + b)
            slopes.append(da)
        grad = slopes[-1]                               # (n, 1)
        for k in range(len(self.weights) - 1, -1, -1):
            grad = grad @ self.weights[k].T
            if k:
                grad *= slopes[k - 1]
        return h[:, 0], grad
