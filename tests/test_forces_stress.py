"""Forces and stress against central finite differences of the energy; sum rules; invariances."""
import numpy as np
import pytest
from ase.build import bulk
from ase.calculators.calculator import PropertyNotImplementedError
from ase.stress import voigt_6_to_full_3x3_stress

from ase_nnp import NNPCalculator
from ase_nnp.descriptors import Bispectrum, SphericalBessel
from conftest import (numerical_forces, numerical_stress, random_atoms, random_cell,
                      sensitive_potential)

FORCE_TOL = 1e-6    # eV/Å
STRESS_TOL = 1e-6   # eV/Å^3


def _bulk_case(seed, elements):
    rng = np.random.default_rng(seed)
    cell = random_cell(rng, 4.5, 7.0, skew=0.3)
    return random_atoms(rng, 10, elements, cell, True, min_dist=1.6)


def _slab_case():
    rng = np.random.default_rng(5)
    cell = np.array([[6.0, 0, 0], [2.0, 5.5, 0], [0, 0, 12.0]])
    atoms = random_atoms(rng, 10, ["Si", "O", "C"], cell * [1, 1, 0.5], (True, True, False), 1.6)
    atoms.set_cell(cell)
    return atoms


def _molecule_case():
    rng = np.random.default_rng(6)
    atoms = random_atoms(rng, 8, ["Si", "O", "C"], np.eye(3) * 5.0, False, 1.4)
    atoms.set_cell(np.zeros((3, 3)))
    return atoms


def _primitive_si():
    atoms = bulk("Si", "diamond", a=5.43)
    atoms.rattle(0.05, seed=3)
    return atoms


def _bessel(mode="channels", n_max=3, l_max=4, cutoff=5.0):
    def make(elements):
        return SphericalBessel(elements, cutoff, n_max=n_max, l_max=l_max, mode=mode)
    return make


def _bispectrum(twojmax=4, **flags):
    def make(elements):
        radelem = {"Si": 0.5, "O": 0.42, "C": 0.46}
        return Bispectrum(elements, twojmax=twojmax, rcutfac=4.6, radelem=radelem,
                          wj={"Si": 1.0, "O": 0.7, "C": 0.85}, **flags)
    return make


# name: (structure, elements, descriptor factory or None for the mixed symmetry functions)
CASES = {
    "bulk-2el-a": (lambda: _bulk_case(1, ["Si", "O"]), ["Si", "O"], None),
    "bulk-3el-b": (lambda: _bulk_case(2, ["Si", "O", "C"]), ["Si", "O", "C"], None),
    "bulk-3el-c": (lambda: _bulk_case(3, ["Si", "O", "C"]), ["Si", "O", "C"], None),
    "slab": (_slab_case, ["Si", "O", "C"], None),
    "molecule": (_molecule_case, ["Si", "O", "C"], None),
    "primitive-si-6.5": (_primitive_si, ["Si"], None),
    "bessel-bulk-3el": (lambda: _bulk_case(2, ["Si", "O", "C"]), ["Si", "O", "C"], _bessel()),
    "bessel-weighted-bulk-2el": (lambda: _bulk_case(1, ["Si", "O"]), ["Si", "O"],
                                 _bessel("weighted", 4, 3)),
    "bessel-slab": (_slab_case, ["Si", "O", "C"], _bessel(l_max=6)),
    "bessel-molecule": (_molecule_case, ["Si", "O", "C"], _bessel("weighted")),
    "bessel-primitive-si-6.5": (_primitive_si, ["Si"], _bessel(n_max=4, cutoff=6.5)),
    "snap-bulk-3el": (lambda: _bulk_case(2, ["Si", "O", "C"]), ["Si", "O", "C"], _bispectrum(6)),
    "snap-chem-slab": (_slab_case, ["Si", "O", "C"], _bispectrum(3, chemflag=1)),
    "snap-quadratic-molecule": (_molecule_case, ["Si", "O", "C"],
                                _bispectrum(2, quadraticflag=1, rmin0=0.3)),
    "snap-bulk-si-8": (lambda: _bulk_case(4, ["Si"]), ["Si"], _bispectrum(8)),
}


def _setup(name):
    make, elements, descriptor = CASES[name]
    atoms = make()
    pot = sensitive_potential(elements, [atoms],
                              descriptor=None if descriptor is None else descriptor(elements))
    if name == "primitive-si-6.5":
        from ase_nnp import Potential
        from ase_nnp.descriptors.symmetry_functions.presets import \
            reference_si_descriptor as reference_descriptor
        pot = Potential(["Si"], reference_descriptor(6.5), hidden_layers=(8,), seed=1)
    atoms.calc = NNPCalculator(pot)
    return atoms


@pytest.mark.parametrize("name", list(CASES))
def test_forces_match_finite_differences(name):
    atoms = _setup(name)
    F = atoms.get_forces()
    assert np.abs(F).max() > 1e-3  # the test must be able to fail
    err = np.abs(F - numerical_forces(atoms)).max()
    assert err < FORCE_TOL, err


