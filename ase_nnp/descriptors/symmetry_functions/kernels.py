r"""The per-atom pieces of the symmetry functions (:mod:`.spec` defines them).

Derivatives
-----------
Each triplet term is T(c, r_ij, r_ik, r_jk) with c = cos θ. Writing
u = D/r, the geometric derivatives are

    ∂c/∂D_ij = (u_ik - c u_ij) / r_ij,   ∂c/∂D_ik = (u_ij - c u_ik) / r_ik,
    ∂r_ij/∂D_ij = u_ij,   ∂r_jk/∂D_ik = -∂r_jk/∂D_ij = (D_ik - D_ij) / r_jk,

so one pass over triplets gives, from the four scalar partials of T,

* ``forward``:  G_i,
* ``backward``: g_ij = Σ_f w_if ∂G_if/∂D_ij for given weights w = ∂E/∂G
  (a vector–Jacobian product; the calculator's path to forces and stress),
* ``jvp``:      δG_if = Σ_j ∂G_if/∂D_ij · V_ij for given pair displacements V
  (a Jacobian–vector product; the trainer's path to force-loss gradients).

No dG/dr array is ever materialised. All three read the records of one per-atom
forward pass (the per-atom pieces of :mod:`ase_nnp.descriptors.base`), so they cannot
drift apart. Per-pair quantities (f_c, the
Gaussians of the angular functions) are computed once per pair and reused in
every triplet.

Every function has its own cutoff radius, cutoff type and inner cutoff α (as
in n2p2); functions sharing these share the per-pair cutoff values.
"""

import math
from typing import NamedTuple

import numpy as np
from numba import njit

from ..base import AtomPieces
from .cutoffs import cutoff

RADIAL, NARROW, WIDE = 2, 3, 9


class Plan(NamedTuple):
    """What the kernels read, built once per specification by :func:`_build_plan`.

    Per function f: ``col`` (its column in the centre's row), ``eta``, ``rs``, ``group``
    (its cutoff group). Per cutoff group: ``g_rc``, ``g_type``, ``g_alpha``. Radial
    functions by (centre, neighbour) key c·nel + e: CSR ``rad_ptr``/``rad_ids``. Pair
    parts a (cutoff group, η, r_s of the angular functions): ``pp_*``; triplet parts
    (pair part, narrow?): ``tp_*``; angular powers (λ, ζ, 2^(1-ζ), ζ as an integer or -1):
    ``co_*``. Angular lists by key (c·nel + e1)·nel + e2: their triplet parts
    ``L_tp_*``, powers ``L_co_*``, the r_jk beyond which no function of the list
    contributes (``L_skip_rc``, -1: none), and per function of the list (local part,
    local power, column): ``ent_*``. ``max_tp``/``max_co``: the longest list's counts.
    """
    nel: int
    by_z: np.ndarray
    col: np.ndarray
    eta: np.ndarray
    rs: np.ndarray
    group: np.ndarray
    g_rc: np.ndarray
    g_type: np.ndarray
    g_alpha: np.ndarray
    rad_ptr: np.ndarray
    rad_ids: np.ndarray
    pp_group: np.ndarray
    pp_eta: np.ndarray
    pp_rs: np.ndarray
    tp_pp: np.ndarray
    tp_narrow: np.ndarray
    co_lam: np.ndarray
    co_zeta: np.ndarray
    co_zint: np.ndarray
    co_pref: np.ndarray
    L_tp_ptr: np.ndarray
    L_tp_ids: np.ndarray
    L_co_ptr: np.ndarray
    L_co_ids: np.ndarray
    L_skip_rc: np.ndarray
    ent_ptr: np.ndarray
    ent_tp: np.ndarray
    ent_co: np.ndarray
    ent_col: np.ndarray
    max_tp: int
    max_co: int


