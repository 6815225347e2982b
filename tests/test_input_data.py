"""n2p2 / RuNNer structure files (input.data): reader, writer, units, and their use by
``read`` (evaluate, train, init)."""
import gzip
import os
import warnings

import numpy as np
import pytest
from ase import Atoms
from ase.build import bulk, molecule
from ase.calculators.singlepoint import SinglePointCalculator
from ase.units import Bohr, Hartree

from ase_nnp.exceptions import InputDataError, UnitsError, UnitsWarning
from ase_nnp.interop.n2p2 import read_input_data, write_input_data

#: a hand-written file: n2p2's documentation example, extended by a second comment line,
#: a set tag, a nonzero 7th atom field and a total charge
HAND = """\
begin set=test
comment This periodic structure contains 2 Cd and 2 S atoms.
comment second line
lattice 4.0 0.0 0.0
lattice 0.5 4.5 0.0
lattice 0.0 -0.25 5.0
atom 0.1 0.2 0.3 Cd -0.1 0.0 -0.1 -0.3  0.1
atom 2.2 0.4 0.8 Cd -0.1 0.0 -0.2  0.6 -0.6
atom 0.7 2.2 2.7 S   0.1 0.5 -0.8 -0.1  0.1
atom 2.1 2.1 0.4 S   0.1 0.0  1.1 -0.2  0.4
energy -123.456
charge 1.5
end

begin
comment This non-periodic structure contains 1 Cd and 2 S atoms.
atom 0.9 0.1 0.8 Cd -0.1 0.0 -0.3 -0.3  0.1
atom 0.7 0.2 3.2 S   0.1 0.0 -0.8  0.1  0.3
atom 0.6 2.9 0.4 S   0.1 0.0  1.1  0.2 -0.4
energy 1.0D+01
charge 0.0
end
"""


def _hand_file(tmp_path, name="input.data"):
    path = tmp_path / name
    path.write_text(HAND)
    return path


@pytest.mark.parametrize("units, L, U", [("angstrom-ev", 1.0, 1.0),
                                         ("bohr-hartree", Bohr, Hartree)])
def test_hand_written_file_has_the_known_values(tmp_path, units, L, U):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UnitsWarning)   # toy distances
        a, b = read_input_data(_hand_file(tmp_path), units=units)
    assert a.get_chemical_symbols() == ["Cd", "Cd", "S", "S"]
    assert a.pbc.all() and not b.pbc.any() and not b.cell.any()
    assert np.array_equal(a.cell, np.array([[4.0, 0, 0], [0.5, 4.5, 0], [0, -0.25, 5.0]]) * L)
    assert np.array_equal(a.positions[1], np.array([2.2, 0.4, 0.8]) * L)
    assert np.array_equal(b.positions[2], np.array([0.6, 2.9, 0.4]) * L)
    assert a.get_potential_energy() == -123.456 * U
    assert b.get_potential_energy() == 10.0 * U                 # Fortran's D exponent
    assert np.array_equal(a.get_forces()[2], np.array([-0.8, -0.1, 0.1]) * (U / L))
    assert np.array_equal(a.get_initial_charges(), [-0.1, -0.1, 0.1, 0.1])   # e: not converted
    assert a.info["charge"] == 1.5 and b.info["charge"] == 0.0
    assert a.info["comment"] == ("This periodic structure contains 2 Cd and 2 S atoms.\n"
                                 "second line")
    assert b.info["comment"] == "This non-periodic structure contains 1 Cd and 2 S atoms."
    assert a.info["set"] == "test" and "set" not in b.info
    assert np.array_equal(a.arrays["input_data_n"], [0.0, 0.0, 0.5, 0.0])
    assert "input_data_n" not in b.arrays                        # all zeros: not kept


def test_index_as_in_ase_io(tmp_path):
    path = _hand_file(tmp_path)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UnitsWarning)
        one = read_input_data(path, index=1)
        last = read_input_data(path, index="-1:")
        with pytest.raises(IndexError, match="holds 2 structures"):
            read_input_data(path, index=2)
    assert isinstance(one, Atoms) and len(one) == 3
    assert isinstance(last, list) and len(last) == 1 and len(last[0]) == 3


