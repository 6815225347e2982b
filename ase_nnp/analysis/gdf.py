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

:func:`gdf_density` is exact, O(n² D): a Numba kernel over tiles of the rows,
parallel over blocks of rows; each tile of columns (a transposed, contiguous copy, so
the inner loop runs over columns and vectorises) stays in cache while every row of the
block is compared with it, and exp is skipped where it is exactly zero.
"""

import math

import numpy as np
from numba import njit, prange

_TILE = 512      # columns whose distances are accumulated together
_ROWS = 64       # rows per parallel block
_EXP_UNDERFLOW = 746.0   # exp(-x) rounds to 0.0 for x > 745.14


def gdf_density(G, sigma=0.02):
    """ρ of every row of G ((n, D), already scaled to [-1, 1]); see the module docstring."""
    G = np.ascontiguousarray(G, dtype=np.float64)
    if G.ndim != 2 or G.shape[0] == 0 or G.shape[1] == 0:
        raise ValueError(f"G must be a non-empty (n, D) array, got shape {G.shape}")
    if not np.all(np.isfinite(G)):
        raise ValueError("G contains NaN or infinite values")
    if not (np.isfinite(sigma) and sigma > 0):
        raise ValueError(f"sigma must be a positive number, got {sigma}")
    n, D = G.shape
    out = np.empty(n)
    _density(G, np.ascontiguousarray(G.T), 1.0 / (2.0 * sigma * sigma * D), out)
    return out


@njit(cache=True, parallel=True, fastmath=False, error_model="numpy")
def _density(G, GT, scale, out):
    n, D = G.shape
    n_tiles = (n + _TILE - 1) // _TILE
    n_blocks = (n + _ROWS - 1) // _ROWS
    for blk in prange(n_blocks):
        i0 = blk * _ROWS
        rows = min(_ROWS, n - i0)
        d2 = np.empty(_TILE)                     # scratch of one block of rows
        total = np.zeros(_ROWS)
        for t in range(n_tiles):                 # a column tile stays in cache for all rows
            j0 = t * _TILE
            m = min(_TILE, n - j0)
            for r in range(rows):
                i = i0 + r
                for q in range(m):
                    d2[q] = 0.0
                for k in range(D):
                    gik = G[i, k]
                    row = GT[k]
                    for q in range(m):
                        diff = row[j0 + q] - gik
                        d2[q] += diff * diff
                s = 0.0
                for q in range(m):
                    x = scale * d2[q]
                    if x < _EXP_UNDERFLOW:       # exp(-x) is exactly 0.0 beyond
                        s += math.exp(-x)
                total[r] += s
        for r in range(rows):
            out[i0 + r] = total[r] / n


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
