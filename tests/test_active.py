"""The active-learning loop with ASE's EMT as the oracle: labels, resumes, survives failures."""

import csv

import numpy as np
import pytest
from ase.build import bulk
from ase.calculators.emt import EMT

from ase_nnp import Ensemble, load
from ase_nnp.active import Explorer, learn
from ase_nnp.exceptions import NNPError

TRAINING = dict(cutoff=4.0, radial_n=5, radial_r_low=1.5, angular_n=2, angular_r_low=2.0,
                zetas=[1, 2], hidden_layers=[5], max_epochs=15, forces_weight=0.01)


def _initial():
    out = []
    for k in range(4):
        a = bulk("Cu", "fcc", a=3.61, cubic=True)
        a.rattle(0.05, seed=k)
        out.append(a)
    return out


def test_loop_labels_resumes_without_repeating_and_records_failures(tmp_path):
    labelled = []

    class Oracle(EMT):
        def get_potential_energy(self, atoms=None, force_consistent=False):
            labelled.append(atoms.positions.copy())
            if len(labelled) == 6:                                    # the 2nd pick of round 0
                raise RuntimeError("SCF did not converge")        # one failure, recorded
            return super().get_potential_energy(atoms, force_consistent)

    explorers = [Explorer(temperature_K=600, steps=30, interval=5),
                 Explorer(temperature_K=1500, steps=30, interval=5, strain=1.02, start=1),
                 Explorer(temperature_K=900, steps=30, interval=5, strain=0.98, start=2)]
    opts = dict(oracle=Oracle(), initial=_initial(), explorers=explorers,
                workdir=str(tmp_path / "al"), ensemble_size=2, forces_std_max=1e-4,
                per_round=2, training=TRAINING, log=None)
    first = learn(max_rounds=2, **opts)        # 3 candidates (each run stops at its first,
    assert first.stopped_because == "max_rounds" and first.oracle_calls == 4 + 2   # 2 picked
    assert first.failed == 1 and first.labelled == 5 and first.rounds == 2
    with pytest.raises(NNPError, match="resume"):
        learn(max_rounds=3, **opts)
    n_before = len(labelled)
    second = learn(max_rounds=3, resume=True, **opts)
    # round 0 is not relabelled: only round 1's picks called the oracle
    assert len(labelled) - n_before == second.oracle_calls - first.oracle_calls == 2
    from ase.db import connect
    rows = list(connect(tmp_path / "al" / "labelled.db").select())
    assert len({r.sid for r in rows}) == len(rows) == 8
    bad = [r for r in rows if r.failed]
    assert len(bad) == 1 and "SCF did not converge" in bad[0].error
    picked = [r for r in rows if r.sid.startswith("r")]
    assert all(r.sigma_F > 1e-4 and "sigma_F" in r.reason for r in picked)
    with open(tmp_path / "al" / "curve.csv") as fh:
        curve = list(csv.DictReader(fh))
    assert [int(c["round"]) for c in curve] == [0, 1, 2]
    assert int(curve[1]["oracle_calls"]) == first.oracle_calls
    ens = load(second.ensemble_path)
    assert isinstance(ens, Ensemble) and len(ens) == 2


def test_a_high_threshold_converges_and_bad_settings_are_refused(tmp_path):
    result = learn(oracle="emt", initial=_initial()[:2],
                   explorers=[Explorer(temperature_K=100, steps=10, interval=5)],
                   workdir=str(tmp_path / "c"), ensemble_size=2, forces_std_max=1e3,
                   training=TRAINING, log=None)
    assert result.stopped_because == "converged" and result.rounds == 1
    assert result.oracle_calls == 2
    with pytest.raises(NNPError, match="unknown oracle"):
        learn(oracle="dft", initial=_initial(), explorers=[], workdir=str(tmp_path / "d"))
    with pytest.raises(NNPError, match="initial structure"):
        learn(oracle="emt", initial=[], explorers=[], workdir=str(tmp_path / "d"))
    assert np.isfinite(result.curve[0]["max_forces_std_eV_A"])


def test_command_line_learn_from_a_toml_file(tmp_path, capsys):
    from ase.io import write
    from ase_nnp.cli import main
    write(tmp_path / "init.extxyz", _initial()[:3])
    keys = "\n".join(f"{k} = {v!r}".replace("'", '"') for k, v in TRAINING.items())
    toml = tmp_path / "learn.toml"
    toml.write_text('[oracle]\ncalculator = "emt"\n[data]\ninitial = ["init.extxyz"]\n'
                    '[learn]\nworkdir = "run"\nensemble_size = 2\nforces_std_max = 1e-4\n'
                    'per_round = 1\nmax_rounds = 1\n[[explore]]\ntemperature_K = 500\n'
                    f'steps = 10\ninterval = 5\n[training]\n{keys}\n')
    assert main(["learn", str(toml)]) == 0
    assert (tmp_path / "run" / "labelled.db").exists()
    assert main(["learn", str(toml), "--resume"]) == 0
    toml.write_text(toml.read_text().replace("per_round", "per_rnd"))
    assert main(["learn", str(toml)]) == 2
    assert "unknown keys ['per_rnd']" in capsys.readouterr().err


