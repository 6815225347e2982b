r"""Real spherical harmonics and their Cartesian gradients, by recursion.

Real harmonics (orthonormal on the sphere, no Condon–Shortley phase), index
lm = l² + l + m for -l <= m <= l::

    Y_lm = F_l^|m| Q_l^|m|(z, r²) · { c_m(x, y)      m > 0
                                     { 1/√2           m = 0
                                     { s_|m|(x, y)    m < 0

evaluated on the unit vector u = D/|D|, with

    c_m + i s_m = (x + i y)^m          (c_0 = 1, s_0 = 0),
    F_l^m = √[(2l+1)/(2π) · (l-m)!/(l+m)!],
    Q_m^m = (2m-1)!!,   Q_{m+1}^m = (2m+1) z Q_m^m,
    Q_l^m = [(2l-1) z Q_{l-1}^m - (l+m-1) r² Q_{l-2}^m] / (l-m).

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
"""

import math

import numpy as np
from numba import njit


def normalisation(l_max):
    """F_l^m for 0 <= m <= l <= l_max, shape (l_max + 1, l_max + 1)."""
    F = np.zeros((l_max + 1, l_max + 1))
    for l in range(l_max + 1):
        for m in range(l + 1):
            F[l, m] = math.sqrt((2 * l + 1) / (2 * math.pi)
                                * math.factorial(l - m) / math.factorial(l + m))
    return F


@njit(cache=True, inline="always", error_model="numpy")
def real_harmonics(u0, u1, u2, inv_r, l_max, F, Q, cs, sn, Y, dY):
    """Y[lm] = Y_lm(u) and dY[lm, :] = ∂Y_lm(D/|D|)/∂D for the unit vector u = (u0, u1, u2).

    Q (l_max + 2, l_max + 2), cs and sn (l_max + 1) are scratch arrays.
    """
    r2 = u0 * u0 + u1 * u1 + u2 * u2     # 1 up to rounding; kept for the polynomial identities
    # c_m, s_m
    cs[0] = 1.0
    sn[0] = 0.0
    for m in range(1, l_max + 1):
        cs[m] = u0 * cs[m - 1] - u1 * sn[m - 1]
        sn[m] = u0 * sn[m - 1] + u1 * cs[m - 1]
    # Q_l^m, with Q_l^m = 0 for m > l (the gradient identities read Q_{l-1}^{l})
    for l in range(l_max + 2):
        for m in range(l_max + 2):
            Q[l, m] = 0.0
    for m in range(l_max + 1):
        if m == 0:
            Q[0, 0] = 1.0
        else:
            Q[m, m] = (2 * m - 1) * Q[m - 1, m - 1]
        if m + 1 <= l_max:
            Q[m + 1, m] = (2 * m + 1) * u2 * Q[m, m]
        for l in range(m + 2, l_max + 1):
            Q[l, m] = ((2 * l - 1) * u2 * Q[l - 1, m] - (l + m - 1) * r2 * Q[l - 2, m]) / (l - m)
    inv_sqrt2 = 1.0 / math.sqrt(2.0)
    for l in range(l_max + 1):
        base = l * l + l
        for m in range(l + 1):
            f = F[l, m]
            q = Q[l, m]
            # ∂Q/∂(x, y) = -(x, y) Q_{l-1}^{m+1},  ∂Q/∂z = (l+m) Q_{l-1}^m
            qxy = -Q[l - 1, m + 1] if l > 0 else 0.0
            qz = (l + m) * Q[l - 1, m] if l > 0 else 0.0
            if m == 0:
                val = f * q * inv_sqrt2
                gx = f * inv_sqrt2 * u0 * qxy
                gy = f * inv_sqrt2 * u1 * qxy
                gz = f * inv_sqrt2 * qz
                k = base
                Y[k] = val
                dY[k, 0] = (gx - l * val * u0) * inv_r
                dY[k, 1] = (gy - l * val * u1) * inv_r
                dY[k, 2] = (gz - l * val * u2) * inv_r
            else:
                # m > 0: Q c_m
                val = f * q * cs[m]
                gx = f * (u0 * qxy * cs[m] + q * m * cs[m - 1])
                gy = f * (u1 * qxy * cs[m] - q * m * sn[m - 1])
                gz = f * qz * cs[m]
                k = base + m
                Y[k] = val
                dY[k, 0] = (gx - l * val * u0) * inv_r
                dY[k, 1] = (gy - l * val * u1) * inv_r
                dY[k, 2] = (gz - l * val * u2) * inv_r
                # m < 0: Q s_|m|
                val = f * q * sn[m]
                gx = f * (u0 * qxy * sn[m] + q * m * sn[m - 1])
                gy = f * (u1 * qxy * sn[m] + q * m * cs[m - 1])
                gz = f * qz * sn[m]
                k = base - m
                Y[k] = val
                dY[k, 0] = (gx - l * val * u0) * inv_r
                dY[k, 1] = (gy - l * val * u1) * inv_r
                dY[k, 2] = (gz - l * val * u2) * inv_r
