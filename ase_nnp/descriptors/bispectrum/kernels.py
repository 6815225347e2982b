r"""The per-atom pieces of the bispectrum (:mod:`.spec` defines it).

Derivatives
-----------
B is cubic in the densities u. Its change with one neighbour's displacement D_p goes
through u^j alone, ∂u^j/∂D_p = w_p (f_c' U^j D̂_p + f_c ∂U^j/∂D_p), and by the symmetry
of the coupling the three places where u enters collapse onto Z:

    ∂B_{j1 j2 j}/∂D_p = 2 Re[ Σ ∂u^{j}* Z^{j1 j2}_j + (j+1)/(j1+1) Σ ∂u^{j1}* Z^{j j2}_{j1}
                             + (j+1)/(j2+1) Σ ∂u^{j2}* Z^{j j1}_{j2} ]

(the sums over the rows 2 mb <= j, the middle row of an even j counted half; without
the factors with ``bnormflag``). That is the Jacobian and, with δu = Σ_p ∂u/∂D_p · V_p
in place of ∂u, the Jacobian–vector product. The vector–Jacobian product for weights
β_k = ∂E/∂B_k folds the weights into one adjoint density per element first,

    Y^j  +=  β_{j1 j2 j} Z^{j1 j2}_j,  Y^{j1}  +=  β (j+1)/(j1+1) Z^{j j2}_{j1},
    Y^{j2}  +=  β (j+1)/(j2+1) Z^{j j1}_{j2}           (every component, each place),
    g_p = 2 Re Σ ∂u^j* · Y^j,

(per element channel with ``chemflag``: the place of the neighbour's element), so that
its cost per neighbour is one pass over u: linear in the number of neighbours.
"""

from math import pi
from typing import NamedTuple

import numpy as np
from numba import njit

from ..base import AtomPieces
from .wigner import Tables


def quadratic_products(n):
    """(k, l, c) of the quadratic product columns c B_k B_l in LAMMPS' order: k outer,
    l = k .. n-1; c = ½ for the squares (k = l), 1 otherwise."""
    k, l = np.triu_indices(n)
    return k.astype(np.int64), l.astype(np.int64), np.where(k == l, 0.5, 1.0)


class Params(NamedTuple):
    """LAMMPS' parameters and switches, the number of element channels, of linear
    components and of all columns, the self weight and the isolated atom's B⁰_j."""
    rcutfac: float
    rfac0: float
    rmin0: float
    radelem: np.ndarray
    wj: np.ndarray
    switch: int
    bzero_flag: int
    quadratic: int
    chem: int
    bnorm: int
    wselfall: int
    n_ch: int
    n_lin: int
    n_feat: int
    wself: float
    bzero: np.ndarray
    quad_k: np.ndarray      # the linear columns (k, l) of each product column, k <= l
    quad_l: np.ndarray
    quad_c: np.ndarray      # its factor: ½ B_k² or B_k B_l


#: What the kernels read: the fields of :class:`~.wigner.Tables`
#: and of :class:`Params` in one flat NamedTuple (Numba's parallel loops take no nested
#: tuples).
Plan = NamedTuple("Plan", list(Tables.__annotations__.items())
                  + list(Params.__annotations__.items()))


class Scratch(NamedTuple):
    """One worker's arrays for the atom in hand; P = the most pairs of any atom."""
    pair: np.ndarray     # (P,) the pair in each slot (pairs inside their cutoff)
    ch: np.ndarray       # (P,) the neighbour's density channel
    sf: np.ndarray       # (P,) w_j f_c(r)
    dsf: np.ndarray      # (P,) w_j f_c'(r)
    ur: np.ndarray       # (P, u_max) U^j of each neighbour, real part
    ui: np.ndarray       # (P, u_max) imaginary part
    dur: np.ndarray      # (3, u_max) ∂u/∂D of one neighbour (real)
    dui: np.ndarray      # (3, u_max)
    utr: np.ndarray      # (n_ch, u_max) the densities u
    uti: np.ndarray
    zr: np.ndarray       # (n_ch², z_max) Z
    zi: np.ndarray
    yr: np.ndarray       # (n_ch, u_max) the adjoint densities Y (or δu in jvp)
    yi: np.ndarray
    b: np.ndarray        # (n_lin,) the linear components
    beta: np.ndarray     # (n_lin,) ∂E/∂B of the linear components
    db: np.ndarray       # (n_lin, 3) ∂B/∂D of one pair (jvp: column 0)


