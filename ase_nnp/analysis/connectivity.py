r"""Connectivity of the training points in descriptor space: the metric r_g.

Yoo, Lee, Jeong, Watanabe and Han (Phys. Rev. Materials 3, 093802 (2019), supplement,
"Metric to quantify connectivity in the G space") measure how well the training points
of one element cover descriptor space by single-linkage (hierarchical) clustering: every
point starts as its own cluster; at each step the two clusters with the shortest
minimum Euclidean distance between their points,

    d(A, B) = min_{a ∈ A, b ∈ B} ‖G_a - G_b‖,

merge. The merging goes on until the largest cluster holds more than ``fraction`` × n
points, n being the number of points (rows) given — the paper words it as a fraction
of the training set and uses 0.5. r_g is the distance of that last merge: it
approximates the largest gap between distinct clusters of training points, and
r_g⁻¹ is the connectivity (small r_g: the points form one connected cloud).

Single-linkage merge distances are the edge lengths of the Euclidean minimum spanning
tree (MST) of the points in ascending order (Kruskal's algorithm), and the clusters are
the components of the forest of the edges so far. :func:`single_linkage` computes the
MST exactly and returns the merges (lengths, the pair of points of each edge, the size
of the cluster each merge forms, from a union-find); :func:`rg` scans them for the
first merge that leaves a cluster of more than ``fraction`` × n points. With ties in
distance the order of equal merges is arbitrary, but r_g is not: it is the smallest d
at which the clusters of the edges of length <= d include one of more than
``fraction`` × n points. Every merge forms a cluster of at least 2 points, so when
``fraction`` × n < 2, r_g is the first (shortest) merge distance.

The MST: Prim's algorithm, O(n² D) time and O(n D) memory, in one Numba kernel. The
tree grows one point at a time; every remaining point j keeps d_j², its squared
distance to the tree, and each step adds the remaining point of smallest d_j² and
lowers d_j² to its squared distance to the new point q where that is smaller. Squared
distances are compared; only the chosen edges take a square root. The result is that of
the plain float64 algorithm, s = Σ_k (G_jk - G_qk)² summed in k order, but most of the
O(n²) distances are only bounded from below, from a screening copy that is cheaper to
read (at 100,000 x 26 the plain sweep is limited by memory bandwidth):

* Y: the rows centred, rotated onto the principal axes (eigenvectors of Xᵀ X, largest
  variance first), scaled by powers of 2 and rounded to float32, stored transposed
  (D, n) so that the inner loop over points vectorises. ‖y_j - y_q‖ is within
  e_j + e_q of the scaled ‖G_j - G_q‖, e_j = 2⁻²³ ‖y_j‖ (twice the float32 rounding).
* The points are ordered by recursive median bisection, so each chunk of 256
  consecutive points is a compact cell; the points not yet in the tree keep that order
  (those added are flagged, and squeezed out once they are 1/8 of the range).
* Per chunk, the float32 squared distances to q are summed 4 components at a time, and
  the chunk is left as soon as no point in it can beat its d_j: a partial sum over the
  leading components, divided by (1 + γ) with γ = 2 (D + 2) 2⁻²⁴ for the float32
  rounding, bounds the full one from below. On clustered data the leading components
  carry the separation between clusters, so most chunks end after a few.
* A point is skipped only if its bound exceeds (√(d_j²) (1 + 10⁻¹²) + e_j + e_q)²,
  so that the float64 s would not have been below d_j² either. The others get s from
  their row of G. d_j = 0 (duplicates) can not get lower and is skipped. Each chunk
  keeps its smallest d_j², so the next point is found from n/256 values.

The result is bit-identical to the plain float64 algorithm (checked on 300 random sets,
scaled from 1e-140 to 1e140, and in benchmarks/bench_connectivity.py --plain). On one
core it is 1.3 times faster than the plain one on 20,000 x 26 uniform noise (the worst
case: no early exits), 2.4 times on 20,000 x 26 Gaussian blobs and 5 times on
100,000 x 26 blobs (12 s against 59 s on an idle machine; 143 s while another process
used the other core, as the plain sweep reads all of G from memory at every step).

Memory: besides G, a few float64 copies of it while Y is built, then 4 D + 40 bytes
per point. One thread: running the chunks of each step on 2 Numba threads (prange)
gained 10-20 % on an idle 2-core machine (100,000 x 26 blobs: 12.5 s against 14.4 s)
but lost a factor 3-4 whenever another process held a core, as every step waits for the
slower thread; so the kernel is serial. benchmarks/bench_connectivity.py times it
against scipy.
"""

