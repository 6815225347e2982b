r"""The per-atom pieces of the polynomial symmetry functions (:mod:`.spec` defines them).

Every triplet term is T = R(r_ij) R(r_ik) X(r_jk) A(c), c = cos θ_ijk, with R the
function's radial window C(r; r_l, r_c), X = R for the narrow types (21, 24) and X = 1
for the wide ones (22, 25), and A(c) = C(arccos c; θ_l, θ_r), whose derivative is

    dA/dc = C'(θ) dθ/dc,   dθ/dc = -1 / sqrt(1 - c²).

Collinear triplets (θ = 0° or 180°) are left out, as n2p2 v2.3.0 intends ("our polynomial
is zero at 0 and 180 deg"); n2p2 tests |c| >= 1 on its rounded c, so whether it leaves out
an exactly collinear triplet (an atom between two of its own periodic images, say) depends
on the last bit of c. Here a triplet counts as collinear when |c| >= :data:`COLLINEAR`
(1 - 1e-14, θ within 1.4e-7 rad of 0° or 180°), which leaves out every exactly collinear triplet
whatever the rounding. (C'(θ) vanishes at 0° and 180° for every window n2p2 accepts, so
only the value C(θ) of a window centred on 0° or 180° changes by the choice.)
With the four scalar
partials ∂T/∂c, ∂T/∂r_ij, ∂T/∂r_ik, ∂T/∂r_jk the pair-vector derivatives are those of
:mod:`ase_nnp.descriptors.symmetry_functions.kernels` (∂c/∂D_ij = (u_ik - c u_ij)/r_ij,
∂r_ij/∂D_ij = u_ij, ∂r_jk/∂D_ik = -∂r_jk/∂D_ij = (D_ik - D_ij)/r_jk), whose helpers this
module reuses (pair geometry, element order, segments, scatter, triplet displacements).
Radial terms: ∂R(r_ij)/∂D_ij = R'(r_ij) u_ij.

Layout, as in the Gaussian symmetry functions: the windows of every distinct
(r_l, r_c, subtype) (*pair parts*) are evaluated once per pair; the angular functions
are grouped in lists per (centre, e1, e2), the weighted ones (23-25) entering every list
with the weight Z_j (Z_j Z_k); the triplets of one list form a *segment*, for which each
distinct angle window (A, dA/dc) and each distinct narrow r_jk window (X, X') is kept as
a row over the triplets, read again by the derivatives.
"""

import math
from typing import NamedTuple

import numpy as np
from numba import njit

from ..base import AtomPieces
from ..symmetry_functions.kernels import (add_along, add_segment, atom_span, clear_partials,
                                          order_by_element, pair_geometry, scatter, segment,
                                          segment_count, triplet, triplet_displacements)
from .compact import compact, window

RADIAL, NARROW, WIDE, W_RADIAL, W_NARROW, W_WIDE = 20, 21, 22, 23, 24, 25
ANGULAR_TYPES = (NARROW, WIDE, W_NARROW, W_WIDE)
WEIGHTED_TYPES = (W_RADIAL, W_NARROW, W_WIDE)
#: |cos θ| from which a triplet counts as collinear and is left out (module docstring)
COLLINEAR = 1.0 - 1e-14


class Plan(NamedTuple):
    """What the kernels read (:func:`build_plan`). Pair parts a: ``pp_*`` (window,
    centre, 1/half-width, core code, asymmetric); angle parts: ``ap_*`` (radians).
    Radial entries by key c·nel + e: ``rad_ptr`` (CSR) with pair part, weight and
    column. Angular lists by key (c·nel + e1)·nel + e2: their narrow pair parts
    ``L_np_*`` and angle parts ``L_ap_*`` (CSR of global ids), and per entry the
    pair part, local narrow index (-1: wide), local angle part, weight and column."""
    nel: int
    by_z: np.ndarray
    pp_left: np.ndarray
    pp_right: np.ndarray
    pp_centre: np.ndarray
    pp_scale: np.ndarray
    pp_kind: np.ndarray
    pp_asym: np.ndarray
    ap_left: np.ndarray
    ap_right: np.ndarray
    ap_centre: np.ndarray
    ap_scale: np.ndarray
    ap_kind: np.ndarray
    rad_ptr: np.ndarray
    rad_pp: np.ndarray
    rad_w: np.ndarray
    rad_col: np.ndarray
    L_np_ptr: np.ndarray
    L_np_ids: np.ndarray
    L_ap_ptr: np.ndarray
    L_ap_ids: np.ndarray
    ent_ptr: np.ndarray
    ent_pp: np.ndarray
    ent_np: np.ndarray
    ent_ap: np.ndarray
    ent_w: np.ndarray
    ent_col: np.ndarray
    max_np: int
    max_ap: int