def build_plan(rows, nel, numbers=None):
    """Flat arrays the kernel reads.

    Radial functions are looked up per (centre, neighbour) element pair.
    Angular functions are grouped in *lists* per (centre, e1, e2) (both
    orders). Within a list every function is the product of

    * a triplet part: R_a(r_ij) R_a(r_ik) [E_a(r_jk) f_c(r_jk) if narrow], with
      R_a(r) = exp(-η (r - r_s)²) f_c(r) a *pair part* shared by all functions
      with the same (cutoff, η, r_s), computed once per pair;
    * an angular power (1 + λ cos θ)^ζ shared by all functions with the same (λ, ζ);

    so each triplet evaluates every distinct part and power once and then
    spends two multiplications per function.
    """
    nf = len(rows)
    kind = np.array([r.type for r in rows], dtype=np.int64)
    center = np.array([r.center for r in rows], dtype=np.int64)
    col = np.zeros(nf, dtype=np.int64)
    seen = np.zeros(nel, dtype=np.int64)
    for f in range(nf):
        col[f] = seen[center[f]]
        seen[center[f]] += 1
    eta = np.array([r.eta for r in rows])
    rs = np.array([r.rs for r in rows])
    # cutoff groups: functions with the same (rc, type, alpha) share f_c per pair
    gkeys = sorted({(r.cutoff, r.cutoff_type, r.alpha) for r in rows})
    group = np.array([gkeys.index((r.cutoff, r.cutoff_type, r.alpha)) for r in rows],
                     dtype=np.int64)
    g_rc = np.array([k[0] for k in gkeys])
    g_type = np.array([k[1] for k in gkeys], dtype=np.int64)
    g_alpha = np.array([k[2] for k in gkeys])
    angular = [f for f in range(nf) if kind[f] != RADIAL]
    # pair parts (group, eta, rs) and triplet parts (pair part, narrow?)
    ppkeys = sorted({(group[f], eta[f], rs[f]) for f in angular})
    pp_of = {f: ppkeys.index((group[f], eta[f], rs[f])) for f in angular}
    tpkeys = sorted({(pp_of[f], kind[f] == NARROW) for f in angular})
    tp_of = {f: tpkeys.index((pp_of[f], kind[f] == NARROW)) for f in angular}
    ckeys = sorted({(rows[f].lambda_, rows[f].zeta) for f in angular})
    co_of = {f: ckeys.index((rows[f].lambda_, rows[f].zeta)) for f in angular}
    pp_group = np.array([k[0] for k in ppkeys], dtype=np.int64)
    pp_eta = np.array([k[1] for k in ppkeys], dtype=np.float64)
    pp_rs = np.array([k[2] for k in ppkeys], dtype=np.float64)
    tp_pp = np.array([k[0] for k in tpkeys], dtype=np.int64)
    tp_narrow = np.array([k[1] for k in tpkeys], dtype=np.int64)
    co_lam = np.array([k[0] for k in ckeys], dtype=np.float64)
    co_zeta = np.array([k[1] for k in ckeys], dtype=np.float64)
    co_pref = np.array([2.0 ** (1.0 - z) for _, z in ckeys], dtype=np.float64)   # 2^(1-zeta)
    co_zint = np.array([int(z) if z == round(z) and z <= 64 else -1 for _, z in ckeys],
                       dtype=np.int64)
    # radial lookup by (center, neighbour)
    rad_lists = [[] for _ in range(nel * nel)]
    ang_lists = [[] for _ in range(nel * nel * nel)]
    for f, r in enumerate(rows):
        c, n1, n2 = r.center, r.neighbor1, r.neighbor2
        if kind[f] == RADIAL:
            rad_lists[c * nel + n1].append(f)
        else:
            ang_lists[(c * nel + n1) * nel + n2].append(f)
            if n1 != n2:
                ang_lists[(c * nel + n2) * nel + n1].append(f)

    def csr(lists):
        ptr = np.zeros(len(lists) + 1, dtype=np.int64)
        ptr[1:] = np.cumsum([len(x) for x in lists])
        ids = np.array([f for x in lists for f in x], dtype=np.int64)
        return ptr, ids

    rad_ptr, rad_ids = csr(rad_lists)
    # per angular list: its triplet parts (sorted: grouped by cutoff group), its
    # powers, and per function (local part, local power, column, 2^(1-zeta))
    L_tp, L_co, entries = [], [], []
    L_skip_rc = np.full(len(ang_lists), -1.0)
    for key, lst in enumerate(ang_lists):
        tps = sorted({tp_of[f] for f in lst}, key=lambda t: (pp_group[tp_pp[t]], t))
        cos_ = sorted({co_of[f] for f in lst})
        L_tp.append(tps)
        L_co.append(cos_)
        entries.append([(tps.index(tp_of[f]), cos_.index(co_of[f]), col[f]) for f in lst])
        if tps and all(tp_narrow[t] for t in tps):
            # every function needs f_c(r_jk) > 0: skip triplets beyond the largest cutoff
            L_skip_rc[key] = max(g_rc[pp_group[tp_pp[t]]] for t in tps)
    L_tp_ptr, L_tp_ids = csr(L_tp)
    L_co_ptr, L_co_ids = csr(L_co)
    ent_ptr = np.zeros(len(entries) + 1, dtype=np.int64)
    ent_ptr[1:] = np.cumsum([len(x) for x in entries])
    flat = [e for x in entries for e in x]
    ent_tp = np.array([e[0] for e in flat], dtype=np.int64)
    ent_co = np.array([e[1] for e in flat], dtype=np.int64)
    ent_col = np.array([e[2] for e in flat], dtype=np.int64)
    max_tp = max((len(x) for x in L_tp), default=0)
    max_co = max((len(x) for x in L_co), default=0)
    # element indices in order of atomic number: the kernels visit the neighbours and the
    # (e1, e2) lists in that order, so the sums do not depend on the order the
    # elements were listed in (a potential and its n2p2 round trip agree bit for bit)
    by_z = np.argsort(np.asarray(numbers if numbers is not None else range(nel)),
                      kind="stable").astype(np.int64)
    return Plan(nel, by_z, col, eta, rs, group, g_rc, g_type, g_alpha, rad_ptr, rad_ids,
                pp_group, pp_eta, pp_rs, tp_pp, tp_narrow, co_lam, co_zeta, co_zint, co_pref,
                L_tp_ptr, L_tp_ids, L_co_ptr, L_co_ids, L_skip_rc,
                ent_ptr, ent_tp, ent_co, ent_col, max(max_tp, 1), max(max_co, 1))


@njit(cache=True, inline="always", error_model="numpy")
def _real_power(base, zeta):
    """(base^zeta, d base^zeta / d base) for base >= 0, zeta >= 1, where ζ has no
    integer path (not an integer, or above 64; the others: :func:`_integer_power`)."""
    if base <= 0.0:
        return 0.0, 0.0
    p = base ** zeta
    return p, zeta * p / base


