"""The active-learning loop with ASE's EMT as the oracle: labels, resumes, survives failures."""

import csv

import numpy as np
import pytest
from ase.build import bulk
from ase.calculators.emt import EMT

from ase_nnp import Ensemble, load
from ase_nnp.active import Explorer, learn
from ase_nnp.errors import NNPError

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
    first = learn(max_rounds=1, **opts)        # 3 candidates (each run stops at its first,
    assert first.stopped_because == "max_rounds" and first.oracle_calls == 4 + 2   # 2 picked
    assert first.failed == 1 and first.labelled == 5
    with pytest.raises(NNPError, match="resume"):
        learn(max_rounds=2, **opts)
    n_before = len(labelled)
    second = learn(max_rounds=2, resume=True, **opts)
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
    assert [int(c["round"]) for c in curve] == [0, 1]
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