def _csr(lists):
    ptr = np.zeros(len(lists) + 1, dtype=np.int64)
    ptr[1:] = np.cumsum([len(x) for x in lists])
    return ptr, [x for lst in lists for x in lst]


def build_plan(rows, numbers):
    """The flat arrays of :class:`Plan` from the functions ``rows`` (:class:`.spec.
    PolynomialFunction`, in add order) and the atomic numbers of the elements."""
    nel = len(numbers)
    z = [float(x) for x in numbers]
    col, seen = [], [0] * nel
    for row in rows:
        col.append(seen[row.center])
        seen[row.center] += 1
    ppkeys = sorted({(row.rl, row.rc, row.kind, row.asymmetric) for row in rows})
    pp_of = [ppkeys.index((row.rl, row.rc, row.kind, row.asymmetric)) for row in rows]
    angular = [f for f, row in enumerate(rows) if row.type in ANGULAR_TYPES]
    # angles in radians as n2p2 converts them (degrees * pi / 180)
    apkeys = sorted({(rows[f].angle_left * math.pi / 180.0,
                      rows[f].angle_right * math.pi / 180.0, rows[f].kind) for f in angular})
    ap_of = {f: apkeys.index((rows[f].angle_left * math.pi / 180.0,
                              rows[f].angle_right * math.pi / 180.0, rows[f].kind))
             for f in angular}
    rad_lists = [[] for _ in range(nel * nel)]
    ang_lists = [[] for _ in range(nel ** 3)]
    for f, row in enumerate(rows):
        c = row.center
        if row.type == RADIAL:
            rad_lists[c * nel + row.neighbor1].append((pp_of[f], 1.0, col[f]))
        elif row.type == W_RADIAL:
            for e in range(nel):
                rad_lists[c * nel + e].append((pp_of[f], z[e], col[f]))
        elif row.type in (NARROW, WIDE):
            n1, n2 = row.neighbor1, row.neighbor2
            ang_lists[(c * nel + n1) * nel + n2].append((f, 1.0))
            if n1 != n2:
                ang_lists[(c * nel + n2) * nel + n1].append((f, 1.0))
        else:
            for e1 in range(nel):
                for e2 in range(nel):
                    ang_lists[(c * nel + e1) * nel + e2].append((f, z[e1] * z[e2]))
    rad_ptr, rad = _csr(rad_lists)
    L_np, L_ap, entries = [], [], []
    for lst in ang_lists:
        nps = sorted({pp_of[f] for f, _ in lst if rows[f].type in (NARROW, W_NARROW)})
        aps = sorted({ap_of[f] for f, _ in lst})
        L_np.append(nps)
        L_ap.append(aps)
        entries.append([(pp_of[f], nps.index(pp_of[f]) if rows[f].type in (NARROW, W_NARROW)
                         else -1, aps.index(ap_of[f]), w, col[f]) for f, w in lst])
    L_np_ptr, np_ids = _csr(L_np)
    L_ap_ptr, ap_ids = _csr(L_ap)
    ent_ptr, ent = _csr(entries)
    pp = [(left, right) + window(left, right) + (kind, asym)
          for left, right, kind, asym in ppkeys]
    ap = [(left, right) + window(left, right) + (kind,) for left, right, kind in apkeys]
    f64 = lambda v: np.array(v, dtype=np.float64)    # noqa: E731
    i64 = lambda v: np.array(v, dtype=np.int64)      # noqa: E731
    by_z = np.argsort(np.asarray(numbers), kind="stable").astype(np.int64)
    return Plan(nel, by_z,
                f64([p[0] for p in pp]), f64([p[1] for p in pp]), f64([p[2] for p in pp]),
                f64([p[3] for p in pp]), i64([p[4] for p in pp]), i64([p[5] for p in pp]),
                f64([a[0] for a in ap]), f64([a[1] for a in ap]), f64([a[2] for a in ap]),
                f64([a[3] for a in ap]), i64([a[4] for a in ap]),
                rad_ptr, i64([x[0] for x in rad]), f64([x[1] for x in rad]),
                i64([x[2] for x in rad]),
                L_np_ptr, i64(np_ids), L_ap_ptr, i64(ap_ids),
                ent_ptr, i64([x[0] for x in ent]), i64([x[1] for x in ent]),
                i64([x[2] for x in ent]), f64([x[3] for x in ent]), i64([x[4] for x in ent]),
                max(max((len(x) for x in L_np), default=0), 1),
                max(max((len(x) for x in L_ap), default=0), 1))


