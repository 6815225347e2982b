r"""The per-atom pieces of the spherical-Bessel descriptors (:mod:`.spec` defines them).

Derivatives (D_p the pair vector, u = D_p/r)::

    ∂c^k_nlm/∂D_p = w_p [g_nl'(r) Y_lm(u) u + g_nl(r) ∂Y_lm/∂D_p]   (pair p in channel k),
    ∂p^{ab}_nl/∂c^k_nlm = [k = a] c^b_nlm + [k = b] c^a_nlm,

so the vector–Jacobian product (forces, stress) is, with A^k_nlm = Σ_f W_f ∂p_f/∂c^k_nlm,

    g_p = w_p Σ_lm [ (Σ_n A^k_nlm g_nl'(r)) Y_lm u + (Σ_n A^k_nlm g_nl(r)) ∂Y_lm/∂D_p ],

linear in the number of neighbours: no pair of neighbours is ever visited.
"""

from typing import NamedTuple

import numpy as np
from numba import njit

from ..base import AtomPieces
from .harmonics import real_harmonics
from .radial import radial_basis


# The per-atom work runs on "slots": the pairs of one atom ordered by channel
# (slot s holds pair p0 + pair_of[s]; channel k owns the slots start[k] .. start[k+1]-1),
# with the slot index innermost in every loop so that the compiler vectorises over
# pairs. Each channel's run is padded to a multiple of PAD slots of weight 0
# (pair_of = -1), so that vectorised loops never fall into their scalar remainder.
# Per-slot arrays are rows of the scratch below.
PAD = 16


class Plan(NamedTuple):
    """What the kernels read: the radial spline table (``inv_h``, ``coef``), the
    harmonics' constants (``F``, ``A``, ``B``), each element's density ``channel`` and
    ``weight``, the number of channels, the channel pairs (a, b) of the power spectrum,
    L = l_max + 1 and N = n_max + 1."""
    inv_h: float
    coef: np.ndarray
    F: np.ndarray
    A: np.ndarray
    B: np.ndarray
    channel: np.ndarray
    weight: np.ndarray
    n_ch: int
    pair_a: np.ndarray
    pair_b: np.ndarray
    L: int
    N: int


class Scratch(NamedTuple):
    """One worker's arrays for the atom in hand, per slot s (P = max_pairs + PAD · n_ch)."""
    U: np.ndarray        # (3, P) unit pair vectors
    inv_r: np.ndarray    # (P,) 1/r
    r: np.ndarray        # (P,) r
    w: np.ndarray        # (P,) the neighbour's weight (0 in padding)
    pair_of: np.ndarray  # (P,) slot -> pair of the atom (-1: padding)
    start: np.ndarray    # (n_ch + 1,) first slot of each channel
    g: np.ndarray        # (L N, P) radial functions g_nl
    dg: np.ndarray       # (L N, P) their r-derivatives
    Y: np.ndarray        # (L², P) real harmonics
    dY: np.ndarray       # (3, L², P) their D-derivatives
    X1: np.ndarray       # (L², P) work
    X2: np.ndarray       # (L², P) work
    c: np.ndarray        # (n_ch, N, L²) expansion coefficients c^k_nlm
    A: np.ndarray        # (n_ch, N, L²) backward adjoints (or δc)
    Q: np.ndarray        # (F rows, P) harmonics recursion work
    cos_m: np.ndarray    # (L, P) cos mφ
    sin_m: np.ndarray    # (L, P) sin mφ
    work: np.ndarray     # (4, P) per-slot work
    cursor: np.ndarray   # (n_ch,) counting-sort cursor
    gq: np.ndarray       # (2, L N) one pair's g, g'


@njit(cache=True, error_model="numpy")
def make_scratch(max_pairs, plan, records):
    """One worker's :class:`Scratch` (the same with or without ``records``)."""
    F, n_ch, L, N = plan.F, plan.n_ch, plan.L, plan.N
    P = max_pairs + PAD * n_ch
    LL = L * L
    return Scratch(np.empty((3, P)), np.empty(P), np.empty(P), np.empty(P),
                   np.empty(P, dtype=np.int64), np.empty(n_ch + 1, dtype=np.int64),
                   np.empty((L * N, P)), np.empty((L * N, P)),
                   np.empty((LL, P)), np.empty((3, LL, P)),
                   np.empty((LL, P)), np.empty((LL, P)),
                   np.empty((n_ch, N, LL)), np.empty((n_ch, N, LL)),
                   np.empty((F.shape[0], P)), np.empty((L, P)), np.empty((L, P)),
                   np.empty((4, P)), np.empty(n_ch, dtype=np.int64), np.empty((2, L * N)))


