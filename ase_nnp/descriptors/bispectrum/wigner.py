r"""Index tables and Clebsch–Gordan coefficients of the bispectrum (SNAP) descriptor.

Labels are doubled so that they are integers (the convention of LAMMPS' ``compute
sna/atom``, after Varshalovich, Moskalev and Khersonskii, *Quantum Theory of Angular
Momentum*, World Scientific 1988, "VMK"): an angular momentum J is ``j = 2J``
(0 .. twojmax) and its projections m, m' are ``ma = J + m``, ``mb = J + m'`` (0 .. j).

The hyperspherical harmonics U^j of one neighbour form a (j+1) x (j+1) complex block;
the blocks of all j lie one after another, row mb (outer), column ma (inner):

    flat index = u_block[j] + (j + 1) mb + ma,        u_max = Σ_j (j+1)².

A bispectrum component is labelled (j1, j2, j) with j2 <= j1, |j1 - j2| <= j <=
min(twojmax, j1 + j2), j1 + j2 + j even and — to drop the components that are the
same up to a factor — j >= j1. Their order (``b_j1``, ``b_j2``, ``b_j``) is LAMMPS':
j1 outer, then j2, then j.

The coupled products Z^{j1 j2}_j (:mod:`.kernels`) are needed
for every (j1, j2, j) with j2 <= j1 (also j < j1) on the rows 2 mb <= j; one entry per
(triple, mb, ma), laid out in that order. For an entry, the Clebsch–Gordan selection
m = m1 + m2 leaves one free index per row and per column: m1 runs from ``ma1min`` for
``na`` values while m2 runs down from ``ma2max`` (and the same for mb).

Clebsch–Gordan coefficients: the standard C^{J M}_{J1 M1 J2 M2} by Racah's formula
(VMK 8.2.1(3)), evaluated in exact rational arithmetic and rounded once,

    C = δ(J1 J2 J) sqrt((2J+1) (J1+M1)! (J1-M1)! (J2+M2)! (J2-M2)! (J+M)! (J-M)!)
        Σ_z (-1)^z / [z! (J1+J2-J-z)! (J1-M1-z)! (J2+M2-z)! (J-J2+M1+z)! (J-J1-M2+z)!],
    δ(J1 J2 J) = sqrt((J1+J2-J)! (J1-J2+J)! (-J1+J2+J)! / (J1+J2+J+1)!),

stored per (j1, j2, j) with j2 <= j1 as a (j1+1) x (j2+1) block over (m1, m2), zero
where M = M1 + M2 lies outside -J .. J.

Half sums: by the symmetry of U (and Z) under (ma, mb) -> (j - ma, j - mb), the real
part of a full block's Σ a* b is twice the sum over the rows 2 mb < j, the middle row's
ma < j/2 and half its middle element; ``half_w`` holds those weights (1, 1, ½, else 0).
"""

from fractions import Fraction
from math import factorial, sqrt
from typing import NamedTuple

import numpy as np


class Tables(NamedTuple):
    """The integer tables and coefficients the bispectrum kernels read (module docstring)."""
    twojmax: int
    u_block: np.ndarray     # (twojmax+1,) first flat index of block j
    u_max: int
    root: np.ndarray        # (twojmax+2, twojmax+2) sqrt(p / q)
    cg: np.ndarray          # Clebsch–Gordan blocks, flat
    cg_block: np.ndarray    # (J, J, J) first index of the block of (j1, j2, j)
    b_j1: np.ndarray        # (b_max,) the components' labels, LAMMPS order
    b_j2: np.ndarray
    b_j: np.ndarray
    b_block: np.ndarray     # (J, J, J) component index of (j1, j2, j), -1 if none
    z_j1: np.ndarray        # (z_max,) per Z entry: its triple ...
    z_j2: np.ndarray
    z_j: np.ndarray
    z_ma1min: np.ndarray    # ... and its Clebsch–Gordan ranges
    z_ma2max: np.ndarray
    z_na: np.ndarray
    z_mb1min: np.ndarray
    z_mb2max: np.ndarray
    z_nb: np.ndarray
    z_u: np.ndarray         # flat U index of (j, mb, ma)
    z_block: np.ndarray     # (J, J, J) first Z entry of (j1, j2, j), -1 if none
    half_w: np.ndarray      # (u_max,) weight of each U entry in a half-block sum


