"""Spherical-Bessel descriptors (Kocer, Mason and Erturk, J. Chem. Phys. 150, 154102 (2019)) against the paper's formulas, written
here independently with scipy.special (spherical_jn, sph_harm_y) and quadrature."""
import numpy as np
import pytest
from numpy.polynomial.legendre import leggauss
from scipy.special import spherical_jn

from ase_nnp import Potential
from ase_nnp.descriptors import SphericalBessel, descriptor_from_arrays
from ase_nnp.descriptors.spherical_bessel.radial import radial_basis, radial_table
from ase_nnp.descriptors.spherical_bessel.harmonics import harmonic_constants, real_harmonics
from ase_nnp.exceptions import DescriptorSpecError
from ase_nnp.neighbors import build
from conftest import random_atoms, random_cell

try:                                   # scipy >= 1.15
    from scipy.special import sph_harm_y
except ImportError:                    # pragma: no cover - older scipy
    from scipy.special import sph_harm

    def sph_harm_y(l, m, theta, phi):
        return sph_harm(m, l, phi, theta)


# ------------------------------------------------------- slow reference
def reference_roots(l, count):
    """Roots of j_l by a dense sign scan and bisection refinement (scipy only)."""
    x = np.linspace(1e-3, (count + l + 2) * np.pi, 200000)
    y = spherical_jn(l, x)
    idx = np.flatnonzero(np.sign(y[:-1]) * np.sign(y[1:]) < 0)[:count]
    roots = []
    for k in idx:
        a, b = x[k], x[k + 1]
        for _ in range(80):
            m = 0.5 * (a + b)
            if np.sign(spherical_jn(l, m)) == np.sign(spherical_jn(l, a)):
                a = m
            else:
                b = m
        roots.append(0.5 * (a + b))
    return np.array(roots)


def reference_f(n, l, r, rc, deriv=0):
    """Kocer et al. (J. Chem. Phys. 150, 154102 (2019)) Eq. 2 with its normalised coefficients, and its derivatives."""
    u = reference_roots(l, n + 2)
    un, un1 = u[n], u[n + 1]
    c = np.sqrt(2.0 / (rc ** 3 * (un ** 2 + un1 ** 2)))

    def jl(x, d):
        if d == 0:
            return spherical_jn(l, x)
        if d == 1:
            return spherical_jn(l, x, derivative=True)
        # j'' = -(2/x) j' - (1 - l(l+1)/x²) j
        return -2 / x * spherical_jn(l, x, True) - (1 - l * (l + 1) / x ** 2) * spherical_jn(l, x)

    return c * (un1 / spherical_jn(l + 1, un) * (un / rc) ** deriv * jl(r * un / rc, deriv)
                - un / spherical_jn(l + 1, un1) * (un1 / rc) ** deriv * jl(r * un1 / rc, deriv))


def reference_g(n_max, l, r, rc, deriv=0):
    """Gram–Schmidt of the f_nl by numerical quadrature (not the closed recursion)."""
    x, w = leggauss(400)
    rq = (x + 1) * rc / 2
    wq = w * rc / 2 * rq ** 2
    fq = np.array([reference_f(n, l, rq, rc) for n in range(n_max + 1)])
    S = (fq * wq) @ fq.T
    C = np.linalg.inv(np.linalg.cholesky(S))       # g = C f, lower triangular, positive diagonal
    f = np.array([reference_f(n, l, r, rc, deriv) for n in range(n_max + 1)])
    return C @ f


def ours(r, rc, n_max, l_max):
    inv_h, coef = radial_table(rc, n_max, l_max)
    r = np.ascontiguousarray(r, dtype=float)
    g = np.zeros(((l_max + 1) * (n_max + 1), len(r)))
    dg = np.zeros_like(g)
    radial_basis(r, len(r), inv_h, coef, g, dg, np.empty(len(g)), np.empty(len(g)))
    shape = (l_max + 1, n_max + 1, len(r))
    return (g.reshape(shape).transpose(2, 0, 1), dg.reshape(shape).transpose(2, 0, 1))


def real_y(l, m, theta, phi):
    y = sph_harm_y(l, abs(m), theta, phi)
    if m > 0:
        return np.sqrt(2) * (-1) ** m * y.real
    if m < 0:
        return np.sqrt(2) * (-1) ** m * y.imag
    return y.real


