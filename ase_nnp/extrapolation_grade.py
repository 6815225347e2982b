r"""The extrapolation grade γ: D-optimality over an active set of last-hidden-layer features.

Lysogorskiy, Bochkarev, Mrovec and Drautz (Phys. Rev. Materials 7, 043801 (2023)) grade a
linear ACE potential E_i = c · B_i by how far an atom's basis vector B_i lies outside the
span of an *active set*: the m training atoms whose m × m matrix A of basis vectors has
the largest |det A| (D-optimality, found by MaxVol: Goreinov et al., in "Matrix Methods:
Theory, Algorithms and Applications", World Scientific (2010)). The grade of an atom is

    γ_i = max_j |(φ_i A⁻¹)_j| ,

the largest coefficient of φ_i expressed in the active set's rows. Replacing active row
j by φ_i would multiply |det A| by |(φ_i A⁻¹)_j|, so γ_i ≤ 1 means interpolation (the
atom adds no volume), γ_i = 1 exactly on the active set itself (φ_a A⁻¹ is a unit
vector), and γ_i > 1 extrapolation; after MaxVol every training atom has γ ≤ 1 + tol.

A neural network's last layer is linear, E_i = w · h_i + b, so the same construction
applies to its features

    φ_i = (h_{L-1}(x_i)_c for c in the kept columns, 1)

— the last hidden layer's activations of atom i (the scaled descriptor for a network
without hidden layers) and the constant of the bias. Columns that are numerically
dependent over the training atoms (a saturated or dead neuron, a neuron that copies
another) are dropped before the selection: QR with column pivoting keeps the columns
whose pivot exceeds ``RCOND`` times the largest, so A is well conditioned. One active
set per element, over that element's training atoms.

A force is as uncertain as the worst atomic energy it is a derivative of:
F_a = −Σ_i ∂E_i/∂r_a runs over a and every atom i within the cutoff of a, so the grade of
the force on a is

    γ^F_a = max(γ_a, max_{i: |r_i − r_a| < r_c} γ_i)

(:func:`neighbourhood_max`, over the pairs of the neighbour list). On the silicon study of
docs/uncertainty.md it flags large force errors far better than γ_a itself.

The features come out of the energy pass (the fused kernel keeps each atom's last
hidden layer, :mod:`ase_nnp.engine`), so γ costs one m × m product per atom. For an
ensemble each member has its own active set, and the ensemble reports the largest grade
over its members.
"""

import numpy as np
import scipy.linalg
from numba import njit

#: columns whose QR pivot is below RCOND × the largest are dependent and dropped
RCOND = 1e-7
#: MaxVol stops when no coefficient exceeds 1 + MAXVOL_TOL
MAXVOL_TOL = 1e-3


def maxvol(X, tol=MAXVOL_TOL, max_iter=10_000):
    """Indices of m rows of X (N × m, N ≥ m, full column rank) whose square submatrix
    has a locally maximal |det|: rows from pivoted QR of Xᵀ as the start, then swaps of
    the row with the largest |(X A⁻¹)_ij| > 1 + tol into position j (each swap multiplies
    |det A| by that coefficient, so the loop ends)."""
    X = np.asarray(X, dtype=np.float64)
    N, m = X.shape
    if N < m:
        raise ValueError(f"MaxVol needs at least as many rows as columns, got {N} rows of {m}")
    _, _, piv = scipy.linalg.qr(X.T, mode="economic", pivoting=True)
    idx = np.array(piv[:m])
    for _ in range(max_iter):
        C = np.linalg.solve(X[idx].T, X.T).T      # X A⁻¹
        i, j = np.unravel_index(np.argmax(np.abs(C)), C.shape)
        if abs(C[i, j]) <= 1.0 + tol:
            break
        idx[j] = i
    return idx


def independent_columns(X, rcond=RCOND):
    """Sorted indices of the numerically independent columns of X (QR with column
    pivoting: pivots above ``rcond`` × the largest)."""
    _, R, piv = scipy.linalg.qr(X, mode="economic", pivoting=True)
    d = np.abs(np.diag(R))
    if not len(d) or d[0] == 0:
        return np.array([], dtype=np.int64)
    return np.sort(piv[:int(np.count_nonzero(d > rcond * d[0]))])


def with_bias(H):
    """φ = (h, 1): the features and the constant the last layer's bias multiplies."""
    H = np.asarray(H, dtype=np.float64)
    return np.hstack([H, np.ones((len(H), 1))])


