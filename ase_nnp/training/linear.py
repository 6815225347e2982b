r"""Models linear in the descriptor, fitted in one solve: linear and quadratic SNAP.

Per element e, E_i = β_0^e + β^e · G_i (Thompson et al., J. Comput. Phys. 285, 316
(2015); with the bispectrum's ``quadraticflag`` the products B_k B_l are columns of G,
which makes this quadratic SNAP, Wood and Thompson, J. Chem. Phys. 148, 241721 (2018)).
Energies, forces and stresses are all linear in θ = (β_0^e, β^e)_e, so the training loss
of :mod:`ase_nnp.training.loss` — the same terms, structure weights, group factors and
per-atom force weights (GDF) — is exactly a weighted least-squares problem
‖A θ - y‖², one row per reference number:

    energy     row f:       [n_f^e / N_f,  Σ_{i∈f, e} G_i / N_f]_e                 · √(λ_E w_f / W_E)
    force      row (a, c):  [0,  Σ_{p: i_p = a} J_pc - Σ_{p: j_p = a} J_pc]_{e = e(i_p)}
                                                                     · √(λ_F w_f w_a / (3 N_f W_F))
    stress     row (f, c d): [0,  Σ_{p ∈ f} D_pc J_pd / V_f]_{e(i_p)}              · √(λ_S w_f / (9 W_S))
    atomic E   row i:       [1,  G_i] in e(i)'s block                              · √(λ_A w_f / W_A)

(J_p = ∂G_{i_p}/∂D_p the Jacobian, stored or computed per block, W_X the weight sums of the loss's
normalisations; forces F_a = -∂E/∂r_a, stress ASE's σ = (1/V) ∂E/∂ε). An optional ridge
term adds ρ Σ_k (s_k β_k)² with s_k the spread (standard deviation over the training
atoms) of column k, so that ρ is dimensionless and β_0 is never damped. With
``ridge = "auto"`` ρ is chosen among :data:`RIDGE_GRID` (0 and 10⁻⁹ … 10⁻¹) as the one
whose solution has the lowest loss on validation structures: the rows are reduced once,
each ρ is one more small solve, and the validation loss of any θ is the quadratic form
θᵀ(A_vᵀA_v)θ - 2 (A_vᵀy_v)·θ + y_v·y_v of the validation rows (accumulated block by
block, normalised by the validation structures' own weight sums). A quadratic SNAP has
more columns than the energies fix well (1,596 at 2J_max = 8 against 214 Si energies in
the mlearn set of Zuo et al., J. Phys. Chem. A 124, 731 (2020)): unregularised it fits the
training energies to 1.1 meV/atom and the test energies to 5.4; ρ = 10⁻⁴ gives 3.2. The
choice is only as good as the validation structures, though: on the 10 % held out of
the same sets (22 Si, 20 Mo structures) ``"auto"`` chose ρ = 0 for Si and 10⁻⁴ for Mo,
where the test energy error rose from 6.3 to 7.8 meV/atom (the two test surfaces went
from 9.6 to 18.2).

The rows are reduced block by block (``BLOCK_ATOMS`` atoms, fewer when their Jacobian rows
would take more than ``BLOCK_JACOBIAN_BYTES``) into the triangular factor R of a QR
decomposition (``[R; A_block] = Q' R'``), so memory stays O(columns²) for any number of
atoms, and the small system R θ = Qᵀ y is solved by SVD (``scipy.linalg.lstsq``) on
columns scaled to unit norm, with singular values below ``rcond`` · s_max dropped: a
column that never varies (or repeats another) gets the minimum-norm coefficient 0
instead of a huge one. The normal equations, whose condition number is the square,
are never formed.
"""

from typing import NamedTuple

import numpy as np
import scipy.linalg
from numba import njit

from ..linear_model import coefficients, set_coefficients  # noqa: F401 (re-exported)
from ..network import Network

