"""Numba cell-list neighbour list for periodic, mixed and open boundaries.

``build(positions, cell, pbc, cutoff)`` returns every ordered pair (i, j, S) with

    D_ij = r_j - r_i + S @ cell,     0 < |D_ij| < cutoff,

S an integer vector of cell shifts (zero along non-periodic directions). Both
(i, j, S) and (j, i, -S) are listed (a *full* list), an atom's own periodic
images are included (i == j, S != 0), and the pairs are grouped by i:
``first[i]:first[i+1]`` are the pairs of atom i. This is the convention of
``ase.neighborlist.neighbor_list("ijDdS", ...)``.

Method
------
Positions are expressed in a basis B whose rows are the periodic cell vectors
and, for non-periodic directions, unit vectors spanning the orthogonal
complement (so a zero or arbitrary cell vector along a non-periodic direction
is harmless). Fractional coordinates along periodic directions are wrapped
into [0, 1). The box is cut into bins whose thickness *perpendicular to the
faces* is at least ``cutoff`` wherever the box is thick enough; an atom's
neighbours then lie within ``s_k = ceil(cutoff / thickness_k)`` bins along each
direction k. Along periodic directions a bin index outside the box is wrapped
and carries an image shift, so a cell thinner than the cutoff simply visits
the same bins several times with different shifts: every (bin, shift) pair is
visited once, so no pair is counted twice. Cost is linear in the number of
atoms at fixed density. Two passes (count, then fill) make the atom loop
parallel without locks.
"""

from dataclasses import dataclass

import numpy as np
from numba import njit, prange

from .errors import StructureError

_MAX_BINS_PER_ATOM = 8  # bounds memory for sparse systems in large boxes
_BIN_FRACTION = 1.0     # bin thickness / cutoff (0.5 measured no faster)


@dataclass(frozen=True)
class NeighborList:
    """Ordered pairs grouped by the first atom.

    Attributes
    ----------
    i, j : (n_pairs,) int64
    D : (n_pairs, 3) float64, D = r_j - r_i + S @ cell
    r : (n_pairs,) float64, |D|
    S : (n_pairs, 3) int32 cell shifts
    first : (n_atoms + 1,) int64, pairs of atom a are first[a]:first[a+1]
    cutoff : float
    """

    i: np.ndarray
    j: np.ndarray
    D: np.ndarray
    r: np.ndarray
    S: np.ndarray
    first: np.ndarray
    cutoff: float

    @property
    def n_pairs(self):
        return len(self.i)


def _check_inputs(positions, cell, pbc, cutoff):
    positions = np.ascontiguousarray(positions, dtype=np.float64)
    if positions.ndim != 2 or positions.shape[1] != 3:
        raise StructureError(f"positions must have shape (n, 3), got {positions.shape}")
    cell = np.asarray(cell, dtype=np.float64).reshape(3, 3)
    pbc = np.broadcast_to(np.asarray(pbc, dtype=bool), (3,)).copy()
    if not np.all(np.isfinite(positions)):
        bad = np.flatnonzero(~np.all(np.isfinite(positions), axis=1))
        raise StructureError(
            f"positions of atoms {bad[:10].tolist()} are NaN or infinite; "
            "check the structure (a diverged MD step or a failed read)")
    if not np.all(np.isfinite(cell)):
        raise StructureError("the cell contains NaN or infinite entries")
    if not (np.isfinite(cutoff) and cutoff > 0):
        raise ValueError(f"cutoff must be a positive finite number, got {cutoff}")
    return positions, cell, pbc


def _periodic_basis(cell, pbc):
    """Basis B (rows) = periodic cell vectors + orthonormal complement.

    Raises StructureError when the periodic vectors span zero length, area or
    volume.
    """
    per = np.flatnonzero(pbc)
    vecs = cell[per]
    norms = np.linalg.norm(vecs, axis=1)
    if len(per):
        if len(per) == 3:
            measure = abs(np.linalg.det(vecs))            # volume
        elif len(per) == 2:
            measure = np.linalg.norm(np.cross(vecs[0], vecs[1]))  # area
        else:
            measure = norms[0]                            # length
        if np.any(norms == 0) or measure <= 1e-10 * np.prod(norms):
            names = "".join("abc"[k] for k in per)
            raise StructureError(
                f"the periodic cell vectors ({names}) span zero "
                f"{['length', 'area', 'volume'][len(per) - 1]}; "
                "set a proper cell or switch off pbc along the degenerate directions")
    B = np.zeros((3, 3))
    B[per] = vecs
    nonper = np.flatnonzero(~pbc)
    if len(nonper):
        # orthonormal complement of the periodic span via SVD
        if len(per):
            _, _, vt = np.linalg.svd(vecs)
            complement = vt[len(per):]
        else:
            complement = np.eye(3)
        B[nonper] = complement
    if np.linalg.det(B) < 0:  # keep a right-handed basis (not required, tidier)
        k = nonper[0] if len(nonper) else None
        if k is not None:
            B[k] = -B[k]
    return B