def _structures():
    """A rattled triclinic Cu-S crystal and an open water molecule, with energies, forces,
    charges, comments (one of two lines) and a total charge."""
    rng = np.random.default_rng(7)
    crystal = bulk("Cu", "fcc", a=3.61).repeat((2, 2, 2))
    crystal.set_cell(crystal.cell @ (np.eye(3) + 0.05 * rng.standard_normal((3, 3))),
                     scale_atoms=True)
    crystal.symbols[[1, 5]] = "S"
    crystal.rattle(0.05, seed=1)
    water = molecule("H2O")
    water.positions += 3.0
    out = []
    for k, atoms in enumerate((crystal, water)):
        n = len(atoms)
        atoms.set_initial_charges(rng.normal(0, 0.3, n))
        atoms.calc = SinglePointCalculator(atoms, energy=float(rng.normal(-3.7 * n, 1.0)),
                                           forces=rng.normal(0, 0.7, (n, 3)))
        atoms.info["comment"] = ["a crystal, rattled\nsecond comment line", "H2O in vacuum"][k]
        atoms.info["charge"] = [0.25, -1.0][k]
        out.append(atoms)
    return out


@pytest.mark.parametrize("units", ["angstrom-ev", "bohr-hartree"])
def test_round_trip_is_exact_in_both_conventions(tmp_path, units):
    images = _structures()
    path = tmp_path / "input.data"
    write_input_data(images, path, units=units)
    with warnings.catch_warnings():
        warnings.simplefilter("error")              # realistic structures: no units warning
        back = read_input_data(path, units=units)
    exact = units == "angstrom-ev"
    for a, b in zip(images, back):
        assert a.get_chemical_symbols() == b.get_chemical_symbols()
        assert np.array_equal(a.pbc, b.pbc)
        for x, y in ((a.positions, b.positions), (a.cell.array, b.cell.array),
                     (a.get_forces(), b.get_forces()),
                     (a.get_potential_energy(), b.get_potential_energy())):
            if exact:
                assert np.array_equal(x, y)
            else:
                np.testing.assert_allclose(y, x, rtol=1e-12, atol=0)
        assert np.array_equal(a.get_initial_charges(), b.get_initial_charges())
        assert a.info["comment"] == b.info["comment"] and a.info["charge"] == b.info["charge"]
    assert not back[1].pbc.any() and back[0].pbc.all()
    if not exact:       # the file really is in Bohr and Hartree
        text = path.read_text().splitlines()
        lat = [ln for ln in text if ln.startswith("lattice")][0].split()
        assert float(lat[1]) == pytest.approx(images[0].cell[0, 0] / Bohr, rel=1e-15)
        energy = [ln for ln in text if ln.startswith("energy")][1].split()
        assert float(energy[1]) == pytest.approx(images[1].get_potential_energy() / Hartree,
                                                 rel=1e-15)


def test_bohr_file_read_both_ways_differs_by_the_factors(tmp_path):
    images = _structures()
    write_input_data(images, tmp_path / "input.data", units="bohr-hartree")
    with pytest.warns(UnitsWarning, match="bohr-hartree"):
        raw = read_input_data(tmp_path / "input.data")          # Bohr read as Å
    conv = read_input_data(tmp_path / "input.data", units="bohr-hartree")
    for r, c in zip(raw, conv):
        assert np.array_equal(r.positions * Bohr, c.positions)
        assert r.get_potential_energy() * Hartree == c.get_potential_energy()


def test_angstrom_file_read_as_bohr_is_warned_about(tmp_path):
    write_input_data(_structures(), tmp_path / "input.data")
    with pytest.warns(UnitsWarning, match="angstrom-ev"):
        read_input_data(tmp_path / "input.data", units="bohr-hartree")


def test_unknown_units_are_refused(tmp_path):
    with pytest.raises(UnitsError, match="angstrom-ev or bohr-hartree"):
        read_input_data(_hand_file(tmp_path), units="bohr")
    with pytest.raises(UnitsError):
        write_input_data(_structures(), tmp_path / "x.data", units="hartree")


def test_a_file_of_the_repository_reads_as_its_lines_say():
    """tests/data/n2p2 structure files (n2p2's nnp-predict read them), against an
    independent reading of their lines."""
    path = os.path.join(os.path.dirname(__file__), "data", "n2p2", "si_tanhu_none",
                        "bulk.data")
    atoms = read_input_data(path, index=0)
    rows = [ln.split() for ln in open(path)]
    lattice = np.array([[float(x) for x in r[1:]] for r in rows if r[0] == "lattice"])
    pos = np.array([[float(x) for x in r[1:4]] for r in rows if r[0] == "atom"])
    assert np.array_equal(atoms.cell.array, lattice) and np.array_equal(atoms.positions, pos)
    assert set(atoms.get_chemical_symbols()) == {"Si"} and atoms.pbc.all()


