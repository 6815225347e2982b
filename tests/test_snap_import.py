"""LAMMPS snap files in: ``read_snap`` / ``ase-nnp import --format snap`` give a potential
whose energies, per-atom energies, forces and stress are those of LAMMPS' own
``pair_style snap`` on the same files (the published mlearn SNAP and qSNAP potentials, and
random two-element chem/quadratic ones written by ``write_snap``), the published models'
test errors through ``ase-nnp evaluate``, and refusals that name the problem."""
from pathlib import Path

import numpy as np
import pytest
from ase.build import bulk
from ase.io import read

import lammps_snap as ls
from ase_nnp import NNPCalculator, Potential, load
from ase_nnp.cli import main
from ase_nnp.descriptors import Bispectrum
from ase_nnp.exceptions import InteropError
from ase_nnp.interop.snap import read_snap, write_snap
from ase_nnp.training.linear import coefficients, set_coefficients
from conftest import random_atoms, random_cell

MLEARN = Path(__file__).resolve().parents[2] / "shared/data/mlearn"
ELEMENTS = ["Si", "O"]                       # not in atomic-number order on purpose


@pytest.fixture(scope="module")
def make():
    return ls.lammps_or_skip()


def _published(element, kind):
    d = MLEARN / element / "published" / kind
    coeff, param = d / "SNAPotential.snapcoeff", d / "SNAPotential.snapparam"
    if not coeff.exists():
        pytest.skip(f"the mlearn data ({MLEARN}) are not on this machine")
    return coeff, param


def _without_diagonalstyle(param, tmp_path):
    """The parameter file as current LAMMPS takes it: the refused diagonalstyle line out."""
    out = tmp_path / "lammps.snapparam"
    out.write_text("".join(line for line in param.read_text().splitlines(keepends=True)
                           if not line.split() or line.split()[0] != "diagonalstyle"))
    return out


def _agree(atoms, pot, res, tol=1e-10):
    atoms.calc = NNPCalculator(pot)
    E, F, S = atoms.get_potential_energy(), atoms.get_forces(), atoms.get_stress()
    assert np.abs(F).max() > 1e-2 and np.abs(S).max() > 1e-5     # the comparison can fail
    assert abs(res.energy - E) <= tol * abs(E)
    assert np.abs(res.energies - atoms.get_potential_energies()).max() <= tol * abs(E) / len(atoms)
    assert np.abs(res.forces - F).max() <= tol * np.abs(F).max()
    assert np.abs(res.stress - S).max() <= tol * np.abs(S).max()


@pytest.mark.parametrize("element", ["Si", "Li", "Mo"])
@pytest.mark.parametrize("kind", ["snap", "qsnap"])
def test_published_snap_agrees_with_lammps(make, tmp_path, element, kind):
    """Zuo et al.'s SNAP and qSNAP files (with diagonalstyle 3) read by ase-nnp against
    LAMMPS' pair_style snap on the same files (diagonalstyle removed, which LAMMPS
    refuses), on a vacancy cell and an AIMD/elastic snapshot of the mlearn test set."""
    coeff, param = _published(element, kind)
    assert "diagonalstyle 3" in param.read_text()
    pot = read_snap(coeff, param)
    assert pot.metadata["model"] == ("quadratic" if kind == "qsnap" else "linear")
    assert pot.descriptor.flags["quadraticflag"] == (kind == "qsnap")
    # the linear coefficients are the file's numbers, unchanged
    numbers = [float(x) for x in coeff.read_text().split()[5:]]
    b0, beta = coefficients(pot, element)
    assert b0 == numbers[0] and np.array_equal(beta, numbers[1:])
    lammps_param = _without_diagonalstyle(param, tmp_path)
    frames = read(MLEARN / element / "test.extxyz.gz", ":")
    for atoms in (frames[0], frames[5]):
        atoms = atoms.copy()
        _agree(atoms, pot, ls.pair_snap(atoms, [element], str(coeff), str(lammps_param), make))


