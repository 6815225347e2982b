r"""Per-species atomic energies: can the training data fix them, and how far off are they?

**Identifiability.** A potential is fitted to total energies. Whatever the networks
learn, adding a constant c_e to every atomic energy of element e changes the energy of
structure f by Σ_e n_fe c_e, with n_fe its atoms of element e. Such a shift is invisible
to the training data exactly when A c = 0 for the composition matrix A (one row per
structure, one column per element, A_fe = n_fe). If A has full column rank every
per-species offset is fixed by the data; if its rank r is below the number of elements,
the null space of A (dimension n_el − r) holds the combinations the data leave free.
For GeTe trained at the 1:1 composition only, every row is n (1, 1): E_Ge + E_Te is fixed
and E_Ge − E_Te is free — the network may put any split between the species, and a
phase-separated cell or an elemental crystal then shows it (Watanabe et al., J. Phys.:
Energy 3, 012003 (2021), §5; Lee et al.'s liquid GeTe). :func:`identifiability` computes
the rank by SVD (singular values above ``tol`` · s_max) and names the free and fixed
combinations with small integer coefficients where they have them.

**Per-species offsets at invariant points.** At a multicomponent invariant point (every
atom of one species has the same environment: an elemental crystal, an ordered compound
such as L1_2 Cu3Au under cubic strain) the network's per-species atomic energies
E_s^NN are single numbers, and the reference total gives one equation
Σ_s x_s E_s^ref = E_ref/N (x_s the fraction of species s). Elemental points give E_s^ref
directly. With mapping errors ΔE_k = E_NN/N − E_ref/N at points of compositions x_k,
:func:`species_offsets` fits per-species offsets δ_s by least squares,
ΔE_k ≈ Σ_s x_ks δ_s, and reports whether the points' compositions identify them (the same
rank test).
"""

from fractions import Fraction
from typing import NamedTuple

import numpy as np


class Identifiability(NamedTuple):
    """``rank`` of the composition matrix, ``n_elements``, ``free`` and ``fixed``: lists of
    coefficient vectors (one per free / fixed combination of the per-species energies),
    ``message``: the combinations in words ("E_Ge + E_Te is fixed, E_Ge − E_Te is free")."""
    rank: int
    n_elements: int
    free: list
    fixed: list
    message: str


def composition_matrix(structures, elements):
    """A_fe = number of atoms of ``elements[e]`` in structure f (ASE Atoms)."""
    from ase.data import atomic_numbers
    unknown = [e for e in elements if e not in atomic_numbers]
    if unknown:
        raise ValueError(f"unknown element symbol(s) {unknown}: give chemical symbols such as "
                         "'Cu'")
    z = [atomic_numbers[e] for e in elements]
    return np.array([[np.sum(a.numbers == k) for k in z] for a in structures], dtype=float)


def composition_counts(frame, species, n_elements):
    """A_fe from per-atom arrays: ``frame`` (structure index of each atom, 0 … n−1) and
    ``species`` (element index of each atom), e.g. a FrameSet's."""
    frame = np.asarray(frame, dtype=np.int64)
    A = np.zeros((int(frame.max()) + 1 if frame.size else 0, int(n_elements)))
    np.add.at(A, (frame, np.asarray(species, dtype=np.int64)), 1.0)
    return A


def _nice(v):
    """Coefficients scaled to small integers when they are ratios of small integers."""
    v = np.asarray(v, dtype=float)
    v = v / np.max(np.abs(v))
    if v[np.argmax(np.abs(v) > 1e-9)] < 0:
        v = -v
    fr = [Fraction(float(x)).limit_denominator(12) for x in v]
    if np.allclose([float(f) for f in fr], v, atol=1e-6):
        lcm = np.lcm.reduce([f.denominator for f in fr])
        return np.array([float(f * lcm) for f in fr])
    return v


