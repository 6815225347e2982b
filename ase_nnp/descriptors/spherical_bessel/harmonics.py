r"""Real spherical harmonics and their Cartesian gradients, by recursion.

Real harmonics (orthonormal on the sphere, no Condon–Shortley phase), index
lm = l² + l + m for -l <= m <= l::

    Y_lm = F_l^|m| Q_l^|m|(z, r²) · { c_m(x, y)      m > 0
                                     { 1/√2           m = 0
                                     { s_|m|(x, y)    m < 0

evaluated on the unit vector u = D/|D| (so r² = 1 in the recursion), with

    c_m + i s_m = (x + i y)^m          (c_0 = 1, s_0 = 0),
    F_l^m = √[(2l+1)/(2π) · (l-m)!/(l+m)!],
    Q_m^m = (2m-1)!!,   Q_{m+1}^m = (2m+1) z Q_m^m,
    Q_l^m = [(2l-1) z Q_{l-1}^m - (l+m-1) r² Q_{l-2}^m] / (l-m)
          = A_l^m z Q_{l-1}^m - B_l^m Q_{l-2}^m        (r² = 1; ``harmonic_constants``).

R_lm(D) = |D|^l Y_lm(D/|D|) is a homogeneous polynomial (a solid harmonic);
its gradient follows from the identities of Bigi et al. (sphericart, 2023;
the sign of the first two flips because the (-1)^m phase is left out here)

    ∂Q_l^m/∂x = -x Q_{l-1}^{m+1},  ∂Q_l^m/∂y = -y Q_{l-1}^{m+1},  ∂Q_l^m/∂z = (l+m) Q_{l-1}^m,
    ∂c_m/∂x = m c_{m-1}, ∂c_m/∂y = -m s_{m-1}, ∂s_m/∂x = m s_{m-1}, ∂s_m/∂y = m c_{m-1},

and, since u·∇R_lm(u) = l R_lm(u) (Euler), the gradient of the harmonic with
respect to the pair vector is

    ∂Y_lm(D/|D|)/∂D = [∇R_lm(u) - l Y_lm(u) u] / |D| .

With these real harmonics Σ_m Y_lm(u) Y_lm(v) = Σ_m Y*_lm(u) Y_lm(v) (the
complex and real sets are related by a unitary matrix for each l), so power
spectra are the same whichever set is used.

``real_harmonics`` takes all the pair directions of one atom at once, with
the pair index innermost in every loop: the recursions are the same for every
pair, so the compiler runs them on several pairs per instruction (SIMD), about
three times faster than one direction at a time.
"""

import math

import numpy as np
from numba import njit


def harmonic_constants(l_max):
    """(F, A, B), flat over t = l(l+1)/2 + m for 0 <= m <= l <= l_max.

    F[t] = F_l^m (times 1/√2 for m = 0, the m = 0 factor of Y_l0); for
    l >= m + 2 the recursion's A[t] = (2l-1)/(l-m) and B[t] = (l+m-1)/(l-m).
    """
    nt = (l_max + 1) * (l_max + 2) // 2
    F, A, B = np.zeros(nt), np.zeros(nt), np.zeros(nt)
    for l in range(l_max + 1):
        for m in range(l + 1):
            t = l * (l + 1) // 2 + m
            F[t] = math.sqrt((2 * l + 1) / (2 * math.pi)
                             * math.factorial(l - m) / math.factorial(l + m))
            if m == 0:
                F[t] /= math.sqrt(2.0)
            if l >= m + 2:
                A[t] = (2 * l - 1) / (l - m)
                B[t] = (l + m - 1) / (l - m)
    return F, A, B