def reference_power_spectrum(atoms, rc, n_max, l_max, elements, mode, weights=None):
    """p_nl = Σ_m c*_nlm c_nlm with complex c_nlm = Σ_j w_j g_nl(r_ij) Y*_lm (Kocer, Mason and Erturk, J. Chem. Phys. 150, 154102 (2019))."""
    from ase.neighborlist import neighbor_list
    i, D = neighbor_list("iD", atoms, rc)
    r = np.linalg.norm(D, axis=1)
    theta = np.arccos(D[:, 2] / r)
    phi = np.arctan2(D[:, 1], D[:, 0])
    j = neighbor_list("j", atoms, rc)
    sym = np.array(atoms.get_chemical_symbols())
    g = np.array([reference_g(n_max, l, r, rc) for l in range(l_max + 1)])   # (l, n, pair)
    if mode == "channels":
        chans = [sym[j] == e for e in elements]
        pairs = [(a, b) for a in range(len(elements)) for b in range(a, len(elements))]
        wj = [np.ones(len(r))] * len(elements)
    else:
        wmap = dict(zip(elements, weights))
        chans = [np.ones(len(r), bool)]
        pairs = [(0, 0)]
        wj = [np.array([wmap[s] for s in sym[j]])]
    out = np.zeros((len(atoms), len(pairs) * (n_max + 1) * (l_max + 1)))
    for a in range(len(atoms)):
        sel = i == a
        c = np.zeros((len(chans), n_max + 1, l_max + 1, 2 * l_max + 1), complex)
        for k, ch in enumerate(chans):
            s = sel & ch
            for l in range(l_max + 1):
                for m in range(-l, l + 1):
                    ylm = np.conj(sph_harm_y(l, m, theta[s], phi[s]))
                    for n in range(n_max + 1):
                        c[k, n, l, m + l_max] = np.sum(wj[k][s] * g[l, n, s] * ylm)
        col = 0
        for ka, kb in pairs:
            for n in range(n_max + 1):
                for l in range(l_max + 1):
                    out[a, col] = np.sum(np.conj(c[ka, n, l]) * c[kb, n, l]).real
                    col += 1
    return out


# -------------------------------------------------------- radial basis
@pytest.mark.parametrize("rc,n_max,l_max", [(1.0, 4, 4), (6.5, 6, 3), (4.2, 3, 7)])
def test_radial_basis_is_orthonormal_on_the_ball(rc, n_max, l_max):
    x, w = leggauss(300)
    r = (x + 1) * rc / 2
    g, _ = ours(r, rc, n_max, l_max)
    for l in range(l_max + 1):
        S = np.einsum("q,qn,qm->nm", w * rc / 2 * r * r, g[:, l], g[:, l])
        assert np.abs(S - np.eye(n_max + 1)).max() < 1e-8, l


def test_radial_basis_matches_gram_schmidt_of_the_paper_functions():
    rc, n_max, l_max = 5.0, 4, 4
    r = np.concatenate([[0.0, 1e-3], np.random.default_rng(0).uniform(0, rc, 200), [rc]])
    g, dg = ours(r, rc, n_max, l_max)
    for l in range(l_max + 1):
        ref, dref = reference_g(n_max, l, r, rc), reference_g(n_max, l, r, rc, deriv=1)
        assert np.abs(g[:, l].T - ref).max() < 1e-11 * np.abs(ref).max()
        assert np.abs(dg[:, l].T - dref).max() < 1e-11 * np.abs(dref).max()


def test_l0_basis_matches_the_closed_recursion_of_the_paper():
    rc, n_max = 1.0, 6
    r = np.linspace(0.01, rc, 50)
    sinc = lambda x: np.sinc(x / np.pi)  # noqa: E731  (sin x / x)
    # The paper prints the prefactor as √(2π); its own Eq. 2 with c_nl, j_1(u) = ±1/u at
    # u = (n+1)π, gives π√2 (and only π√2 makes ∫ f_n² r² dr = 1, checked below).
    f = [(-1) ** n * np.pi * np.sqrt(2) / rc ** 1.5 * (n + 1) * (n + 2)
         / np.sqrt((n + 1) ** 2 + (n + 2) ** 2)
         * (sinc(r * (n + 1) * np.pi / rc) + sinc(r * (n + 2) * np.pi / rc))
         for n in range(n_max + 1)]
    gs = [f[0]]
    d_prev = 1.0
    for n in range(1, n_max + 1):
        e = n ** 2 * (n + 2) ** 2 / (4 * (n + 1) ** 4 + 1)
        d = 1 - e / d_prev
        gs.append((f[n] + np.sqrt(e / d_prev) * gs[-1]) / np.sqrt(d))
        d_prev = d
    x, w = leggauss(200)
    rq = (x + 1) * rc / 2
    f0 = np.pi * np.sqrt(2) / rc ** 1.5 * 2 / np.sqrt(5) * (sinc(rq * np.pi / rc)
                                                             + sinc(rq * 2 * np.pi / rc))
    assert abs(np.sum(w * rc / 2 * rq ** 2 * f0 ** 2) - 1) < 1e-12
    g, _ = ours(r, rc, n_max, 0)
    # the paper's f_n carries a (-1)^n sign; Gram–Schmidt fixes each g_n up to that sign
    for n in range(n_max + 1):
        assert min(np.abs(g[:, 0, n] - gs[n]).max(), np.abs(g[:, 0, n] + gs[n]).max()) < 1e-10, n