def _random_snap(flags, seed=0):
    desc = Bispectrum(ELEMENTS, twojmax=2 if flags.get("quadraticflag") else 4, rcutfac=4.2,
                      radelem={"Si": 0.5, "O": 0.42}, wj={"Si": 1.0, "O": 0.7}, **flags)
    pot = Potential(ELEMENTS, desc, hidden_layers=(), activation="identity", seed=seed)
    rng = np.random.default_rng(seed)
    n = desc.n_linear
    for e in ELEMENTS:
        beta = np.concatenate([rng.normal(scale=0.05, size=n),
                               rng.normal(scale=0.01, size=len(desc) - n)])
        set_coefficients(pot, e, rng.normal(-3.0, 1.0), beta)
    return pot


def _cells():
    rng = np.random.default_rng(11)
    tri = random_atoms(rng, 12, ELEMENTS, random_cell(rng, 5.5, 7.0, 0.3), True, 1.9)
    big = bulk("Si", "diamond", a=5.43, cubic=True).repeat(2)
    big.symbols[::5] = "O"
    big.rattle(0.08, seed=2)
    return [tri, big]


@pytest.mark.parametrize("flags", [dict(), dict(quadraticflag=1), dict(chemflag=1),
                                   dict(chemflag=1, quadraticflag=1, switchflag=0,
                                        bzeroflag=0, wselfallflag=1)])
def test_written_snap_files_read_back_and_agree_with_lammps(make, tmp_path, flags):
    """write_snap -> read_snap is the same potential (energies to 1e-12: the orbit
    averaging of chemflag changes no energy), and both equal LAMMPS on the files. With
    chemflag the element triples are numbered in the pair_coeff order: read with
    elements=["Si", "O"] the potential equals LAMMPS run with 'pair_coeff * * ... Si O'
    and differs from the one in the file's order."""
    pot = _random_snap(flags)
    files = write_snap(pot, tmp_path).files
    back = read_snap(*files)
    assert back.elements == ["O", "Si"]                       # the file's order
    for k, atoms in enumerate(_cells()):
        a = pot.evaluate(atoms.positions, atoms.numbers, atoms.cell[:], atoms.pbc)
        b = back.evaluate(atoms.positions, atoms.numbers, atoms.cell[:], atoms.pbc)
        assert abs(a.energy - b.energy) <= 1e-12 * abs(a.energy)
        assert np.abs(a.forces - b.forces).max() <= 1e-11 * np.abs(a.forces).max()
        _agree(atoms.copy(), back, ls.pair_snap(atoms, ["O", "Si"], *files, make))
        if flags.get("chemflag") and k == 0:
            swapped = read_snap(*files, elements=["Si", "O"])
            res = ls.pair_snap(atoms, ["Si", "O"], *files, make)
            _agree(atoms.copy(), swapped, res)
            assert abs(res.energy - b.energy) > 1e-6 * abs(b.energy)


def _files(tmp_path, coeff_lines, param_lines):
    c, p = tmp_path / "x.snapcoeff", tmp_path / "x.snapparam"
    c.write_text("\n".join(coeff_lines) + "\n")
    p.write_text("\n".join(param_lines) + "\n")
    return c, p


GOOD_PARAM = ["rcutfac 4.0", "twojmax 2", "rfac0 0.99363", "rmin0 0", "diagonalstyle 3",
              "quadraticflag 0", "bzeroflag 0"]
GOOD_COEFF = ["# comment", "1 6", "Si 0.5 1.0"] + [str(0.1 * k - 1) for k in range(6)]


@pytest.mark.parametrize("coeff, param, message", [
    (GOOD_COEFF, [x if x != "diagonalstyle 3" else "diagonalstyle 2" for x in GOOD_PARAM],
     "diagonalstyle 2: only style 3"),
    (GOOD_COEFF, GOOD_PARAM + ["bogusflag 1"], "unknown SNAP parameter 'bogusflag'"),
    (GOOD_COEFF, GOOD_PARAM[1:], "required keyword 'rcutfac'"),
    (GOOD_COEFF, GOOD_PARAM + ["rcutfac 4.1"], "rcutfac given twice"),
    (GOOD_COEFF, GOOD_PARAM + ["switchinnerflag 1", "sinner 1.0", "dinner 0.5"],
     "inner switching"),
    (GOOD_COEFF, GOOD_PARAM + ["chemflag 2"], "chemflag must be 0 or 1"),
    (GOOD_COEFF, GOOD_PARAM + ["switchflag"], "expected 'keyword value'"),
    (GOOD_COEFF[:-1], GOOD_PARAM, "element Si .* has 5 coefficients, the header says 6"),
    (GOOD_COEFF + ["0.5"], GOOD_PARAM, "more lines than the header"),
    (["1 6", "Si 0.5"] + GOOD_COEFF[3:], GOOD_PARAM, "expected 'Element radius weight'"),
    (["1 6", "Xx 0.5 1"] + GOOD_COEFF[3:], GOOD_PARAM, "Xx"),
    (GOOD_COEFF[:5] + ["nan"] + GOOD_COEFF[6:], GOOD_PARAM, "not a finite number"),
    (GOOD_COEFF, [x.replace("twojmax 2", "twojmax 4") for x in GOOD_PARAM],
     "6 coefficients per element, but twojmax 4 .* needs 15"),
])
def test_refuses_bad_snap_files(tmp_path, coeff, param, message):
    c, p = _files(tmp_path, coeff, param)
    with pytest.raises(InteropError, match=message):
        read_snap(c, p)