class ActiveSet:
    """Per element: ``widths`` (the last hidden layer's width), ``columns`` (indices into
    φ = (h, 1), 0 … width, of the kept columns) and the active set's rows ``rows``
    (m × m, the kept columns of the m selected atoms); γ is computed with A⁻¹ (module
    docstring)."""

    def __init__(self, widths, columns, rows):
        self.widths, self.columns, self.rows, self._inverse = {}, {}, {}, {}
        for e in rows:
            width = int(widths[e])
            cols = np.asarray(columns[e], dtype=np.int64)
            A = np.asarray(rows[e], dtype=np.float64)
            if A.ndim != 2 or A.shape != (len(cols), len(cols)) or not len(cols):
                raise ValueError(f"active set of {e}: rows {A.shape} do not fit "
                                 f"{len(cols)} columns (a square matrix is needed)")
            if cols.min() < 0 or cols.max() > width or len(np.unique(cols)) != len(cols):
                raise ValueError(f"active set of {e}: columns {cols.tolist()} must be "
                                 f"distinct indices 0 … {width} of (h, 1)")
            if not np.all(np.isfinite(A)):
                raise ValueError(f"active set of {e} holds NaN or infinite values")
            try:
                inverse = np.linalg.inv(A)
            except np.linalg.LinAlgError:
                raise ValueError(f"the active set of {e} is singular; select it again "
                                 "(ase_nnp.select_active_set)") from None
            self.widths[e], self.columns[e], self.rows[e] = width, cols, A
            self._inverse[e] = inverse

    @classmethod
    def select(cls, features, rcond=RCOND, tol=MAXVOL_TOL):
        """The active set of per-element training features {element: H (n_e × width)}
        (last hidden layer, without the bias column): dependent columns dropped, then
        MaxVol. ValueError when an element has fewer atoms than independent columns."""
        widths, columns, rows = {}, {}, {}
        for e, H in features.items():
            widths[e] = np.shape(H)[1]
            phi = with_bias(H)
            if len(phi) < phi.shape[1]:
                raise ValueError(
                    f"{e}: {len(phi)} training atoms for {phi.shape[1]} features (the last "
                    "hidden layer and the bias); an active set needs at least as many atoms "
                    "as features (more training structures)")
            cols = independent_columns(phi, rcond)
            idx = maxvol(phi[:, cols], tol)
            columns[e], rows[e] = cols, phi[np.ix_(idx, cols)]
        return cls(widths, columns, rows)

    def grade(self, element, H):
        """γ of the atoms of one element with last-hidden-layer features H (n × width)."""
        if element not in self.rows:
            raise KeyError(f"the active set has no element {element}")
        H = np.ascontiguousarray(H, dtype=np.float64)
        if H.ndim != 2 or H.shape[1] < self.widths[element]:
            raise ValueError(f"{element}: features of shape {H.shape}, the active set needs "
                             f"{self.widths[element]} columns (the last hidden layer)")
        gamma = np.zeros(len(H))
        _grades(H, np.arange(len(H)), self.columns[element], self.widths[element],
                self._inverse[element], gamma)
        return gamma

    def grades(self, elements, species, H):
        """γ of every atom: ``species`` indexes ``elements``; H (n × ≥ width) the last
        hidden layers (wider rows, as the fused kernel pads them, are cut to each
        element's width)."""
        H = np.ascontiguousarray(H, dtype=np.float64)
        gamma = np.zeros(len(species))
        for k, e in enumerate(elements):
            idx = np.flatnonzero(species == k)
            if len(idx):
                _grades(H, idx, self.columns[e], self.widths[e], self._inverse[e], gamma)
        return gamma

    def to_arrays(self):
        """{element: {"width", "columns", "rows"}} for the model file."""
        return {e: {"width": self.widths[e], "columns": self.columns[e], "rows": self.rows[e]}
                for e in self.rows}


@njit(cache=True)
def _grades(H, idx, columns, width, inverse, gamma):
    """gamma[i] = max_j |Σ_c φ_i[columns[c]] inverse[c, j]| for the atoms ``idx``, with
    φ_i = (H[i, :width], 1): a compiled loop, not a BLAS call (a few hundred flops per
    atom, where a threaded BLAS on a busy machine costs more to start than to compute)."""
    m = columns.shape[0]
    phi = np.empty(m)
    for a in range(idx.shape[0]):
        i = idx[a]
        for c in range(m):
            col = columns[c]
            phi[c] = H[i, col] if col < width else 1.0
        best = 0.0
        for j in range(m):
            s = 0.0
            for c in range(m):
                s += phi[c] * inverse[c, j]
            best = max(best, abs(s))
        gamma[i] = best


def neighbourhood_max(i, j, gamma):
    """γ^F: for every atom the largest γ over itself and the atoms of its pairs (i, j)
    (module docstring; a full neighbour list holds each pair both ways)."""
    out = np.array(gamma, dtype=np.float64)
    _neighbourhood_max(np.asarray(i), np.asarray(j), np.asarray(gamma, dtype=np.float64), out)
    return out


@njit(cache=True)
def _neighbourhood_max(i, j, gamma, out):
    for p in range(i.shape[0]):
        g = gamma[j[p]]
        if g > out[i[p]]:
            out[i[p]] = g
