r"""The mean of an ensemble as one potential: its members' networks side by side.

K members with one descriptor, networks of the same depth and activations, and each its own
input scaling x_k = o_k + f_k ⊙ (G − s_k) and reference energy E⁰_k, predict the mean

    Ē_i = (1/K) Σ_k [NN_k(x_k(G_i)) + E⁰_k].

That is exactly one wider network on one scaling x = o + f ⊙ (G − s) (the members'
statistics pooled: G_min and G_max the extremes over the members, ⟨G⟩ and σ_G their means,
so the training range is the union of theirs):

* **first layer**: x_k is affine in x,  x_k = a_k ⊙ x + c_k  with  a_k = f_k / f  and
  c_k = o_k + f_k ⊙ (s − s_k) − a_k ⊙ o  (a feature constant in all members, f = 0, has
  f_k = 0 and a_k = 0), so member k's weights W¹_k and biases b¹_k become
  diag(a_k) W¹_k and b¹_k + W¹_kᵀ c_k, and the K blocks are put side by side;
* **hidden layers**: block-diagonal, block k = W^l_k (the members never mix);
* **output layer**: the K columns stacked, each W^L_k / K, bias (1/K) Σ_k b^L_k, identity
  activation (a non-linear output would not average);
* **reference energy**: (1/K) Σ_k E⁰_k.

Hidden widths are K times the members'. The result is an ordinary :class:`Potential`, so
everything that takes one takes the ensemble mean: the n2p2 export and through it LAMMPS
``pair_style hdnnp`` (one pair style, one descriptor pass per atom; the spread is not
carried). Its energies, forces and stress equal the ensemble's means to rounding.
"""

import numpy as np
from scipy.linalg import block_diag

from .network import Network
from .potential import Potential
from .scaling import Scaling


class MeanNetworkError(ValueError):
    """The members cannot be joined into one network (different depth or activations, a
    non-linear output, different repulsions)."""


def _pooled_scaling(scalings):
    """One scaling of the members' mode whose statistics cover all members'."""
    modes = {s.mode for s in scalings}
    if len(modes) != 1:
        raise MeanNetworkError(f"the members use different input scalings {sorted(modes)}; "
                               "train them with one [network] scaling")
    first = scalings[0]
    return Scaling(first.mode, np.min([s.gmin for s in scalings], axis=0),
                   np.max([s.gmax for s in scalings], axis=0),
                   np.mean([s.gmean for s in scalings], axis=0),
                   np.mean([s.gsigma for s in scalings], axis=0), first.smin, first.smax)


def _first_layer(net, own, pooled):
    """Member weights and biases of the first layer re-expressed on the pooled inputs."""
    with np.errstate(divide="ignore", invalid="ignore"):
        a = np.where(pooled.factor != 0, own.factor / np.where(pooled.factor != 0,
                                                               pooled.factor, 1.0), 0.0)
    c = own.offset + own.factor * (pooled.shift - own.shift) - a * pooled.offset
    return a[:, None] * net.weights[0], net.biases[0] + c @ net.weights[0]


def _joined(nets, scalings, pooled):
    """The members' networks of one element as one network (module docstring)."""
    K = len(nets)
    first = nets[0]
    for k, n in enumerate(nets[1:], 1):
        if n.activations != first.activations:
            raise MeanNetworkError(f"member {k} has activations {n.activations}, member 0 "
                                   f"{first.activations}; the networks must have the same depth "
                                   "and activations")
    if first.activations[-1] != "identity":
        raise MeanNetworkError(f"the output activation is {first.activations[-1]!r}: only a "
                               "linear output averages into one network")
    if len(first.weights) == 1:            # linear models: the mean of the coefficients
        parts = [_first_layer(n, s, pooled) for n, s in zip(nets, scalings)]
        return Network([sum(w for w, _ in parts) / K], [sum(b for _, b in parts) / K],
                       first.activations)
    layers = [_first_layer(n, s, pooled) for n, s in zip(nets, scalings)]
    weights = [np.hstack([w for w, _ in layers])]
    biases = [np.concatenate([b for _, b in layers])]
    for l in range(1, len(first.weights) - 1):
        weights.append(block_diag(*[n.weights[l] for n in nets]))
        biases.append(np.concatenate([n.biases[l] for n in nets]))
    weights.append(np.vstack([n.weights[-1] for n in nets]) / K)
    biases.append(np.mean([n.biases[-1] for n in nets], axis=0))
    return Network(weights, biases, first.activations)


def _same_repulsion(members):
    first = members[0].repulsion
    for k, m in enumerate(members[1:], 1):
        if (first is None) != (m.repulsion is None) or (
                first is not None and m.repulsion.to_arrays().keys() != first.to_arrays().keys()):
            raise MeanNetworkError(f"member {k} has another repulsion than member 0")
        if first is not None:
            for key, value in first.to_arrays().items():
                if not np.array_equal(np.asarray(value), np.asarray(m.repulsion.to_arrays()[key])):
                    raise MeanNetworkError(f"member {k} has another repulsion ({key}) than "
                                           "member 0")
    return first


def mean_potential(members):
    """The :class:`Potential` whose prediction is the mean of ``members`` (a list of
    potentials or an Ensemble): module docstring."""
    members = list(getattr(members, "members", members))
    if not members:
        raise MeanNetworkError("no members to join")
    first = members[0]
    networks, scalings, offsets = {}, {}, {}
    for e in first.elements:
        own = [m.scalings[e] for m in members]
        pooled = _pooled_scaling(own)
        networks[e] = _joined([m.networks[e] for m in members], own, pooled)
        scalings[e] = pooled
        offsets[e] = float(np.mean([m.energy_offsets[e] for m in members]))
    distances = [m.min_distances for m in members if m.min_distances is not None]
    min_distances = np.fmin.reduce(distances) if distances else None
    metadata = dict(first.metadata)
    metadata["mean_of_members"] = len(members)
    return Potential(first.elements, first.descriptor, networks=networks, scalings=scalings,
                     energy_offsets=offsets, metadata=metadata,
                     repulsion=_same_repulsion(members), min_distances=min_distances)
