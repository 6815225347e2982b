r"""Orthonormal radial basis of spherical Bessel functions on the ball (Kocer et al., paper 002).

For each l and n = 0 .. n_max, with u_{nl} the (n+1)-th positive root of the
spherical Bessel function j_l (u_{n0} = (n+1)π) and r_c the cutoff (paper 002, Eq. 2)::

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
(``radial_coefficients``), which is what the kernels evaluate.

Spherical Bessel functions are evaluated without library calls: by their
power series for x² < 4l + 6 (no cancellation there: the first term ratio is
at most 1) and by upward recurrence j_{k+1} = (2k+1)/x j_k - j_{k-1} from
j_0 = sin x/x, j_1 = sin x/x² - cos x/x above it; derivatives from
j_l' = (l/x) j_l - j_{l+1}.
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


@njit(cache=True, inline="always", error_model="numpy")
def _series(l, x):
    """j_l(x) = x^l/(2l+1)!! Σ_k (-x²/2)^k / (k! (2l+3)(2l+5)...(2l+2k+1))."""
    pref = 1.0
    for k in range(1, l + 1):
        pref *= x / (2 * k + 1)
    h = 0.5 * x * x
    term = 1.0
    total = 1.0
    k = 1
    while True:
        term *= -h / (k * (2 * l + 2 * k + 1))
        total += term
        if abs(term) <= 1e-17 * abs(total) or k > 200:
            break
        k += 1
    return pref * total


@njit(cache=True, inline="always", error_model="numpy")
def spherical_jn_and_derivative(l, x):
    """(j_l(x), j_l'(x)) for x > 0."""
    if x * x < 4 * l + 6:
        jl = _series(l, x)
        jl1 = _series(l + 1, x)
    else:
        s = math.sin(x)
        c = math.cos(x)
        inv = 1.0 / x
        jm = s * inv                       # j_0
        jk = (s * inv - c) * inv           # j_1
        for k in range(1, l + 1):          # after the loop: jm = j_l, jk = j_{l+1}
            jn = (2 * k + 1) * inv * jk - jm
            jm = jk
            jk = jn
        jl = jm
        jl1 = jk
    return jl, l / x * jl - jl1


@njit(cache=True, inline="always", error_model="numpy")
def radial_basis(r, rc, u, M, g, dg):
    """g[l, n] = g_nl(r) and dg[l, n] = g_nl'(r) for 0 < r < r_c."""
    L, N, K = M.shape
    for l in range(L):
        for n in range(N):
            g[l, n] = 0.0
            dg[l, n] = 0.0
        for k in range(K):
            scale = u[l, k] / rc
            j, dj = spherical_jn_and_derivative(l, r * scale)
            dj *= scale
            for n in range(N):
                m = M[l, n, k]
                if m != 0.0:
                    g[l, n] += m * j
                    dg[l, n] += m * dj