def _words(v, elements):
    terms = []
    for c, e in zip(v, elements):
        if abs(c) < 1e-9:
            continue
        mag = abs(c)
        coef = "" if abs(mag - 1) < 1e-9 else (f"{mag:.0f} " if float(mag).is_integer()
                                                else f"{mag:.3g} ")
        sign = "−" if c < 0 else "+"
        terms.append((sign, f"{coef}E_{e}"))
    text = ("−" if terms[0][0] == "−" else "") + terms[0][1]
    for sign, t in terms[1:]:
        text += f" {sign} {t}"
    return text


def identifiability(counts, elements, tol=1e-8):
    """:class:`Identifiability` of the per-species energies from structures with atom
    counts ``counts`` ((n_structures, n_elements), e.g. :func:`composition_matrix`).
    ValueError when the shapes do not match or there is no structure."""
    A = np.asarray(counts, dtype=float)
    if A.ndim != 2 or A.shape[1] != len(elements) or A.shape[0] == 0:
        raise ValueError(f"counts of shape {A.shape} for {len(elements)} elements: give one "
                         "row per structure and one column per element")
    present = A.sum(axis=0) > 0
    _, s, vt = np.linalg.svd(A, full_matrices=True)
    rank = int(np.sum(s > tol * (s[0] if len(s) else 1.0)))
    free = [_nice(v) for v in vt[rank:]]
    fixed = [_nice(v) for v in vt[:rank]]
    if rank == len(elements):
        msg = "every per-species energy is fixed by the compositions"
    else:
        absent = [e for e, p in zip(elements, present) if not p]
        parts = []
        if fixed:
            parts.append(", ".join(_words(v, elements) for v in fixed)
                         + (" is" if len(fixed) == 1 else " are") + " fixed")
        parts.append(", ".join(_words(v, elements) for v in free)
                     + (" is" if len(free) == 1 else " are") + " free")
        msg = ", ".join(parts)
        if absent:
            msg += f" ({', '.join(absent)} never occur{'s' if len(absent) == 1 else ''})"
    return Identifiability(rank, len(elements), free, fixed, msg)


def rank_warning(counts, elements):
    """The training-time warning for compositions that leave per-species energies free
    (None when they fix them all): the free combinations and the fix."""
    ident = identifiability(counts, elements)
    if ident.rank == ident.n_elements:
        return None
    return (f"warning: the training compositions fix only {ident.rank} of "
            f"{ident.n_elements} per-species energies (rank of the atoms-per-element "
            f"matrix): {ident.message}. The networks will split the energy between the "
            "species arbitrarily, which shows in elemental crystals, other compositions and "
            "phase-separated cells; add structures of other compositions (e.g. the "
            "elemental crystals, or other stoichiometries)")


class SpeciesOffsets(NamedTuple):
    """``offsets`` δ_s (eV/atom, NaN where not identified), ``rank`` of the points'
    composition matrix, ``residual`` RMS of ΔE_k − Σ_s x_ks δ_s (eV/atom) and the
    :class:`Identifiability` of the points' compositions."""
    offsets: dict
    rank: int
    residual: float
    identifiability: Identifiability


def species_offsets(errors, structures, elements):
    """Per-species offsets δ_s from the mapping errors ``errors`` (eV/atom, one per
    invariant point in ``structures``): least squares of ΔE_k = Σ_s x_ks δ_s (module
    docstring). An element whose offset the points' compositions do not identify gets NaN."""
    e = np.asarray(errors, dtype=float).reshape(-1)
    A = composition_matrix(structures, elements)
    if len(e) != len(A):
        raise ValueError(f"{len(e)} errors for {len(A)} structures: give one per structure")
    X = A / A.sum(axis=1, keepdims=True)
    ident = identifiability(A, elements)
    delta, *_ = np.linalg.lstsq(X, e, rcond=None)
    out = {}
    for k, el in enumerate(elements):
        unit = np.zeros(len(elements))
        unit[k] = 1.0
        # δ_s is identified when the unit vector e_s lies in the row space of X
        in_rows = np.allclose(np.linalg.pinv(X) @ X @ unit, unit, atol=1e-8)
        out[el] = float(delta[k]) if in_rows else np.nan
    resid = float(np.sqrt(np.mean((e - X @ delta) ** 2)))
    return SpeciesOffsets(out, ident.rank, resid, ident)
