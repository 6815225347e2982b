"""Polynomial symmetry functions (n2p2 types 20-25; Bircher, Singraber and Dellago,
Mach. Learn.: Sci. Technol. 2, 035026 (2021)): values against a direct transcription of
the formulas, forces and stress against central differences, the four kernel modes and
the fused kernel against each other, the model file, and refusals of bad input."""
import math
from dataclasses import replace

import numpy as np
import pytest
from ase import Atoms
from ase.neighborlist import neighbor_list
from ase.stress import voigt_6_to_full_3x3_stress

from ase_nnp import NNPCalculator, load
from ase_nnp.descriptors import PolynomialSymmetryFunctions
from ase_nnp.descriptors.polynomial_symmetry_functions.kernels import COLLINEAR
from ase_nnp.elements import ATOMIC_NUMBERS
from ase_nnp.engine import has_fused_kernel
from ase_nnp.exceptions import DescriptorSpecError
from ase_nnp.neighbors import build
from conftest import numerical_forces, numerical_stress, sensitive_potential
from test_forces_stress import _bulk_case, _molecule_case, _slab_case

pytestmark = pytest.mark.filterwarnings("ignore::ase_nnp.exceptions.ExtrapolationWarning")
ELEMENTS = ["Si", "O", "C"]


def descriptor(elements=ELEMENTS, cutoff=4.5):
    """Every type 20-25, every subtype family (p1-p4, asymmetric, e), radial windows
    centred on the atom and shifted, angle windows inside [0, 180] and centred on 0 and
    180 degrees."""
    p = PolynomialSymmetryFunctions(elements, cutoff, subtype="p2")
    p.add_radial()
    p.add_radial(rl=1.0, rc=3.0, subtype="p3a")
    p.add_angular(-60, 60)
    p.add_angular(30, 150, kind="narrow", rl=0.5, rc=4.0, subtype="p4")
    p.add_angular(90, 270, kind="narrow", subtype="e")
    p.add_weighted_radial(rl=-1.0, rc=4.2, subtype="p1a")
    p.add_weighted_angular(0, 180, kind="wide", subtype="p2a")
    p.add_weighted_angular(20, 100, kind="narrow", rl=-2.0, rc=4.3, subtype="p1")
    return p


# ------------------------------------------------------------ the formulas, directly
def _core(kind, y):
    if kind == 4:
        return math.exp(1.0 - 1.0 / (1.0 - y * y))
    return {5: lambda: 1.0 - y * y * (3.0 - 2.0 * y),
            6: lambda: 1.0 - y ** 3 * (10.0 - 15.0 * y + 6.0 * y * y),
            7: lambda: 1.0 - y ** 4 * (35.0 - 84.0 * y + 70.0 * y * y - 20.0 * y ** 3),
            8: lambda: 1.0 - y ** 5 * (126.0 - 420.0 * y + 540.0 * y * y - 315.0 * y ** 3
                                       + 70.0 * y ** 4)}[kind]()


def _window(x, left, right, kind, asym):
    if not left < x < right:
        return 0.0
    y = abs(x - (left + right) / 2) / ((right - left) / 2)
    return _core(kind, (2.0 - y) * y if asym else y)


def reference_values(p, atoms):
    """G of every atom by the module docstring's sums over neighbours and pairs of them."""
    els = p.elements
    i_, j_, D_ = neighbor_list("ijD", atoms, p.cutoff)
    sp = [els.index(s) for s in atoms.get_chemical_symbols()]
    Z = [ATOMIC_NUMBERS[e] for e in els]
    out = np.zeros((len(atoms), p.n_features_max))
    for i in range(len(atoms)):
        js, Ds = j_[i_ == i], D_[i_ == i]
        for f, row in enumerate(p.functions(els[sp[i]])):
            radial = lambda r: _window(r, row.rl, row.rc, row.kind, row.asymmetric)  # noqa
            v = 0.0
            for a in range(len(js)):
                ea, ra = sp[js[a]], np.linalg.norm(Ds[a])
                if row.type == 20:
                    v += radial(ra) if ea == row.neighbor1 else 0.0
                elif row.type == 23:
                    v += Z[ea] * radial(ra)
                else:
                    for b in range(a + 1, len(js)):
                        eb, rb = sp[js[b]], np.linalg.norm(Ds[b])
                        if row.type in (21, 22):
                            if sorted((ea, eb)) != [row.neighbor1, row.neighbor2]:
                                continue
                            w = 1.0
                        else:
                            w = Z[ea] * Z[eb]
                        c = Ds[a] @ Ds[b] / (ra * rb)
                        if abs(c) >= COLLINEAR:
                            continue
                        t = w * radial(ra) * radial(rb) * _window(
                            math.acos(c), math.radians(row.angle_left),
                            math.radians(row.angle_right), row.kind, 0)
                        if row.type in (21, 24):
                            t *= radial(np.linalg.norm(Ds[b] - Ds[a]))
                        v += t
            out[i, f] = v
    return out