import math
from typing import NamedTuple

import numpy as np
from numba import njit

from .distance import add_squared_distances, checked_rows

_CHUNK = 256          # points per chunk (one entry of the chunk minima)
_DIMS = 4             # components summed between two early-exit tests
_LARGEST = 1e150      # larger values: squared distances could overflow


class Merges(NamedTuple):
    """The n - 1 merges of single-linkage clustering of n points, in ascending distance.

    ``distances[m]``: the Euclidean distance of merge m (an MST edge length);
    ``pairs[m]``: the two point indices (rows of the input) of that MST edge;
    ``sizes[m]``: the number of points of the cluster merge m forms (among merges of
    equal distance, the order and so these sizes are arbitrary; r_g is not).
    """
    distances: np.ndarray   # (n - 1,) float64, ascending
    pairs: np.ndarray       # (n - 1, 2) int64
    sizes: np.ndarray       # (n - 1,) int64

    @property
    def n(self):
        """The number of points clustered."""
        return len(self.distances) + 1

    def rg(self, fraction=0.5):
        """r_g of these merges: the distance of the first merge that forms a cluster of
        more than ``fraction`` × n points (see :func:`rg`)."""
        fraction = _checked_fraction(fraction)
        crossing = np.flatnonzero(self.sizes > fraction * self.n)
        return float(self.distances[crossing[0]])   # the last merge has size n > fraction n


def rg(points, fraction=0.5):
    """The connectivity metric r_g of Yoo et al. (Phys. Rev. Materials 3, 093802 (2019)):
    the distance of the single-linkage merge after which the largest cluster first holds
    more than ``fraction`` × n of the n rows of ``points`` ((n, D), n >= 2). ``fraction``
    is in (0, 1); the paper uses 0.5. Exact; see the module docstring."""
    fraction = _checked_fraction(fraction)
    return single_linkage(points).rg(fraction)


def single_linkage(points):
    """The merges of single-linkage clustering of the rows of ``points`` ((n, D), n >= 2,
    finite): the exact Euclidean minimum spanning tree, its edges sorted by length, and
    the size of the cluster each merge forms. Returns :class:`Merges`."""
    G = _checked_points(points)
    edges, squared = minimum_spanning_tree(G)
    order = np.argsort(squared, kind="stable")
    pairs = edges[order]
    sizes = np.empty(len(order), dtype=np.int64)
    _merge_sizes(pairs, G.shape[0], sizes)
    return Merges(np.sqrt(squared[order]), pairs, sizes)


def minimum_spanning_tree(points):
    """The exact Euclidean MST of the rows of ``points`` ((n, D), n >= 2), in the order
    Prim's algorithm adds its edges: ``(edges, squared)``, ``edges`` (n - 1, 2) point
    indices (tree point, added point) and ``squared`` their squared lengths."""
    G = _checked_points(points)
    n, D = G.shape
    Y, e, scale, order = _screening_copy(G)
    edges = np.empty((n - 1, 2), dtype=np.int64)
    squared = np.empty(n - 1)
    u = 2.0 ** -24
    gamma = 2.0 * (D + 2) * u / (1.0 - (D + 2) * u)
    _prim(G, Y, e, order, scale, gamma, edges, squared)
    return edges, squared


def _checked_fraction(fraction):
    try:
        f = float(fraction)
    except (TypeError, ValueError):
        raise ValueError(f"fraction must be a number in (0, 1), got {fraction!r}") from None
    if not 0.0 < f < 1.0:
        raise ValueError(f"fraction must be in (0, 1) (the share of the points the largest "
                         f"cluster must exceed; the paper uses 0.5), got {fraction!r}")
    return f


