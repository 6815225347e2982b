r"""Orthonormal radial basis of spherical Bessel functions on the ball (Kocer, Mason and Erturk, J. Chem. Phys. 150, 154102 (2019)).

For each l and n = 0 .. n_max, with u_{nl} the (n+1)-th positive root of the
spherical Bessel function j_l (u_{n0} = (n+1)π) and r_c the cutoff (Kocer, Mason and Erturk, J. Chem. Phys. 150, 154102 (2019), Eq. 2)::

    f_nl(r) = c_nl [ u_{n+1,l}/j_{l+1}(u_nl) · j_l(r u_nl/r_c)
                     - u_nl/j_{l+1}(u_{n+1,l}) · j_l(r u_{n+1,l}/r_c) ],
    c_nl = √( 2 / (r_c³ (u_nl² + u_{n+1,l}²)) ).

f_nl(r_c) = 0 because both arguments are roots; f'_nl(r_c) = f''_nl(r_c) = 0
because j_l'(u) = -j_{l+1}(u) and j_l''(u) = 2 j_{l+1}(u)/u at a root of j_l.
c_nl normalises ∫₀^{r_c} f_nl² r² dr = 1 (from ∫₀^{r_c} j_l(u_k r/r_c) j_l(u_k' r/r_c) r² dr
= δ_kk' r_c³ j_{l+1}(u_k)²/2). Two f_nl of the same l share at most one root, so
their overlap matrix is tridiagonal with

    S_{n-1,n} = ∫ f_{n-1,l} f_nl r² dr = -u_{n-1,l} u_{n+1,l}
                / √((u_{n-1,l}² + u_nl²)(u_nl² + u_{n+1,l}²)),

and Gram–Schmidt in the order n = 0, 1, ... closes into the recursion the
paper gives for l = 0 (where it reduces to e_n = n²(n+2)²/(4(n+1)⁴+1)),
here for every l::

    e_n = S_{n-1,n}²,   d_0 = 1,   d_n = 1 - e_n/d_{n-1},
    g_0l = f_0l,        g_nl = [ f_nl - S_{n-1,n}/√d_{n-1} · g_{n-1,l} ] / √d_n .

So ∫₀^{r_c} g_n'l g_nl r² dr = δ_n'n, and every g_nl is a fixed combination
g_nl(r) = Σ_k M[l, n, k] j_l(r u_kl / r_c) over k = 0 .. n_max + 1
(``radial_coefficients``).

The kernels do not call special functions: ``radial_table`` samples g_nl and
its first two derivatives exactly once per descriptor, and ``radial_basis``
evaluates the C² quintic Hermite interpolant for all the pairs of an atom
(values and slopes of 25 functions in one SIMD pass: ~70 ns per pair, measured
on a busy machine where one function at a time took ~120; an exact evaluation
by series and recurrence took ~1.4 µs per pair).
"""

import math

import numpy as np
from numba import njit


def spherical_bessel_roots(l_max, count):
    """u[l, k]: the first ``count`` positive roots of j_l for l = 0 .. l_max.

    Roots of j_l interlace those of j_{l-1} (u_{k,l-1} < u_{k,l} < u_{k+1,l-1}),
    so each is bracketed and found by Brent's method.
    """
    from scipy.optimize import brentq
    from scipy.special import spherical_jn
    n0 = count + l_max + 1
    prev = np.pi * np.arange(1, n0 + 1, dtype=float)          # roots of j_0
    u = np.zeros((l_max + 1, count))
    u[0] = prev[:count]
    for l in range(1, l_max + 1):
        cur = np.array([brentq(lambda x: spherical_jn(l, x), prev[k], prev[k + 1], xtol=1e-15,
                               rtol=4 * np.finfo(float).eps, maxiter=200)
                        for k in range(len(prev) - 1)])
        u[l] = cur[:count]
        prev = cur
    return u


def radial_coefficients(cutoff, n_max, l_max):
    """(u, M): roots u[l, k] (k = 0 .. n_max+1) and M[l, n, k] with
    g_nl(r) = Σ_k M[l, n, k] j_l(r u[l, k] / r_c) (module docstring)."""
    from scipy.special import spherical_jn
    rc = float(cutoff)
    nk = n_max + 2
    u = spherical_bessel_roots(l_max, nk)
    M = np.zeros((l_max + 1, n_max + 1, nk))
    for l in range(l_max + 1):
        ul = u[l]
        c = np.sqrt(2.0 / (rc ** 3 * (ul[:-1] ** 2 + ul[1:] ** 2)))       # c_nl, n = 0 .. n_max
        jl1 = spherical_jn(l + 1, ul)
        B = np.zeros((n_max + 1, nk))                                     # f_n = Σ_k B[n, k] j_l(...)
        for n in range(n_max + 1):
            B[n, n] = c[n] * ul[n + 1] / jl1[n]
            B[n, n + 1] = -c[n] * ul[n] / jl1[n + 1]
        G = np.zeros((n_max + 1, n_max + 1))                              # g_n = Σ_k G[n, k] f_k
        G[0, 0] = 1.0
        d_prev = 1.0
        for n in range(1, n_max + 1):
            s = -ul[n - 1] * ul[n + 1] / math.sqrt((ul[n - 1] ** 2 + ul[n] ** 2)
                                                   * (ul[n] ** 2 + ul[n + 1] ** 2))
            d = 1.0 - s * s / d_prev
            G[n] = -s / math.sqrt(d_prev) * G[n - 1]
            G[n, n] += 1.0
            G[n] /= math.sqrt(d)
            d_prev = d
        M[l] = G @ B
    return u, M