MALFORMED = {
    "outside": ("atom 0 0 0 Si 0 0 0 0 0\nbegin\natom 0 0 0 Si 0 0 0 0 0\nenergy 1\nend\n",
                1, "outside a structure"),
    "no end": ("begin\natom 0 0 0 Si 0 0 0 0 0\nenergy 1\n", 1, "has no 'end'"),
    "begin twice": ("begin\natom 0 0 0 Si 0 0 0 0 0\nbegin\nend\n", 3,
                    "'begin' inside the structure that began on line 1"),
    "end alone": ("begin\natom 0 0 0 Si 0 0 0 0 0\nend\nend\n", 4, "'end' without a 'begin'"),
    "keyword": ("begin\natom 0 0 0 Si 0 0 0 0 0\nenergie 1\nend\n", 3,
                "unknown keyword 'energie'"),
    "fields": ("begin\natom 0 0 0 Si 0 0 0 0\nend\n", 2,
               "8 fields; expected 9 (atom x y z element charge n fx fy fz)"),
    "number": ("begin\natom 0 0 0x1 Si 0 0 0 0 0\nend\n", 2, "coordinate '0x1' is not a number"),
    "nan": ("begin\natom 0 0 0 Si 0 0 nan 0 0\nend\n", 2, "force component is nan"),
    "element": ("begin\natom 0 0 0 Qq 0 0 0 0 0\nend\n", 2, "unknown element 'Qq'"),
    "two lattice": ("begin\nlattice 1 0 0\nlattice 0 1 0\natom 0 0 0 Si 0 0 0 0 0\nend\n", 1,
                    "2 'lattice' line(s)"),
    "four lattice": ("begin\n" + "lattice 1 0 0\n" * 4 + "end\n", 5, "a fourth 'lattice'"),
    "singular": ("begin\nlattice 1 0 0\nlattice 0 1 0\nlattice 1 1 0\n"
                 "atom 0 0 0 Si 0 0 0 0 0\nend\n", 1, "linearly dependent"),
    "energy twice": ("begin\natom 0 0 0 Si 0 0 0 0 0\nenergy 1\nenergy 2\nend\n", 4,
                     "a second 'energy' line (the first is line 3)"),
    "no atoms": ("begin\nenergy 1\nend\n", 1, "no 'atom' line"),
    "runner2 layout": ("begin position(3) element charge\natom 0 0 0 Si 0\nend\n", 1,
                       "custom atom-column layouts are not supported"),
    "binary": ("begin\natom 0 0 0 Si 0 0 0 0 0\x00\nend\n", 2, "not a text file"),
}


@pytest.mark.parametrize("case", sorted(MALFORMED))
def test_malformed_files_name_file_line_and_problem(tmp_path, case):
    text, line, what = MALFORMED[case]
    path = tmp_path / "input.data"
    path.write_text(text)
    with pytest.raises(InputDataError) as err:
        read_input_data(path)
    assert f"{path}:{line}: " in str(err.value)
    assert what in str(err.value)


def test_an_empty_file_is_refused(tmp_path):
    (tmp_path / "input.data").write_text("\n\n")
    with pytest.raises(InputDataError, match="no structure"):
        read_input_data(tmp_path / "input.data")


# ------------------------------------------------------------------ read(): evaluate, train, init
def test_dataset_read_uses_this_reader_never_ase_io(tmp_path):
    """ase.io's runnerdata reader would take the numbers as Bohr and Hartree."""
    from ase_nnp.training.dataset import is_input_data, read
    images = _structures()
    write_input_data(images, tmp_path / "input.data")
    write_input_data(images, tmp_path / "cu2s.data")
    with open(tmp_path / "input.data", "rb") as src, gzip.open(tmp_path / "c.data.gz", "wb") as dst:
        dst.write(b"# a RuNNer comment line\n" + src.read())
    assert is_input_data(str(tmp_path / "input.data"))
    assert is_input_data(str(tmp_path / "cu2s.data"))
    assert is_input_data(str(tmp_path / "c.data.gz"))
    from ase.io import write
    write(tmp_path / "x.extxyz", images)
    assert not is_input_data(str(tmp_path / "x.extxyz"))
    # ase.io takes every *.data for RuNNer's (Bohr): here it gets the n2p2 reader's error
    (tmp_path / "lammps.data").write_text("LAMMPS data file\n\n2 atoms\n")
    assert is_input_data(str(tmp_path / "lammps.data"))
    with pytest.raises(InputDataError, match=r"lammps.data:1: 'LAMMPS' outside a structure"):
        read([str(tmp_path / "lammps.data")])
    for name in ("input.data", "cu2s.data", "c.data.gz"):
        refs = read([str(tmp_path / name)])
        assert len(refs) == 2
        for ref, atoms in zip(refs, images):
            assert np.array_equal(ref.atoms.positions, atoms.positions)
            assert ref.energy == atoms.get_potential_energy()
            assert np.array_equal(ref.forces, atoms.get_forces())
    write_input_data(images, tmp_path / "bohr.data", units="bohr-hartree")
    refs = read([str(tmp_path / "bohr.data")], units="bohr-hartree")
    np.testing.assert_allclose(refs[0].atoms.positions, images[0].positions, rtol=1e-12)
    with pytest.raises(InputDataError, match=r"bad.data:2: unknown keyword"):
        (tmp_path / "bad.data").write_text("begin\nlatice 1 0 0\nend\n")
        read([str(tmp_path / "bad.data")])