def _checked_points(points):
    G = checked_rows(points, "points", 2)
    if np.abs(G).max() > _LARGEST:
        raise ValueError(f"points has values up to {np.abs(G).max():.3g}, beyond "
                         f"{_LARGEST:.0e}, where squared distances overflow; divide the "
                         f"points by a common factor (r_g scales with it)")
    return G


def _screening_copy(G):
    """The float32 screening copy of the module docstring: Y ((D, n) float32, points in
    bisection order), e (the error bound of each point's row of Y, in that order), the
    power-of-2 scale of Y and the order (point index at each position)."""
    pre = _power_of_two_below(np.abs(G).max(), 1000)    # exact: no subnormals below
    Gs = G * pre
    centred = Gs - Gs.mean(axis=0)                       # rounding relative to G_j - μ
    _, axes = np.linalg.eigh(_gram(centred))             # orthonormal, D x D
    Z = _rotated(centred, np.ascontiguousarray(axes[:, ::-1]))   # largest variance first
    post = _power_of_two_below(np.abs(Z).max(), 1000 - math.frexp(pre)[1])
    Z *= post
    scale = pre * post                                   # below 2^1000
    order = _bisection_order(Z)
    Zo = Z[order]
    Y = np.ascontiguousarray(Zo.T, dtype=np.float32)
    e = 2.0 ** -23 * np.sqrt(np.einsum("ij,ij->i", Zo, Zo)) + 1e-40
    return Y, e, scale, order


def _power_of_two_below(peak, limit):
    """2^-k with peak·2^-k < 1 (k the exponent of peak), at most 2^limit; 1 for peak 0."""
    if peak == 0.0:
        return 1.0
    return 2.0 ** min(-math.frexp(peak)[1], limit)


@njit(cache=True, error_model="numpy")
def _gram(C):
    """Cᵀ C (serial: no BLAS threads to wait for on a busy machine)."""
    n, D = C.shape
    out = np.zeros((D, D))
    for i in range(n):
        for a in range(D):
            c = C[i, a]
            for b in range(a, D):
                out[a, b] += c * C[i, b]
    for a in range(D):
        for b in range(a):
            out[a, b] = out[b, a]
    return out


@njit(cache=True, error_model="numpy")
def _rotated(C, V):
    """C @ V row by row in a fixed order (equal rows stay equal)."""
    n, D = C.shape
    m = V.shape[1]
    Z = np.zeros((n, m))
    for i in range(n):
        for k in range(D):
            c = C[i, k]
            for p in range(m):
                Z[i, p] += c * V[k, p]
    return Z


def _bisection_order(Z):
    """Point indices ordered by recursive median splits along the component of largest
    range, down to cells of at most _CHUNK points (consecutive points lie close)."""
    order = np.arange(len(Z))
    stack = [(0, len(Z))]
    while stack:
        lo, hi = stack.pop()
        if hi - lo <= _CHUNK:
            continue
        cell = order[lo:hi]
        sub = Z[cell]
        span = sub.max(axis=0) - sub.min(axis=0)
        k = int(np.argmax(span))
        if span[k] <= 0:
            continue                                   # all equal: nothing to split
        mid = (hi - lo) // 2
        part = np.argpartition(sub[:, k], mid)
        order[lo:hi] = cell[part]
        stack.append((lo, lo + mid))
        stack.append((lo + mid, hi))
    return order


@njit(cache=True, error_model="numpy")
def _merge_sizes(pairs, n, sizes):
    """Union-find over the edges in order: the size of the cluster each merge forms."""
    parent = np.arange(n)
    size = np.ones(n, dtype=np.int64)
    for m in range(pairs.shape[0]):
        a = pairs[m, 0]
        while parent[a] != a:
            parent[a] = parent[parent[a]]
            a = parent[a]
        b = pairs[m, 1]
        while parent[b] != b:
            parent[b] = parent[parent[b]]
            b = parent[b]
        if size[a] < size[b]:
            a, b = b, a
        parent[b] = a
        size[a] += size[b]
        sizes[m] = size[a]