class Scratch(NamedTuple):
    """One worker's arrays for the atom in hand (q: its pairs, t: its triplets); the
    pair, triplet and s_* fields carry the names the shared helpers of
    :mod:`ase_nnp.descriptors.symmetry_functions.kernels` read."""
    u: np.ndarray       # (max_pairs, 3) unit pair vectors
    r: np.ndarray       # (max_pairs,) distances
    el: np.ndarray      # (max_pairs,) neighbour elements
    order: np.ndarray   # (max_pairs,) pairs ordered by element
    eptr: np.ndarray    # (2, nel) element e's pairs: order[eptr[0, e]:eptr[1, e]]
    R: np.ndarray       # (n_pair_parts, max_pairs) radial windows C(r)
    dR: np.ndarray      # (n_pair_parts, max_pairs) C'(r)
    tq1: np.ndarray     # (cap,) per triplet: its pairs, cos θ, r_jk, θ, dθ/dc
    tq2: np.ndarray
    tc: np.ndarray
    tr: np.ndarray
    tth: np.ndarray
    tdth: np.ndarray
    seg: np.ndarray     # (nel² + 1, 3) segments (list key, first, end); count in [-1, 0]
    rX: np.ndarray      # (max_np, cap) narrow windows X(r_jk)
    rdX: np.ndarray     # (max_np, cap) X'(r_jk)
    rA: np.ndarray      # (max_ap, cap) angle windows A(c)
    rdA: np.ndarray     # (max_ap, cap) dA/dc
    s_c: np.ndarray     # (cap,) contracted partials ∂/∂c, ∂/∂r_ij, ∂/∂r_ik, ∂/∂r_jk
    s_1: np.ndarray
    s_2: np.ndarray
    s_jk: np.ndarray


