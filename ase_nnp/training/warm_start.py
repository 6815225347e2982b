r"""Warm start: begin a training run from an earlier potential's networks.

``[network] init_model = "old.nnp"`` starts the fit from the networks of ``old.nnp``
(member k of an ensemble file for ensemble member k, cycling when the file has fewer)
instead of random weights. The new run fits its own reference energies and input
scaling to its own training data, as every run does; the old networks are then
re-expressed in the new variables so that the starting potential is the old one.

Scaling is affine per column, x = o + k (G − G₀) (:mod:`ase_nnp.scaling`). For a column
that varies in the new data (k_new > 0) the old input is an affine function of the new,

    x_old = α x_new + β,   α = k_old / k_new,
                           β = o_old + k_old (G₀,new − G₀,old) − α o_new,

so the first layer becomes W₁' = diag(α) W₁ and b₁' = b₁ + βᵀ W₁ (rows of W₁ are
inputs). A column constant in the new data (k_new = 0, its value G_min,new) enters
only as the constant β = o_old + k_old (G_min,new − G₀,old), with α = 0. The reference
energies move into the output bias: b_out' = b_out + E⁰_old − E⁰_new, which needs a
linear output layer (the only kind the trainer builds).

Hence, on the new training structures, the warm-started networks give exactly the old
potential's energies and forces (to rounding; the short-range repulsion, when the
settings have one, is the new run's own). The old file must have the same elements,
descriptor specification, layer sizes and activations; anything else is a
:class:`~ase_nnp.exceptions.ConfigError` naming the difference.
"""

import numpy as np

from ..descriptors.base import same_specification
from ..exceptions import ConfigError
from ..committee import Ensemble, load


def _members(path):
    try:
        loaded = load(path)
    except FileNotFoundError:
        raise ConfigError(f"[network] init_model = {path!r}: no such file") from None
    return loaded.members if isinstance(loaded, Ensemble) else [loaded]


def _check(pot, old, path):
    if list(old.elements) != list(pot.elements):
        raise ConfigError(f"[network] init_model = {path!r} covers {list(old.elements)}; this "
                          f"run trains {list(pot.elements)}")
    if not same_specification(old.descriptor, pot.descriptor):
        raise ConfigError(f"[network] init_model = {path!r} has another descriptor "
                          f"({old.descriptor.kind}, {old.descriptor.n_features_max} functions at "
                          f"most) than this run's settings ({pot.descriptor.kind}, "
                          f"{pot.descriptor.n_features_max}); a warm start needs the same "
                          "descriptor keys")
    for e in pot.elements:
        a, b = old.networks[e], pot.networks[e]
        if a.layer_sizes != b.layer_sizes or list(a.activations) != list(b.activations):
            raise ConfigError(f"[network] init_model = {path!r}: the {e} network is "
                              f"{a.layer_sizes} ({', '.join(a.activations)}); the settings give "
                              f"{b.layer_sizes} ({', '.join(b.activations)})")
        if a.activations[-1] != "identity":
            raise ConfigError(f"[network] init_model = {path!r}: the {e} network's output "
                              f"layer is {a.activations[-1]}, not linear")


def input_map(old, new):
    """(α, β) with x_old = α x_new + β per column, from two :class:`Scaling` objects."""
    varies = new.factor > 0
    alpha = np.where(varies, old.factor / np.where(varies, new.factor, 1.0), 0.0)
    g0 = np.where(varies, new.shift, new.gmin)
    beta = old.offset + old.factor * (g0 - old.shift) - np.where(varies, alpha * new.offset,
                                                                 0.0)
    return alpha, beta


def warm_start(pot, path, member=0):
    """Replace the networks of ``pot`` (its scalings and energy offsets already fitted)
    by those of model file ``path`` (member ``member`` modulo the members), re-expressed
    as in the module docstring. Returns the member index used."""
    members = _members(path)
    k = member % len(members)
    old = members[k]
    _check(pot, old, path)
    for e in pot.elements:
        alpha, beta = input_map(old.scalings[e], pot.scalings[e])
        net = pot.networks[e]
        src = old.networks[e]
        weights = [w.copy() for w in src.weights]
        biases = [b.copy() for b in src.biases]
        biases[0] = biases[0] + beta @ weights[0]
        weights[0] = alpha[:, None] * weights[0]
        biases[-1] = biases[-1] + (old.energy_offsets[e] - pot.energy_offsets[e])
        for dst, src_ in zip(net.weights + net.biases, weights + biases):
            dst[...] = src_                 # in place: the arrays may be shared
    return k