# ---------------------------------------------------------------------------
# Per-atom pieces. A pass over one atom is: pair_terms (per-pair cutoffs and
# Gaussians into scratch, the neighbours ordered by element), atom_forward
# (values; the atom's triplets gathered into structure-of-arrays *segments*, one
# per (centre, e1, e2) list (e1 before e2 by atomic number), each segment's parts, powers and their
# derivatives kept as rows over its triplets), then atom_vjp or atom_jvp,
# which read those rows instead of recomputing the transcendentals. Every inner
# loop runs over the triplets of a segment, on contiguous rows, so it
# vectorises. atom_values, atom_vjp, atom_jvp and atom_jacobian are the family's
# per-atom pieces (ase_nnp.descriptors.base), from which the generic kernel of the
# four modes and the fused energy kernel of ase_nnp.engine are built.
# ---------------------------------------------------------------------------

class Scratch(NamedTuple):
    """One worker's arrays for the atom in hand (q: its pairs, t: its triplets)."""
    u: np.ndarray       # (max_pairs, 3) unit pair vectors D/r
    r: np.ndarray       # (max_pairs,) pair distances
    el: np.ndarray      # (max_pairs,) neighbour elements
    order: np.ndarray   # (max_pairs,) the pairs ordered by neighbour element
    eptr: np.ndarray    # (2, nel) element e's pairs are order[eptr[0, e]:eptr[1, e]]
    fc: np.ndarray      # (n_groups, max_pairs) f_c(r) per cutoff group
    dfc: np.ndarray     # (n_groups, max_pairs) f_c'(r)
    R: np.ndarray       # (n_pair_parts, max_pairs) pair parts exp(-η (r - r_s)²) f_c(r)
    dR: np.ndarray      # (n_pair_parts, max_pairs) their r-derivatives
    tq1: np.ndarray     # (cap,) per triplet: its pairs q1, q2 (local)
    tq2: np.ndarray
    tc: np.ndarray      # (cap,) cos θ
    tr: np.ndarray      # (cap,) r_jk
    seg: np.ndarray     # (nel² + 1, 3) segments (list key, first, end triplet); count in [-1, 0]
    fjk: np.ndarray     # (cap,) f_c(r_jk) of the cutoff group in hand
    dfjk: np.ndarray    # (cap,) its derivative
    ejk: np.ndarray     # (cap,) exp(-η (r_jk - r_s)²) of the part in hand
    work: np.ndarray    # (cap,) work of the vectorised exp
    rP: np.ndarray      # (max_tp, cap) triplet parts P
    rP1: np.ndarray     # (max_tp, cap) ∂P/∂r_ij
    rP2: np.ndarray     # (max_tp, cap) ∂P/∂r_ik
    rPjk: np.ndarray    # (max_tp, cap) ∂P/∂r_jk
    rA: np.ndarray      # (max_co, cap) 2^(1-ζ) (1 + λ cos θ)^ζ
    rdA: np.ndarray     # (max_co, cap) its cos θ derivative
    s_c: np.ndarray     # (cap,) backward/jvp work per triplet: the cos θ, r_ij, r_ik,
    s_1: np.ndarray     # r_jk partials contracted with w (backward) or the geometric
    s_2: np.ndarray     # derivatives dotted with V (jvp)
    s_jk: np.ndarray