def clebsch_gordan(j1, m1, j2, m2, j, m):
    """C^{J M}_{J1 M1 J2 M2} for doubled labels (all of j1, m1, ... are 2J, 2M; the m's
    here are the signed 2M, not the offsets ma). Exact rational sum, one rounding."""
    if m1 + m2 != m or abs(m1) > j1 or abs(m2) > j2 or abs(m) > j:
        return 0.0
    if (j1 + j2 + j) % 2 or j < abs(j1 - j2) or j > j1 + j2:
        return 0.0
    def h(x):                                 # a doubled label's half (an integer here)
        return x // 2
    a1, a2, a3 = h(j1 + j2 - j), h(j1 - j2 + j), h(-j1 + j2 + j)
    total = Fraction(0)
    z = 0
    while True:
        d = (z, a1 - z, h(j1 - m1) - z, h(j2 + m2) - z, h(j - j2 + m1) + z, h(j - j1 - m2) + z)
        if d[1] < 0 or d[2] < 0 or d[3] < 0:
            break
        if min(d) >= 0:
            den = 1
            for x in d:
                den *= factorial(x)
            total += Fraction((-1) ** z, den)
        z += 1
    pref = Fraction(factorial(a1) * factorial(a2) * factorial(a3), factorial(h(j1 + j2 + j) + 1))
    pref *= (j + 1) * factorial(h(j1 + m1)) * factorial(h(j1 - m1)) * factorial(h(j2 + m2))
    pref *= factorial(h(j2 - m2)) * factorial(h(j + m)) * factorial(h(j - m))
    return float(total) * sqrt(float(pref)) if total else 0.0


def _triples(twojmax):
    """(j1, j2, j) with j2 <= j1 coupled to j <= twojmax, LAMMPS' order."""
    for j1 in range(twojmax + 1):
        for j2 in range(j1 + 1):
            for j in range(j1 - j2, min(twojmax, j1 + j2) + 1, 2):
                yield j1, j2, j


def n_components(twojmax):
    """Number of bispectrum components of one element channel triple."""
    return sum(1 for j1, j2, j in _triples(twojmax) if j >= j1)


def component_labels(twojmax):
    """(j1, j2, j) of every component in column order."""
    return [(j1, j2, j) for j1, j2, j in _triples(twojmax) if j >= j1]


_CACHE = {}


def tables(twojmax):
    """The :class:`Tables` of ``twojmax`` (built once per process)."""
    if twojmax in _CACHE:
        return _CACHE[twojmax]
    J = twojmax + 1
    u_block = np.zeros(J, dtype=np.int64)
    count = 0
    for j in range(J):
        u_block[j] = count
        count += (j + 1) ** 2
    u_max = count
    root = np.zeros((J + 1, J + 1))
    for p in range(1, J + 1):
        for q in range(1, J + 1):
            root[p, q] = sqrt(p / q)

    cg_block = np.full((J, J, J), -1, dtype=np.int64)
    cg = []
    for j1, j2, j in _triples(twojmax):
        cg_block[j1, j2, j] = len(cg)
        for m1 in range(j1 + 1):
            for m2 in range(j2 + 1):
                cg.append(clebsch_gordan(j1, 2 * m1 - j1, j2, 2 * m2 - j2, j,
                                         2 * m1 - j1 + 2 * m2 - j2))

    labels = component_labels(twojmax)
    b_block = np.full((J, J, J), -1, dtype=np.int64)
    for k, (j1, j2, j) in enumerate(labels):
        b_block[j1, j2, j] = k

    z_block = np.full((J, J, J), -1, dtype=np.int64)
    z = []
    for j1, j2, j in _triples(twojmax):
        z_block[j1, j2, j] = len(z)
        for mb in range(j // 2 + 1):
            for ma in range(j + 1):
                ma1min = max(0, (2 * ma - j - j2 + j1) // 2)
                ma2max = (2 * ma - j - (2 * ma1min - j1) + j2) // 2
                na = min(j1, (2 * ma - j + j2 + j1) // 2) - ma1min + 1
                mb1min = max(0, (2 * mb - j - j2 + j1) // 2)
                mb2max = (2 * mb - j - (2 * mb1min - j1) + j2) // 2
                nb = min(j1, (2 * mb - j + j2 + j1) // 2) - mb1min + 1
                z.append((j1, j2, j, ma1min, ma2max, na, mb1min, mb2max, nb,
                          u_block[j] + (j + 1) * mb + ma))
    z = np.array(z, dtype=np.int64).reshape(-1, 10)
    # Σ over a whole block of a* b (real) = 2 Σ over its rows 2 mb < j and, for even j,
    # the middle row's ma < j/2, plus its middle element once
    half_w = np.zeros(u_max)
    for j in range(J):
        for mb in range(j + 1):
            for ma in range(j + 1):
                k = u_block[j] + (j + 1) * mb + ma
                if 2 * mb < j or (2 * mb == j and ma < mb):
                    half_w[k] = 1.0
                elif 2 * mb == j and ma == mb:
                    half_w[k] = 0.5
    t = Tables(twojmax, u_block, u_max, root, np.array(cg), cg_block,
               *(np.array(c, dtype=np.int64) for c in zip(*labels)), b_block,
               *(np.ascontiguousarray(z[:, c]) for c in range(10)), z_block, half_w)
    _CACHE[twojmax] = t
    return t