#: atoms per block of rows
BLOCK_ATOMS = 20_000
#: the most memory the Jacobian rows of one block may take (bytes): a block ends early when
#: its pairs × features × 3 numbers would exceed it (quadratic SNAP of 2J_max = 8 has 1,595
#: features: 24 GB for the 600,000 pairs of the mlearn Mo set in one block)
BLOCK_JACOBIAN_BYTES = 1 << 30
#: relative singular-value cut of the solve
RCOND = 1e-12
#: the ridge factors that ``ridge = "auto"`` tries
RIDGE_GRID = (0.0,) + tuple(10.0 ** k for k in range(-9, 0))


class LinearFit(NamedTuple):
    """The solution: per element (β_0, β), the rank of the scaled system, its number of
    columns, its condition number (largest / smallest kept singular value), the number
    of rows, the ridge factor ρ used and, when it was chosen (``ridge = "auto"``), the
    validation loss of every ρ tried as ((ρ, loss), ...)."""
    coefficients: dict
    rank: int
    n_columns: int
    condition: float
    n_rows: int
    ridge: float = 0.0
    ridge_scan: tuple = ()


def _weight_sums(fs, weights):
    w = fs.weight
    sums = {"energy": w.sum(), "forces": w[fs.has_forces].sum(),
            "stress": w[fs.has_stress].sum(),
            "atomic_energies": w[fs.frame][fs.has_energies[fs.frame]].sum()}
    lam = {"energy": weights.energy, "forces": weights.forces, "stress": weights.stress,
           "atomic_energies": weights.atomic_energies}
    return {k: (lam[k] / sums[k] if sums[k] > 0 and lam[k] > 0 else 0.0) for k in lam}


def _block_rows(fs, frames, nf, n_el, scale):
    """Rows (A, y) of the frames ``frames`` (module docstring), already weighted."""
    ncol = n_el * (nf + 1)
    rows_A, rows_y = [], []
    N = fs.n_atoms_per_frame
    a0, a1 = fs.atom_start[frames[0]], fs.atom_start[frames[-1] + 1]
    p0, p1 = fs.pair_start[frames[0]], fs.pair_start[frames[-1] + 1]
    species = fs.species[a0:a1]
    frame = fs.frame[a0:a1] - frames[0]
    nfr = len(frames)
    G = fs.G[a0:a1]
    w_f = fs.weight[frames]
    if scale["energy"]:
        A = np.zeros((nfr, ncol))
        for e in range(n_el):
            mine = species == e
            base = e * (nf + 1)
            np.add.at(A[:, base], frame[mine], 1.0)
            np.add.at(A[:, base + 1:base + 1 + nf], frame[mine], G[mine])
        n = N[frames]
        root = np.sqrt(scale["energy"] * w_f) / n
        rows_A.append(A * root[:, None])
        rows_y.append(fs.energy[frames] * root)
    has_f = fs.has_forces[frames]
    has_s = fs.has_stress[frames]
    if (scale["forces"] and has_f.any()) or (scale["stress"] and has_s.any()):
        i = fs.i[p0:p1] - a0
        j = fs.j[p0:p1] - a0
        pair_frame = frame[i]
        AF = np.zeros((a1 - a0, 3, ncol))
        AS = np.zeros((nfr, 3, 3, ncol))
        inv_v = np.where(fs.volume[frames] > 0, 1.0 / np.where(fs.volume[frames] > 0,
                                                               fs.volume[frames], 1.0), 0.0)
        _force_stress_rows(i, j, species, pair_frame, fs.D[p0:p1], fs.jacobian_rows(frames),
                           nf, inv_v, AF, AS)
        if scale["forces"] and has_f.any():
            root = np.sqrt(scale["forces"] * (w_f / (3.0 * N[frames]))[frame]
                           * fs.force_weight[a0:a1])
            keep = has_f[frame]
            rows_A.append((AF * root[:, None, None])[keep].reshape(-1, ncol))
            rows_y.append((fs.forces[a0:a1] * root[:, None])[keep].reshape(-1))
        if scale["stress"] and has_s.any():
            root = np.sqrt(scale["stress"] * w_f / 9.0)
            rows_A.append((AS * root[:, None, None, None])[has_s].reshape(-1, ncol))
            rows_y.append((fs.stress[frames] * root[:, None, None])[has_s].reshape(-1))
    if scale["atomic_energies"]:
        keep = fs.has_energies[frames][frame]
        A = np.zeros((a1 - a0, ncol))
        for e in range(n_el):
            mine = species == e
            base = e * (nf + 1)
            A[mine, base] = 1.0
            A[mine, base + 1:base + 1 + nf] = G[mine]
        root = np.sqrt(scale["atomic_energies"] * w_f[frame])
        rows_A.append((A * root[:, None])[keep])
        rows_y.append((fs.energies[a0:a1] * root)[keep])
    if not rows_A:
        return np.zeros((0, ncol)), np.zeros(0)
    return np.concatenate(rows_A), np.concatenate(rows_y)