def _small():
    """A periodic cell smaller than the cutoff: atoms see their own images."""
    cell = np.array([[3.1, 0.0, 0.0], [0.6, 3.3, 0.0], [0.3, -0.4, 3.6]])
    return Atoms("SiOC", scaled_positions=[[0.1, 0.2, 0.1], [0.55, 0.4, 0.6],
                                           [0.3, 0.8, 0.45]], cell=cell, pbc=True)


CASES = {"bulk-3el": lambda: _bulk_case(2, ELEMENTS),
         "bulk-3el-b": lambda: _bulk_case(3, ELEMENTS), "slab": _slab_case,
         "molecule": _molecule_case, "small-cell": _small}


def test_values_follow_the_formulas():
    p = descriptor()
    for make in CASES.values():
        atoms = make()
        G = p.compute(atoms)
        ref = reference_values(p, atoms)
        assert (np.abs(ref) > 0).mean() > 0.3      # the columns see neighbours
        assert np.abs(G - ref).max() < 1e-12 * max(1.0, np.abs(ref).max())


def _calculator(atoms):
    pot = sensitive_potential(ELEMENTS, [atoms], descriptor=descriptor())
    atoms.calc = NNPCalculator(pot)
    return pot


@pytest.mark.parametrize("name", list(CASES))
def test_forces_match_finite_differences(name):
    atoms = CASES[name]()
    _calculator(atoms)
    F = atoms.get_forces()
    assert np.abs(F).max() > 1e-3
    assert np.abs(F - numerical_forces(atoms)).max() < 1e-6
    assert np.abs(F.sum(axis=0)).max() < 1e-10


@pytest.mark.parametrize("name", ["bulk-3el", "bulk-3el-b", "small-cell"])
def test_stress_matches_strain_derivative(name):
    atoms = CASES[name]()
    _calculator(atoms)
    s = voigt_6_to_full_3x3_stress(atoms.get_stress())
    assert np.abs(s).max() > 1e-4
    assert np.abs(s - numerical_stress(atoms)).max() < 1e-6


def test_modes_and_fused_kernel_agree():
    """backward, jvp and the Jacobian are one derivative; the fused per-atom kernel gives
    the numbers of forward -> network -> backward."""
    atoms = _bulk_case(2, ELEMENTS)
    pot = _calculator(atoms)
    p = pot.descriptor
    nl = build(atoms.positions, atoms.cell[:], atoms.pbc, p.cutoff)
    sp = p.species_indices(atoms.numbers)
    rng = np.random.default_rng(0)
    W = rng.normal(size=(len(atoms), p.n_features_max))
    V = rng.normal(size=(nl.n_pairs, 3))
    J = p.jacobian(nl, sp)
    g = p.backward(nl, sp, W)
    np.testing.assert_allclose(g, np.einsum("pf,pfd->pd", W[nl.i], J), atol=1e-12)
    dG = p.jvp(nl, sp, V)
    ref = np.zeros_like(dG)
    np.add.at(ref, nl.i, np.einsum("pfd,pd->pf", J, V))
    np.testing.assert_allclose(dG, ref, atol=1e-11)
    # the Jacobian against central differences of forward in the pair vectors
    h = 1e-6
    for p_ in rng.choice(nl.n_pairs, 5, replace=False):
        for d in range(3):
            Dp, Dm = nl.D.copy(), nl.D.copy()
            Dp[p_, d] += h
            Dm[p_, d] -= h
            Gp = p.forward(replace(nl, D=Dp, r=np.linalg.norm(Dp, axis=1)), sp)
            Gm = p.forward(replace(nl, D=Dm, r=np.linalg.norm(Dm, axis=1)), sp)
            fd = (Gp - Gm)[nl.i[p_]] / (2 * h)
            assert np.abs(fd - J[p_, :, d]).max() < 1e-6
    assert has_fused_kernel(p)
    E1, g1 = pot.energies_and_pair_gradients(nl, sp, fused=True)
    E2, g2 = pot.energies_and_pair_gradients(nl, sp, fused=False)
    np.testing.assert_allclose(E1, E2, rtol=1e-12, atol=1e-12)
    assert np.abs(g1 - g2).max() < 1e-12 * max(1.0, np.abs(g2).max())


def test_model_file_round_trip(tmp_path):
    atoms = _bulk_case(3, ELEMENTS)
    pot = _calculator(atoms)
    e, f = atoms.get_potential_energy(), atoms.get_forces()
    pot.save(tmp_path / "poly.nnp")
    back = load(tmp_path / "poly.nnp")
    assert back.descriptor.functions() == pot.descriptor.functions()
    atoms.calc = NNPCalculator(back)
    assert atoms.get_potential_energy() == e
    assert np.array_equal(atoms.get_forces(), f)


