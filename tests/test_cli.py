"""The ase-nnp command: info and evaluate on real files."""
import pytest
from ase.build import bulk
from ase.calculators.singlepoint import SinglePointCalculator
from ase.io import write

from ase_nnp import NNPCalculator
from ase_nnp.cli import main
from conftest import sensitive_potential


def _model_and_data(tmp_path):
    atoms = bulk("Si", "diamond", a=5.43, cubic=True)
    atoms.rattle(0.05, seed=0)
    pot = sensitive_potential(["Si"], [atoms])
    pot.save(tmp_path / "m.nnp", note="cli test")
    images = []
    for k in range(3):
        a = atoms.copy()
        a.rattle(0.02, seed=k + 1)
        a.calc = NNPCalculator(pot)
        e, f, s = a.get_potential_energy(), a.get_forces(), a.get_stress()
        a.calc = SinglePointCalculator(a, energy=e + 0.008 * len(a), forces=f + 0.1, stress=s)
        images.append(a)
    write(tmp_path / "d.extxyz", images)
    return tmp_path / "m.nnp", tmp_path / "d.extxyz"


def test_info(tmp_path, capsys):
    model, _ = _model_and_data(tmp_path)
    assert main(["info", str(model), "--functions"]) == 0
    out = capsys.readouterr().out
    assert "format version 1" in out and "Si:" in out and "cli test" in out
    assert "G3[Si<-Si,Si]" in out


def test_evaluate_reports_known_errors(tmp_path, capsys):
    model, data = _model_and_data(tmp_path)
    assert main(["evaluate", str(model), str(data)]) == 0
    out = capsys.readouterr().out
    energy = next(line for line in out.splitlines() if line.startswith("energy"))
    forces = next(line for line in out.splitlines() if line.startswith("forces"))
    assert abs(float(energy.split()[2]) - 8.0) < 1e-4       # 8 meV/atom added above
    assert abs(float(forces.split()[2]) - 0.1) < 1e-6


def test_evaluate_parity_plot(tmp_path, capsys):
    pytest.importorskip("matplotlib")
    model, data = _model_and_data(tmp_path)
    png = tmp_path / "parity.png"
    assert main(["evaluate", str(model), str(data), "--plot", str(png)]) == 0
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_bad_model_file_is_a_clean_error(tmp_path, capsys):
    bad = tmp_path / "bad.nnp"
    bad.write_text("nonsense")
    assert main(["info", str(bad)]) == 2
    assert "not a readable HDF5" in capsys.readouterr().err
