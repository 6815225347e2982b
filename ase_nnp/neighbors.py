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
atoms at fixed density.

The pairs are found in one pass: the neighbours of :data:`SAMPLE` atoms spread
over the structure are counted first, and the atoms are cut into chunks (one per
thread on one thread, 4 per thread otherwise), each writing into its own
segment of buffers sized :data:`SLACK` × the sample's mean count + 8 per atom,
with no locks. A chunk whose pairs do not fit (a region denser than the sample)
is redone in two passes (count, then fill), as are structures of up to
:data:`ONE_PASS_ABOVE` atoms. On one thread the arrays returned are the
leading part of the buffers (views); with several chunks they are concatenated.

Degenerate and skewed cells
---------------------------
The periodic cell vectors are first reduced (greedy Minkowski reduction:
the same lattice, spanned by its shortest, most nearly orthogonal vectors;
``a' = M a`` with an integer unimodular M, and the shifts are mapped back,
S = S' M, so the caller sees shifts of the cell it gave). A strongly skewed
cell then costs no more than a rectangular one. Work is bounded before any
large allocation:

* a lattice vector shorter than :data:`MIN_DISTANCE` means every atom sits
  (nearly) on its own periodic image: :class:`StructureError` naming the
  vector and its length;
* more than :data:`MAX_CANDIDATES` candidate images per atom, estimated from
  the plane spacings before the search, or more than :data:`MAX_NEIGHBORS`
  neighbours of one atom, counted before the pair arrays are allocated:
  :class:`StructureError` naming the cell size, the cutoff and the limit.
  The limits are module attributes a caller may raise.
"""

from dataclasses import dataclass

import numba
import numpy as np
from numba import njit, prange

from .exceptions import StructureError

_MAX_BINS_PER_ATOM = 8  # bounds memory for sparse systems in large boxes
_BIN_FRACTION = 1.0     # bin thickness / cutoff (0.5 measured no faster)

#: pairs (and periodic images of an atom) closer than this (Å) are overlapping atoms
MIN_DISTANCE = 0.01
#: most neighbours one atom may have within the cutoff. A dense solid (0.2 atoms/Å³)
#: has ~50 at 4 Å and ~1,800 at 13 Å; 10,000 is 1 atom/Å³ at a 13 Å cutoff.
MAX_NEIGHBORS = 10_000
#: most candidate images (bins x atoms per bin) the search may visit per atom
MAX_CANDIDATES = 200_000
#: structures of up to this many atoms take the two-pass route (count, then fill)
ONE_PASS_ABOVE = 256
#: atoms whose neighbours are counted to size the one-pass buffers
SAMPLE = 64
#: buffer size per atom = SLACK × the sample's mean count + 8
SLACK = 1.2


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


def reduce_lattice(vecs, max_rounds=200):
    """Greedy Minkowski reduction of the rows of ``vecs`` (k <= 3 vectors).

    Returns (reduced, M) with reduced = M @ vecs, M an integer matrix with
    det ±1 (the same lattice). Each round size-reduces every vector against
    every other (b_i -= round(b_i·b_j / b_j·b_j) b_j) and then replaces the
    longest vector by any shorter b_l ± b_m ± b_n that contains it; it stops
    when a round changes nothing.
    """
    b = np.array(vecs, dtype=np.float64)
    k = len(b)
    M = np.eye(k, dtype=np.int64)
    combos = [c for c in np.ndindex(*([3] * k)) if any(x != 1 for x in c)]
    combos = np.array(combos, dtype=np.int64) - 1
    for _ in range(max_rounds):
        changed = False
        for i in range(k):
            for j in range(k):
                if i == j:
                    continue
                bb = b[j] @ b[j]
                mu = np.rint(b[i] @ b[j] / bb) if bb > 0 else 0.0
                if mu != 0 and abs(mu) < 2.0 ** 52:
                    b[i] -= mu * b[j]
                    M[i] -= int(mu) * M[j]
                    changed = True
        longest = int(np.argmax(np.einsum("ij,ij->i", b, b)))
        cand = combos[combos[:, longest] != 0]
        vec = cand @ b
        length2 = np.einsum("ij,ij->i", vec, vec)
        best = int(np.argmin(length2))
        if length2[best] < (b[longest] @ b[longest]) * (1 - 1e-12):
            c = cand[best] * cand[best, longest]      # coefficient of the longest = +1
            b[longest] = c @ b
            M[longest] = c @ M
            changed = True
        if not changed:
            break
    return b, M


def _combination_name(coeffs, names):
    terms = []
    for c, n in zip(coeffs, names):
        if c == 0:
            continue
        sign = "-" if c < 0 else "+"
        mag = "" if abs(c) == 1 else f"{abs(c)}"
        terms.append((sign, f"{mag}{n}"))
    text = "".join(f" {s} {t}" for s, t in terms).strip()
    return text[2:] if text.startswith("+ ") else "-" + text[2:]


def _periodic_basis(cell, pbc):
    """(B, M): basis B (rows) = the reduced periodic cell vectors M @ cell[pbc]
    followed by an orthonormal complement, and the integer reduction matrix M
    (3 x 3, identity on the non-periodic rows).

    Raises StructureError when the periodic vectors span zero length, area or
    volume, or when a lattice vector is shorter than MIN_DISTANCE.
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
    Mfull = np.eye(3, dtype=np.int64)
    if len(per):
        reduced, M = reduce_lattice(vecs)
        lengths = np.linalg.norm(reduced, axis=1)
        k = int(np.argmin(lengths))
        if lengths[k] < MIN_DISTANCE:
            names = ["abc"[q] for q in per]
            raise StructureError(
                f"every atom is {lengths[k]:.3g} Å from its own periodic image along the "
                f"lattice vector {_combination_name(M[k], names)} (cell vector lengths "
                + ", ".join(f"|{n}| = {x:.3g} Å" for n, x in zip(names, norms))
                + f"; overlap below {MIN_DISTANCE} Å); the cell is far too small: check its "
                "size and units (Å), or switch off pbc along that direction")
        if not np.array_equal(M, np.eye(len(per), dtype=np.int64)):
            vecs = reduced
            Mfull[np.ix_(per, per)] = M
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
    return B, Mfull


def build(positions, cell, pbc, cutoff):
    """Full neighbour list within ``cutoff`` (see module docstring)."""
    positions, cell, pbc = _check_inputs(positions, cell, pbc, cutoff)
    n = len(positions)
    if n == 0:
        z = np.zeros(0, dtype=np.int64)
        return NeighborList(z, z.copy(), np.zeros((0, 3)), np.zeros(0),
                            np.zeros((0, 3), dtype=np.int32), np.zeros(1, dtype=np.int64),
                            float(cutoff))
    B, M = _periodic_basis(cell, pbc)
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
    reach_f = np.ceil(cutoff / thickness)          # float: may be astronomically large
    reach_f = np.where(pbc, reach_f, np.minimum(reach_f, nbins - 1))
    candidates = float(np.prod(2.0 * reach_f + 1.0)) * n / float(np.prod(nbins))
    if candidates > MAX_CANDIDATES:
        _too_many(f"the neighbour search would test ~{candidates:.3g} candidate images per "
                  f"atom (limit MAX_CANDIDATES = {MAX_CANDIDATES:,})", cell, pbc, n, cutoff,
                  plane)
    reach = reach_f.astype(np.int64)

    wrapped = frac @ B
    bin_of, order, bin_start = _bin_atoms(frac, lo, width, nbins)
    sorted_pos = np.ascontiguousarray(wrapped[order])   # candidates of a bin lie together
    tab_bin, tab_shift = _wrap_tables(nbins, reach, pbc)
    sorted_wrap = np.ascontiguousarray(wrap[order])
    args = (sorted_pos, sorted_wrap, B, wrap, bin_of, order, bin_start, nbins,
            reach, tab_bin, tab_shift, cutoff * cutoff)

    def check(counts, atoms):
        if len(counts) and counts.max() > MAX_NEIGHBORS:
            a = int(atoms[int(np.argmax(counts))])
            _too_many(f"atom {a} has {counts.max():,} neighbours within the cutoff (limit "
                      f"MAX_NEIGHBORS = {MAX_NEIGHBORS:,})", cell, pbc, n, cutoff, plane)
    i_arr, j_arr, S, D, r, counts = _pairs(n, args, check)
    first = np.zeros(n + 1, dtype=np.int64)
    np.cumsum(counts, out=first[1:])
    if not np.array_equal(M, np.eye(3, dtype=np.int64)):
        S = (S.astype(np.int64) @ M).astype(np.int32)  # shifts of the reduced cell -> given cell
    return NeighborList(i_arr, j_arr, D, r, S, first, float(cutoff))


def _two_pass(lo, hi, args, check):
    """(i, j, S, D, r, counts) of atoms lo..hi-1: count, check, allocate, fill."""
    atoms = np.arange(lo, hi, dtype=np.int64)
    counts = np.empty(hi - lo, dtype=np.int64)
    _count_pairs(atoms, *args, counts)
    check(counts, atoms)
    first = np.zeros(hi - lo + 1, dtype=np.int64)
    np.cumsum(counts, out=first[1:])
    m = int(first[-1])
    out = (np.empty(m, dtype=np.int64), np.empty(m, dtype=np.int64),
           np.empty((m, 3), dtype=np.int32), np.empty((m, 3)), np.empty(m))
    _fill_pairs(lo, hi, *args, first, *out)
    return out + (counts,)


def _pairs(n, args, check):
    """(i, j, S, D, r, counts) of all atoms, in one pass where it pays (module docstring)."""
    if n <= ONE_PASS_ABOVE:
        return _two_pass(0, n, args, check)
    sample = np.unique(np.linspace(0, n - 1, SAMPLE).astype(np.int64))
    found = np.empty(len(sample), dtype=np.int64)
    _count_pairs(sample, *args, found)
    check(found, sample)
    per_atom = SLACK * found.mean() + 8.0
    threads = numba.get_num_threads()
    n_chunks = 1 if threads == 1 else max(1, min(4 * threads, n // 256))
    chunk_lo = np.linspace(0, n, n_chunks + 1).astype(np.int64)
    seg_lo = np.zeros(n_chunks + 1, dtype=np.int64)
    np.cumsum(np.ceil(np.diff(chunk_lo) * per_atom).astype(np.int64), out=seg_lo[1:])
    cap = int(seg_lo[-1])
    buffers = (np.empty(cap, dtype=np.int64), np.empty(cap, dtype=np.int64),
               np.empty((cap, 3), dtype=np.int32), np.empty((cap, 3)), np.empty(cap))
    counts = np.zeros(n, dtype=np.int64)
    used = np.zeros(n_chunks, dtype=np.int64)
    _scan_chunks(chunk_lo, seg_lo, *args, counts, used, *buffers)
    parts = []
    for c in range(n_chunks):
        if used[c] >= 0:
            parts.append(tuple(b[seg_lo[c]:seg_lo[c] + used[c]] for b in buffers))
            continue
        lo, hi = int(chunk_lo[c]), int(chunk_lo[c + 1])   # denser than the sample said
        *arrays, counts[lo:hi] = _two_pass(lo, hi, args, check)
        parts.append(tuple(arrays))
    if len(parts) == 1:
        return parts[0] + (counts,)
    return tuple(np.concatenate(x) for x in zip(*parts)) + (counts,)


def _too_many(what, cell, pbc, n, cutoff, plane):
    per = np.flatnonzero(pbc)
    if len(per) == 3:
        size = f"volume {abs(np.linalg.det(cell)):.3g} Å³"
    else:
        size = "periodic along " + "".join("abc"[k] for k in per)
    spacing = ", ".join(f"{plane[k]:.3g}" for k in per)
    raise StructureError(
        f"{what}: {n} atoms in a cell of {size} (lattice plane spacings {spacing} Å) with "
        f"a {cutoff:g} Å cutoff is far denser than any material; check the cell's size and "
        "units (Å). If the structure is intended, raise ase_nnp.neighbors.MAX_NEIGHBORS / "
        "MAX_CANDIDATES")


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


@njit(cache=True, inline="always", error_model="numpy")
def _atom_pairs(a, sorted_pos, sorted_wrap, B, wrap, bin_of, order, bin_start, nbins, reach,
                tab_bin, tab_shift, cut2, fill, p, end, i_arr, j_arr, S, D, r):
    """Visit every (bin, image) within reach of atom a. Without ``fill``: return the
    number of its pairs (p and end unused). With ``fill``: write them from p on and
    return the position after the last, or -1 as soon as one would reach ``end``."""
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
    if not fill:
        p = 0
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
                    d2 = ddx * ddx + ddy * ddy + ddz * ddz
                    if d2 >= cut2:
                        continue
                    b = order[q]
                    if self_image and b == a:
                        continue
                    if fill:
                        if p >= end:
                            return -1
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
                        r[p] = np.sqrt(d2)
                    p += 1
    return p


@njit(cache=True, parallel=True, error_model="numpy")
def _count_pairs(atoms, sorted_pos, sorted_wrap, B, wrap, bin_of, order, bin_start, nbins,
                 reach, tab_bin, tab_shift, cut2, counts):
    """counts[k] = the number of pairs of atom atoms[k]."""
    no_i = np.zeros(0, dtype=np.int64)
    no_S = np.zeros((0, 3), dtype=np.int32)
    no_D = np.zeros((0, 3))
    for k in prange(atoms.shape[0]):
        counts[k] = _atom_pairs(atoms[k], sorted_pos, sorted_wrap, B, wrap, bin_of, order,
                                bin_start, nbins, reach, tab_bin, tab_shift, cut2, False, 0, 0,
                                no_i, no_i, no_S, no_D, no_D[:, 0])


@njit(cache=True, parallel=True, error_model="numpy")
def _fill_pairs(lo, hi, sorted_pos, sorted_wrap, B, wrap, bin_of, order, bin_start, nbins,
                reach, tab_bin, tab_shift, cut2, first, i_arr, j_arr, S, D, r):
    """The pairs of atoms lo..hi-1, atom a's from first[a - lo] on."""
    for a in prange(lo, hi):
        _atom_pairs(a, sorted_pos, sorted_wrap, B, wrap, bin_of, order, bin_start, nbins, reach,
                    tab_bin, tab_shift, cut2, True, first[a - lo], first[a - lo + 1],
                    i_arr, j_arr, S, D, r)


@njit(cache=True, parallel=True, error_model="numpy")
def _scan_chunks(chunk_lo, seg_lo, sorted_pos, sorted_wrap, B, wrap, bin_of, order, bin_start,
                 nbins, reach, tab_bin, tab_shift, cut2, counts, used, i_arr, j_arr, S, D, r):
    """One pass: chunk c (atoms chunk_lo[c]..chunk_lo[c+1]-1) writes its pairs into
    segment seg_lo[c]..seg_lo[c+1]-1 of the buffers; used[c] = pairs written, or -1
    when they did not fit."""
    for c in prange(chunk_lo.shape[0] - 1):
        p = seg_lo[c]
        end = seg_lo[c + 1]
        for a in range(chunk_lo[c], chunk_lo[c + 1]):
            q = _atom_pairs(a, sorted_pos, sorted_wrap, B, wrap, bin_of, order, bin_start,
                            nbins, reach, tab_bin, tab_shift, cut2, True, p, end, i_arr, j_arr,
                            S, D, r)
            if q < 0:
                p = -1
                break
            counts[a] = q - p
            p = q
        used[c] = p - seg_lo[c] if p >= 0 else -1