@njit(cache=True, error_model="numpy")
def make_scratch(max_pairs, plan, records):
    """Scratch for one worker; without ``records`` the partials s_* are left out."""
    cap = max(max_pairs * (max_pairs - 1) // 2, 1)
    dcap = cap if records else 1
    n_pp = max(plan.pp_left.shape[0], 1)
    nel = plan.nel
    return Scratch(np.empty((max_pairs, 3)), np.empty(max_pairs),
                   np.empty(max_pairs, dtype=np.int64), np.empty(max_pairs, dtype=np.int64),
                   np.empty((2, nel), dtype=np.int64),
                   np.empty((n_pp, max_pairs)), np.empty((n_pp, max_pairs)),
                   np.empty(cap, dtype=np.int64), np.empty(cap, dtype=np.int64),
                   np.empty(cap), np.empty(cap), np.empty(cap), np.empty(cap),
                   np.zeros((nel * nel + 1, 3), dtype=np.int64),
                   np.empty((plan.max_np, cap)), np.empty((plan.max_np, cap)),
                   np.empty((plan.max_ap, cap)), np.empty((plan.max_ap, cap)),
                   np.empty(dcap), np.empty(dcap), np.empty(dcap), np.empty(dcap))


@njit(cache=True, inline="always", error_model="numpy")
def _in_window(x, window):
    """(C(x), C'(x)) of ``window``: the arguments of :func:`.compact.compact` after x
    (:func:`_pair_window`, :func:`_angle_window`)."""
    left, right, centre, scale, kind, asymmetric = window
    return compact(x, left, right, centre, scale, kind, asymmetric)


@njit(cache=True, inline="always", error_model="numpy")
def _pair_window(plan, a):
    """The radial window of pair part a (:func:`_in_window`)."""
    return (plan.pp_left[a], plan.pp_right[a], plan.pp_centre[a], plan.pp_scale[a],
            plan.pp_kind[a], plan.pp_asym[a])


@njit(cache=True, inline="always", error_model="numpy")
def _angle_window(plan, k):
    """The window of angle part k (radians; always the symmetric core; :func:`_in_window`)."""
    return (plan.ap_left[k], plan.ap_right[k], plan.ap_centre[k], plan.ap_scale[k],
            plan.ap_kind[k], 0)


@njit(cache=True, inline="always", error_model="numpy")
def _pair_terms(i, first, jn, D, r, species, plan, scr):
    """Unit vectors, distances and elements of the pairs of atom i (ordered by element,
    elements in order of atomic number) and every radial window R_a(r), R_a'(r)."""
    R, dR, rr = scr.R, scr.dR, scr.r
    p0, nq = pair_geometry(i, first, jn, D, r, species, plan.nel, scr)
    for q in range(nq):
        for a in range(plan.pp_left.shape[0]):
            R[a, q], dR[a, q] = _in_window(rr[q], _pair_window(plan, a))
    order_by_element(nq, plan.nel, plan.by_z, scr)
    return p0, nq


@njit(cache=True, inline="always", error_model="numpy")
def _window_row(x, lo, hi, window, V, dV, slope, chained):
    """V[t], dV[t] = C(x[t]), C'(x[t]) of ``window`` for lo <= t < hi, C' times slope[t]
    (the chain rule to another variable) when ``chained``."""
    for t in range(lo, hi):
        v, dv = _in_window(x[t], window)
        V[t] = v
        dV[t] = dv * slope[t] if chained else dv


@njit(cache=True, error_model="numpy")
def _segment_rows(key, lo, hi, plan, scr):
    """The rows of one segment: angle windows A(c) = C(θ), dA/dc = C'(θ) dθ/dc, and narrow
    windows X(r_jk), X'(r_jk)."""
    a0 = plan.L_ap_ptr[key]
    for m in range(plan.L_ap_ptr[key + 1] - a0):
        window = _angle_window(plan, plan.L_ap_ids[a0 + m])
        _window_row(scr.tth, lo, hi, window, scr.rA[m], scr.rdA[m], scr.tdth, True)
    n0 = plan.L_np_ptr[key]
    for m in range(plan.L_np_ptr[key + 1] - n0):
        window = _pair_window(plan, plan.L_np_ids[n0 + m])
        _window_row(scr.tr, lo, hi, window, scr.rX[m], scr.rdX[m], scr.tdth, False)


@njit(cache=True, error_model="numpy")
def atom_values(i, first, jn, D, r, species, plan, scr, Gi, records):
    """G_i into Gi (zeroed by the caller); the rows stay in ``scr`` for the derivatives.
    Returns the number of triplets."""
    p0, nq = _pair_terms(i, first, jn, D, r, species, plan, scr)
    c = species[i]
    nel = plan.nel
    R, u, el, order, eptr = scr.R, scr.u, scr.el, scr.order, scr.eptr
    tq1, tq2, tc, tr, tth, tdth, seg = (scr.tq1, scr.tq2, scr.tc, scr.tr, scr.tth, scr.tdth,
                                        scr.seg)
    for q in range(nq):
        key = c * nel + el[q]
        for t in range(plan.rad_ptr[key], plan.rad_ptr[key + 1]):
            v = R[plan.rad_pp[t], q]
            if v != 0.0:
                Gi[plan.rad_col[t]] += plan.rad_w[t] * v
    n = 0
    n_seg = 0
    for k1 in range(nel):
        e1 = plan.by_z[k1]
        for k2 in range(k1, nel):
            e2 = plan.by_z[k2]
            key = (c * nel + e1) * nel + e2
            if plan.ent_ptr[key] == plan.ent_ptr[key + 1]:
                continue
            lo = n
            for a1 in range(eptr[0, e1], eptr[1, e1]):
                q1 = order[a1]
                for a2 in range(a1 + 1 if e1 == e2 else eptr[0, e2], eptr[1, e2]):
                    q2 = order[a2]
                    cth = u[q1, 0] * u[q2, 0] + u[q1, 1] * u[q2, 1] + u[q1, 2] * u[q2, 2]
                    if abs(cth) >= COLLINEAR:
                        continue                  # collinear to rounding (module docstring)
                    dx = D[p0 + q2, 0] - D[p0 + q1, 0]
                    dy = D[p0 + q2, 1] - D[p0 + q1, 1]
                    dz = D[p0 + q2, 2] - D[p0 + q1, 2]
                    tq1[n] = q1
                    tq2[n] = q2
                    tc[n] = cth
                    tr[n] = math.sqrt(dx * dx + dy * dy + dz * dz)
                    tth[n] = math.acos(cth)
                    tdth[n] = -1.0 / math.sqrt(1.0 - cth * cth)
                    n += 1
            if n == lo:
                continue
            _segment_rows(key, lo, n, plan, scr)
            for e in range(plan.ent_ptr[key], plan.ent_ptr[key + 1]):
                Ra = R[plan.ent_pp[e]]
                A = scr.rA[plan.ent_ap[e]]
                m = plan.ent_np[e]
                s = 0.0
                if m >= 0:
                    X = scr.rX[m]
                    for t in range(lo, n):
                        s += Ra[tq1[t]] * Ra[tq2[t]] * X[t] * A[t]
                else:
                    for t in range(lo, n):
                        s += Ra[tq1[t]] * Ra[tq2[t]] * A[t]
                Gi[plan.ent_col[e]] += plan.ent_w[e] * s
            n_seg = add_segment(seg, n_seg, key, lo, n)
    seg[seg.shape[0] - 1, 0] = n_seg
    return n


@njit(cache=True, inline="always", error_model="numpy")
def _radial_slope(c, q, w, plan, scr):
    """Σ_f w_f ∂G_f/∂r for the radial functions of pair q of the atom in hand (element c)."""
    key = c * plan.nel + scr.el[q]
    s = 0.0
    for t in range(plan.rad_ptr[key], plan.rad_ptr[key + 1]):
        s += w[plan.rad_col[t]] * plan.rad_w[t] * scr.dR[plan.rad_pp[t], q]
    return s


@njit(cache=True, error_model="numpy")
def atom_vjp(i, first, jn, D, r, species, plan, scr, state, w, g):
    """g_p += Σ_f w_f ∂G_f/∂D_p for the pairs p of atom i, from the rows of
    ``atom_values(records=True)``."""
    c, p0, nq = atom_span(i, first, species)
    R, dR, tq1, tq2, seg = scr.R, scr.dR, scr.tq1, scr.tq2, scr.seg
    s_c, s_1, s_2, s_jk = scr.s_c, scr.s_1, scr.s_2, scr.s_jk
    for q in range(nq):
        add_along(g, p0 + q, _radial_slope(c, q, w, plan, scr), scr.u, q)
    for sg in range(segment_count(seg)):
        key, lo, hi = segment(seg, sg)
        clear_partials(scr, lo, hi)
        for e in range(plan.ent_ptr[key], plan.ent_ptr[key + 1]):
            wt = w[plan.ent_col[e]] * plan.ent_w[e]
            if wt == 0.0:
                continue
            a = plan.ent_pp[e]
            A = scr.rA[plan.ent_ap[e]]
            dA = scr.rdA[plan.ent_ap[e]]
            m = plan.ent_np[e]
            for t in range(lo, hi):
                R1 = R[a, tq1[t]]
                R2 = R[a, tq2[t]]
                X = 1.0
                if m >= 0:
                    X = scr.rX[m, t]
                    s_jk[t] += wt * R1 * R2 * scr.rdX[m, t] * A[t]
                s_c[t] += wt * R1 * R2 * X * dA[t]
                s_1[t] += wt * dR[a, tq1[t]] * R2 * X * A[t]
                s_2[t] += wt * R1 * dR[a, tq2[t]] * X * A[t]
        scatter(p0, lo, hi, D, scr, g)


@njit(cache=True, inline="always", error_model="numpy")
def _triplet_partials(a, m, k, t, plan, scr):
    """(∂T/∂c, ∂T/∂r_ij, ∂T/∂r_ik, ∂T/∂r_jk) of triplet t for pair part a, narrow row m
    (-1: wide) and angle row k."""
    R, dR, q1, q2 = scr.R, scr.dR, scr.tq1[t], scr.tq2[t]
    A = scr.rA[k, t]
    X = 1.0
    dX = 0.0
    if m >= 0:
        X = scr.rX[m, t]
        dX = scr.rdX[m, t]
    R1 = R[a, q1]
    R2 = R[a, q2]
    return (R1 * R2 * X * scr.rdA[k, t], dR[a, q1] * R2 * X * A, R1 * dR[a, q2] * X * A,
            R1 * R2 * dX * A)


@njit(cache=True, error_model="numpy")
def atom_jvp(i, first, jn, D, r, species, plan, scr, state, V, dGi):
    """dGi[f] += Σ_p ∂G_f/∂D_p · V_p over the pairs p of atom i, from the rows."""
    c, p0, nq = atom_span(i, first, species)
    u, el, dR, seg = scr.u, scr.el, scr.dR, scr.seg
    s_c, s_1, s_2, s_jk = scr.s_c, scr.s_1, scr.s_2, scr.s_jk
    for q in range(nq):
        p = p0 + q
        vr = u[q, 0] * V[p, 0] + u[q, 1] * V[p, 1] + u[q, 2] * V[p, 2]
        key = c * plan.nel + el[q]
        for t in range(plan.rad_ptr[key], plan.rad_ptr[key + 1]):
            dGi[plan.rad_col[t]] += plan.rad_w[t] * dR[plan.rad_pp[t], q] * vr
    for sg in range(segment_count(seg)):
        key, lo, hi = segment(seg, sg)
        triplet_displacements(p0, lo, hi, D, V, scr)
        for e in range(plan.ent_ptr[key], plan.ent_ptr[key + 1]):
            a, m, k = plan.ent_pp[e], plan.ent_np[e], plan.ent_ap[e]
            s = 0.0
            for t in range(lo, hi):
                Tc, T1, T2, Tjk = _triplet_partials(a, m, k, t, plan, scr)
                s += Tc * s_c[t] + T1 * s_1[t] + T2 * s_2[t] + Tjk * s_jk[t]
            dGi[plan.ent_col[e]] += plan.ent_w[e] * s


@njit(cache=True, error_model="numpy")
def atom_jacobian(i, first, jn, D, r, species, plan, scr, state, J, j0):
    """J[p - j0, f, :] += ∂G_f/∂D_p for the pairs p of atom i, from the rows."""
    c, p0, nq = atom_span(i, first, species)
    u, rr, tr, el, dR, seg = scr.u, scr.r, scr.tr, scr.el, scr.dR, scr.seg
    for q in range(nq):
        key = c * plan.nel + el[q]
        for t in range(plan.rad_ptr[key], plan.rad_ptr[key + 1]):
            dT = plan.rad_w[t] * dR[plan.rad_pp[t], q]
            for d in range(3):
                J[p0 + q - j0, plan.rad_col[t], d] += dT * u[q, d]
    for sg in range(segment_count(seg)):
        key, lo, hi = segment(seg, sg)
        for e in range(plan.ent_ptr[key], plan.ent_ptr[key + 1]):
            a, m, k = plan.ent_pp[e], plan.ent_np[e], plan.ent_ap[e]
            wt = plan.ent_w[e]
            f = plan.ent_col[e]
            for t in range(lo, hi):
                Tc, T1, T2, Tjk = _triplet_partials(a, m, k, t, plan, scr)
                q1, q2, pa, pb, cth = triplet(t, p0 - j0, scr)
                cj = wt * Tc / rr[q1]
                ck = wt * Tc / rr[q2]
                hjk = wt * Tjk / tr[t] if tr[t] > 0.0 else 0.0
                for d in range(3):
                    djk = (D[p0 + q2, d] - D[p0 + q1, d]) * hjk
                    J[pa, f, d] += (cj * (u[q2, d] - cth * u[q1, d]) + wt * T1 * u[q1, d]
                                    - djk)
                    J[pb, f, d] += (ck * (u[q1, d] - cth * u[q2, d]) + wt * T2 * u[q2, d]
                                    + djk)


#: the family's per-atom pieces (registered by :mod:`.spec`)
PIECES = AtomPieces(Plan, make_scratch, atom_values, atom_vjp, atom_jvp, atom_jacobian,
                    share_jacobian=True, cache=True)