def test_values_and_two_derivatives_vanish_at_the_cutoff():
    rc, n_max, l_max = 3.7, 5, 5
    g, dg = ours(np.array([rc]), rc, n_max, l_max)
    assert np.abs(g).max() < 1e-12 and np.abs(dg).max() < 1e-12
    for l in range(l_max + 1):
        assert np.abs(reference_g(n_max, l, np.array([rc]), rc, deriv=2)).max() < 1e-9
        # and the basis is not trivially zero just inside
        assert np.abs(reference_g(n_max, l, np.array([0.9 * rc]), rc, deriv=2)).max() > 1e-3
    # second derivative of our g by differences of our g' just inside r_c
    h = 1e-6
    _, dg1 = ours(np.array([rc - h, rc - 2 * h]), rc, n_max, l_max)
    assert np.abs((dg1[0] - dg1[1]) / h).max() < 1e-4


# ----------------------------------------------------- real harmonics
def _harmonics(D, L):
    """Y[lm, q] and dY[d, lm, q] for the rows of D (a batch of pair vectors)."""
    F, A, B = harmonic_constants(L)
    nq = len(D)
    r = np.linalg.norm(D, axis=1)
    U = np.ascontiguousarray((D / r[:, None]).T)
    Y, dY = np.zeros(((L + 1) ** 2, nq)), np.zeros((3, (L + 1) ** 2, nq))
    real_harmonics(U, 1 / r, nq, L, F, A, B, np.zeros((len(F), nq)), np.zeros((L + 1, nq)),
                   np.zeros((L + 1, nq)), Y, dY)
    return Y, dY


def test_real_harmonics_and_gradients():
    L = 7
    rng = np.random.default_rng(2)
    D = rng.normal(size=(6, 3)) * 2.0
    D[5] = [0.0, 0.0, -1.3]                        # on the axis: c_m = s_m = 0 for m > 0
    Y, dY = _harmonics(D, L)
    u = D / np.linalg.norm(D, axis=1)[:, None]
    theta, phi = np.arccos(u[:, 2]), np.arctan2(u[:, 1], u[:, 0])
    ref = np.array([real_y(l, m, theta, phi) for l in range(L + 1) for m in range(-l, l + 1)])
    assert np.abs(Y - ref).max() < 1e-13
    fd = np.zeros_like(dY)
    h = 1e-6
    for d in range(3):
        for s in (1, -1):
            Dp = D.copy()
            Dp[:, d] += s * h
            fd[d] += s * _harmonics(Dp, L)[0] / (2 * h)
    assert np.abs(fd - dY).max() < 1e-8


# ------------------------------------------------------- descriptors
def _cell_2el(seed=4):
    rng = np.random.default_rng(seed)
    return random_atoms(rng, 9, ["Si", "O"], random_cell(rng, 4.5, 6.5, 0.3), True, 1.5)


@pytest.mark.parametrize("mode,weights", [("channels", None), ("weighted", (1.0, -0.7))])
def test_values_match_the_paper_formulas(mode, weights):
    atoms = _cell_2el()
    sb = SphericalBessel(["O", "Si"], 4.0, n_max=3, l_max=3, mode=mode,
                         weights=None if weights is None else dict(zip(["O", "Si"], weights)))
    G = sb.compute(atoms)
    ref = reference_power_spectrum(atoms, 4.0, 3, 3, ["O", "Si"], mode, weights)
    assert G.shape == ref.shape == (len(atoms), len(sb))
    assert np.abs(G).max() > 1e-2
    assert np.abs(G - ref).max() < 1e-10 * max(1.0, np.abs(ref).max())


