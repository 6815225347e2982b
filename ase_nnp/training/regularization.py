r"""L2 regularisation of the network weights ([loss] weight_decay).

The training objective of the gradient optimisers (L-BFGS, Adam) is the loss of
:mod:`ase_nnp.training.loss` plus

    R(θ) = λ Σ_e Σ_l Σ_jk (W^(e,l)_jk)²,        ∂R/∂W^(e,l)_jk = 2 λ W^(e,l)_jk,

over the weight matrices W of every layer l of every element's network e; the biases are
left out (∂R/∂b = 0). Why: a weight scales how strongly an input or hidden unit varies
the output, so shrinking the weights makes E_at(G) smoother — the prior that stops a
network from building large, opposite offsets between regions of descriptor space no
training total distinguishes. A bias only shifts a unit's operating point; the output
layer's bias is the element's constant energy, which the data fix (a per-species
offset), and penalising it would pull every atomic energy towards the element's fitted
reference energy, a bias in the energies themselves rather than in their smoothness.
R is in the loss's units (eV² per atom², as the energy term), so λ is read against the
loss: with energy errors of ~1 meV/atom the energy term is ~1e-6, and λ Σ W² of
comparable size is λ ~ 1e-9 for a few thousand weights of order 0.1-1.

For Adam every mini-batch objective carries the full R (each batch loss estimates the
full-batch loss, so the penalty is not divided among the batches). The Kalman filter
observes residuals one at a time and has no objective to add R to; it refuses
weight_decay > 0 (:func:`check_method`), as do the linear models, which have their own
``ridge``.
"""

import numpy as np

from ..exceptions import ConfigError


def weight_mask(network):
    """Boolean mask over ``network.parameters`` (layer by layer, W then b): True for the
    entries of the weight matrices, False for the biases."""
    parts = []
    for w, b in zip(network.weights, network.biases):
        parts += [np.ones(w.size, bool), np.zeros(b.size, bool)]
    return np.concatenate(parts)


def weight_decay(potential, strength):
    """(R, {element: ∂R/∂θ_e as a flat vector in ``Network.parameters`` order}) for
    R = λ Σ W² (module docstring), λ = ``strength`` ≥ 0."""
    if not (np.isfinite(strength) and strength >= 0):
        raise ValueError(f"weight_decay = {strength!r}: give a finite number >= 0")
    value, grads = 0.0, {}
    for e in potential.elements:
        net = potential.networks[e]
        theta = net.parameters
        mask = weight_mask(net)
        w = np.where(mask, theta, 0.0)
        value += strength * float(w @ w)
        grads[e] = 2.0 * strength * w
    return value, grads


def check_method(strength, method, kind="network"):
    """ConfigError for a weight_decay the training method cannot apply (module docstring)."""
    if strength <= 0:
        return
    if kind != "network":
        raise ConfigError(f"[loss] weight_decay = {strength:g} is for networks; [model] kind = "
                          f"{kind!r} is regularised by [model] ridge instead")
    if method == "kalman":
        raise ConfigError(f"[loss] weight_decay = {strength:g} needs a loss to add the penalty "
                          "to, but the Kalman filter updates from single residuals and has "
                          "none; use method = 'lbfgs' or 'adam', or set weight_decay = 0")
