r"""Distance of descriptor vectors to a training set, and a PCA map of descriptor space.

Yoo, Lee, Jeong, Watanabe and Han (Phys. Rev. Materials 3, 093802 (2019), supplement,
"The distance to the training set", Fig. S3) judge whether an atom lies inside the
training set by the Euclidean distance from its descriptor vector G to the nearest
training vector,

    d(G) = min_j ‖G - G_j‖,      j over the n rows of the reference (training) set,

compared with the distribution of the same distance within the training set, each
training vector to its nearest *other* one,

    d_i = min_{j ≠ i} ‖G_i - G_j‖      (0 for a duplicated row).

A d(G) well above the typical d_i marks an extrapolation. :func:`nearest_distances`
and :func:`within_set_distances` are exact (scipy's cKDTree, no approximation); a
k-d tree prunes well in few effective dimensions (correlated descriptor components),
and in many it tends to a brute-force search, still exact.

:func:`pca` gives the principal axes of the reference set for 2-D maps of descriptor
space: with the centred reference X = R - μ (n × D) and its SVD X = U S Vᵀ, the
components are the first rows of Vᵀ (unit vectors), the explained variances
λ_k = S_k² / (n - 1) (the eigenvalues of the covariance matrix, numpy.cov's
normalisation) and the ratios λ_k / Σ_all λ. Each component's sign is fixed so that its
entry of largest magnitude is positive (the first such entry on ties), so the map is
reproducible. ``transform(points)`` = (points - μ) Vᵀ_kᵀ. With n <= D the centred rows
span at most n - 1 directions; a component beyond those has zero variance and an
arbitrary direction.
"""

import operator
from typing import NamedTuple

import numpy as np
from numba import njit
from scipy.spatial import cKDTree


class Nearest(NamedTuple):
    """``distances[i]``: Euclidean distance of row i to its nearest reference row;
    ``indices[i]``: that reference row."""
    distances: np.ndarray   # (m,) float64
    indices: np.ndarray     # (m,) int64


@njit(cache=True, inline="always", error_model="numpy")
def add_squared_distances(acc, YT, j0, m, y, k0, k1):
    """acc[t] += Σ_{k0 <= k < k1} (YT[k, j0 + t] - y[k])² for 0 <= t < m: the squared
    distances from the point y to the points j0 .. j0 + m - 1 stored as the columns of
    YT (components × points), summed over the components k0 .. k1 - 1 in k order. The
    inner loop runs along a row of YT, so it vectorises: the brute-force sweeps of
    :mod:`.connectivity` (float32, a few components at a time) and :mod:`.gdf` share it."""
    for k in range(k0, k1):
        yk = y[k]
        row = YT[k]
        for t in range(m):
            diff = row[j0 + t] - yk
            acc[t] += diff * diff


def nearest_distances(points, reference):
    """Exact distance from each row of ``points`` ((m, D)) to the nearest row of
    ``reference`` ((n, D), n >= 1): :class:`Nearest` (distances, indices)."""
    R = checked_rows(reference, "reference", min_rows=1)
    P = checked_rows(points, "points", min_rows=0)
    if P.shape[1] != R.shape[1]:
        raise ValueError(f"points have {P.shape[1]} components per row but the reference "
                         f"has {R.shape[1]}; both must be descriptor rows of the same "
                         f"descriptor")
    if len(P) == 0:
        return Nearest(np.empty(0), np.empty(0, dtype=np.int64))
    d, i = cKDTree(R).query(P, k=1)
    return Nearest(np.asarray(d, dtype=np.float64), np.asarray(i, dtype=np.int64))


def within_set_distances(reference):
    """Each row's exact distance to its nearest *other* row of ``reference`` ((n, D),
    n >= 2), 0 for duplicated rows: :class:`Nearest` (distances, indices, index ≠ row)."""
    R = checked_rows(reference, "reference", min_rows=2)
    d, i = cKDTree(R).query(R, k=2)
    own = i[:, 0] == np.arange(len(R))       # the row itself first, or a duplicate of it
    pick = np.where(own, 1, 0)
    rows = np.arange(len(R))
    return Nearest(np.asarray(d[rows, pick], dtype=np.float64),
                   np.asarray(i[rows, pick], dtype=np.int64))


class PCA(NamedTuple):
    """Principal axes of a reference set (see the module docstring)."""
    mean: np.ndarray                       # (D,)
    components: np.ndarray                 # (k, D), unit rows, largest |entry| positive
    explained_variance: np.ndarray         # (k,), eigenvalues of the covariance (n - 1)
    explained_variance_ratio: np.ndarray   # (k,), of the total variance

    def transform(self, points):
        """The coordinates of the rows of ``points`` ((m, D)) along the components."""
        P = checked_rows(points, "points", min_rows=0)
        if P.shape[1] != len(self.mean):
            raise ValueError(f"points have {P.shape[1]} components per row but this PCA "
                             f"was fitted on rows of {len(self.mean)}")
        return (P - self.mean) @ self.components.T


def pca(reference, n_components=2):
    """:class:`PCA` of the rows of ``reference`` ((n, D), n >= 2) with the first
    ``n_components`` (1 ... min(n, D)) principal axes, via numpy's SVD."""
    R = checked_rows(reference, "reference", min_rows=2)
    n, D = R.shape
    try:
        k = operator.index(n_components)           # an integer, not 2.0 or True
    except TypeError:
        k = None
    if isinstance(n_components, bool) or k is None or not 1 <= k <= min(n, D):
        raise ValueError(f"n_components must be an integer in 1 ... min(n, D) = "
                         f"{min(n, D)} for a reference of shape {R.shape}, got "
                         f"{n_components!r}")
    mean = R.mean(axis=0)
    _, s, vt = np.linalg.svd(R - mean, full_matrices=False)
    comps = vt[:k].copy()
    lead = np.argmax(np.abs(comps), axis=1)
    comps *= np.where(comps[np.arange(k), lead] < 0, -1.0, 1.0)[:, None]
    var = s ** 2 / (n - 1)
    total = var.sum()
    ratio = var[:k] / total if total > 0 else np.zeros(k)
    return PCA(mean, comps, var[:k].copy(), ratio)


def checked_rows(a, name, min_rows):
    """``a`` as a contiguous float64 (n, D) array of at least ``min_rows`` finite rows;
    ValueError naming ``name``, the problem and the fix otherwise."""
    A = np.asarray(a)
    if A.ndim != 2:
        raise ValueError(f"{name} must be a 2-D (n, D) array of descriptor rows, got "
                         f"{A.ndim}-D shape {A.shape}; for one row use {name}[None, :], "
                         f"for one component {name}.reshape(-1, 1)")
    if A.shape[0] < min_rows or A.shape[1] < 1:
        raise ValueError(f"{name} must hold at least {min_rows} "
                         f"{'row' if min_rows == 1 else 'rows'} of at least 1 component, got "
                         f"shape {A.shape}")
    try:
        A = np.ascontiguousarray(A, dtype=np.float64)
    except (TypeError, ValueError):
        raise ValueError(f"{name} must be numeric, got dtype {A.dtype}") from None
    if not np.all(np.isfinite(A)):
        bad = np.flatnonzero(~np.isfinite(A).all(axis=1))
        raise ValueError(f"{name} contains NaN or infinite values (in {len(bad)} rows, "
                         f"the first being row {bad[0]}); drop or repair those rows first")
    return A
