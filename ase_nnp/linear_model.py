r"""A linear model as a one-layer network: E_i = β_0 + β · G_i on the unscaled descriptor.

A linear or quadratic SNAP model is stored as a :class:`~ase_nnp.network.Network` with one
identity layer. Its input scaling x = s_min + k ⊙ (G − G_0) is folded into the weights, so

    E_i = w · x_i + b + E⁰ = β_0 + β · G_i  with  β = k ⊙ w,  β_0 = b + w · x(G = 0) + E⁰.

The trainer's least-squares fit (:mod:`ase_nnp.training.linear`) and the LAMMPS SNAP files
(:mod:`ase_nnp.interop.snap`) both speak in (β_0, β); this module converts between the two.
"""

import numpy as np


def set_coefficients(potential, element, beta0, beta):
    """E_i = β_0 + β · G_i for ``element``: the network's weights with the input scaling
    x = s_min + k (G - G_0) folded in (w = β / k where k ≠ 0), energy offset 0."""
    sc = potential.scalings[element]
    k = sc.factor
    w = np.where(k != 0, beta / np.where(k != 0, k, 1.0), 0.0)
    if np.any((k == 0) & (beta != 0)):
        raise ValueError(f"{element}: a column with scaling factor 0 has a non-zero coefficient")
    bias = beta0 + float(beta @ sc.shift) - float(sc.offset) * float(w.sum())
    net = potential.networks[element]
    net.weights[0][:, 0] = w
    net.biases[0][0] = bias
    potential.energy_offsets[element] = 0.0


def coefficients(potential, element):
    """(β_0, β) of a linear network on the unscaled descriptor: E_i = β_0 + β · G_i."""
    net = potential.networks[element]
    if len(net.weights) != 1 or net.activations[0] != "identity":
        raise ValueError(f"the {element} network is not linear (layers "
                         f"{net.layer_sizes}, activations {net.activations})")
    sc = potential.scalings[element]
    w = net.weights[0][:, 0]
    x0 = sc.apply(np.zeros((1, len(w))))[0]          # the scaled input of G = 0
    beta0 = float(net.biases[0][0] + w @ x0 + potential.energy_offsets[element])
    return beta0, w * sc.factor
