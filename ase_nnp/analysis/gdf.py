r"""Gaussian density of the training points in descriptor space, and the GDF weights.

Training sets drawn from MD hold many near-identical bulk environments and few rare
ones (surfaces, defects), so a plain loss fits the rare ones badly. Jeong et al.
(J. Phys. Chem. C 122, 22790 (2018)) weight each atom's force error by the inverse
of the Gaussian density of training points around it in descriptor space (GDF).

Density, for the n training atoms of one element with descriptor rows G_i scaled
per component to [-1, 1] and D components:

    ρ(G_i) = (1/n) Σ_j exp(-‖G_i - G_j‖² / (2 σ² D)),      j = 1 … n (i included),

so 1/n ≤ ρ ≤ 1. Weight, with the modified sigmoid Θ(x) = x / (1 + e^{-b (x - c)}) of
x = 1/ρ, normalised to mean 1 over the atoms of the element:

    w_i = Θ(1/ρ_i) / ⟨Θ(1/ρ)⟩.

``c = "auto"`` follows SIMPLE-NN (Lee et al., Comput. Phys. Commun. 242, 95 (2019)):
sort the x_i, fit a straight line to the lowest 75 % against their rank, and take
its value at rank ⌊0.75 n⌋ - 1 — the level above which the density is sparse.

Scaling: :func:`scale_to_unit_box` maps each column k linearly onto [-1, 1] over the
rows given, g'_ik = 2 (g_ik - min_k) / (max_k - min_k) - 1; a column of zero span
becomes 0 (it adds nothing to any distance, but still counts in D).

:func:`gdf_density` is exact, O(n² D): a Numba kernel over tiles of the rows,
parallel over blocks of rows; each tile of columns (a transposed, contiguous copy, so
the inner loop runs over columns and vectorises) stays in cache while every row of the
block is compared with it, and exp is skipped where it is exactly zero.

Above ``max_reference`` rows it switches to :func:`gdf_density_subset`, O(n m D): the
sum over j ≠ i is estimated from a seeded random subset S of m distinct rows,

    ρ̂(G_i) = (1/n) [1 + (n - 1) · (1/|S∖{i}|) Σ_{j ∈ S, j ≠ i} exp(-‖G_i - G_j‖² / (2 σ² D))],

so the self term stays exact, ρ̂ ≥ 1/n like ρ, the sum is unbiased, and S = all rows
(m ≥ n) gives the exact ρ.
"""

import math

import numpy as np
from numba import njit, prange

from .distance import add_squared_distances

_TILE = 512      # columns whose distances are accumulated together
_ROWS = 64       # rows per parallel block
_EXP_UNDERFLOW = 746.0   # exp(-x) rounds to 0.0 for x > 745.14


def scale_to_unit_box(G):
    """Each column of G ((n, D)) mapped linearly onto [-1, 1] over its rows; a column of
    zero span becomes 0 (see the module docstring)."""
    G = np.asarray(G, dtype=np.float64)
    lo, hi = G.min(0), G.max(0)
    span = hi - lo
    out = 2.0 * (G - lo) / np.where(span > 0, span, 1.0) - 1.0
    out[:, span <= 0] = 0.0
    return out


def gdf_density(G, sigma=0.02, max_reference=None, seed=0):
    """ρ of every row of G ((n, D), already scaled to [-1, 1]); see the module docstring.
    Exact when ``max_reference`` is None or n <= max_reference, else
    :func:`gdf_density_subset` with m = max_reference reference rows."""
    G, scale = _checked(G, sigma)
    n = G.shape[0]
    if max_reference is not None and n > max_reference:
        return gdf_density_subset(G, sigma, max_reference, seed)
    return _kernel_sums(G, G, scale) / n