@njit(cache=True, error_model="numpy")
def make_scratch(max_pairs, plan, records):
    """Scratch arrays for one worker; without ``records`` (values only) the rows of
    derivatives are left out."""
    n_groups = plan.g_rc.shape[0]
    n_pp = plan.pp_eta.shape[0]
    nel = plan.nel
    cap = max(max_pairs * (max_pairs - 1) // 2, 1)
    dcap = cap if records else 1
    max_tp = plan.max_tp
    max_co = plan.max_co
    seg = np.zeros((nel * nel + 1, 3), dtype=np.int64)
    return Scratch(np.empty((max_pairs, 3)), np.empty(max_pairs),
                   np.empty(max_pairs, dtype=np.int64), np.empty(max_pairs, dtype=np.int64),
                   np.empty((2, nel), dtype=np.int64),
                   np.empty((n_groups, max_pairs)), np.empty((n_groups, max_pairs)),
                   np.empty((n_pp, max_pairs)), np.empty((n_pp, max_pairs)),
                   np.empty(cap, dtype=np.int64), np.empty(cap, dtype=np.int64),
                   np.empty(cap), np.empty(cap), seg, np.empty(cap), np.empty(cap),
                   np.empty(cap), np.empty(cap),
                   np.empty((max_tp, cap)), np.empty((max_tp, dcap)),
                   np.empty((max_tp, dcap)), np.empty((max_tp, dcap)),
                   np.empty((max_co, cap)), np.empty((max_co, cap)),
                   np.empty(dcap), np.empty(dcap), np.empty(dcap), np.empty(dcap))


@njit(cache=True, inline="always", error_model="numpy")
def _gaussian_term(eta, rs, r, fc, dfc):
    """(T, dT/dr) for T(r) = exp(-η (r - r_s)²) f_c(r): the radial functions and the
    pair parts of the angular ones."""
    x = r - rs
    e = math.exp(-eta * x * x)
    return e * fc, e * (dfc - 2.0 * eta * x * fc)


@njit(cache=True, inline="always", error_model="numpy")
def add_segment(seg, n_seg, key, lo, hi):
    """Record triplets lo..hi-1 of list ``key`` as segment n_seg; returns n_seg + 1. The
    forward pass ends by writing the count into the last row (:func:`segment_count`)."""
    seg[n_seg, 0] = key
    seg[n_seg, 1] = lo
    seg[n_seg, 2] = hi
    return n_seg + 1


@njit(cache=True, inline="always", error_model="numpy")
def segment_count(seg):
    """The number of segments the forward pass of the atom in hand recorded."""
    return seg[seg.shape[0] - 1, 0]


@njit(cache=True, inline="always", error_model="numpy")
def segment(seg, sg):
    """(list key, first triplet, end triplet) of segment sg."""
    return seg[sg, 0], seg[sg, 1], seg[sg, 2]


@njit(cache=True, inline="always", error_model="numpy")
def atom_span(i, first, species):
    """(element of atom i, its first pair, its number of pairs)."""
    return species[i], first[i], first[i + 1] - first[i]


@njit(cache=True, inline="always", error_model="numpy")
def add_along(g, p, s, u, q):
    """g[p] += s u_q: a derivative s = ∂/∂r of pair q (row p) as its pair vector's,
    ∂r/∂D = u."""
    g[p, 0] += s * u[q, 0]
    g[p, 1] += s * u[q, 1]
    g[p, 2] += s * u[q, 2]


@njit(cache=True, inline="always", error_model="numpy")
def clear_partials(scr, lo, hi):
    """s_c, s_1, s_2, s_jk = 0 over triplets lo..hi-1, before a vector–Jacobian product
    adds to them."""
    for t in range(lo, hi):
        scr.s_c[t] = 0.0
        scr.s_1[t] = 0.0
        scr.s_2[t] = 0.0
        scr.s_jk[t] = 0.0


@njit(cache=True, inline="always", error_model="numpy")
def triplet(t, p0, scr):
    """(q1, q2, p0 + q1, p0 + q2, cos θ) of triplet t: its two pairs, local and as rows
    from p0."""
    q1 = scr.tq1[t]
    q2 = scr.tq2[t]
    return q1, q2, p0 + q1, p0 + q2, scr.tc[t]


# The per-atom pieces (atom_values, atom_vjp, atom_jvp, atom_jacobian) are compiled
# once each and called per atom (inlined into every kernel that uses them they tripled
# the compile time, for no gain at this much work per call); pair_terms and atom_forward
# are inlined into atom_values: one more layer of calls or of an inlined wrapper passing
# the Plan and Scratch tuples (some 60 arrays, each reference-counted) cost 20% of a
# forward pass.

@njit(cache=True, inline="always", error_model="numpy")
def pair_geometry(i, first, jn, D, r, species, nel, scr):
    """Unit vectors ``scr.u``, distances ``scr.r`` and neighbour elements ``scr.el`` of
    the pairs of atom i, and the count of each element in ``scr.eptr[1]``; returns (first
    pair, number of pairs). Shared with the polynomial symmetry functions."""
    u, rr, el, eptr = scr.u, scr.r, scr.el, scr.eptr
    p0 = first[i]
    nq = first[i + 1] - p0
    for e in range(nel):
        eptr[1, e] = 0
    for q in range(nq):
        p = p0 + q
        rq = r[p]
        inv = 1.0 / rq
        u[q, 0] = D[p, 0] * inv
        u[q, 1] = D[p, 1] * inv
        u[q, 2] = D[p, 2] * inv
        rr[q] = rq
        el[q] = species[jn[p]]
        eptr[1, el[q]] += 1
    return p0, nq


@njit(cache=True, inline="always", error_model="numpy")
def order_by_element(nq, nel, by_z, scr):
    """Counting sort of the pairs by element (counts in ``scr.eptr[1]`` from
    :func:`pair_geometry`), the blocks in order of atomic number (``by_z``): element e's
    pairs are scr.order[eptr[0, e]:eptr[1, e]]."""
    el, order, eptr = scr.el, scr.order, scr.eptr
    start = 0
    for k in range(nel):
        e = by_z[k]
        n_e = eptr[1, e]
        eptr[0, e] = start
        eptr[1, e] = start                   # the fill position, then the block's end
        start += n_e
    for q in range(nq):
        e = el[q]
        order[eptr[1, e]] = q
        eptr[1, e] += 1


@njit(cache=True, inline="always", error_model="numpy")
def pair_terms(i, first, jn, D, r, species, plan, scr):
    """Unit vectors, distances, neighbour elements (and the pairs ordered by them),
    f_c per cutoff group and the angular Gaussians R_a = exp(-η_a (r - r_s,a)²) f_c(r)
    of every pair of atom i."""
    g_rc, g_type, g_alpha = plan.g_rc, plan.g_type, plan.g_alpha
    pp_group, pp_eta, pp_rs = plan.pp_group, plan.pp_eta, plan.pp_rs
    rr, fc, dfc, R, dR = scr.r, scr.fc, scr.dfc, scr.R, scr.dR
    p0, nq = pair_geometry(i, first, jn, D, r, species, plan.nel, scr)
    for q in range(nq):
        rq = rr[q]
        for gg in range(g_rc.shape[0]):
            fc[gg, q], dfc[gg, q] = cutoff(g_type[gg], rq, g_rc[gg], g_alpha[gg])
        for a in range(pp_eta.shape[0]):
            gg = pp_group[a]
            if fc[gg, q] == 0.0:
                R[a, q] = 0.0
                dR[a, q] = 0.0
            else:
                R[a, q], dR[a, q] = _gaussian_term(pp_eta[a], pp_rs[a], rq, fc[gg, q],
                                                   dfc[gg, q])
    order_by_element(nq, plan.nel, plan.by_z, scr)
    return p0, nq


@njit(cache=True, inline="always", error_model="numpy")
def _radial_derivative(f, q, plan, fc, dfc, rr):
    """∂G_f/∂r of radial function f for pair q of the atom in hand (0 beyond its cutoff)."""
    gg = plan.group[f]
    if fc[gg, q] == 0.0:
        return 0.0
    return _gaussian_term(plan.eta[f], plan.rs[f], rr[q], fc[gg, q], dfc[gg, q])[1]


_LOG2E = 1.4426950408889634
_LN2_HI = 6.93147180369123816490e-01      # fdlibm's split of ln 2: k·_LN2_HI is exact
_LN2_LO = 1.90821492927058770002e-10
_SHIFTER = 6755399441055744.0             # 1.5·2^52: x + _SHIFTER rounds x to an integer
_SHIFTER_BITS = 0x4338000000000000         # its bit pattern
_EXP_MIN = -708.0                          # exp(-708) = 3.3e-308, still a normal number


@njit(cache=True, error_model="numpy")
def _gaussian_rows(r, rs, eta, out, work, lo, hi):
    """out[t] = exp(-η (r[t] - r_s)²) for lo <= t < hi, in loops that vectorise (libm's
    exp is a call per value). exp(v) = 2^k e^q with k = round(v / ln 2) and
    q = v - k ln 2 in two parts (Cody and Waite), |q| <= ln 2 / 2; e^q by its Taylor
    series to q^13 (remainder < 4e-18); 2^k built in the exponent bits, with k read off
    the mantissa of v / ln 2 + 1.5·2^52. Within 2 ulp of exp; arguments below -708 give
    exp(-708) instead of 0 or a subnormal."""
    u0 = np.uint64(lo)
    u1 = np.uint64(hi)
    for t in range(u0, u1):
        x = r[t] - rs
        v = max(-eta * x * x, _EXP_MIN)
        shifted = v * _LOG2E + _SHIFTER
        k = shifted - _SHIFTER
        q = (v - k * _LN2_HI) - k * _LN2_LO
        p = 1.0 / 6227020800.0                          # 1/13!
        p = p * q + 1.0 / 479001600.0
        p = p * q + 1.0 / 39916800.0
        p = p * q + 1.0 / 3628800.0
        p = p * q + 1.0 / 362880.0
        p = p * q + 1.0 / 40320.0
        p = p * q + 1.0 / 5040.0
        p = p * q + 1.0 / 720.0
        p = p * q + 1.0 / 120.0
        p = p * q + 1.0 / 24.0
        p = p * q + 1.0 / 6.0
        p = p * q + 0.5
        p = p * q + 1.0
        out[t] = p * q + 1.0
        work[t] = shifted
    bits = work.view(np.int64)
    for t in range(u0, u1):
        bits[t] = (bits[t] - _SHIFTER_BITS + 1023) << 52      # the bits of 2^k
    for t in range(u0, u1):
        out[t] *= work[t]


@njit(cache=True, error_model="numpy")
def _integer_power(A, dA, c, lam, zint, pref, lo, hi):
    """A[t] = pref b^ζ and dA[t] = pref ζ λ b^(ζ-1), b = max(1 + λ c[t], 0), for an
    integer ζ >= 1 by repeated multiplication (unsigned index, as in :func:`_dot`)."""
    u0 = np.uint64(lo)
    u1 = np.uint64(hi)
    for t in range(u0, u1):
        dA[t] = 1.0
    for _ in range(zint - 1):
        for t in range(u0, u1):
            dA[t] *= max(1.0 + lam * c[t], 0.0)
    for t in range(u0, u1):
        A[t] = pref * dA[t] * max(1.0 + lam * c[t], 0.0)
        dA[t] = pref * zint * lam * dA[t]


@njit(cache=True, error_model="numpy")
def _segment_rows(key, lo, hi, plan, scr, store):
    """The rows of one segment (triplets lo..hi-1 of list ``key``): its triplet parts
    P (and with ``store`` their r_ij, r_ik, r_jk derivatives) and angular powers A, dA."""
    g_rc, g_type, g_alpha = plan.g_rc, plan.g_type, plan.g_alpha
    pp_group, pp_eta, pp_rs, tp_pp, tp_narrow = (plan.pp_group, plan.pp_eta, plan.pp_rs,
                                                 plan.tp_pp, plan.tp_narrow)
    co_lam, co_zeta, co_zint, co_pref = plan.co_lam, plan.co_zeta, plan.co_zint, plan.co_pref
    R, dR, tq1, tq2, tc, tr = scr.R, scr.dR, scr.tq1, scr.tq2, scr.tc, scr.tr
    fjk, dfjk = scr.fjk, scr.dfjk
    t0 = plan.L_tp_ptr[key]
    last_g = -1
    for m in range(plan.L_tp_ptr[key + 1] - t0):
        tp = plan.L_tp_ids[t0 + m]
        a = tp_pp[tp]
        P = scr.rP[m]
        P1 = scr.rP1[m]
        P2 = scr.rP2[m]
        Pjk = scr.rPjk[m]
        Ra = R[a]
        dRa = dR[a]
        if tp_narrow[tp]:
            gg = pp_group[a]
            if gg != last_g:                  # the parts are sorted by cutoff group
                for t in range(lo, hi):
                    fjk[t], dfjk[t] = cutoff(g_type[gg], tr[t], g_rc[gg], g_alpha[gg])
                last_g = gg
            eta = pp_eta[a]
            rs = pp_rs[a]
            ejk = scr.ejk
            _gaussian_rows(tr, rs, eta, ejk, scr.work, lo, hi)
            if store:
                for t in range(lo, hi):
                    R1 = Ra[tq1[t]]
                    R2 = Ra[tq2[t]]
                    x = tr[t] - rs
                    e = ejk[t]
                    X = e * fjk[t]
                    P[t] = R1 * R2 * X
                    P1[t] = dRa[tq1[t]] * R2 * X
                    P2[t] = R1 * dRa[tq2[t]] * X
                    Pjk[t] = R1 * R2 * e * (dfjk[t] - 2.0 * eta * x * fjk[t])
            else:
                for t in range(lo, hi):
                    P[t] = Ra[tq1[t]] * Ra[tq2[t]] * ejk[t] * fjk[t]
        else:
            for t in range(lo, hi):
                R1 = Ra[tq1[t]]
                R2 = Ra[tq2[t]]
                P[t] = R1 * R2
                if store:
                    P1[t] = dRa[tq1[t]] * R2
                    P2[t] = R1 * dRa[tq2[t]]
                    Pjk[t] = 0.0
    k0 = plan.L_co_ptr[key]
    for m in range(plan.L_co_ptr[key + 1] - k0):
        co = plan.L_co_ids[k0 + m]
        lam = co_lam[co]
        zint = co_zint[co]
        pref = co_pref[co]
        A = scr.rA[m]
        dA = scr.rdA[m]
        if zint > 0:                          # (1 + λ c)^ζ by repeated multiplication
            _integer_power(A, dA, tc, lam, zint, pref, lo, hi)
        else:
            zeta = co_zeta[co]
            for t in range(lo, hi):
                Av, dAv = _real_power(max(1.0 + lam * tc[t], 0.0), zeta)
                A[t] = pref * Av
                dA[t] = pref * dAv * lam


@njit(cache=True, error_model="numpy", fastmath={"reassoc", "contract"})
def _dot(x, y, lo, hi):
    """Σ_{t=lo}^{hi-1} x[t] y[t], re-associated onto SIMD lanes (one sum at a time is
    bound by the adder's latency). The index is unsigned: with a signed one Numba's
    guard against negative indices keeps the loop scalar."""
    s = 0.0
    for t in range(np.uint64(lo), np.uint64(hi)):
        s += x[t] * y[t]
    return s


@njit(cache=True, error_model="numpy", fastmath={"contract"})
def _accumulate(acc, w, x, y, lo, hi):
    """acc[t] += w x[t] y[t] for lo <= t < hi (unsigned index, as in :func:`_dot`)."""
    for t in range(np.uint64(lo), np.uint64(hi)):
        acc[t] += w * x[t] * y[t]


@njit(cache=True, inline="always", error_model="numpy")
def atom_forward(c, nq, plan, scr, Gi, store):
    """Add atom i's descriptor values to Gi (row of length n_features_max, zeroed
    by the caller). The atom's triplets are gathered per (c, e1, e2) list into
    segments, the triplets whose r_jk lies beyond every function of the list left
    out; with ``store`` the rows of derivatives are kept for atom_vjp,
    atom_jvp and atom_jacobian. Returns the number of triplets kept."""
    nel, col, eta, rs, group = plan.nel, plan.col, plan.eta, plan.rs, plan.group
    rad_ptr, rad_ids = plan.rad_ptr, plan.rad_ids
    ent_ptr, ent_tp, ent_co, ent_col = plan.ent_ptr, plan.ent_tp, plan.ent_co, plan.ent_col
    u, rr, el, fc = scr.u, scr.r, scr.el, scr.fc
    order, eptr, tq1, tq2, tc, tr, seg = (scr.order, scr.eptr, scr.tq1, scr.tq2, scr.tc,
                                          scr.tr, scr.seg)
    # radial functions
    for q in range(nq):
        key = c * nel + el[q]
        for t in range(rad_ptr[key], rad_ptr[key + 1]):
            f = rad_ids[t]
            gg = group[f]
            if fc[gg, q] != 0.0:
                x = rr[q] - rs[f]
                Gi[col[f]] += math.exp(-eta[f] * x * x) * fc[gg, q]
    # angular functions, one segment per list
    n = 0
    n_seg = 0
    for k1 in range(nel):                     # the lists in order of atomic number
        e1 = plan.by_z[k1]
        for k2 in range(k1, nel):
            e2 = plan.by_z[k2]
            key = (c * nel + e1) * nel + e2
            if ent_ptr[key] == ent_ptr[key + 1]:
                continue
            skip = plan.L_skip_rc[key]
            skip2 = skip * skip if skip > 0.0 else np.inf
            lo = n
            for a1 in range(eptr[0, e1], eptr[1, e1]):
                q1 = order[a1]
                r1 = rr[q1]
                ux = u[q1, 0]
                uy = u[q1, 1]
                uz = u[q1, 2]
                for a2 in range(a1 + 1 if e1 == e2 else eptr[0, e2], eptr[1, e2]):
                    q2 = order[a2]
                    r2 = rr[q2]
                    cth = ux * u[q2, 0] + uy * u[q2, 1] + uz * u[q2, 2]
                    rjk2 = max(r1 * r1 + r2 * r2 - 2.0 * r1 * r2 * cth, 0.0)
                    if rjk2 >= skip2:
                        continue
                    tq1[n] = q1
                    tq2[n] = q2
                    tc[n] = cth
                    tr[n] = math.sqrt(rjk2)
                    n += 1
            if n == lo:
                continue
            _segment_rows(key, lo, n, plan, scr, store)
            for t in range(ent_ptr[key], ent_ptr[key + 1]):
                Gi[ent_col[t]] += _dot(scr.rA[ent_co[t]], scr.rP[ent_tp[t]], lo, n)
            n_seg = add_segment(seg, n_seg, key, lo, n)
    seg[seg.shape[0] - 1, 0] = n_seg
    return n


@njit(cache=True, inline="always", error_model="numpy")
def _entry_rows(e, plan, scr):
    """The rows of list entry e (one function): its power A, dA and its part P and
    the part's derivatives P1, P2, Pjk, each over the triplets of the segment."""
    k = plan.ent_co[e]
    m = plan.ent_tp[e]
    return scr.rA[k], scr.rdA[k], scr.rP[m], scr.rP1[m], scr.rP2[m], scr.rPjk[m]


@njit(cache=True, error_model="numpy")
def scatter(p0, lo, hi, D, scr, g):
    """g += the pair vectors of the contracted partials s_c, s_1, s_2, s_jk of
    triplets lo..hi-1 (through ∂c/∂D, u and ∂r_jk/∂D of the module docstring)."""
    u, rr, tr = scr.u, scr.r, scr.tr
    s_c, s_1, s_2, s_jk = scr.s_c, scr.s_1, scr.s_2, scr.s_jk
    for t in range(lo, hi):
        q1, q2, pa, pb, cth = triplet(t, p0, scr)
        cj = s_c[t] / rr[q1]
        ck = s_c[t] / rr[q2]
        hjk = s_jk[t] / tr[t] if tr[t] > 0.0 else 0.0
        for d in range(3):
            djk = (D[pb, d] - D[pa, d]) * hjk
            g[pa, d] += cj * (u[q2, d] - cth * u[q1, d]) + s_1[t] * u[q1, d] - djk
            g[pb, d] += ck * (u[q1, d] - cth * u[q2, d]) + s_2[t] * u[q2, d] + djk


@njit(cache=True, error_model="numpy")
def triplet_displacements(p0, lo, hi, D, V, scr):
    """s_c, s_1, s_2, s_jk of triplets lo..hi-1: the changes δc, δr_ij, δr_ik, δr_jk
    under pair displacements V (through the geometric derivatives of the module
    docstring), for the Jacobian–vector products."""
    u, rr, tr = scr.u, scr.r, scr.tr
    s_c, s_1, s_2, s_jk = scr.s_c, scr.s_1, scr.s_2, scr.s_jk
    for t in range(lo, hi):
        q1, q2, pa, pb, cth = triplet(t, p0, scr)
        dc = 0.0
        v1 = 0.0
        v2 = 0.0
        drjk = 0.0
        for d in range(3):
            dc += ((u[q2, d] - cth * u[q1, d]) * V[pa, d] / rr[q1]
                   + (u[q1, d] - cth * u[q2, d]) * V[pb, d] / rr[q2])
            v1 += u[q1, d] * V[pa, d]
            v2 += u[q2, d] * V[pb, d]
            drjk += (D[pb, d] - D[pa, d]) * (V[pb, d] - V[pa, d])
        s_c[t] = dc
        s_1[t] = v1
        s_2[t] = v2
        s_jk[t] = drjk / tr[t] if tr[t] > 0.0 else 0.0


@njit(cache=True, error_model="numpy")
def atom_values(i, first, jn, D, r, species, plan, scr, Gi, records):
    """G_i into Gi (zeroed by the caller): :func:`pair_terms` then :func:`atom_forward`,
    which with ``records`` keeps the rows the derivatives read; returns the number of
    triplets kept."""
    p0, nq = pair_terms(i, first, jn, D, r, species, plan, scr)
    return atom_forward(species[i], nq, plan, scr, Gi, records)


@njit(cache=True, error_model="numpy")
def atom_vjp(i, first, jn, D, r, species, plan, scr, state, w, g):
    """g_p += Σ_f w_f ∂G_f/∂D_p for the pairs p of atom i, from the rows of
    ``atom_values(records=True)``; w = ∂E/∂G_i."""
    c, p0, nq = atom_span(i, first, species)
    nel, col, rad_ptr, rad_ids = plan.nel, plan.col, plan.rad_ptr, plan.rad_ids
    ent_ptr, ent_col = plan.ent_ptr, plan.ent_col
    rr, el, fc, dfc, seg = scr.r, scr.el, scr.fc, scr.dfc, scr.seg
    s_c, s_1, s_2, s_jk = scr.s_c, scr.s_1, scr.s_2, scr.s_jk
    for q in range(nq):
        s = 0.0
        key = c * nel + el[q]
        for t in range(rad_ptr[key], rad_ptr[key + 1]):
            f = rad_ids[t]
            s += w[col[f]] * _radial_derivative(f, q, plan, fc, dfc, rr)
        add_along(g, p0 + q, s, scr.u, q)
    for sg in range(segment_count(seg)):
        key, lo, hi = segment(seg, sg)
        clear_partials(scr, lo, hi)
        for e in range(ent_ptr[key], ent_ptr[key + 1]):
            wt = w[ent_col[e]]
            if wt == 0.0:
                continue
            A, dA, P, P1, P2, Pjk = _entry_rows(e, plan, scr)
            # one accumulator per loop: few enough arrays for the vectoriser's
            # run-time overlap checks
            _accumulate(s_c, wt, dA, P, lo, hi)
            _accumulate(s_1, wt, A, P1, lo, hi)
            _accumulate(s_2, wt, A, P2, lo, hi)
            _accumulate(s_jk, wt, A, Pjk, lo, hi)
        scatter(p0, lo, hi, D, scr, g)


@njit(cache=True, error_model="numpy")
def atom_jvp(i, first, jn, D, r, species, plan, scr, state, V, dGi):
    """dGi[f] += Σ_p ∂G_f/∂D_p · V_p over the pairs p of atom i, from the rows."""
    c, p0, nq = atom_span(i, first, species)
    nel, col, rad_ptr, rad_ids = plan.nel, plan.col, plan.rad_ptr, plan.rad_ids
    ent_ptr, ent_col = plan.ent_ptr, plan.ent_col
    u, rr, el, fc, dfc, seg = scr.u, scr.r, scr.el, scr.fc, scr.dfc, scr.seg
    s_c, s_1, s_2, s_jk = scr.s_c, scr.s_1, scr.s_2, scr.s_jk
    for q in range(nq):
        p = p0 + q
        vr = u[q, 0] * V[p, 0] + u[q, 1] * V[p, 1] + u[q, 2] * V[p, 2]
        key = c * nel + el[q]
        for t in range(rad_ptr[key], rad_ptr[key + 1]):
            f = rad_ids[t]
            dGi[col[f]] += _radial_derivative(f, q, plan, fc, dfc, rr) * vr
    for sg in range(segment_count(seg)):
        key, lo, hi = segment(seg, sg)
        triplet_displacements(p0, lo, hi, D, V, scr)
        for e in range(ent_ptr[key], ent_ptr[key + 1]):
            A, dA, P, P1, P2, Pjk = _entry_rows(e, plan, scr)
            s = 0.0
            for t in range(lo, hi):
                s += dA[t] * P[t] * s_c[t] + A[t] * (P1[t] * s_1[t] + P2[t] * s_2[t]
                                                    + Pjk[t] * s_jk[t])
            dGi[ent_col[e]] += s


@njit(cache=True, error_model="numpy")
def atom_jacobian(i, first, jn, D, r, species, plan, scr, state, J, j0):
    """J[p - j0, f, :] += ∂G_f/∂D_p for the pairs p of atom i, from the rows (the
    uncontracted form of atom_vjp: the same partials, one function at a time);
    j0 = 0 fills a Jacobian of all pairs, j0 = first[i] one of the atom's pairs alone."""
    c, p0, nq = atom_span(i, first, species)
    nel, col, rad_ptr, rad_ids = plan.nel, plan.col, plan.rad_ptr, plan.rad_ids
    ent_ptr, ent_col = plan.ent_ptr, plan.ent_col
    u, rr, tr, el, fc, dfc, seg = scr.u, scr.r, scr.tr, scr.el, scr.fc, scr.dfc, scr.seg
    for q in range(nq):
        key = c * nel + el[q]
        for t in range(rad_ptr[key], rad_ptr[key + 1]):
            f = rad_ids[t]
            dT = _radial_derivative(f, q, plan, fc, dfc, rr)
            for d in range(3):
                J[p0 + q - j0, col[f], d] += dT * u[q, d]
    for sg in range(segment_count(seg)):
        key, lo, hi = segment(seg, sg)
        for e in range(ent_ptr[key], ent_ptr[key + 1]):
            A, dA, P, P1, P2, Pjk = _entry_rows(e, plan, scr)
            f = ent_col[e]
            for t in range(lo, hi):
                q1, q2, pa, pb, cth = triplet(t, p0 - j0, scr)
                cj = dA[t] * P[t] / rr[q1]
                ck = dA[t] * P[t] / rr[q2]
                s1 = A[t] * P1[t]
                s2 = A[t] * P2[t]
                hjk = A[t] * Pjk[t] / tr[t] if tr[t] > 0.0 else 0.0
                for d in range(3):
                    djk = (D[p0 + q2, d] - D[p0 + q1, d]) * hjk
                    J[pa, f, d] += cj * (u[q2, d] - cth * u[q1, d]) + s1 * u[q1, d] - djk
                    J[pb, f, d] += ck * (u[q1, d] - cth * u[q2, d]) + s2 * u[q2, d] + djk


#: the family's per-atom pieces (registered by :mod:`.spec`)
PIECES = AtomPieces(Plan, make_scratch, atom_values, atom_vjp, atom_jvp, atom_jacobian,
                    share_jacobian=True, cache=True)