@njit(cache=True)
def make_scratch(max_pairs, plan, records):
    """One worker's :class:`Scratch` (the same with or without ``records``)."""
    t = plan
    P = max(max_pairs, 1)
    nc = plan.n_ch
    return Scratch(np.empty(P, dtype=np.int64), np.empty(P, dtype=np.int64), np.empty(P),
                   np.empty(P), np.empty((P, t.u_max)), np.empty((P, t.u_max)),
                   np.empty((3, t.u_max)), np.empty((3, t.u_max)),
                   np.empty((nc, t.u_max)), np.empty((nc, t.u_max)),
                   np.empty((nc * nc, t.z_j.shape[0])), np.empty((nc * nc, t.z_j.shape[0])),
                   np.empty((nc, t.u_max)), np.empty((nc, t.u_max)),
                   np.empty(plan.n_lin), np.empty(plan.n_lin), np.empty((plan.n_lin, 3)))


@njit(cache=True)
def _theta_scale(plan, rcut):
    return plan.rfac0 * pi / (rcut - plan.rmin0)


@njit(cache=True)
def _u_of_pair(x, y, z, r, rscale, plan, ur, ui):
    """U^j of one neighbour at (x, y, z), |.| = r, into the rows ur, ui (recursion of
    the module docstring)."""
    t = plan
    z0 = r / np.tan((r - plan.rmin0) * rscale)
    r0inv = 1.0 / np.sqrt(r * r + z0 * z0)
    ar = r0inv * z0
    ai = -r0inv * z
    br = r0inv * y
    bi = -r0inv * x
    root = t.root
    ur[0] = 1.0
    ui[0] = 0.0
    for j in range(1, t.twojmax + 1):
        jju = t.u_block[j]
        jjup = t.u_block[j - 1]
        for mb in range(j // 2 + 1):
            ur[jju] = 0.0
            ui[jju] = 0.0
            for ma in range(j):
                c = root[j - ma, j - mb]
                pr = ur[jjup]
                pim = ui[jjup]
                ur[jju] += c * (ar * pr + ai * pim)
                ui[jju] += c * (ar * pim - ai * pr)
                c = root[ma + 1, j - mb]
                ur[jju + 1] = -c * (br * pr + bi * pim)
                ui[jju + 1] = -c * (br * pim - bi * pr)
                jju += 1
                jjup += 1
            jju += 1
        _mirror(ur, ui, t.u_block[j], j)


@njit(cache=True)
def _mirror(ur, ui, base, j):
    """Rows mb > j/2 of block j from U_{j-ma, j-mb} = (-1)^{ma-mb} U*_{ma mb}."""
    jju = base
    jjup = base + (j + 1) * (j + 1) - 1
    for mb in range(j // 2 + 1):
        sign = 1.0 if mb % 2 == 0 else -1.0
        for ma in range(j + 1):
            ur[jjup] = sign * ur[jju]
            ui[jjup] = -sign * ui[jju]
            sign = -sign
            jju += 1
            jjup -= 1


@njit(cache=True)
def _du_of_pair(x, y, z, r, rscale, sf, dsf, ur, ui, plan, dur, dui):
    """∂u/∂D of one neighbour, w f_c' U D̂ + w f_c ∂U/∂D (U in ur, ui), into dur, dui."""
    t = plan
    root = t.root
    rinv = 1.0 / r
    ux = x * rinv
    uy = y * rinv
    uz = z * rinv
    th = (r - plan.rmin0) * rscale
    cs = np.cos(th)
    sn = np.sin(th)
    z0 = r * cs / sn
    dz0dr = z0 / r - (r * rscale) * (r * r + z0 * z0) / (r * r)
    r0inv = 1.0 / np.sqrt(r * r + z0 * z0)
    ar = z0 * r0inv
    ai = -z * r0inv
    br = y * r0inv
    bi = -x * r0inv
    dr0 = -r0inv * r0inv * r0inv * (r + z0 * dz0dr)
    u = (ux, uy, uz)
    # ∂a/∂D and ∂b/∂D, real and imaginary parts, for D = (x, y, z)
    g = dz0dr * r0inv + z0 * dr0
    dar = (g * ux, g * uy, g * uz)
    dai = (-z * dr0 * ux, -z * dr0 * uy, -z * dr0 * uz - r0inv)
    dbr = (y * dr0 * ux, y * dr0 * uy + r0inv, y * dr0 * uz)
    dbi = (-x * dr0 * ux - r0inv, -x * dr0 * uy, -x * dr0 * uz)
    for k in range(3):
        dur[k, 0] = 0.0
        dui[k, 0] = 0.0
    for j in range(1, t.twojmax + 1):
        jju = t.u_block[j]
        jjup = t.u_block[j - 1]
        for mb in range(j // 2 + 1):
            for k in range(3):
                dur[k, jju] = 0.0
                dui[k, jju] = 0.0
            for ma in range(j):
                pr = ur[jjup]
                pim = ui[jjup]
                c = root[j - ma, j - mb]
                c2 = root[ma + 1, j - mb]
                for k in range(3):
                    qr = dur[k, jjup]
                    qi = dui[k, jjup]
                    dur[k, jju] += c * (dar[k] * pr + dai[k] * pim + ar * qr + ai * qi)
                    dui[k, jju] += c * (dar[k] * pim - dai[k] * pr + ar * qi - ai * qr)
                    dur[k, jju + 1] = -c2 * (dbr[k] * pr + dbi[k] * pim + br * qr + bi * qi)
                    dui[k, jju + 1] = -c2 * (dbr[k] * pim - dbi[k] * pr + br * qi - bi * qr)
                jju += 1
                jjup += 1
            jju += 1
        for k in range(3):
            _mirror(dur[k], dui[k], t.u_block[j], j)
    for jju in range(t.u_max):
        a = dsf * ur[jju]
        b = dsf * ui[jju]
        for k in range(3):
            dur[k, jju] = a * u[k] + sf * dur[k, jju]
            dui[k, jju] = b * u[k] + sf * dui[k, jju]


@njit(cache=True)
def _switch(plan, r, rcut):
    """(f_c, f_c') of the cosine switch, or (1, 0) without it."""
    if plan.switch == 0 or r <= plan.rmin0:
        return 1.0, 0.0
    k = pi / (rcut - plan.rmin0)
    return 0.5 * (np.cos((r - plan.rmin0) * k) + 1.0), -0.5 * np.sin((r - plan.rmin0) * k) * k


@njit(cache=True)
def atom_densities(i, first, jn, D, r, species, plan, scr):
    """The neighbours of atom i inside their cutoffs (slots), their U^j, the densities u
    and Z. Returns the number of slots."""
    t = plan
    ti = species[i]
    n = 0
    for p in range(first[i], first[i + 1]):
        tj = species[jn[p]]
        rc = plan.rcutfac * (plan.radelem[ti] + plan.radelem[tj])
        rr = r[p]
        if rr >= rc or rr * rr <= 1e-20:
            continue
        scr.pair[n] = p
        scr.ch[n] = tj if plan.chem else 0
        fc, dfc = _switch(plan, rr, rc)
        w = plan.wj[tj]
        scr.sf[n] = w * fc
        scr.dsf[n] = w * dfc
        _u_of_pair(D[p, 0], D[p, 1], D[p, 2], rr, _theta_scale(plan, rc), plan, scr.ur[n],
                   scr.ui[n])
        n += 1
    utr, uti = scr.utr, scr.uti
    utr[:] = 0.0
    uti[:] = 0.0
    self_ch = ti if plan.chem else 0
    for e in range(plan.n_ch):
        if e == self_ch or plan.wselfall:
            for j in range(t.twojmax + 1):
                for ma in range(j + 1):
                    utr[e, t.u_block[j] + (j + 1) * ma + ma] = plan.wself
    for s in range(n):
        e = scr.ch[s]
        f = scr.sf[s]
        for jju in range(t.u_max):
            utr[e, jju] += f * scr.ur[s, jju]
            uti[e, jju] += f * scr.ui[s, jju]
    _zlist(plan, utr, uti, scr.zr, scr.zi)
    return n


@njit(cache=True)
def _zlist(plan, utr, uti, zr, zi):
    """Z^{(e1 e2) j1 j2}_{j, ma mb} for the rows 2 mb <= j (module docstring)."""
    nc = plan.n_ch
    for e1 in range(nc):
        for e2 in range(nc):
            d = e1 * nc + e2
            _zlist_pair(plan, utr[e1], uti[e1], utr[e2], uti[e2], zr[d], zi[d])


@njit(cache=True)
def _zlist_pair(t, u1r, u1i, u2r, u2i, zr, zi):
    """Z of one pair of densities. Every index is unsigned (Numba then drops the
    negative-index wraparound of each load) and the rows are 1-D: this loop is most of
    the bispectrum's cost (41,889 Clebsch–Gordan products per atom at 2J_max = 8)."""
    cg = t.cg
    one = np.uint64(1)
    for jjz in range(t.z_j.shape[0]):
        j1 = np.uint64(t.z_j1[jjz])
        j2 = np.uint64(t.z_j2[jjz])
        j = t.z_j[jjz]
        na = np.uint64(t.z_na[jjz])
        ma1min = np.uint64(t.z_ma1min[jjz])
        ma2max = np.uint64(t.z_ma2max[jjz])
        cgb = np.uint64(t.cg_block[j1, j2, j])
        mb1min = np.uint64(t.z_mb1min[jjz])
        mb2max = np.uint64(t.z_mb2max[jjz])
        jju1 = np.uint64(t.u_block[j1]) + (j1 + one) * mb1min + ma1min
        jju2 = np.uint64(t.u_block[j2]) + (j2 + one) * mb2max + ma2max
        icgb = cgb + mb1min * (j2 + one) + mb2max
        icga0 = cgb + ma1min * (j2 + one) + ma2max
        sr = 0.0
        si = 0.0
        for ib in range(np.uint64(t.z_nb[jjz])):
            ar = 0.0
            ai = 0.0
            for ia in range(na):
                c = cg[icga0 + ia * j2]
                x1r = u1r[jju1 + ia]
                x1i = u1i[jju1 + ia]
                x2r = u2r[jju2 - ia]
                x2i = u2i[jju2 - ia]
                ar += c * (x1r * x2r - x1i * x2i)
                ai += c * (x1r * x2i + x1i * x2r)
            c = cg[icgb]
            sr += c * ar
            si += c * ai
            jju1 += j1 + one
            jju2 -= j2 + one
            icgb += j2
        if t.bnorm:
            sr /= j + 1
            si /= j + 1
        zr[jjz] = sr
        zi[jjz] = si


@njit(cache=True)
def _half_dot(ar, ai, ra, a0, br, bi, rb, b0, j):
    """Σ Re(a* b) over the rows 2 mb <= j of block j (a = row ra of (ar, ai) from flat
    a0, b = row rb of (br, bi) from b0), the middle element of an even j counted half:
    a full block's sum is twice this. Rows and offsets, not views: a view made in an
    inner loop costs a reference count each."""
    n = ((j + 1) // 2) * (j + 1)
    if j % 2 == 0:
        n += j // 2
    s = 0.0
    for k in range(n):
        s += ar[ra, a0 + k] * br[rb, b0 + k] + ai[ra, a0 + k] * bi[rb, b0 + k]
    if j % 2 == 0:
        s += 0.5 * (ar[ra, a0 + n] * br[rb, b0 + n] + ai[ra, a0 + n] * bi[rb, b0 + n])
    return s


@njit(cache=True)
def _blist(i, species, plan, scr):
    """The linear components B (with the bzero shift) into scr.b."""
    t = plan
    nc = plan.n_ch
    bm = t.b_j.shape[0]
    for e1 in range(nc):
        for e2 in range(nc):
            d = e1 * nc + e2
            for e3 in range(nc):
                tri = d * nc + e3
                for jjb in range(bm):
                    j = t.b_j[jjb]
                    jjz = t.z_block[t.b_j1[jjb], t.b_j2[jjb], j]
                    s = _half_dot(scr.utr, scr.uti, e3, t.u_block[j], scr.zr, scr.zi, d, jjz, j)
                    scr.b[tri * bm + jjb] = 2.0 * s
    if plan.bzero_flag:
        own = species[i] if plan.chem else 0
        for e1 in range(nc):
            for e2 in range(nc):
                for e3 in range(nc):
                    tri = (e1 * nc + e2) * nc + e3
                    if plan.wselfall or (e1 == own and e2 == own and e3 == own):
                        for jjb in range(bm):
                            scr.b[tri * bm + jjb] -= plan.bzero[t.b_j[jjb]]


@njit(cache=True)
def _features(plan, b, out):
    """out = B, then the quadratic products ½ B_k² (k = l) and B_k B_l (k < l)."""
    n = plan.n_lin
    for k in range(n):
        out[k] = b[k]
    for q in range(plan.quad_c.shape[0]):
        out[n + q] = plan.quad_c[q] * b[plan.quad_k[q]] * b[plan.quad_l[q]]


@njit(cache=True)
def _linear_weights(plan, b, W, beta):
    """β_k = ∂(Σ_f W_f G_f)/∂B_k: W of the linear columns plus the chain rule through
    the products: ∂(c B_k B_l) = c B_l ∂B_k + c B_k ∂B_l, which for a square (k = l,
    c = ½) adds its B_k ∂B_k in two halves."""
    n = plan.n_lin
    for k in range(n):
        beta[k] = W[k]
    for q in range(plan.quad_c.shape[0]):
        cw = plan.quad_c[q] * W[n + q]
        beta[plan.quad_k[q]] += cw * b[plan.quad_l[q]]
        beta[plan.quad_l[q]] += cw * b[plan.quad_k[q]]


@njit(cache=True)
def _place(plan, jjb, e1, e2, e3, q):
    """Where the density u^{(e3)} enters component jjb of the element triple with
    neighbour channel e3 at place q (module docstring): (first U index of its block, the
    Z row (channel pair) and first Z index it pairs with, that block's j, the column of
    the triple, the factor). q = 0: u^j with Z^{j1 j2}_j, column (e1 e2 e3); q = 1: u^{j1}
    with Z^{j j2}_{j1}, column (e3 e2 e1); q = 2: u^{j2} with Z^{j j1}_{j2} of the
    channels (e2, e1), column (e1 e3 e2); the factors (j+1)/(j1+1), (j+1)/(j2+1) (1 with
    bnormflag)."""
    t = plan
    nc = plan.n_ch
    bm = t.b_j.shape[0]
    j1 = t.b_j1[jjb]
    j2 = t.b_j2[jjb]
    j = t.b_j[jjb]
    if q == 0:
        return (t.u_block[j], e1 * nc + e2, t.z_block[j1, j2, j], j,
                ((e1 * nc + e2) * nc + e3) * bm + jjb, 1.0)
    if q == 1:
        return (t.u_block[j1], e1 * nc + e2, t.z_block[j, j2, j1], j1,
                ((e3 * nc + e2) * nc + e1) * bm + jjb,
                1.0 if plan.bnorm else (j + 1) / (j1 + 1.0))
    return (t.u_block[j2], e2 * nc + e1, t.z_block[j, j1, j2], j2,
            ((e1 * nc + e3) * nc + e2) * bm + jjb, 1.0 if plan.bnorm else (j + 1) / (j2 + 1.0))


@njit(cache=True)
def _ylist(plan, beta, scr):
    """The adjoint densities Y (module docstring): each component's weight times the Z
    of each of its three places (:func:`_place`), the terms of :func:`_dbdr` summed over
    components before the pairs (so the pairs need one pass over u each)."""
    t = plan
    nc = plan.n_ch
    yr, yi = scr.yr, scr.yi
    yr[:] = 0.0
    yi[:] = 0.0
    for jjb in range(t.b_j.shape[0]):
        for e1 in range(nc):
            for e2 in range(nc):
                for e3 in range(nc):
                    for q in range(3):
                        u0, d, z0, jq, k, f = _place(plan, jjb, e1, e2, e3, q)
                        _add_half(yr, yi, e3, u0, scr.zr, scr.zi, d, z0, jq, f * beta[k])
    for e in range(nc):                      # the half-sum weights folded in once
        for k in range(t.u_max):
            yr[e, k] *= t.half_w[k]
            yi[e, k] *= t.half_w[k]


@njit(cache=True)
def _add_half(yr, yi, ry, y0, zr, zi, rz, z0, j, w):
    """Row ry of y += w · row rz of z over the rows 2 mb <= j of block j (y from flat
    y0, z from z0)."""
    if w == 0.0:
        return
    for k in range((j // 2 + 1) * (j + 1)):
        yr[ry, y0 + k] += w * zr[rz, z0 + k]
        yi[ry, y0 + k] += w * zi[rz, z0 + k]


@njit(cache=True)
def _dbdr(plan, e3, dur, dui, scr, out):
    """out[k, c] += ∂B_k along the density change (dur, dui)[c] of channel e3 (module
    docstring; the places of :func:`_place`): the Jacobian of one pair (3 columns) or
    the jvp (1 column)."""
    nc = plan.n_ch
    for jjb in range(plan.b_j.shape[0]):
        for e1 in range(nc):
            for e2 in range(nc):
                for q in range(3):
                    u0, d, z0, jq, k, f = _place(plan, jjb, e1, e2, e3, q)
                    for c in range(dur.shape[0]):
                        out[k, c] += 2.0 * f * _half_dot(dur, dui, c, u0, scr.zr, scr.zi, d,
                                                         z0, jq)


@njit(cache=True)
def _pair_du(s, i, species, jn, D, r, plan, scr):
    """∂u/∂D of the neighbour in slot s into scr.dur, scr.dui."""
    p = scr.pair[s]
    rc = plan.rcutfac * (plan.radelem[species[i]] + plan.radelem[species[jn[p]]])
    _du_of_pair(D[p, 0], D[p, 1], D[p, 2], r[p], _theta_scale(plan, rc), scr.sf[s], scr.dsf[s],
                scr.ur[s], scr.ui[s], plan, scr.dur, scr.dui)
    return p


@njit(cache=True)
def atom_values(i, first, jn, D, r, species, plan, scr, Gi, records):
    """The densities and Z of atom i (:func:`atom_densities`), then its columns (B, then
    the products) into Gi, B kept in scr.b; returns the number of neighbours in slots."""
    n = atom_densities(i, first, jn, D, r, species, plan, scr)
    _blist(i, species, plan, scr)
    _features(plan, scr.b, Gi)
    return n


@njit(cache=True)
def atom_vjp(i, first, jn, D, r, species, plan, scr, state, w, g):
    """g_p += Σ_f w_f ∂G_f/∂D_p for the neighbours of atom i (``state`` slots; module
    docstring), after :func:`atom_values` (Z and B in scr)."""
    t = plan
    _linear_weights(plan, scr.b, w, scr.beta)
    _ylist(plan, scr.beta, scr)
    dur, dui, yr, yi = scr.dur, scr.dui, scr.yr, scr.yi
    for s in range(state):
        p = _pair_du(s, i, species, jn, D, r, plan, scr)
        e = scr.ch[s]
        for c in range(3):               # Y carries the half-sum weights (_ylist)
            acc = 0.0
            for k in range(t.u_max):
                acc += dur[c, k] * yr[e, k] + dui[c, k] * yi[e, k]
            g[p, c] += 2.0 * acc


@njit(cache=True)
def _quadratic_rows(plan, b, db, ncol, out):
    """out[f, c] += ∂G_f for every column f from the linear rows db[k, c] (the chain
    rule of :func:`_linear_weights`, forward: ∂(c B_k B_l) = c (B_l ∂B_k + B_k ∂B_l))."""
    n = plan.n_lin
    for k in range(n):
        for c in range(ncol):
            out[k, c] += db[k, c]
    for q in range(plan.quad_c.shape[0]):
        k = plan.quad_k[q]
        l = plan.quad_l[q]
        cq = plan.quad_c[q]
        for c in range(ncol):
            out[n + q, c] += cq * (b[l] * db[k, c] + b[k] * db[l, c])


@njit(cache=True)
def atom_jacobian(i, first, jn, D, r, species, plan, scr, state, J, j0):
    """J[p - j0, f] += ∂G_f/∂D_p for the neighbours of atom i (``state`` slots), after
    :func:`atom_values`: ∂B/∂D per neighbour (:func:`_dbdr`), then the products' chain
    rule."""
    for s in range(state):
        p = _pair_du(s, i, species, jn, D, r, plan, scr)
        scr.db[:] = 0.0
        _dbdr(plan, scr.ch[s], scr.dur, scr.dui, scr, scr.db)
        _quadratic_rows(plan, scr.b, scr.db, 3, J[p - j0])


@njit(cache=True)
def atom_jvp(i, first, jn, D, r, species, plan, scr, state, V, dGi):
    """dGi_f += Σ_p ∂G_f/∂D_p · V_p for atom i, after :func:`atom_values`: δu per
    channel, then δB (:func:`_dbdr`) and the products' chain rule."""
    t = plan
    dr, di = scr.yr, scr.yi          # δu per channel
    dr[:] = 0.0
    di[:] = 0.0
    for s in range(state):
        p = _pair_du(s, i, species, jn, D, r, plan, scr)
        e = scr.ch[s]
        for jju in range(t.u_max):
            dr[e, jju] += (scr.dur[0, jju] * V[p, 0] + scr.dur[1, jju] * V[p, 1]
                           + scr.dur[2, jju] * V[p, 2])
            di[e, jju] += (scr.dui[0, jju] * V[p, 0] + scr.dui[1, jju] * V[p, 1]
                           + scr.dui[2, jju] * V[p, 2])
    db = scr.db
    db[:] = 0.0
    for e in range(plan.n_ch):
        _dbdr(plan, e, dr[e:e + 1], di[e:e + 1], scr, db)
    _quadratic_rows(plan, scr.b, db, 1, dGi.reshape((dGi.shape[0], 1)))


#: the family's per-atom pieces (registered by :mod:`.spec`)
PIECES = AtomPieces(Plan, make_scratch, atom_values, atom_vjp, atom_jvp, atom_jacobian,
                    cache=True)