def gdf_density_subset(G, sigma, m, seed=0):
    """ρ̂ of every row of G from a random subset of min(m, n) distinct reference rows,
    drawn with ``numpy.random.default_rng(seed)``: the estimator of the module
    docstring, O(n m D); equal to :func:`gdf_density` (to rounding) when m >= n."""
    G, scale = _checked(G, sigma)
    n = G.shape[0]
    if int(m) < 1:
        raise ValueError(f"m must be a positive number of reference rows, got {m}")
    subset = np.random.default_rng(seed).permutation(n)[:min(int(m), n)]
    sums = _kernel_sums(G, G[subset], scale)
    in_subset = np.zeros(n, dtype=bool)
    in_subset[subset] = True
    others = len(subset) - in_subset                 # |S∖{i}|
    sums -= in_subset                                # the self term, exp(0) = 1 exactly
    mean = np.divide(sums, others, out=np.zeros(n), where=others > 0)
    return (1.0 + (n - 1) * mean) / n


def _checked(G, sigma):
    """G as a C-contiguous float array, checked, and the exponent's factor 1/(2 σ² D)."""
    G = np.ascontiguousarray(G, dtype=np.float64)
    if G.ndim != 2 or G.shape[0] == 0 or G.shape[1] == 0:
        raise ValueError(f"G must be a non-empty (n, D) array, got shape {G.shape}")
    if not np.all(np.isfinite(G)):
        raise ValueError("G contains NaN or infinite values")
    if not (np.isfinite(sigma) and sigma > 0):
        raise ValueError(f"sigma must be a positive number, got {sigma}")
    return G, 1.0 / (2.0 * sigma * sigma * G.shape[1])


def _kernel_sums(G, R, scale):
    """s_i = Σ_j exp(-scale ‖G_i - R_j‖²) over the rows j of R."""
    out = np.empty(G.shape[0])
    _density(G, np.ascontiguousarray(R.T), scale, out)
    return out


@njit(cache=True, parallel=True, fastmath=False, error_model="numpy")
def _density(G, RT, scale, out):
    n, D = G.shape
    n_ref = RT.shape[1]
    n_tiles = (n_ref + _TILE - 1) // _TILE
    n_blocks = (n + _ROWS - 1) // _ROWS
    for blk in prange(n_blocks):
        i0 = blk * _ROWS
        rows = min(_ROWS, n - i0)
        d2 = np.empty(_TILE)                     # scratch of one block of rows
        total = np.zeros(_ROWS)
        for t in range(n_tiles):                 # a column tile stays in cache for all rows
            j0 = t * _TILE
            m = min(_TILE, n_ref - j0)
            for r in range(rows):
                i = i0 + r
                for q in range(m):
                    d2[q] = 0.0
                add_squared_distances(d2, RT, j0, m, G[i], 0, D)
                s = 0.0
                for q in range(m):
                    x = scale * d2[q]
                    if x < _EXP_UNDERFLOW:       # exp(-x) is exactly 0.0 beyond
                        s += math.exp(-x)
                total[r] += s
        for r in range(rows):
            out[i0 + r] = total[r]


def auto_c(x):
    """SIMPLE-NN's c: a line through the lowest 75 % of the sorted x, at rank ⌊0.75 n⌋ - 1."""
    xs = np.sort(np.asarray(x, dtype=np.float64))
    m = int(len(xs) * 0.75)
    if m < 2:
        return float(xs[-1])
    slope, intercept = np.polyfit(np.arange(m), xs[:m], 1)
    return float(slope * (m - 1) + intercept)


def gdf_weights(rho, b=1.0, c="auto"):
    """w_i = Θ(1/ρ_i) / mean Θ(1/ρ), Θ(x) = x / (1 + exp(-b (x - c))); returns (w, c)."""
    x = 1.0 / np.asarray(rho, dtype=np.float64)
    cc = auto_c(x) if c == "auto" else float(c)
    with np.errstate(over="ignore"):
        theta = x / (1.0 + np.exp(-b * (x - cc)))
    return theta / theta.mean(), cc