@njit(cache=True, error_model="numpy", fastmath={"reassoc", "contract"})
def _project(R, X, s0, s1, L, N, out):
    """out[n, lm] += Σ_{s0 <= s < s1} R[l N + n, s] X[lm, s] (a sum over the slots of one
    channel). Three lm of one row share each R[row, s] in the loop over slots, so three
    independent sums run side by side and each is re-associated onto several slots per
    instruction (one sum at a time is bound by the adder's latency: 5x slower here).
    2l + 1 is odd, so the last group of an l may repeat its first lm, added only once.
    The slot index is unsigned (see :func:`_slots_backward`)."""
    u0 = np.uint64(s0)
    u1 = np.uint64(s1)
    for l in range(L):
        end = (l + 1) * (l + 1)
        for n in range(N):
            row = l * N + n
            for lm in range(l * l, end, 3):
                lm1 = lm + 1 if lm + 1 < end else lm
                lm2 = lm + 2 if lm + 2 < end else lm
                a0 = 0.0
                a1 = 0.0
                a2 = 0.0
                for s in range(u0, u1):
                    rs = R[row, s]
                    a0 += rs * X[lm, s]
                    a1 += rs * X[lm1, s]
                    a2 += rs * X[lm2, s]
                out[n, lm] += a0
                if lm1 != lm:
                    out[n, lm1] += a1
                if lm2 != lm:
                    out[n, lm2] += a2


@njit(cache=True, inline="always", error_model="numpy")
def atom_expansion(i, first, jn, D, r, species, plan, scr):
    """Radial functions and harmonics of the pairs of atom i (by slot), and its c^k_nlm.

    Returns (p0, ns): the atom's first pair and its number of slots (pairs plus padding).
    """
    inv_h, coef, F, A, B, channel = plan.inv_h, plan.coef, plan.F, plan.A, plan.B, plan.channel
    weight, n_ch, L, N, U, inv_r = plan.weight, plan.n_ch, plan.L, plan.N, scr.U, scr.inv_r
    rr, wt, pair_of, start, gr, dgr = scr.r, scr.w, scr.pair_of, scr.start, scr.g, scr.dg
    Y, dY, X1, c, Q, cs, sn = scr.Y, scr.dY, scr.X1, scr.c, scr.Q, scr.cos_m, scr.sin_m
    cursor, gq = scr.cursor, scr.gq
    p0 = first[i]
    nq = first[i + 1] - p0
    for k in range(n_ch + 1):
        start[k] = 0
    for q in range(nq):
        start[channel[species[jn[p0 + q]]] + 1] += 1
    for k in range(n_ch):                    # padded counts, then their running sum
        start[k + 1] = (start[k + 1] + PAD - 1) // PAD * PAD
    for k in range(n_ch):
        start[k + 1] += start[k]
        cursor[k] = start[k]
    ns = start[n_ch]
    for q in range(nq):                      # counting sort of the pairs by channel
        e = species[jn[p0 + q]]
        k = channel[e]
        s = cursor[k]
        cursor[k] = s + 1
        pair_of[s] = q
        p = p0 + q
        inv = 1.0 / r[p]
        inv_r[s] = inv
        rr[s] = r[p]
        U[0, s] = D[p, 0] * inv
        U[1, s] = D[p, 1] * inv
        U[2, s] = D[p, 2] * inv
        wt[s] = weight[e]
    for k in range(n_ch):                    # the slots the sort left: weight 0, any direction
        for s in range(cursor[k], start[k + 1]):
            pair_of[s] = -1
            inv_r[s] = 1.0
            rr[s] = 0.0
            U[0, s] = 0.0
            U[1, s] = 0.0
            U[2, s] = 1.0
            wt[s] = 0.0
    radial_basis(rr, ns, inv_h, coef, gr, dgr, gq[0], gq[1])
    real_harmonics(U, inv_r, ns, L - 1, F, A, B, Q, cs, sn, Y, dY)
    for lm in range(L * L):
        for s in range(ns):
            X1[lm, s] = wt[s] * Y[lm, s]
    c[:] = 0.0
    for k in range(n_ch):
        _project(gr, X1, start[k], start[k + 1], L, N, c[k])
    return p0, ns


