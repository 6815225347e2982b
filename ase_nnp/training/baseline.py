r"""What the networks do not learn: the training range of distances and a fixed baseline.

Smallest distances
------------------
``min_pair_distances(refs, elements, cutoff)[a, b]`` is the smallest distance
between an atom of element a and one of element b (periodic images included)
over every structure, NaN where no such pair lies within ``cutoff``. The
potential keeps it to warn when a structure comes closer (its training range)
and, by default, to place the ZBL repulsion just inside it.

Baseline
--------
A fixed pair term V (the repulsion) is subtracted from every reference before
fitting: E_ref - V, F_ref - F_V, σ_ref - σ_V and E_i,ref - V_i. The networks fit
the remainder and the saved potential adds V back, so predictions are
V + NN. With the repulsion switched off below the smallest training distance,
V is zero on every training structure and the fit is the one without it.
"""

import dataclasses

import numpy as np

from ..elements import element_indices
from ..neighbors import build
from ..evaluation import atomic_stresses_from_pair_gradients, forces_from_pair_gradients


def min_pair_distances(refs, elements, cutoff):
    """(n_el, n_el) smallest distance of each element pair in ``refs`` (Å; NaN: none seen)."""
    n = len(elements)
    out = np.full((n, n), np.inf)
    for ref in refs:
        a = ref.atoms
        nl = build(a.positions, a.cell[:], a.pbc, cutoff)
        if not nl.n_pairs:
            continue
        species = element_indices(a.numbers, elements, "training data")
        np.minimum.at(out, (species[nl.i], species[nl.j]), nl.r)
    # r of (i, j) and of (j, i) may differ in the last bit: the pair's distance is one
    out = np.minimum(out, out.T)
    out[np.isinf(out)] = np.nan
    return out


def subtract_baseline(refs, baseline, elements):
    """References with the baseline's energy, forces, stress and per-atom energies removed."""
    cutoff = float(np.max(baseline.outer))
    out = []
    for ref in refs:
        a = ref.atoms
        nl = build(a.positions, a.cell[:], a.pbc, cutoff)
        species = element_indices(a.numbers, elements, "training data")
        E_i, g = baseline.energies_and_pair_gradients(nl, species)
        if not np.any(E_i) and not np.any(g):
            out.append(ref)
            continue
        changes = {"energy": ref.energy - float(E_i.sum())}
        if ref.forces is not None:
            changes["forces"] = ref.forces - forces_from_pair_gradients(nl, g, len(a))
        if ref.stress is not None:
            volume = abs(np.linalg.det(a.cell[:]))
            changes["stress"] = ref.stress - atomic_stresses_from_pair_gradients(
                nl, g, len(a), volume).sum(axis=0)
        if ref.energies is not None:
            changes["energies"] = ref.energies - E_i
        out.append(dataclasses.replace(ref, **changes))
    return out