def _model_and_files(tmp_path):
    """A model, and the same reference data as extxyz and as input.data (Å, Bohr)."""
    from ase.io import write
    from ase_nnp import NNPCalculator
    from conftest import sensitive_potential
    atoms = bulk("Si", "diamond", a=5.43, cubic=True)
    atoms.rattle(0.05, seed=0)
    pot = sensitive_potential(["Si"], [atoms])
    pot.save(tmp_path / "m.nnp")
    images = []
    for k in range(3):
        a = atoms.copy()
        a.rattle(0.02, seed=k + 1)
        a.calc = NNPCalculator(pot)
        e, f = a.get_potential_energy(), a.get_forces()
        a.calc = SinglePointCalculator(a, energy=e + 0.008 * len(a), forces=f + 0.1)
        images.append(a)
    images.append(Atoms("Si2", positions=[[0, 0, 0], [0, 0, 2.3]]))    # non-periodic
    images[-1].calc = SinglePointCalculator(images[-1], energy=-8.0,
                                            forces=[[0, 0, 1.0], [0, 0, -1.0]])
    write(tmp_path / "d.extxyz", images)
    write_input_data(images, tmp_path / "input.data")
    os.mkdir(tmp_path / "bohr")
    write_input_data(images, tmp_path / "bohr" / "input.data", units="bohr-hartree")
    return tmp_path / "m.nnp"


def _table(out):
    rows = {}
    for line in out.splitlines():
        w = line.split()
        if w and w[0] in ("energy", "forces", "stress"):
            rows[w[0]] = [float(x) for x in w[2:4]] + [int(w[4])]
    return rows


def test_evaluate_on_input_data_gives_the_errors_of_the_same_extxyz(tmp_path, capsys):
    from ase_nnp.cli import main
    model = _model_and_files(tmp_path)
    assert main(["evaluate", str(model), str(tmp_path / "d.extxyz")]) == 0
    ref = _table(capsys.readouterr().out)
    assert main(["evaluate", str(model), str(tmp_path / "input.data")]) == 0
    got = _table(capsys.readouterr().out)
    assert main(["evaluate", str(model), str(tmp_path / "bohr" / "input.data"),
                 "--units", "bohr-hartree"]) == 0
    bohr = _table(capsys.readouterr().out)
    assert set(ref) == {"energy", "forces"} and ref["energy"][2] == 4
    assert got == ref
    for name in ref:
        np.testing.assert_allclose(bohr[name], ref[name], rtol=1e-9)
    # --units on data without an n2p2 file would do nothing: refused
    assert main(["evaluate", str(model), str(tmp_path / "d.extxyz"),
                 "--units", "bohr-hartree"]) == 2
    assert "none of the data is one" in capsys.readouterr().err


def test_evaluate_of_a_bohr_file_read_as_angstrom_warns(tmp_path, capsys):
    from ase_nnp.cli import main
    model = _model_and_files(tmp_path)
    with pytest.warns(UnitsWarning, match="units = \"bohr-hartree\""):
        main(["evaluate", str(model), str(tmp_path / "bohr" / "input.data")])