def test_labels_and_element_order():
    p = descriptor()
    labels = p.feature_labels("Si")
    assert labels[0].startswith("G20[Si<-Si] r=-4.5..4.5 p2")
    assert any(lab.startswith("G24[Si<-Z,Z]") and "angle=20..100" in lab for lab in labels)
    # the same functions with the elements listed in another order give the same values
    atoms = _bulk_case(2, ELEMENTS)
    q = PolynomialSymmetryFunctions(["C", "Si", "O"], 4.5)
    q.add_angular(30, 150, kind="narrow", rl=0.5, rc=4.0, subtype="p4")
    r = PolynomialSymmetryFunctions(ELEMENTS, 4.5)
    r.add_angular(30, 150, kind="narrow", rl=0.5, rc=4.0, subtype="p4")
    Gq, Gr = q.compute(atoms), r.compute(atoms)
    assert np.abs(Gr).max() > 0.1
    np.testing.assert_allclose(np.sort(Gq, axis=1), np.sort(Gr, axis=1), rtol=1e-13,
                               atol=1e-15)


def test_collinear_triplets_are_left_out_whatever_the_rounding():
    """A triplet at exactly 180 degrees is left out (n2p2's rule), however the rotation
    rounds cos θ; bent by 1e-3 rad it counts with C(θ) ≈ 1 of a window centred on 180."""
    p = PolynomialSymmetryFunctions(["C", "O"], 4.0)
    p.add_angular(90.0, 270.0, center="C", neighbors=("O", "O"))
    line = np.array([[-1.16, 0.0, 0.0], [0.0, 0.0, 0.0], [1.16, 0.0, 0.0]])
    radial = (1.0 - (1.16 / 4.0) ** 3 * (10.0 - 15.0 * 1.16 / 4.0 + 6.0 * (1.16 / 4.0) ** 2)) ** 2
    rng = np.random.default_rng(3)
    for _ in range(20):
        q, _ = np.linalg.qr(rng.normal(size=(3, 3)))
        atoms = Atoms("OCO", positions=line @ q.T + rng.normal(size=3))
        assert p.compute(atoms)[1, 0] == 0.0
    bent = line.copy()
    bent[2] = 1.16 * np.array([math.cos(1e-3), math.sin(1e-3), 0.0])
    assert p.compute(Atoms("OCO", positions=bent))[1, 0] == pytest.approx(radial, rel=1e-5)


@pytest.mark.parametrize("call,message", [
    (lambda p: p.add_radial(rl=3.0, rc=2.0), "r_l < r_c"),
    (lambda p: p.add_radial(rc=-1.0), "r_c must be positive"),
    (lambda p: p.add_radial(subtype="p5"), "unknown compact-function subtype 'p5'"),
    (lambda p: p.add_angular(120, 60), "left < right"),
    (lambda p: p.add_angular(-30, 90), "centred on 0 or 180"),
    (lambda p: p.add_angular(100, 200), "centred on 0 or 180"),
    (lambda p: p.add_angular(-200, 200), "centred on 0 or 180"),
    (lambda p: p.add_angular(0, 90, kind="medium"), "'narrow' or 'wide'"),
    (lambda p: p.add_function(26, 0, 0), "not one of n2p2's"),
    (lambda p: [p.add_radial(), p.add_radial()], "duplicate"),
])
def test_bad_input_is_refused_by_name(call, message):
    p = PolynomialSymmetryFunctions(["Si", "O"], 4.0)
    with pytest.raises(DescriptorSpecError, match=message):
        call(p)


def test_from_config_grid():
    """The training configuration's grid: n shifted radial windows covering (0, r_c) per
    element pair and angle windows centred at k 180/(n-1) degrees per element triple."""
    settings = {"cutoff": 5.0, "poly_subtype": "p3a", "poly_radial_n": 4,
                "poly_angular_n": 3, "poly_angular_kind": "narrow"}
    p = PolynomialSymmetryFunctions.from_config(["Si", "O"], settings)
    assert p.n_features("Si") == 4 * 2 + 3 * 3 and p.cutoff == 5.0
    radial = [f for f in p.functions("O") if f.type == 20 and f.neighbor1 == 0]
    assert [(f.rl, f.rc) for f in radial] == [(-1.25, 1.25), (0.0, 2.5), (1.25, 3.75),
                                              (2.5, 5.0)]
    angles = sorted({(f.angle_left, f.angle_right) for f in p.functions("O") if f.type == 21})
    assert angles == [(-90.0, 90.0), (0.0, 180.0), (90.0, 270.0)]
    assert {f.subtype for f in p.functions()} == {"p3a"}