@njit(cache=True, error_model="numpy")
def _prim(G, Y, e, order, scale, gamma, edges, squared):
    """Prim's algorithm with the screening of the module docstring. Positions index the
    working arrays (Y and e are reordered in place); an added point is flagged (dist
    inf, T NaN) until squeezed out."""
    n, D = G.shape
    idx = order.copy()                       # point index at each position
    dist = np.full(n, np.inf)                # d_j² (inf: added, or not reached yet)
    T = np.full(n, np.inf)                   # screening radius sqrt(d_j²)·scale + e_j
    parent = np.zeros(n, dtype=np.int64)     # the tree point at distance d_j
    nchunks = (n + _CHUNK - 1) // _CHUNK
    cmin = np.full(nchunks, np.inf)          # each chunk's smallest d_j² ...
    cpos = np.zeros(nchunks, dtype=np.int64)  # ... and its position
    acc = np.empty(_CHUNK, dtype=np.float32)
    thr = np.empty(_CHUNK, dtype=np.float32)
    widen = (1.0 + gamma) * (1.0 + 2.0 ** -20)   # the float32 error, and rounding thr up
    tscale = scale * (1.0 + 1e-12)
    qrow = np.empty(D)
    yq = np.empty(D, dtype=np.float32)
    npos = n                                 # positions in use
    removed = 0                              # added points among them
    p = 0                                    # position of the first tree point
    for step in range(n - 1):
        # add the point at position p to the tree
        qi = idx[p]
        for k in range(D):
            qrow[k] = G[qi, k]
            yq[k] = Y[k, p]
        eq = e[p]
        dist[p] = np.inf
        T[p] = np.nan
        removed += 1
        if removed * 8 > npos and npos > 2 * _CHUNK:   # squeeze the added points out
            w = 0
            for j in range(npos):
                if dist[j] < np.inf:                   # all but the added ones
                    for k in range(D):
                        Y[k, w] = Y[k, j]
                    e[w] = e[j]
                    idx[w] = idx[j]
                    dist[w] = dist[j]
                    T[w] = T[j]
                    parent[w] = parent[j]
                    w += 1
            npos = w
            removed = 0
            nchunks = (npos + _CHUNK - 1) // _CHUNK
            for c in range(nchunks):
                _chunk_minimum(c, npos, dist, cmin, cpos)
        else:
            _chunk_minimum(p // _CHUNK, npos, dist, cmin, cpos)
        # the sweep: lower d_j² to the distance to q where that is shorter
        for c in range(nchunks):
            lo = c * _CHUNK
            m = min(_CHUNK, npos - lo)
            for t in range(m):
                a = T[lo + t] + eq
                thr[t] = np.float32(a * a * widen + 1e-37)
                acc[t] = np.float32(0.0)
            alive = m
            k = 0
            while k < D and alive > 0:          # leave the chunk once no point can gain
                kend = min(D, k + _DIMS)
                add_squared_distances(acc, Y, lo, m, yq, k, kend)
                alive = 0
                for t in range(m):
                    alive += acc[t] <= thr[t]
                k = kend
            if alive == 0:
                continue
            for t in range(m):
                if acc[t] <= thr[t]:            # never for NaN (added, or d_j = 0)
                    j = lo + t
                    i = idx[j]
                    s = 0.0
                    for kk in range(D):         # the exact distance, in k order
                        diff = G[i, kk] - qrow[kk]
                        s += diff * diff
                    if s < dist[j]:
                        dist[j] = s
                        parent[j] = qi
                        T[j] = math.sqrt(s) * tscale + e[j] if s > 0.0 else np.nan
                        if s < cmin[c]:
                            cmin[c] = s
                            cpos[c] = j
        # the next point: the smallest d_j², from the chunk minima
        best = np.inf
        p = 0
        for c in range(nchunks):
            if cmin[c] < best:
                best = cmin[c]
                p = cpos[c]
        edges[step, 0] = parent[p]
        edges[step, 1] = idx[p]
        squared[step] = dist[p]


@njit(cache=True, error_model="numpy")
def _chunk_minimum(c, npos, dist, cmin, cpos):
    best = np.inf
    where = c * _CHUNK
    for j in range(c * _CHUNK, min(npos, (c + 1) * _CHUNK)):
        if dist[j] < best:
            best = dist[j]
            where = j
    cmin[c] = best
    cpos[c] = where