@pytest.mark.parametrize("name", [n for n in CASES if not n.endswith(("slab", "molecule"))])
def test_stress_matches_strain_derivative(name):
    atoms = _setup(name)
    s = voigt_6_to_full_3x3_stress(atoms.get_stress())
    assert np.abs(s).max() > 1e-4
    err = np.abs(s - numerical_stress(atoms)).max()
    assert err < STRESS_TOL, err


@pytest.mark.parametrize("name", list(CASES))
def test_per_atom_sums(name):
    atoms = _setup(name)
    e = atoms.get_potential_energy()
    assert abs(atoms.get_potential_energies().sum() - e) < 1e-10 * max(1, abs(e))
    assert atoms.get_potential_energy() == atoms.calc.results["free_energy"]
    assert np.abs(atoms.get_forces().sum(axis=0)).max() < 1e-10  # Newton's third law
    if atoms.pbc.all():
        per_atom = atoms.calc.results["stresses"]
        assert np.abs(per_atom.sum(axis=0) - atoms.get_stress()).max() < 1e-12
    else:
        with pytest.raises(PropertyNotImplementedError):
            atoms.get_stress()


def _rotation(rng):
    q, _ = np.linalg.qr(rng.normal(size=(3, 3)))
    return q * np.sign(np.linalg.det(q))


@pytest.mark.parametrize("name", ["bulk-3el-b", "slab", "molecule", "primitive-si-6.5",
                                  "bessel-bulk-3el", "bessel-slab", "bessel-molecule",
                                  "bessel-primitive-si-6.5", "snap-bulk-3el", "snap-chem-slab"])
def test_invariances(name):
    atoms = _setup(name)
    calc = atoms.calc
    e0 = atoms.get_potential_energy()
    e_i0 = atoms.get_potential_energies()
    F0 = atoms.get_forces()
    rng = np.random.default_rng(0)
    tol = 1e-10 * max(1.0, abs(e0))

    moved = atoms.copy()
    moved.calc = calc
    moved.translate(rng.normal(size=3) * 3.0)
    assert abs(moved.get_potential_energy() - e0) < tol
    assert np.abs(moved.get_forces() - F0).max() < 1e-9

    R = _rotation(rng)
    rot = atoms.copy()
    rot.calc = calc
    rot.positions = atoms.positions @ R.T
    rot.set_cell(atoms.cell[:] @ R.T)
    assert abs(rot.get_potential_energy() - e0) < tol
    assert np.abs(rot.get_forces() - F0 @ R.T).max() < 1e-9
    if atoms.pbc.all():
        s0 = voigt_6_to_full_3x3_stress(atoms.get_stress())
        s1 = voigt_6_to_full_3x3_stress(rot.get_stress())
        assert np.abs(s1 - R @ s0 @ R.T).max() < 1e-10

    perm = rng.permutation(len(atoms))
    shuffled = atoms[perm]
    shuffled.calc = calc
    assert abs(shuffled.get_potential_energy() - e0) < tol
    assert np.abs(shuffled.get_potential_energies() - e_i0[perm]).max() < 1e-10
    assert np.abs(shuffled.get_forces() - F0[perm]).max() < 1e-9

    if atoms.pbc.any():
        images = atoms.copy()
        images.calc = calc
        shift = np.zeros((len(atoms), 3))
        shift[:, atoms.pbc] = rng.integers(-2, 3, (len(atoms), atoms.pbc.sum()))
        images.positions = atoms.positions + shift @ atoms.cell[:]
        assert abs(images.get_potential_energy() - e0) < tol
        assert np.abs(images.get_forces() - F0).max() < 1e-9
        images.wrap()
        assert abs(images.get_potential_energy() - e0) < tol


def test_supercell_is_extensive():
    atoms = _setup("primitive-si-6.5")
    e1 = atoms.get_potential_energy()
    big = atoms.repeat((2, 3, 1))
    big.calc = atoms.calc
    assert abs(big.get_potential_energy() - 6 * e1) < 1e-9 * abs(6 * e1)
    np.testing.assert_allclose(big.get_stress(), atoms.get_stress(), atol=1e-12)


@pytest.mark.parametrize("activation,bessel", [("tanh", False), ("logistic", False),
                                               ("softplus", False), ("shifted_softplus", False),
                                               ("tanh", True), ("softplus", True)])
def test_fused_engine_equals_three_step_path(activation, bessel):
    """The compiled per-atom path gives the numbers of forward -> network -> backward."""
    from ase_nnp.neighbors import build
    atoms = _bulk_case(2, ["Si", "O", "C"])
    elements = ["Si", "O", "C"]
    pot = sensitive_potential(elements, [atoms], activation=activation, hidden=(9, 7, 5),
                              descriptor=_bessel()(elements) if bessel else None)
    nl = build(atoms.positions, atoms.cell[:], atoms.pbc, pot.cutoff)
    sp = pot.species_indices(atoms.numbers)
    E1, g1 = pot.energies_and_pair_gradients(nl, sp, fused=True)
    E2, g2 = pot.energies_and_pair_gradients(nl, sp, fused=False)
    np.testing.assert_allclose(E1, E2, rtol=1e-12, atol=1e-12)
    assert np.abs(g1 - g2).max() < 1e-12 * max(1.0, np.abs(g2).max())
    assert np.abs(g2).max() > 1e-3