@njit(cache=True)
def _force_stress_rows(i, j, species, pair_frame, D, J, nf, inv_v, AF, AS):
    """AF[a, c, block e] = -(∂/∂r_ac) of Σ_{i of e} G_i (the forces' columns) and
    AS[f, c, d, block e] = (1/V_f) Σ_p D_pc J_pd (the stress's columns)."""
    for p in range(i.shape[0]):
        base = species[i[p]] * (nf + 1) + 1
        f = pair_frame[p]
        for c in range(3):
            for k in range(nf):
                v = J[p, k, c]
                AF[i[p], c, base + k] += v
                AF[j[p], c, base + k] -= v
        for c in range(3):
            for d in range(3):
                s = D[p, c] * inv_v[f]
                for k in range(nf):
                    AS[f, c, d, base + k] += s * J[p, k, d]


def _frame_blocks(fs, block_atoms, max_pairs=None):
    """Consecutive frames in blocks of about ``block_atoms`` atoms and at most
    ``max_pairs`` pairs (a frame with more pairs is a block of its own)."""
    pairs = np.diff(fs.pair_start)
    start, n, p = 0, 0, 0
    for f in range(fs.n_frames):
        if max_pairs is not None and f > start and p + pairs[f] > max_pairs:
            yield np.arange(start, f)
            start, n, p = f, 0, 0
        n += fs.n_atoms_per_frame[f]
        p += pairs[f]
        if n >= block_atoms:
            yield np.arange(start, f + 1)
            start, n, p = f + 1, 0, 0
    if start < fs.n_frames:
        yield np.arange(start, fs.n_frames)