def test_init_on_input_data_writes_the_units_and_the_same_recipe(tmp_path, capsys):
    from ase_nnp.cli import main
    from ase_nnp.training.config import TrainingConfig
    from ase_nnp.training.suggest import suggest_config
    _model_and_files(tmp_path)
    xyz = suggest_config([str(tmp_path / "d.extxyz")])
    n2p2 = suggest_config([str(tmp_path / "input.data")])
    assert 'units = "angstrom-ev"' in n2p2 and "units =" not in xyz

    def body(text):
        return [ln for ln in text.splitlines() if not ln.startswith(("train =", "units =", "#"))]
    assert body(xyz) == body(n2p2)
    out = tmp_path / "run" / "config.toml"
    assert main(["init", str(tmp_path / "bohr" / "input.data"), "--units", "bohr-hartree",
                 "-o", str(out)]) == 0
    cfg = TrainingConfig.from_toml(out)
    assert cfg.units == "bohr-hartree"
    assert cfg.train == [str(tmp_path / "bohr" / "input.data")]
    bohr = out.read_text()
    assert body(bohr) == body(n2p2)         # the same data, read in its units
    assert main(["init", str(tmp_path / "d.extxyz"), "--units", "bohr-hartree"]) == 2
    assert "none of the data is one" in capsys.readouterr().err


def test_trainer_reads_every_data_file_in_the_configured_units(tmp_path, monkeypatch):
    """train, validation and test files all go through read(..., units=[data] units)."""
    import ase_nnp.training.trainer as trainer_module
    from ase_nnp.training.dataset import read
    _model_and_files(tmp_path)
    data = str(tmp_path / "bohr" / "input.data")
    seen = []

    def recording_read(sources, index=":", units="angstrom-ev", stress_order=None):
        seen.append((units, stress_order))
        return read(sources, index, units, stress_order)
    monkeypatch.setattr(trainer_module, "read", recording_read)
    trainer = trainer_module.Trainer(
        {"train": [data], "validation": [data], "test": [data], "units": "bohr-hartree",
         "stress_order": "xx yy zz xz yz xy",
         "cutoff": 4.0, "hidden_layers": [2], "max_epochs": 1, "cache": "", "progress": False,
         "stress_weight": 0.0,
         "model": str(tmp_path / "t.nnp")}, log=None)
    trainer.prepare()
    assert seen == [("bohr-hartree", "xx yy zz xz yz xy")] * 2
    assert trainer.train_set is not None


def test_learn_toml_reads_initial_and_test_input_data_in_its_units(tmp_path, monkeypatch):
    import ase_nnp.active as active
    images = _structures()
    write_input_data(images, tmp_path / "input.data", units="bohr-hartree")
    (tmp_path / "learn.toml").write_text(
        '[oracle]\ncalculator = "emt"\n[data]\ninitial = ["input.data"]\n'
        'test = ["input.data"]\nunits = "bohr-hartree"\n')
    got = {}
    monkeypatch.setattr(active, "learn", lambda oracle, initial, *a, **kw: got.update(
        initial=initial, **kw))
    active.learn_from_toml(tmp_path / "learn.toml")
    assert got["units"] == "bohr-hartree" and got["test"] == [str(tmp_path / "input.data")]
    for a, b in zip(got["initial"], images):
        np.testing.assert_allclose(a.positions, b.positions, rtol=1e-12)
    refs = active._references(got["test"], got["units"])
    assert refs[1].energy == pytest.approx(images[1].get_potential_energy(), rel=1e-12)


def test_single_structure_files_go_through_the_same_choice(tmp_path):
    """mapping --slab/--train, the monitor's files and explorers' start structures."""
    from ase.io import write
    from ase_nnp.training.dataset import read_structures
    images = _structures()
    write_input_data(images, tmp_path / "input.data", units="bohr-hartree")
    for a in images:
        del a.info["comment"]           # ase.io's extxyz writer breaks on a newline in it
    write(tmp_path / "x.extxyz", images)
    one = read_structures(tmp_path / "input.data", 0, "bohr-hartree")
    np.testing.assert_allclose(one.positions, images[0].positions, rtol=1e-12)
    np.testing.assert_allclose(read_structures(tmp_path / "x.extxyz", 1).positions,
                               images[1].positions, atol=1e-7)     # extxyz: 8 decimals
    with pytest.warns(UnitsWarning):
        read_structures(tmp_path / "input.data", ":")


def test_the_repository_structure_files_read_and_write_back_byte_for_byte(tmp_path):
    import glob
    files = [f for f in sorted(glob.glob(os.path.join(os.path.dirname(__file__), "data", "n2p2",
                                                      "*", "*.data")))
             if not os.path.basename(f).startswith(("scaling", "weights"))
             and not f.endswith(".output.data")]      # written by n2p2's nnp-predict
    assert len(files) >= 20
    for f in files:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", UnitsWarning)     # test structures, some squeezed
            images = read_input_data(f)
        write_input_data(images, tmp_path / "again.data")
        assert (tmp_path / "again.data").read_text() == open(f).read(), f