@njit(cache=True, inline="always", error_model="numpy")
def _spectrum(plan, x, y, scale, out):
    """out[f] += scale · Σ_m (x^a_nlm y^b_nlm + y^a_nlm x^b_nlm) for f = (a, b, n, l)."""
    pair_a, pair_b, L, N = plan.pair_a, plan.pair_b, plan.L, plan.N
    for pi in range(pair_a.shape[0]):
        a = pair_a[pi]
        b = pair_b[pi]
        for n in range(N):
            for l in range(L):
                s = 0.0
                for lm in range(l * l, l * l + 2 * l + 1):
                    s += x[a, n, lm] * y[b, n, lm] + y[a, n, lm] * x[b, n, lm]
                out[(pi * N + n) * L + l] += scale * s


@njit(cache=True, inline="always", error_model="numpy")
def atom_features(plan, scr, out):
    """out[f] = p^{ab}_nl = Σ_m c^a_nlm c^b_nlm from the expansion in ``scr``."""
    c = scr.c
    out[:] = 0.0
    _spectrum(plan, c, c, 0.5, out)


@njit(cache=True, error_model="numpy")
def atom_values(i, first, jn, D, r, species, plan, scr, Gi, records):
    """The expansion of atom i and its power spectrum into Gi; returns the number of
    slots."""
    _, ns = atom_expansion(i, first, jn, D, r, species, plan, scr)
    atom_features(plan, scr, Gi)
    return ns


@njit(cache=True, error_model="numpy")
def atom_vjp(i, first, jn, D, r, species, plan, scr, state, w, g):
    """g_p += ∂(Σ_f W_f p_f)/∂D_p for the pairs of atom i (module docstring):
    g = w [u Σ_lm α_lm Y_lm + Σ_lm β_lm ∂Y_lm/∂D], α_lm = Σ_n A_nlm g_nl', β_lm = Σ_n A_nlm g_nl."""
    p0 = first[i]
    n_ch, pair_a, pair_b, L, N, U = plan.n_ch, plan.pair_a, plan.pair_b, plan.L, plan.N, scr.U
    wt, pair_of, start, gr, dgr, Y = scr.w, scr.pair_of, scr.start, scr.g, scr.dg, scr.Y
    dY, X1, X2, c, A, work = scr.dY, scr.X1, scr.X2, scr.c, scr.A, scr.work
    A[:] = 0.0
    for pi in range(pair_a.shape[0]):
        a = pair_a[pi]
        b = pair_b[pi]
        for n in range(N):
            for l in range(L):
                W = w[(pi * N + n) * L + l]
                if W == 0.0:
                    continue
                for lm in range(l * l, l * l + 2 * l + 1):
                    A[a, n, lm] += W * c[b, n, lm]
                    A[b, n, lm] += W * c[a, n, lm]
    al, be = X1[0], X2[0]
    for k in range(n_ch):
        _slots_backward(A[k], gr, dgr, Y, dY, start[k], start[k + 1], L, N, al, be, work)
        for s in range(start[k], start[k + 1]):
            _scatter(g, p0, pair_of, wt, U, s, work[0, s], work[1, s], work[2, s], work[3, s])


@njit(cache=True, error_model="numpy", fastmath={"contract"})
def _slots_backward(A, gr, dgr, Y, dY, s0, s1, L, N, al, be, out):
    """For the slots s0 <= s < s1 of one channel, with α_lm = Σ_n A_nlm g_nl' and
    β_lm = Σ_n A_nlm g_nl (held per slot in ``al`` and ``be``):
    out[0] = Σ_lm α_lm Y_lm and out[1:4] = Σ_lm β_lm ∂Y_lm/∂D.

    Every loop runs over slots, element by element, so it compiles to SIMD. The slot
    index is unsigned: with a signed start Numba guards each index against negative
    values (Python's wraparound), and that guard alone kept these loops scalar (3x)."""
    u0 = np.uint64(s0)
    u1 = np.uint64(s1)
    for s in range(u0, u1):
        out[0, s] = 0.0
        out[1, s] = 0.0
        out[2, s] = 0.0
        out[3, s] = 0.0
    for l in range(L):
        for lm in range(l * l, (l + 1) * (l + 1)):
            a = A[0, lm]
            row = l * N
            for s in range(u0, u1):
                al[s] = a * dgr[row, s]
                be[s] = a * gr[row, s]
            for n in range(1, N):
                a = A[n, lm]
                row = l * N + n
                for s in range(u0, u1):
                    al[s] += a * dgr[row, s]
                    be[s] += a * gr[row, s]
            for s in range(u0, u1):
                out[0, s] += al[s] * Y[lm, s]
                out[1, s] += be[s] * dY[0, lm, s]
                out[2, s] += be[s] * dY[1, lm, s]
                out[3, s] += be[s] * dY[2, lm, s]