@njit(cache=True, inline="always", error_model="numpy")
def real_harmonics(U, inv_r, nq, l_max, F, A, B, Q, cs, sn, Y, dY):
    """Y[lm, q] = Y_lm(u_q) and dY[d, lm, q] = ∂Y_lm(D_q/|D_q|)/∂D_q,d for q < nq.

    U[d, q] is the unit vector u_q and inv_r[q] = 1/|D_q|; (F, A, B) from
    ``harmonic_constants(l_max)``. Scratch: Q (l_max+1)(l_max+2)/2 rows, cs and
    sn l_max + 1 rows, each with at least nq columns.
    """
    for q in range(nq):
        cs[0, q] = 1.0
        sn[0, q] = 0.0
        Q[0, q] = 1.0
        Y[0, q] = F[0]
        dY[0, 0, q] = 0.0
        dY[1, 0, q] = 0.0
        dY[2, 0, q] = 0.0
    # c_m + i s_m = (x + i y)^m
    for m in range(1, l_max + 1):
        for q in range(nq):
            cs[m, q] = U[0, q] * cs[m - 1, q] - U[1, q] * sn[m - 1, q]
            sn[m, q] = U[0, q] * sn[m - 1, q] + U[1, q] * cs[m - 1, q]
    # Q_l^m at row t = l(l+1)/2 + m
    for l in range(1, l_max + 1):
        t = l * (l + 1) // 2
        tp = t - l                     # (l-1, 0)
        tpp = tp - l + 1               # (l-2, 0)
        for m in range(l - 1):
            a = A[t + m]
            b = B[t + m]
            for q in range(nq):
                Q[t + m, q] = a * U[2, q] * Q[tp + m, q] - b * Q[tpp + m, q]
        c1 = 2.0 * l - 1.0
        for q in range(nq):
            Q[t + l - 1, q] = c1 * U[2, q] * Q[tp + l - 1, q]
            Q[t + l, q] = c1 * Q[tp + l - 1, q]
    # Y and dY = [∇R(u) - l Y u] / r, with ∂Q_l^m/∂(x, y) = -(x, y) Q_{l-1}^{m+1} and
    # ∂Q_l^m/∂z = (l+m) Q_{l-1}^m (zero where m+1 > l-1, resp. m > l-1)
    for l in range(1, l_max + 1):
        t = l * (l + 1) // 2
        tp = t - l
        base = l * l + l
        for m in range(l + 1):
            f = F[t + m]
            fz = (l + m) * f
            has_xy = m + 1 < l
            has_z = m < l
            if m == 0:
                for q in range(nq):
                    qxy = -f * Q[tp + 1, q] if has_xy else 0.0
                    qz = fz * Q[tp, q] if has_z else 0.0
                    val = f * Q[t, q]
                    lv = l * val
                    ir = inv_r[q]
                    Y[base, q] = val
                    dY[0, base, q] = U[0, q] * (qxy - lv) * ir
                    dY[1, base, q] = U[1, q] * (qxy - lv) * ir
                    dY[2, base, q] = (qz - lv * U[2, q]) * ir
            else:
                fm = m * f
                kc = base + m          # Q c_m
                ks = base - m          # Q s_m
                for q in range(nq):
                    qxy = -f * Q[tp + m + 1, q] if has_xy else 0.0
                    qz = fz * Q[tp + m, q] if has_z else 0.0
                    fq = f * Q[t + m, q]
                    fqm = fm * Q[t + m, q]
                    c = cs[m, q]
                    s = sn[m, q]
                    cm = cs[m - 1, q]
                    sm = sn[m - 1, q]
                    ir = inv_r[q]
                    u0 = U[0, q]
                    u1 = U[1, q]
                    u2 = U[2, q]
                    val = fq * c
                    lv = l * val
                    Y[kc, q] = val
                    dY[0, kc, q] = (u0 * (qxy * c - lv) + fqm * cm) * ir
                    dY[1, kc, q] = (u1 * (qxy * c - lv) - fqm * sm) * ir
                    dY[2, kc, q] = (qz * c - lv * u2) * ir
                    val = fq * s
                    lv = l * val
                    Y[ks, q] = val
                    dY[0, ks, q] = (u0 * (qxy * s - lv) + fqm * sm) * ir
                    dY[1, ks, q] = (u1 * (qxy * s - lv) + fqm * cm) * ir
                    dY[2, ks, q] = (qz * s - lv * u2) * ir
