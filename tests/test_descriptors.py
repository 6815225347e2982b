"""Symmetry-function values against dscribe and closed forms; the three kernels against each other."""
import math

import numpy as np
import pytest
from ase import Atoms
from ase.build import bulk, molecule

from ase_nnp.descriptors import SymmetryFunctions, angular_grid, radial_grid
from ase_nnp.descriptors.symmetry_functions.cutoffs import CUTOFF_CODES, cutoff
from ase_nnp.exceptions import DescriptorSpecError, UnknownElementError
from ase_nnp.neighbors import build
from conftest import mixed_descriptor, random_atoms, random_cell

dscribe = pytest.importorskip("dscribe.descriptors")

G2 = [[0.02, 0.0], [0.4, 1.2], [1.1, 2.6]]
G4 = [[0.005, 1, 1], [0.02, 2, -1], [0.05, 4, 1], [0.01, 3, -1]]
G5 = [[0.004, 1, -1], [0.03, 2, 1], [0.08, 4, -1]]


def _ours_like_dscribe(species, rc):
    """Our functions laid out in dscribe's column order: per neighbour species
    (atomic-number order) G1 (skipped), G2...; then per species pair
    (Z_j >= Z_k, triangular order) G4..., G5..."""
    sf = SymmetryFunctions(species, cutoff=rc, cutoff_function="cos")
    cols = []
    nel = len(species)
    for e in range(nel):
        cols.append(None)   # dscribe's G1, not a Behler function we provide
        for eta, rs in G2:
            sf.add_radial(eta, rs, neighbor=species[e])
            cols.append(len(sf) - 1)
    for j in range(nel):
        for k in range(j + 1):
            for eta, zeta, lam in G4:
                sf.add_angular(eta, zeta, lam, "narrow", neighbors=(species[k], species[j]))
                cols.append(len(sf) - 1)
            for eta, zeta, lam in G5:
                sf.add_angular(eta, zeta, lam, "wide", neighbors=(species[k], species[j]))
                cols.append(len(sf) - 1)
    return sf, cols


def _compare(atoms, species, rc):
    from dscribe.descriptors import ACSF
    sf, cols = _ours_like_dscribe(species, rc)
    ref = ACSF(r_cut=rc, g2_params=G2, g4_params=G4, g5_params=G5, species=species,
               periodic=bool(atoms.pbc.any())).create(atoms)
    ours = sf.compute(atoms)
    n_per_centre = len(sf) // len(species)
    checked = 0
    for a in range(len(atoms)):
        for dcol, f in enumerate(cols):
            if f is None:
                continue
            ocol = f // len(species)  # add_* expands centres innermost-first
            value = ours[a, ocol]
            expected = ref[a, dcol]
            assert abs(value - expected) <= 1e-10 * max(abs(expected), 1e-300) + 1e-300, \
                (a, dcol, value, expected)
            checked += 1
    assert n_per_centre * len(species) == len(sf)
    assert checked > 0
    assert np.abs(ours).max() > 0.1


def test_two_elements_periodic_against_dscribe():
    atoms = bulk("SiC", "zincblende", a=4.36, cubic=True).repeat(2)
    atoms.rattle(0.1, seed=0)
    _compare(atoms, ["C", "Si"], 5.0)


def test_three_elements_periodic_triclinic_against_dscribe():
    rng = np.random.default_rng(11)
    atoms = random_atoms(rng, 24, ["H", "C", "O"], random_cell(rng, 6, 8, 0.2), True, 1.0)
    _compare(atoms, ["H", "C", "O"], 4.5)


def test_three_elements_molecule_against_dscribe():
    atoms = molecule("CH3CH2OH")
    _compare(atoms, ["H", "C", "O"], 6.0)


def test_two_elements_open_cluster_against_dscribe():
    rng = np.random.default_rng(2)
    atoms = random_atoms(rng, 20, ["Si", "O"], np.eye(3) * 7, False, 1.3)
    _compare(atoms, ["O", "Si"], 5.5)


# ------------------------------------------------------------ closed forms
def test_dimer_and_trimer_closed_form():
    """Two and three atoms: the sums have one or three terms, written out here."""
    rc = 5.0
    fc = lambda r: 0.5 * (math.cos(math.pi * r / rc) + 1)  # noqa: E731
    sf = SymmetryFunctions(["H"], cutoff=rc)
    sf.add_radial(0.3, rs=0.5)
    sf.add_angular(0.1, 2.5, -1, "narrow", rs=0.3)
    sf.add_angular(0.1, 3, 1, "wide")
    a, b = 1.1, 1.7
    theta = 1.9
    p = np.array([[0, 0, 0], [a, 0, 0], [b * math.cos(theta), b * math.sin(theta), 0]])
    G = sf.compute(Atoms("H3", positions=p))
    c = (p[1] - p[0]) @ (p[2] - p[0]) / (a * b)
    d = np.linalg.norm(p[1] - p[2])
    rad = math.exp(-0.3 * (a - 0.5) ** 2) * fc(a) + math.exp(-0.3 * (b - 0.5) ** 2) * fc(b)
    narrow = (2 ** (1 - 2.5) * (1 - c) ** 2.5 * fc(a) * fc(b) * fc(d)
              * math.exp(-0.1 * ((a - .3) ** 2 + (b - .3) ** 2 + (d - .3) ** 2)))
    wide = 2 ** -2 * (1 + c) ** 3 * math.exp(-0.1 * (a * a + b * b)) * fc(a) * fc(b)
    np.testing.assert_allclose(G[0], [rad, narrow, wide], rtol=1e-13)