def build(positions, cell, pbc, cutoff):
    """Full neighbour list within ``cutoff`` (see module docstring)."""
    positions, cell, pbc = _check_inputs(positions, cell, pbc, cutoff)
    n = len(positions)
    if n == 0:
        z = np.zeros(0, dtype=np.int64)
        return NeighborList(z, z.copy(), np.zeros((0, 3)), np.zeros(0),
                            np.zeros((0, 3), dtype=np.int32), np.zeros(1, dtype=np.int64),
                            float(cutoff))
    B = _periodic_basis(cell, pbc)
    Binv = np.linalg.inv(B)
    frac = positions @ Binv
    wrap = np.zeros((n, 3), dtype=np.int64)
    for k in range(3):
        if pbc[k]:
            w = np.floor(frac[:, k])
            frac[:, k] -= w
            wrap[:, k] = w.astype(np.int64)
    # distance between lattice planes of B along each direction
    plane = 1.0 / np.linalg.norm(Binv, axis=0)
    lo = np.where(pbc, 0.0, frac.min(axis=0))
    span = np.where(pbc, 1.0, np.maximum(frac.max(axis=0) - lo, 1e-12))
    # bins at least cutoff/2 thick: an atom's neighbours lie within 2 bins, and the
    # 5x5x5 block searched holds ~40% fewer candidates than 3x3x3 bins of size cutoff
    nbins = np.maximum(1, np.floor(span * plane / (_BIN_FRACTION * cutoff))).astype(np.int64)
    max_bins = max(_MAX_BINS_PER_ATOM * n, 64)
    while np.prod(nbins) > max_bins:
        k = int(np.argmax(nbins))
        nbins[k] = max(1, nbins[k] // 2)
    width = span / nbins                        # fractional bin width
    thickness = width * plane                   # Cartesian bin thickness
    reach = np.ceil(cutoff / thickness).astype(np.int64)
    reach = np.where(pbc, reach, np.minimum(reach, nbins - 1))

    wrapped = frac @ B
    bin_of, order, bin_start = _bin_atoms(frac, lo, width, nbins)
    sorted_pos = np.ascontiguousarray(wrapped[order])   # candidates of a bin lie together
    tab_bin, tab_shift = _wrap_tables(nbins, reach, pbc)
    sorted_wrap = np.ascontiguousarray(wrap[order])
    args = (sorted_pos, sorted_wrap, B, wrap, bin_of, order, bin_start, nbins,
            reach, tab_bin, tab_shift, cutoff * cutoff)
    counts = np.zeros(n, dtype=np.int64)
    first = np.zeros(n + 1, dtype=np.int64)
    no_i = np.zeros(0, dtype=np.int64)
    no_S = np.zeros((0, 3), dtype=np.int32)
    no_D = np.zeros((0, 3))
    _scan_pairs(*args, False, first, counts, no_i, no_i, no_S, no_D, no_D[:, 0])
    np.cumsum(counts, out=first[1:])
    n_pairs = int(first[-1])
    i_arr = np.empty(n_pairs, dtype=np.int64)
    j_arr = np.empty(n_pairs, dtype=np.int64)
    S = np.empty((n_pairs, 3), dtype=np.int32)
    D = np.empty((n_pairs, 3))
    r = np.empty(n_pairs)
    _scan_pairs(*args, True, first, counts, i_arr, j_arr, S, D, r)
    return NeighborList(i_arr, j_arr, D, r, S, first, float(cutoff))


@njit(cache=True)
def _bin_atoms(frac, lo, width, nbins):
    n = frac.shape[0]
    bin_of = np.empty(n, dtype=np.int64)
    nb_total = nbins[0] * nbins[1] * nbins[2]
    bin_count = np.zeros(nb_total + 1, dtype=np.int64)
    for a in range(n):
        idx = 0
        for k in range(3):
            b = int((frac[a, k] - lo[k]) / width[k])
            if b < 0:
                b = 0
            elif b >= nbins[k]:
                b = nbins[k] - 1
            idx = idx * nbins[k] + b
        bin_of[a] = idx
        bin_count[idx + 1] += 1
    bin_start = np.cumsum(bin_count)
    fill = bin_start[:-1].copy()
    order = np.empty(n, dtype=np.int64)
    for a in range(n):
        order[fill[bin_of[a]]] = a
        fill[bin_of[a]] += 1
    return bin_of, order, bin_start


@njit(cache=True, inline="always")
def _unravel(idx, nbins):
    bz = idx % nbins[2]
    t = idx // nbins[2]
    by = t % nbins[1]
    bx = t // nbins[1]
    return bx, by, bz


def _wrap_tables(nbins, reach, pbc):
    """For each direction, the bin index and image shift of every bin offset
    b in [-reach, nbins + reach): wrapped along periodic directions, -1 (outside)
    along the others. Replaces an integer division per visited bin."""
    width = int(np.max(nbins + 2 * reach))
    tab_bin = np.full((3, width), -1, dtype=np.int64)
    tab_shift = np.zeros((3, width), dtype=np.int64)
    for k in range(3):
        b = np.arange(-reach[k], nbins[k] + reach[k])
        if pbc[k]:
            tab_bin[k, :len(b)] = b % nbins[k]
            tab_shift[k, :len(b)] = b // nbins[k]
        else:
            inside = (b >= 0) & (b < nbins[k])
            tab_bin[k, :len(b)] = np.where(inside, b, -1)
    return tab_bin, tab_shift


@njit(cache=True, parallel=True, error_model="numpy")
def _scan_pairs(sorted_pos, sorted_wrap, B, wrap, bin_of, order, bin_start, nbins,
                reach, tab_bin, tab_shift, cut2, fill, first, counts, i_arr, j_arr, S, D, r):
    """Visit every (bin, image) within reach of each atom.

    With ``fill`` False only ``counts[a]`` is written; with ``fill`` True the
    pairs of atom a are written from ``first[a]`` on.
    """
    n = wrap.shape[0]
    for a in prange(n):
        bx, by, bz = _unravel(bin_of[a], nbins)
        # atom a's own wrapped position, from the bin-sorted copy
        xa = 0.0
        ya = 0.0
        za = 0.0
        for q in range(bin_start[bin_of[a]], bin_start[bin_of[a] + 1]):
            if order[q] == a:
                xa = sorted_pos[q, 0]
                ya = sorted_pos[q, 1]
                za = sorted_pos[q, 2]
        wa0 = wrap[a, 0]
        wa1 = wrap[a, 1]
        wa2 = wrap[a, 2]
        p = first[a] if fill else 0
        for ox in range(bx, bx + 2 * reach[0] + 1):   # offset into the wrap tables
            cx = tab_bin[0, ox]
            if cx < 0:
                continue
            tx = tab_shift[0, ox]
            for oy in range(by, by + 2 * reach[1] + 1):
                cy = tab_bin[1, oy]
                if cy < 0:
                    continue
                ty = tab_shift[1, oy]
                for oz in range(bz, bz + 2 * reach[2] + 1):
                    cz = tab_bin[2, oz]
                    if cz < 0:
                        continue
                    tz = tab_shift[2, oz]
                    sx = tx * B[0, 0] + ty * B[1, 0] + tz * B[2, 0] - xa
                    sy = tx * B[0, 1] + ty * B[1, 1] + tz * B[2, 1] - ya
                    sz = tx * B[0, 2] + ty * B[1, 2] + tz * B[2, 2] - za
                    self_image = tx == 0 and ty == 0 and tz == 0
                    cell_idx = (cx * nbins[1] + cy) * nbins[2] + cz
                    for q in range(bin_start[cell_idx], bin_start[cell_idx + 1]):
                        ddx = sorted_pos[q, 0] + sx
                        ddy = sorted_pos[q, 1] + sy
                        ddz = sorted_pos[q, 2] + sz
                        if ddx * ddx + ddy * ddy + ddz * ddz >= cut2:
                            continue
                        b = order[q]
                        if self_image and b == a:
                            continue
                        if fill:
                            i_arr[p] = a
                            j_arr[p] = b
                            S[p, 0] = wa0 - sorted_wrap[q, 0] + tx
                            S[p, 1] = wa1 - sorted_wrap[q, 1] + ty
                            S[p, 2] = wa2 - sorted_wrap[q, 2] + tz
                            # from the wrapped positions: equal to ASE's
                            # r_j - r_i + S·cell up to rounding (~1e-15 Å)
                            D[p, 0] = ddx
                            D[p, 1] = ddy
                            D[p, 2] = ddz
                            r[p] = np.sqrt(ddx * ddx + ddy * ddy + ddz * ddz)
                        p += 1
        if not fill:
            counts[a] = p
