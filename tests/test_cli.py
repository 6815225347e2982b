"""The ase-nnp command: info and evaluate on real files."""
import numpy as np
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


def test_evaluate_writes_predictions_beside_references(tmp_path, capsys):
    from ase.db import connect
    from ase.io import read
    model, data = _model_and_data(tmp_path)
    for out in ("p.extxyz", "p.db"):
        assert main(["evaluate", str(model), str(data), "--write", str(tmp_path / out)]) == 0
    refs = read(data, ":")
    got = read(tmp_path / "p.extxyz", ":")
    assert len(got) == 3
    for r, g in zip(refs, got):
        # the data were made as prediction + 8 meV/atom and + 0.1 eV/Å
        assert g.info["ref_energy"] == pytest.approx(r.get_potential_energy(), abs=1e-9)
        assert g.get_potential_energy() == pytest.approx(g.info["ref_energy"] - 0.008 * len(g),
                                                         abs=1e-6)
        np.testing.assert_allclose(g.arrays["ref_forces"] - g.get_forces(), 0.1, atol=1e-6)
    rows = list(connect(tmp_path / "p.db").select())
    assert len(rows) == 3 and rows[0].ref_energy == pytest.approx(got[0].info["ref_energy"])
    assert rows[0].data["ref_forces"].shape == (8, 3)


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


def test_init_writes_a_config_that_trains_as_it_stands(tmp_path, capsys):
    from ase.build import bulk
    from ase.calculators.emt import EMT
    from ase.io import write as write_atoms
    from ase_nnp.training.config import TrainingConfig
    from ase_nnp.training.trainer import Trainer, build_descriptor
    rng = np.random.default_rng(0)
    data = []
    for k in range(12):
        a = bulk("Cu", "fcc", a=3.7, cubic=True).repeat((2, 2, 1))
        symbols = a.get_chemical_symbols()
        # 4-6 Au of 16: one composition only would leave E_Cu - E_Au free (a warning)
        for i in rng.choice(len(a), 4 + k % 3, replace=False):
            symbols[i] = "Au"
        a.set_chemical_symbols(symbols)
        a.rattle(0.08, seed=k)
        a.calc = EMT()
        a.get_potential_energy()
        data.append(a)
    write_atoms(tmp_path / "cuau.extxyz", data)
    assert main(["init", str(tmp_path / "cuau.extxyz"), "--model", "cuau.nnp"]) == 0
    text = capsys.readouterr().out
    from ase_nnp.training.suggest import ENSEMBLE_SIZE, STRESS_WEIGHT
    assert "# median nearest-neighbour distance" in text
    assert f"stress_weight = {STRESS_WEIGHT}" in text
    assert f"ensemble_size = {ENSEMBLE_SIZE}" in text and 'method = "kalman"' in text
    # with stress labels the networks make stress updates; the partner's ridge is chosen
    assert "short_stress_fraction = 1.0" in text and 'partner_ridge = "auto"' in text
    # the stress labels were checked (EMT's are right: nothing to reorder)
    assert "stress labels against a linear SNAP" in text and "stress_order" not in text
    (tmp_path / "cuau.toml").write_text(text)
    cfg = TrainingConfig.from_toml(tmp_path / "cuau.toml")
    assert cfg.elements == ["Cu", "Au"] and 4.0 <= cfg.cutoff <= 6.5
    from ase.neighborlist import neighbor_list
    shortest = min(neighbor_list("d", a, 3.0).min() for a in data)
    assert cfg.radial_r_low < shortest
    sf = build_descriptor(cfg, cfg.elements)
    assert min(f.rs for f in sf.functions() if f.type == 2) >= cfg.radial_r_low
    assert sf.n_features("Cu") >= 2 * 6
    lines = []
    values = dict(cfg.values, max_epochs=3, progress=False)
    Trainer(TrainingConfig(values, base_dir=str(tmp_path)), log=lines.append).run()
    assert not [line for line in lines if "warning" in line]
    assert (tmp_path / "cuau.nnp").exists()


def _emt_frames(n, seed):
    """``n`` rattled 32-atom Cu cells with EMT energies, forces and stresses."""
    from ase.calculators.emt import EMT
    frames = []
    for k in range(n):
        a = bulk("Cu", "fcc", a=3.65, cubic=True).repeat((2, 2, 2))
        a.rattle(0.05, seed=seed + k)
        a.calc = EMT()
        a.get_potential_energy(), a.get_forces(), a.get_stress()
        frames.append(a)
    return frames


def test_init_writes_test_files_time_limit_and_paths_the_config_finds(tmp_path, monkeypatch,
                                                                      capsys):
    """``init TRAIN --test TEST --time-limit MIN -o CONFIG`` run from one folder writes a
    configuration in another that TrainingConfig reads with the same files, the test set
    and the time limit; without -o the same text goes to stdout and no file is written."""
    from ase_nnp.training.config import TrainingConfig
    data = tmp_path / "data"
    data.mkdir()
    write(data / "train.extxyz", _emt_frames(6, 0))
    write(data / "test.extxyz", _emt_frames(2, 100))
    monkeypatch.chdir(tmp_path)
    args = ["init", "data/train.extxyz", "--test", "data/test.extxyz", "--time-limit", "2.5"]
    assert main(args + ["-o", "runs/cu/config.toml"]) == 0
    assert "configuration written to runs/cu/config.toml" in capsys.readouterr().out
    text = (tmp_path / "runs/cu/config.toml").read_text()
    assert 'train = ["../../data/train.extxyz"]' in text
    cfg = TrainingConfig.from_toml(tmp_path / "runs/cu/config.toml")
    assert cfg.train == [str(data / "train.extxyz")]
    assert cfg.test == [str(data / "test.extxyz")]
    # the budget is the whole run's: each member gets its share, less the reserve
    from ase_nnp.training.suggest import member_minutes
    rounds = -(-cfg.ensemble_size // cfg.workers)
    assert cfg.time_limit == pytest.approx(member_minutes(2.5, cfg.ensemble_size, cfg.workers),
                                           abs=0.005)
    assert rounds * cfg.time_limit <= 0.95 * 2.5
    # with a budget the time limit stops the members, not the noisy validation split
    assert cfg.patience == 0 and cfg.max_epochs >= 10000
    assert cfg.model == str(tmp_path / "runs/cu/model.nnp")
    # the rest of the configuration is the one printed without the new options
    assert main(["init", "data/train.extxyz"]) == 0
    plain = capsys.readouterr().out
    assert "time_limit" not in plain and "test =" not in plain
    assert "max_epochs = 100\n" in plain and "patience = 15\n" in plain
    assert main(args) == 0
    printed = capsys.readouterr().out
    assert 'test = ["data/test.extxyz"]' in printed and f"time_limit = {cfg.time_limit:.2f}" in printed
    assert sorted(p.name for p in (tmp_path / "runs/cu").iterdir()) == ["config.toml"]
    assert printed.replace("data/", "../../data/").strip() == text.strip()


def test_init_refuses_a_missing_test_file_and_a_bad_time_limit(tmp_path, capsys):
    write(tmp_path / "train.extxyz", _emt_frames(2, 0))
    out = tmp_path / "config.toml"
    assert main(["init", str(tmp_path / "train.extxyz"), "--test", str(tmp_path / "nope.xyz"),
                 "-o", str(out)]) == 2
    assert "--test" in capsys.readouterr().err and not out.exists()
    assert main(["init", str(tmp_path / "train.extxyz"), "--time-limit", "0", "-o",
                 str(out)]) == 2
    assert "--time-limit" in capsys.readouterr().err and not out.exists()