def test_counts_and_labels():
    assert len(SphericalBessel(["Si"], 6.5, 3, 3)) == 16
    assert len(SphericalBessel(["Si"], 6.5, 4, 4)) == 25
    assert len(SphericalBessel(["Si", "O", "C"], 5.0, 4, 4)) == 6 * 25
    assert len(SphericalBessel(["Si", "O", "C"], 5.0, 4, 4, mode="weighted")) == 25
    labels = SphericalBessel(["O", "Si"], 5.0, 1, 2).feature_labels("Si")
    assert labels[0].startswith("p[O,O] n=0 l=0") and labels[-1].startswith("p[Si,Si] n=1 l=2")
    assert len(labels) == 3 * 2 * 3


def test_invariance_of_values():
    atoms = _cell_2el(7)
    sb = SphericalBessel(["O", "Si"], 4.5, n_max=4, l_max=6)
    G = sb.compute(atoms)
    rng = np.random.default_rng(1)
    q, _ = np.linalg.qr(rng.normal(size=(3, 3)))
    rot = atoms.copy()
    rot.positions = atoms.positions @ q.T          # any orthogonal matrix, reflections too
    rot.set_cell(atoms.cell[:] @ q.T)
    assert np.abs(sb.compute(rot) - G).max() < 1e-12 * max(1.0, np.abs(G).max())
    moved = atoms.copy()
    moved.translate([0.3, -1.7, 2.9])
    assert np.abs(sb.compute(moved) - G).max() < 1e-12 * max(1.0, np.abs(G).max())
    perm = rng.permutation(len(atoms))
    assert np.abs(sb.compute(atoms[perm]) - G[perm]).max() < 1e-12 * max(1.0, np.abs(G).max())


def test_backward_jvp_and_jacobian_agree():
    atoms = _cell_2el(9)
    sb = SphericalBessel(["O", "Si"], 4.5, n_max=3, l_max=4)
    nl = build(atoms.positions, atoms.cell[:], atoms.pbc, sb.cutoff)
    species = sb.species_indices(atoms.numbers)
    rng = np.random.default_rng(3)
    W = rng.normal(size=(len(atoms), len(sb)))
    V = rng.normal(size=(nl.n_pairs, 3))
    g = sb.backward(nl, species, W)
    dG = sb.jvp(nl, species, V)
    J = sb.jacobian(nl, species)
    assert abs(np.sum(W * dG) - np.sum(g * V)) < 1e-10 * np.abs(g * V).sum()
    assert np.abs(np.einsum("pf,pfd->pd", W[nl.i], J) - g).max() < 1e-12 * np.abs(g).max()
    # the Jacobian against differences of the values in one pair vector
    h = 1e-6
    for p in (0, nl.n_pairs // 2):
        for d in range(3):
            Gs = []
            for s in (1, -1):
                D = nl.D.copy()
                D[p, d] += s * h
                r = np.linalg.norm(D, axis=1)
                nl2 = type(nl)(nl.i, nl.j, D, r, nl.S, nl.first, nl.cutoff)
                Gs.append(sb.forward(nl2, species)[nl.i[p]])
            assert np.abs((Gs[0] - Gs[1]) / (2 * h) - J[p, :, d]).max() < 1e-6


def test_spec_round_trip_model_file_and_errors(tmp_path):
    sb = SphericalBessel(["Si", "O"], 5.0, 2, 3, mode="weighted", weights={"Si": 2.0, "O": 1.0})
    again = descriptor_from_arrays(sb.kind, sb.to_arrays())
    assert again.to_arrays().keys() == sb.to_arrays().keys()
    for k, v in sb.to_arrays().items():
        np.testing.assert_array_equal(v, again.to_arrays()[k])
    pot = Potential(["O", "Si"], SphericalBessel(["O", "Si"], 4.5, 3, 3), hidden_layers=(6,), seed=2)
    path = tmp_path / "b.nnp"
    pot.save(path)
    back = Potential.load(path)
    atoms = _cell_2el(11)
    e1 = pot.evaluate(atoms.positions, atoms.numbers, atoms.cell[:], atoms.pbc)
    e2 = back.evaluate(atoms.positions, atoms.numbers, atoms.cell[:], atoms.pbc)
    assert isinstance(back.descriptor, SphericalBessel)
    assert e1.energy == e2.energy and np.array_equal(e1.forces, e2.forces)
    for bad, msg in [(dict(cutoff=-1.0), "cutoff"), (dict(n_max=-1), "n_max"),
                     (dict(l_max=2.5), "l_max"), (dict(mode="soap"), "mode"),
                     (dict(weights=[1.0, 2.0]), "weighted")]:
        args = dict(elements=["Si", "O"], cutoff=5.0)
        args.update(bad)
        with pytest.raises(DescriptorSpecError, match=msg):
            SphericalBessel(**args)