CLOSED_FORMS = {
    "cos": lambda x: 0.5 * (np.cos(np.pi * x) + 1),
    "exp": lambda x: np.exp(1 - 1 / (1 - x * x)),
    "poly1": lambda x: (2 * x - 3) * x ** 2 + 1,
    "poly2": lambda x: ((15 - 6 * x) * x - 10) * x ** 3 + 1,
    "poly3": lambda x: (x * (x * (20 * x - 70) + 84) - 35) * x ** 4 + 1,
    "poly4": lambda x: (x * (x * ((315 - 70 * x) * x - 540) + 420) - 126) * x ** 5 + 1,
}


@pytest.mark.parametrize("name", list(CUTOFF_CODES))
@pytest.mark.parametrize("alpha", [0.0, 0.3])
def test_cutoff_functions(name, alpha):
    rc = 4.0
    code = CUTOFF_CODES[name]
    rs = np.linspace(0.01, rc + 0.5, 400)
    f = np.array([cutoff(code, r, rc, alpha)[0] for r in rs])
    df = np.array([cutoff(code, r, rc, alpha)[1] for r in rs])
    assert np.all(f[rs >= rc] == 0) and np.all(df[rs >= rc] == 0)
    if name in ("tanhu", "tanh"):
        ref = np.tanh(1 - rs / rc) ** 3 * (1 / math.tanh(1.0) ** 3 if name == "tanh" else 1)
        ref[rs >= rc] = 0
    elif name == "hard":
        ref = (rs < rc).astype(float)
    else:
        x = np.clip((rs - alpha * rc) / (rc - alpha * rc), 0, 1)
        with np.errstate(divide="ignore"):
            ref = np.where(rs <= alpha * rc, 1.0, CLOSED_FORMS[name](x))
        ref[rs >= rc] = 0
    # both sides round at ~1e-16 x (polynomial coefficients up to 630)
    np.testing.assert_allclose(f, ref, rtol=1e-13, atol=1e-12)
    # derivative against central differences, away from the kinks
    h = 1e-6
    inside = (rs > alpha * rc + 1e-3) & (rs < rc - 1e-3)
    for r, d in zip(rs[inside], df[inside]):
        num = (cutoff(code, r + h, rc, alpha)[0] - cutoff(code, r - h, rc, alpha)[0]) / (2 * h)
        assert abs(num - d) < 1e-7, (name, r, num, d)
    if name == "tanh":
        assert cutoff(code, 1e-12, rc, 0.0)[0] == pytest.approx(1.0)


def test_grids_closed_form():
    rc, n = 6.0, 5
    cen = radial_grid(n, rc, "centered")
    assert len(cen) == n + 1
    np.testing.assert_allclose([e for e, _ in cen], [(n ** (m / n) / rc) ** 2 for m in range(n + 1)])
    sh = radial_grid(n, rc, "shifted")
    x = [rc / n ** ((n - m) / n) for m in range(n + 1)]
    np.testing.assert_allclose([r for _, r in sh], x[:-1])
    np.testing.assert_allclose([e for e, _ in sh], [1 / (x[m + 1] - x[m]) ** 2 for m in range(n)])
    etas = [e for e, _ in sh]
    assert all(a > b for a, b in zip(etas, etas[1:]))  # narrow near the centre, wider outward
    ang = angular_grid(4, 1.5, rc, "centered")
    dr = (rc - 0.5 - 1.5) / 3
    np.testing.assert_allclose([e for e, _ in ang], [1 / (2 * (1.5 + i * dr) ** 2) for i in range(4)])
    angs = angular_grid(4, 1.5, rc, "shifted")
    np.testing.assert_allclose([r for _, r in angs], [1.5 + i * dr for i in range(4)])
    np.testing.assert_allclose([e for e, _ in angs], [1 / (2 * dr * dr)] * 4)


def test_grid_constructors_expand_over_elements():
    sf = SymmetryFunctions(["Si", "O"], cutoff=6.0)
    sf.add_radial_grid(4, "centered")
    sf.add_radial_grid(4, "shifted")
    sf.add_angular_grid(3, 1.5, zetas=(1, 4), lambdas=(-1, 1), kind="shifted", angular="wide")
    per_centre = 5 * 2 + 4 * 2 + 3 * 2 * 2 * 3   # radial x 2 neighbours, angular x 3 pairs
    assert sf.n_features("Si") == sf.n_features("O") == per_centre
    assert len(sf.feature_labels("O")) == per_centre