def test_explorer_start_structures():
    rng = np.random.default_rng(0)
    cells = _initial()
    vac = Explorer(repeat=(2, 1, 1), vacancies=2, strain=1.01).start_structure(cells, rng)
    assert len(vac) == 2 * 4 - 2 and np.allclose(vac.cell.lengths()[1], 3.61 * 1.01)
    slab = Explorer(surface=(1, 1, 1), layers=3, vacuum=6.0).start_structure(cells, rng)
    assert list(slab.pbc) == [True, True, False]
    z = slab.positions[:, 2]
    assert np.isclose(z.min(), 6.0) and np.isclose(slab.cell[2, 2] - z.max(), 6.0)
    assert Explorer(surface=(1, 1, 1), vacancies=1).label() == "300 K, (111) slab, 1 vacancy"
    with pytest.raises(NNPError, match="vacancies in 4 atoms"):
        Explorer(vacancies=4).start_structure(cells, rng)


def _sheared(ensemble, start, rng):
    """An explorer generator (module:function): three sheared copies of the start."""
    for k in range(3):
        a = start.copy()
        cell = a.cell.array.copy()
        cell[0, 1] += 0.1 * (k + 1)
        a.set_cell(cell, scale_atoms=True)
        yield a


def test_npt_slab_vacancy_and_generator_explorers_warm_start_and_test_curve(tmp_path,
                                                                            monkeypatch):
    import ase_nnp.training.run as run
    seen = []
    real = run.train

    def spy(data, **keys):
        seen.append(keys.get("init_model"))
        return real(data, **keys)
    monkeypatch.setattr(run, "train", spy)
    monkeypatch.setattr("sys.path", [str(tmp_path)] + __import__("sys").path)
    (tmp_path / "gen_mod.py").write_text(
        "import sys\nsys.path.insert(0, %r)\nfrom test_active import _sheared\n"
        % str(__import__("os").path.dirname(__file__)))
    test = []
    for k in range(3):
        a = _initial()[k]
        a.calc = EMT()
        a.get_forces()
        test.append(a)
    explorers = [Explorer(temperature_K=500, steps=20, interval=5, pressure_GPa=2.0),
                 Explorer(temperature_K=500, steps=20, interval=5, surface=(1, 1, 1),
                          layers=3, vacuum=5.0, name="slab"),
                 Explorer(temperature_K=500, steps=20, interval=5, repeat=(2, 1, 1),
                          vacancies=1),
                 Explorer(generator="gen_mod:_sheared")]
    result = learn(oracle="emt", initial=_initial(), explorers=explorers,
                   workdir=str(tmp_path / "al"), ensemble_size=2, forces_std_max=1e-4,
                   per_round=8, max_rounds=2, training=TRAINING, test=test, log=None)
    assert seen == [None, str(tmp_path / "al" / "round0" / "ensemble.nnp")]
    from ase.db import connect
    names = {r.explorer for r in connect(tmp_path / "al" / "labelled.db").select(round=1)}
    assert {"500 K, 2 GPa", "slab", "500 K, 1 vacancy", "gen_mod:_sheared"} <= names
    assert all(float(row["test_forces_eV_A"]) > 0 for row in result.curve)
    assert float(result.curve[1]["seconds"]) > float(result.curve[0]["seconds"]) > 0


def test_resume_replays_finished_rounds_with_the_same_decisions(tmp_path):
    calls = []

    class Oracle(EMT):
        def get_potential_energy(self, atoms=None, force_consistent=False):
            calls.append(1)
            return super().get_potential_energy(atoms, force_consistent)

    opts = dict(oracle=Oracle(), initial=_initial()[:3],
                explorers=[Explorer(temperature_K=800, steps=20, interval=5)],
                workdir=str(tmp_path / "al"), ensemble_size=2, forces_std_max=1e-4,
                per_round=1, training=TRAINING, log=None)
    first = learn(max_rounds=3, time_limit=1e-4, **opts)      # stops at its first check
    assert first.stopped_because == "time_limit" and first.rounds == 1
    n = len(calls)
    again = learn(max_rounds=3, time_limit=1e-4, resume=True, **opts)
    assert len(calls) == n and again.stopped_because == "time_limit"
    assert again.ensemble_path == first.ensemble_path and again.oracle_calls == n
    more = learn(max_rounds=3, resume=True, **opts)               # no time limit now
    assert more.stopped_because == "max_rounds" and more.rounds == 3
    assert more.ensemble_path.endswith("round2/ensemble.nnp")
    n = len(calls)
    done = learn(max_rounds=3, resume=True, **opts)                # a finished run: replayed
    assert len(calls) == n and done.ensemble_path == more.ensemble_path
    assert (done.rounds, done.oracle_calls, done.stopped_because) == (3, 5, "max_rounds")
    assert [int(row["oracle_calls"]) for row in done.curve] == [3, 4, 5]
    # at the oracle budget the last labels get an ensemble of their own, and no exploration
    last = learn(max_oracle_calls=4, **dict(opts, workdir=str(tmp_path / "b")))
    assert last.stopped_because == "max_oracle_calls" and last.oracle_calls == 4
    assert last.ensemble_path.endswith("round1/ensemble.nnp") and last.rounds == 2
    assert last.curve[-1]["candidates"] == "" and int(last.curve[-1]["oracle_calls"]) == 4


def test_explorer_refusals_name_the_problem():
    from ase.build import molecule
    from ase_nnp.active import _dynamics, _snapshots
    rng = np.random.default_rng(0)
    gas = [molecule("H2O")]
    with pytest.raises(NNPError, match="slab is cut from a periodic bulk cell"):
        Explorer(surface=(1, 1, 1)).start_structure(gas, rng)
    with pytest.raises(NNPError, match="NPT .pressure_GPa. needs a cell periodic"):
        _dynamics(gas[0].copy(), Explorer(pressure_GPa=1.0), rng)
    with pytest.raises(NNPError, match="explorer generator 'no_such_module:f'"):
        next(_snapshots(None, Explorer(generator="no_such_module:f"), gas[0], rng))
