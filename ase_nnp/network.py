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

Parameter gradients (for training)
----------------------------------
A loss built from energies, forces and stresses needs, per atom i with input
x_i, the gradient with respect to every weight of

    Φ = Σ_i c_i y(x_i) + Σ_i ∇_x y(x_i) · d_i ,

with energy weights c_i and input-space directions d_i (forces and stresses
enter through d_i = k ⊙ (∂G_i/∂D · V), the descriptor's jvp of a pair
displacement V; see the trainer). The second term is a directional derivative,
computed in forward mode by the tangent ḣ_0 = d, ż_k = ḣ_{k-1} W_k,
ḣ_k = a_k'(z_k) ⊙ ż_k, ∇y·d = ḣ_L. Reverse mode through both the values and
the tangents, with adjoints h̄ (values) and ḣ̄ (tangents), starting from
h̄_L = c, ḣ̄_L = 1:

    ż̄_k = ḣ̄_k ⊙ a_k'(z_k)
    z̄_k = h̄_k ⊙ a_k'(z_k) + ḣ̄_k ⊙ a_k''(z_k) ⊙ ż_k
    ∂Φ/∂W_k = h_{k-1}ᵀ z̄_k + ḣ_{k-1}ᵀ ż̄_k,   ∂Φ/∂b_k = Σ_i z̄_k
    h̄_{k-1} = z̄_k W_kᵀ,   ḣ̄_{k-1} = ż̄_k W_kᵀ

with a'' = -2 a a' (tanh), a'(1 - 2a) (logistic), σ(1 - σ) (softplus family), 0 (identity).
"""

import numpy as np
from scipy.special import expit

ACTIVATIONS = ("identity", "tanh", "logistic", "softplus", "shifted_softplus")
_LN2 = np.log(2.0)


def activate(name, z, second=False):
    """(a(z), a'(z)), or (a, a', a'') with ``second``, for activation ``name``."""
    if name == "tanh":
        a = np.tanh(z)
        d1 = 1.0 - a * a
        d2 = -2.0 * a * d1 if second else None
    elif name == "identity":
        a, d1 = z, np.ones_like(z)
        d2 = np.zeros_like(z) if second else None
    elif name == "logistic":
        a = expit(z)
        d1 = a * (1.0 - a)
        d2 = d1 * (1.0 - 2.0 * a) if second else None
    elif name in ("softplus", "shifted_softplus"):
        a = np.logaddexp(0.0, z) - (_LN2 if name == "shifted_softplus" else 0.0)
        d1 = expit(z)
        d2 = d1 * (1.0 - d1) if second else None
    else:
        raise ValueError(f"unknown activation {name!r}; choose one of {ACTIVATIONS}")
    return (a, d1, d2) if second else (a, d1)


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

    def last_hidden(self, x):
        """h_{L-1}: the last hidden layer's activations, shape (n, width), for inputs x
        (n, n_inputs); x itself for a network without hidden layers. The output is
        w · h_{L-1} + b, linear in them (:mod:`ase_nnp.extrapolation_grade`)."""
        h = x
        for w, b, act in zip(self.weights[:-1], self.biases[:-1], self.activations[:-1]):
            h, _ = activate(act, h @ w + b)
        return h

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

    # ------------------------------------------------------------ training
    @property
    def parameters(self):
        """All weights and biases as one flat vector (layer by layer, W then b)."""
        return np.concatenate([np.concatenate([w.ravel(), b]) for w, b in
                               zip(self.weights, self.biases)])

    @parameters.setter
    def parameters(self, vector):
        vector = np.asarray(vector, dtype=np.float64)
        if vector.shape != (self.n_parameters,):
            raise ValueError(f"expected {self.n_parameters} parameters, got {vector.shape}")
        pos = 0
        for w, b in zip(self.weights, self.biases):
            w[...] = vector[pos:pos + w.size].reshape(w.shape)
            pos += w.size
            b[...] = vector[pos:pos + b.size]
            pos += b.size

    def parameter_gradient(self, x, energy_weights, directions=None):
        """∂Φ/∂θ as a flat vector (the order of ``parameters``), with
        Φ = Σ_i c_i y(x_i) + Σ_i ∇y(x_i)·d_i (module docstring).

        x: (n, n_inputs); energy_weights c: (n,); directions d: (n, n_inputs) or None.
        """
        n_layers = len(self.weights)
        hs, dots, slopes, curvs = [x], [directions], [], []
        for w, b, act in zip(self.weights, self.biases, self.activations):
            z = hs[-1] @ w + b
            a, d1, d2 = activate(act, z, second=True)
            slopes.append(d1)
            curvs.append(d2)
            hs.append(a)
            if directions is not None:
                dots.append(d1 * (dots[-1] @ w))
        h_bar = np.asarray(energy_weights, dtype=np.float64).reshape(-1, 1)
        t_bar = np.ones_like(h_bar) if directions is not None else None
        grads = [None] * n_layers
        for k in range(n_layers - 1, -1, -1):
            z_bar = h_bar * slopes[k]
            if directions is not None:
                zdot = dots[k] @ self.weights[k]
                zdot_bar = t_bar * slopes[k]
                z_bar = z_bar + t_bar * curvs[k] * zdot
                dW = hs[k].T @ z_bar + dots[k].T @ zdot_bar
                t_bar = zdot_bar @ self.weights[k].T
            else:
                dW = hs[k].T @ z_bar
            grads[k] = np.concatenate([dW.ravel(), z_bar.sum(axis=0)])
            h_bar = z_bar @ self.weights[k].T
        return np.concatenate(grads)