def _jl_and_derivatives(l, x):
    """j_l, j_l', j_l'' at x >= 0 (scipy; construction time only)."""
    from scipy.special import spherical_jn
    x = np.asarray(x, dtype=float)
    j = spherical_jn(l, x)
    dj = spherical_jn(l, x, derivative=True)
    with np.errstate(divide="ignore", invalid="ignore"):
        # Bessel's equation: j'' = -(2/x) j' - (1 - l(l+1)/x²) j
        d2j = -2.0 / x * dj - (1.0 - l * (l + 1) / x ** 2) * j
    d2j[x == 0] = {0: -1.0 / 3.0, 2: 2.0 / 15.0}.get(l, 0.0)       # limits at x = 0
    return j, dj, d2j


def radial_table(cutoff, n_max, l_max, intervals=1024):
    """Quintic Hermite tables of g_nl on [0, r_c]: (1/h, coef[t, 0..5, l (n_max+1) + n]).

    On interval t, with s = r/h - t in [0, 1], g_nl(r) = Σ_k coef[t, k, l (n_max+1) + n] s^k
    (the function index last, so one power of s is a contiguous row over all g_nl).
    The nodes carry the exact g, g' and g'' (scipy's spherical_jn; j'' from
    Bessel's equation), so the piecewise polynomial is C² and matches g_nl, g_nl'
    to ~1e-15 relative for h = r_c/1024 (error ∝ h⁶ g⁽⁶⁾). Forces are the exact
    derivatives of this interpolant, so energy and forces stay consistent to
    rounding. At r_c the node values are exactly 0 (the analytic values), so
    the tabulated functions keep the basis's vanishing value, slope and
    curvature there.
    """
    u, M = radial_coefficients(cutoff, n_max, l_max)
    h = float(cutoff) / intervals
    r = np.arange(intervals + 1) * h
    f = np.zeros((3, intervals + 1, l_max + 1, n_max + 1))       # g, h g', h² g''
    for l in range(l_max + 1):
        for k in range(n_max + 2):
            scale = u[l, k] / cutoff
            j, dj, d2j = _jl_and_derivatives(l, r * scale)
            for n in range(n_max + 1):
                f[0, :, l, n] += M[l, n, k] * j
                f[1, :, l, n] += M[l, n, k] * dj * scale * h
                f[2, :, l, n] += M[l, n, k] * d2j * scale ** 2 * h * h
    f[:, -1] = 0.0
    f = f.reshape(3, intervals + 1, (l_max + 1) * (n_max + 1))
    f0, d0, s0 = f[0, :-1], f[1, :-1], f[2, :-1]
    f1, d1, s1 = f[0, 1:], f[1, 1:], f[2, 1:]
    coef = np.empty((intervals, 6, (l_max + 1) * (n_max + 1)))
    coef[:, 0] = f0
    coef[:, 1] = d0
    coef[:, 2] = 0.5 * s0
    coef[:, 3] = 10 * (f1 - f0) - 6 * d0 - 4 * d1 - 1.5 * s0 + 0.5 * s1
    coef[:, 4] = -15 * (f1 - f0) + 8 * d0 + 7 * d1 + 1.5 * s0 - s1
    coef[:, 5] = 6 * (f1 - f0) - 3 * d0 - 3 * d1 - 0.5 * s0 + 0.5 * s1
    return 1.0 / h, coef


@njit(cache=True, inline="always", error_model="numpy", fastmath={"contract"})
def radial_basis(r, nq, inv_h, coef, g, dg, gq, dq):
    """g[l (n_max+1) + n, q] = g_nl(r[q]) and dg[.., q] = g_nl'(r[q]) for q < nq, 0 <= r <= r_c.

    Value and slope come from one Horner pass (p' accumulates alongside p), run for
    all g_nl of a pair at once over the rows coef[t, k] (SIMD); ``gq`` and ``dq``
    (length (l_max+1)(n_max+1)) hold them until they are stored by pair.
    """
    last = coef.shape[0] - 1
    M = coef.shape[2]
    for q in range(nq):
        x = r[q] * inv_h
        t = min(int(x), last)
        s = x - t
        c = coef[t]
        for j in range(M):
            gq[j] = c[5, j]
            dq[j] = 0.0
        for k in range(4, -1, -1):
            for j in range(M):
                dq[j] = dq[j] * s + gq[j]
                gq[j] = gq[j] * s + c[k, j]
        for j in range(M):
            g[j, q] = gq[j]
            dg[j, q] = dq[j] * inv_h