def _blocks_of_rows(fs, weights, nf, n_el, block_atoms, block_bytes):
    """The weighted rows (A, y) of FrameSet ``fs``, block by block (module docstring)."""
    scale = _weight_sums(fs, weights)
    max_pairs = max(1, block_bytes // (nf * 3 * 8))
    for frames in _frame_blocks(fs, block_atoms, max_pairs):
        A, y = _block_rows(fs, frames, nf, n_el, scale)
        if len(y):
            yield A, y


def _column_spread(fs, nf, n_el):
    """s_k of the ridge term: each column's standard deviation over the atoms of its
    element (0 for the offsets β_0, which are never damped)."""
    spread = np.zeros(n_el * (nf + 1))
    for e in range(n_el):
        mine = fs.species == e
        if mine.any():
            spread[e * (nf + 1) + 1:(e + 1) * (nf + 1)] = fs.G[mine].std(0)
    return spread


def _solve(R, qy, ridge, spread, rcond):
    """θ of min ‖R θ - qy‖² + ρ Σ_k (s_k θ_k)², on unit-norm columns with singular values
    below rcond · s_max dropped; returns (θ, rank, condition number)."""
    if ridge > 0:
        R = np.vstack([R, np.diag(np.sqrt(ridge) * spread)])
        qy = np.concatenate([qy, np.zeros(len(spread))])
    norms = np.linalg.norm(R, axis=0)
    norms[norms == 0] = 1.0
    theta, _, rank, sv = scipy.linalg.lstsq(R / norms, qy, cond=rcond, lapack_driver="gelsd")
    kept = sv[sv > rcond * sv[0]] if len(sv) and sv[0] > 0 else sv
    condition = float(kept[0] / kept[-1]) if len(kept) else float("inf")
    return theta / norms, int(rank), condition


def _choose_ridge(R, qy, spread, rcond, validation, weights, nf, n_el, block_atoms,
                  block_bytes):
    """(ρ, its :func:`_solve` solution, ((ρ, validation loss), ...)): the ρ of RIDGE_GRID
    whose solution has the lowest loss on FrameSet ``validation`` (module docstring)."""
    ncol = len(spread)
    gram, rhs, yy = np.zeros((ncol, ncol)), np.zeros(ncol), 0.0
    for A, y in _blocks_of_rows(validation, weights, nf, n_el, block_atoms, block_bytes):
        gram += A.T @ A
        rhs += A.T @ y
        yy += float(y @ y)
    scan, best = [], None
    for rho in RIDGE_GRID:
        solution = _solve(R, qy, rho, spread, rcond)
        theta = solution[0]
        scan.append((rho, float(theta @ gram @ theta - 2.0 * rhs @ theta + yy)))
        if best is None or scan[-1][1] < best[1]:
            best = (rho, scan[-1][1], solution)
    return best[0], best[2], tuple(scan)


def fit(potential, fs, weights, ridge=0.0, rcond=RCOND, block_atoms=BLOCK_ATOMS,
        block_bytes=BLOCK_JACOBIAN_BYTES, validation=None):
    """Solve for the coefficients of a linear ``potential`` (every network a single
    identity layer, see :func:`linear_network`) on FrameSet ``fs`` with the loss
    factors ``weights`` (:class:`~ase_nnp.training.loss.LossWeights`); set them (input
    scaling folded in, energy offsets 0) and return a :class:`LinearFit`. ``ridge``: ρ ≥ 0,
    or ``"auto"`` to choose it on the FrameSet ``validation`` (module docstring)."""
    elements = potential.elements
    n_el = len(elements)
    nf = potential.descriptor.n_features_max
    for e in elements:
        if potential.descriptor.n_features(e) != nf:
            raise ValueError("a linear fit needs the same columns for every element")
    if ridge == "auto" and (validation is None or validation.n_frames == 0):
        raise ValueError('ridge = "auto" chooses ρ on validation structures; none were given')
    ncol = n_el * (nf + 1)
    R = np.zeros((0, ncol))
    qy = np.zeros(0)
    n_rows = 0
    for A, y in _blocks_of_rows(fs, weights, nf, n_el, block_atoms, block_bytes):
        n_rows += len(y)
        Q, R = np.linalg.qr(np.vstack([R, A]), mode="reduced")
        qy = Q.T @ np.concatenate([qy, y])
    spread = _column_spread(fs, nf, n_el)
    if ridge == "auto":
        ridge, (theta, rank, condition), scan = _choose_ridge(
            R, qy, spread, rcond, validation, weights, nf, n_el, block_atoms, block_bytes)
    else:
        (theta, rank, condition), scan = _solve(R, qy, ridge, spread, rcond), ()
    coefficients = {}
    for k, e in enumerate(elements):
        block = theta[k * (nf + 1):(k + 1) * (nf + 1)]
        coefficients[e] = (float(block[0]), block[1:].copy())
        set_coefficients(potential, e, *coefficients[e])
    return LinearFit(coefficients, rank, ncol, condition, n_rows, float(ridge), scan)


def linear_network(n_inputs):
    """A network that is the map x -> b + w·x (one identity layer)."""
    return Network([np.zeros((n_inputs, 1))], [np.zeros(1)], ["identity"])