def test_quadratic_count_without_quadraticflag_names_the_fix(tmp_path):
    # twojmax 2: 5 components; quadratic SNAP has 1 + 5 + 15 coefficients
    coeff = ["1 21", "Si 0.5 1"] + ["0.01"] * 21
    c, p = _files(tmp_path, coeff, GOOD_PARAM)
    with pytest.raises(InteropError, match="quadratic SNAP: set quadraticflag 1"):
        read_snap(c, p)
    c, p = _files(tmp_path, coeff, [x.replace("quadraticflag 0", "quadraticflag 1")
                                    for x in GOOD_PARAM])
    pot = read_snap(c, p)
    assert pot.metadata["model"] == "quadratic" and len(pot.descriptor) == 20
    with pytest.raises(InteropError, match="not the elements"):
        read_snap(c, p, elements=["Si", "O"])
    with pytest.raises(InteropError, match="metal or real"):
        read_snap(c, p, units="si")


def test_real_units_convert_the_coefficients(tmp_path):
    """units="real": the coefficients are kcal/mol, the model eV (x 0.0433641...)."""
    from ase.units import kcal, mol
    c, p = _files(tmp_path, GOOD_COEFF, GOOD_PARAM)
    metal, real = read_snap(c, p), read_snap(c, p, units="real")
    atoms = bulk("Si", "diamond", a=5.43)
    atoms.rattle(0.05, seed=1)
    e_metal = metal.evaluate(atoms.positions, atoms.numbers, atoms.cell[:], atoms.pbc).energy
    e_real = real.evaluate(atoms.positions, atoms.numbers, atoms.cell[:], atoms.pbc).energy
    assert abs(e_real - e_metal * kcal / mol) <= 1e-14 * abs(e_real)
    assert real.metadata["units"]["source"] == "lammps-real"


def _rmse_rows(text):
    return {line.split()[0]: line.split() for line in text.splitlines() if line.split()}


@pytest.mark.parametrize("kind, energy, forces", [("snap", 8.06, 0.205),
                                                  ("qsnap", 5.51, 0.177)])
def test_published_si_snap_gives_the_published_errors(tmp_path, capsys, kind, energy, forces):
    """``ase-nnp import --format snap`` of Zuo et al.'s Si SNAP/qSNAP, then ``ase-nnp
    evaluate`` on the mlearn Si test set: the errors LAMMPS gives with the same files
    (8.06 meV/atom, 0.205 eV/Å; qSNAP 5.51, 0.177)."""
    coeff, param = _published("Si", kind)
    model = str(tmp_path / f"si_{kind}.nnp")
    assert main(["import", "--format", "snap", str(coeff), str(param), "-o", model]) == 0
    out = capsys.readouterr().out
    assert ("quadratic SNAP" if kind == "qsnap" else "linear SNAP") in out
    assert "units: eV, Å (imported from lammps-metal files)" in out
    assert load(model).metadata["imported_from"] == "lammps snap"
    assert main(["evaluate", model, str(MLEARN / "Si" / "test.extxyz.gz")]) == 0
    rows = _rmse_rows(capsys.readouterr().out)
    assert round(float(rows["energy"][2]), 2) == energy
    assert round(float(rows["forces"][2]), 3) == forces
    assert main(["import", "--format", "snap", str(coeff), model]) == 2      # no output
    assert "two files" in capsys.readouterr().err