@njit(cache=True, inline="always", error_model="numpy")
def _scatter(g, p0, pair_of, wt, U, s, ay, gx, gy, gz):
    """g_p += w (ay u + (gx, gy, gz)) for the pair in slot s (nothing for padding)."""
    if pair_of[s] >= 0:
        p = p0 + pair_of[s]
        w = wt[s]
        g[p, 0] += w * (ay * U[0, s] + gx)
        g[p, 1] += w * (ay * U[1, s] + gy)
        g[p, 2] += w * (ay * U[2, s] + gz)


@njit(cache=True, error_model="numpy")
def atom_jvp(i, first, jn, D, r, species, plan, scr, state, V, dGi):
    """dGi[f] += Σ_p ∂p_f/∂D_p · V_p for atom i:
    δc_nlm = Σ_p w (g_nl' Y_lm u·V_p + g_nl ∂Y_lm/∂D·V_p)."""
    p0 = first[i]
    n_ch, L, N, U, wt, pair_of = plan.n_ch, plan.L, plan.N, scr.U, scr.w, scr.pair_of
    start, gr, dgr, Y, dY, X1, X2 = scr.start, scr.g, scr.dg, scr.Y, scr.dY, scr.X1, scr.X2
    c, dc, work = scr.c, scr.A, scr.work
    uv, vx, vy, vz = work[0], work[1], work[2], work[3]
    for s in range(state):
        if pair_of[s] < 0:
            vx[s] = 0.0
            vy[s] = 0.0
            vz[s] = 0.0
            uv[s] = 0.0
            continue
        p = p0 + pair_of[s]
        vx[s] = wt[s] * V[p, 0]
        vy[s] = wt[s] * V[p, 1]
        vz[s] = wt[s] * V[p, 2]
        uv[s] = U[0, s] * vx[s] + U[1, s] * vy[s] + U[2, s] * vz[s]
    for lm in range(L * L):
        for s in range(state):
            X1[lm, s] = Y[lm, s] * uv[s]
            X2[lm, s] = dY[0, lm, s] * vx[s] + dY[1, lm, s] * vy[s] + dY[2, lm, s] * vz[s]
    dc[:] = 0.0
    for k in range(n_ch):
        _project(dgr, X1, start[k], start[k + 1], L, N, dc[k])
        _project(gr, X2, start[k], start[k + 1], L, N, dc[k])
    _spectrum(plan, dc, c, 1.0, dGi)       # δp = Σ_m δc^a c^b + c^a δc^b


@njit(cache=True, error_model="numpy")
def atom_jacobian(i, first, jn, D, r, species, plan, scr, state, J, j0):
    """J[p - j0, f] += ∂p_f/∂D_p for the pairs p of atom i."""
    p0 = first[i]
    n_ch, pair_a, pair_b, L, N, U = plan.n_ch, plan.pair_a, plan.pair_b, plan.L, plan.N, scr.U
    wt, pair_of, start, gr, dgr, Y = scr.w, scr.pair_of, scr.start, scr.g, scr.dg, scr.Y
    dY, c = scr.dY, scr.c
    for k in range(n_ch):
        for s in range(start[k], start[k + 1]):
            if pair_of[s] < 0:
                continue
            p = p0 + pair_of[s] - j0
            w = wt[s]
            for pi in range(pair_a.shape[0]):
                a = pair_a[pi]
                b = pair_b[pi]
                if k != a and k != b:
                    continue
                for n in range(N):
                    for l in range(L):
                        jx = 0.0
                        jy = 0.0
                        jz = 0.0
                        gv = gr[l * N + n, s]
                        dgv = dgr[l * N + n, s]
                        for lm in range(l * l, l * l + 2 * l + 1):
                            cf = 0.0
                            if k == a:
                                cf += c[b, n, lm]
                            if k == b:
                                cf += c[a, n, lm]
                            ay = cf * dgv * Y[lm, s]
                            bg = cf * gv
                            jx += ay * U[0, s] + bg * dY[0, lm, s]
                            jy += ay * U[1, s] + bg * dY[1, lm, s]
                            jz += ay * U[2, s] + bg * dY[2, lm, s]
                        f = (pi * N + n) * L + l
                        J[p, f, 0] += w * jx
                        J[p, f, 1] += w * jy
                        J[p, f, 2] += w * jz


#: the family's per-atom pieces (registered by :mod:`.spec`)
PIECES = AtomPieces(Plan, make_scratch, atom_values, atom_vjp, atom_jvp, atom_jacobian,
                    cache=True)