# ------------------------------------------------------ the three kernels
def _kernel_case():
    rng = np.random.default_rng(9)
    atoms = random_atoms(rng, 14, ["Si", "O", "C"], random_cell(rng, 5, 7, 0.3), True, 1.4)
    sf = mixed_descriptor(["Si", "O", "C"])
    nl = build(atoms.positions, atoms.cell[:], atoms.pbc, sf.cutoff)
    return atoms, sf, nl, sf.species_indices(atoms.numbers)


def test_backward_is_adjoint_of_jvp():
    atoms, sf, nl, sp = _kernel_case()
    rng = np.random.default_rng(1)
    W = rng.normal(size=(len(atoms), sf.n_features_max))
    V = rng.normal(size=(nl.n_pairs, 3))
    lhs = np.sum(sf.backward(nl, sp, W) * V)
    rhs = np.sum(W * sf.jvp(nl, sp, V))
    assert abs(lhs - rhs) < 1e-11 * abs(lhs)


def test_jvp_matches_finite_differences_of_forward():
    atoms, sf, nl, sp = _kernel_case()
    rng = np.random.default_rng(2)
    dx = rng.normal(size=(len(atoms), 3))
    J = sf.jvp(nl, sp, dx[nl.j] - dx[nl.i])
    h = 1e-5

    def G(pos):
        return sf.forward(build(pos, atoms.cell[:], True, sf.cutoff), sp)
    num = (G(atoms.positions + h * dx) - G(atoms.positions - h * dx)) / (2 * h)
    assert np.abs(J).max() > 0.1
    assert np.abs(num - J).max() < 1e-7 * np.abs(J).max()


def test_compute_rejects_unknown_element_and_bad_parameters():
    sf = SymmetryFunctions(["Si"], cutoff=5.0)
    sf.add_radial(0.1)
    with pytest.raises(UnknownElementError, match=r"\['O'\].*\['Si'\]"):
        sf.compute(Atoms("SiO", positions=[[0, 0, 0], [1.5, 0, 0]]))
    for bad in (dict(eta=-1.0), dict(eta=0.1, rs=-1)):
        with pytest.raises(DescriptorSpecError):
            sf.add_radial(**bad)
    with pytest.raises(DescriptorSpecError, match="lambda"):
        sf.add_angular(0.1, 1, 0.5)
    with pytest.raises(DescriptorSpecError, match="zeta"):
        sf.add_angular(0.1, 0.5, 1)
    with pytest.raises(DescriptorSpecError, match="duplicate"):
        sf.add_radial(0.1)
    with pytest.raises(DescriptorSpecError, match="alpha"):
        SymmetryFunctions(["Si"], cutoff=5.0, alpha=1.0)
    with pytest.raises(ValueError, match="cutoff function"):
        SymmetryFunctions(["Si"], cutoff=5.0, cutoff_function="gauss")


def test_jacobian_agrees_with_backward_and_jvp():
    atoms, sf, nl, sp = _kernel_case()
    rng = np.random.default_rng(3)
    J = sf.jacobian(nl, sp)
    W = rng.normal(size=(len(atoms), sf.n_features_max))
    V = rng.normal(size=(nl.n_pairs, 3))
    g = np.einsum("pf,pfd->pd", W[nl.i], J)
    np.testing.assert_allclose(g, sf.backward(nl, sp, W), rtol=1e-12, atol=1e-12)
    per_pair = np.einsum("pfd,pd->pf", J, V)
    dG = np.zeros((len(atoms), sf.n_features_max))
    np.add.at(dG, nl.i, per_pair)
    np.testing.assert_allclose(dG, sf.jvp(nl, sp, V), rtol=1e-12, atol=1e-12)


def test_vectorised_gaussian_is_exp_to_two_ulp():
    """The narrow functions' exp(-η (r_jk - r_s)²) without libm: against numpy's exp."""
    from ase_nnp.descriptors.symmetry_functions.kernels import _gaussian_rows
    rng = np.random.default_rng(5)
    r = np.concatenate([rng.uniform(0.0, 13.0, 20000), [0.0, 1.0, 2.0, 0.5]])
    for rs, eta in [(0.0, 0.000357), (0.0, 0.089277), (1.3, 2.0), (0.0, 4.0), (0.0, 0.0)]:
        out, work = np.empty_like(r), np.empty_like(r)
        _gaussian_rows(r, rs, eta, out, work, 3, len(r))
        x = r - rs
        ref = np.exp(-eta * x * x)           # the same argument, rounded the same way
        keep = ref > 1e-300
        rel = np.abs(out[3:] - ref[3:])[keep[3:]] / ref[3:][keep[3:]]
        assert rel.max() < 4.5e-16, (rs, eta, rel.max())
        assert np.all(out[3:][~keep[3:]] < 1e-300)          # below exp(-708): tiny, not NaN
