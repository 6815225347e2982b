"""Calibrated error bars, split-conformal intervals and the extrapolation grade γ."""

import warnings

import numpy as np
import pytest
from ase.build import bulk
from ase.calculators.emt import EMT
from ase.calculators.singlepoint import SinglePointCalculator

from ase_nnp import (Ensemble, NNPCalculator, Potential, UncalibratedWarning, calibrate, load,
                     select_active_set)
from ase_nnp.analysis import calibration_metrics as cm
from ase_nnp.exceptions import DatasetError, ModelFileError
from ase_nnp.extrapolation_grade import ActiveSet, maxvol
from ase_nnp.uncertainty import Calibration, conformal_quantile, fit_map

from conftest import sensitive_potential


pytestmark = pytest.mark.filterwarnings("ignore::ase_nnp.ExtrapolationWarning")


def _labelled(n, seed0=0, rattle=0.05, a=3.6):
    frames = []
    for k in range(n):
        atoms = bulk("Cu", "fcc", a=a, cubic=True) * (2, 2, 1)
        atoms.rattle(rattle + 0.002 * k, seed=seed0 + k)
        atoms.calc = EMT()
        r = {key: atoms.calc.get_property(key, atoms) for key in ("energy", "forces", "stress")}
        atoms.calc = SinglePointCalculator(atoms, **r)
        frames.append(atoms)
    return frames


@pytest.fixture(scope="module")
def frames():
    return _labelled(24)


def _ensemble(frames, k=3):
    base = sensitive_potential(["Cu"], frames[:4])
    members = [base] + [Potential(["Cu"], base.descriptor, hidden_layers=(12, 8), seed=s,
                                  scalings=base.scalings, energy_offsets=base.energy_offsets)
                        for s in range(1, k)]
    return Ensemble(members)


# ------------------------------------------------------------------ conformal
def test_conformal_coverage_holds_on_a_synthetic_case_with_known_noise():
    """Heteroscedastic Gaussian errors e = 2 s ε (the raw spread s is half the true σ):
    the fitted scale finds the 2, and the split-conformal interval at 90 % from n = 14
    scores covers k/(n + 1) = 14/15 of new points (the guarantee is ≥ 0.9; the naive
    rank ⌈n · 0.9⌉ = 13 would give 13/15 < 0.9)."""
    rng = np.random.default_rng(1)
    s_fit = rng.uniform(0.05, 1.0, 4000)
    a, b, c = fit_map(2 * s_fit * rng.normal(size=4000), s_fit, None, ["committee"], "scale")
    assert np.exp(a) == pytest.approx(2.0, rel=0.05) and (b, c) == (1.0, 0.0)
    cal = Calibration({"energy": (a, b, c), "forces": (a, b, c)}, ["committee"], "scale")
    covered = []
    for _ in range(3000):
        s = rng.uniform(0.05, 1.0, 14 + 200)
        e = 2 * s * rng.normal(size=len(s))
        scores = np.sort(np.abs(e[:14]) / cal.sigma("forces", s[:14]))
        half = conformal_quantile(scores, 0.9) * cal.sigma("forces", s[14:])
        covered.append(np.mean(np.abs(e[14:]) <= half))
    assert np.mean(covered) >= 0.9
    assert np.mean(covered) == pytest.approx(14 / 15, abs=0.005)


def test_conformal_quantile_rank_and_its_limits():
    scores = np.arange(1.0, 10.0)                     # n = 9
    assert conformal_quantile(scores, 0.5) == 5.0      # ⌈10 · 0.5⌉ = 5
    assert conformal_quantile(scores, 0.8) == 8.0
    assert conformal_quantile(scores, 0.95) == np.inf  # ⌈9.5⌉ = 10 > n
    with pytest.raises(ValueError, match="strictly between 0 and 1"):
        conformal_quantile(scores, 1.0)


def test_log_affine_fit_recovers_a_power_law_and_the_grade_term():
    rng = np.random.default_rng(2)
    s = np.exp(rng.uniform(-4, 0, 20000))
    g = np.exp(rng.uniform(-1, 3, 20000))
    sigma = 0.5 * s ** 0.7 * (1 + np.log(np.maximum(g, 1))) ** 1.3
    a, b, c = fit_map(sigma * rng.normal(size=len(s)), s, g, ["committee", "grade"],
                      "log-affine")
    assert (np.exp(a), b, c) == pytest.approx((0.5, 0.7, 1.3), rel=0.05)
    # the scale form fits a alone, with b = 1 and the given c
    e = sigma * rng.normal(size=len(s))
    a, b, c = fit_map(e, s, g, ["committee", "grade"], "scale", grade_exponent=1.3)
    tilde = s * (1 + np.log(np.maximum(g, 1))) ** 1.3
    assert (b, c) == (1.0, 1.3) and a == pytest.approx(0.5 * np.log(np.mean(e ** 2 / tilde ** 2)))


# ---------------------------------------------------------------- the grade γ
def test_maxvol_finds_a_dominant_submatrix():
    rng = np.random.default_rng(3)
    X = rng.normal(size=(300, 6))
    idx = maxvol(X, tol=1e-6)
    C = X @ np.linalg.inv(X[idx])
    assert np.abs(C).max() <= 1 + 1e-6
    np.testing.assert_allclose(C[idx], np.eye(6), atol=1e-12)


def test_grade_is_one_on_the_active_set_and_above_one_outside(frames):
    pot = sensitive_potential(["Cu"], frames[:4])
    select_active_set(pot, frames[:12])
    act = pot.active_set
    m = act.rows["Cu"].shape[0]
    assert m == 9                       # 8 neurons of the last hidden layer + the bias
    calc = NNPCalculator(pot, extrapolation="ignore")
    found = 0
    for atoms in frames[:12]:
        gamma = calc.get_property("extrapolation_grade", atoms)
        assert gamma.max() <= 1 + 1e-3                   # MaxVol: no training atom above
        # the active atoms, found by their features (numpy's forward pass), have γ = 1
        x = pot.scalings["Cu"].apply(pot.descriptor.compute(atoms))
        phi = np.hstack([pot.networks["Cu"].last_hidden(x), np.ones((len(atoms), 1))])
        phi = phi[:, act.columns["Cu"]]
        for row in act.rows["Cu"]:
            hit = np.flatnonzero(np.abs(phi - row).max(axis=1) < 1e-12)
            for a in hit:
                assert abs(gamma[a] - 1.0) <= 1e-8
                found += 1
    assert found == m
    squeezed = _labelled(1, seed0=50, rattle=0.3, a=3.1)[0]      # 14 % shorter bonds
    assert calc.get_property("extrapolation_grade", squeezed).max() > 2.0


def test_grade_is_the_same_from_the_fused_kernel_and_from_numpy(frames):
    ens = select_active_set(_ensemble(frames), frames[:12])
    atoms = _labelled(1, seed0=77, rattle=0.2)[0]
    fused = ens.evaluate(atoms.positions, atoms.numbers, atoms.cell[:], atoms.pbc)
    plain = ens.evaluate(atoms.positions, atoms.numbers, atoms.cell[:], atoms.pbc, forces=False,
                         stress=False)
    np.testing.assert_allclose(fused.extrapolation_grade, plain.extrapolation_grade,
                               rtol=1e-12, atol=1e-12)
    per_member = [m.evaluate(atoms.positions, atoms.numbers, atoms.cell[:], atoms.pbc)
                  .extrapolation_grade for m in ens.members]
    np.testing.assert_allclose(fused.extrapolation_grade, np.max(per_member, axis=0))
    assert np.ptp(per_member, axis=0).max() > 1e-3           # the members differ


def test_active_set_refuses_too_few_atoms_and_bad_rows():
    with pytest.raises(ValueError, match="at least as many atoms as features"):
        ActiveSet.select({"Cu": np.random.default_rng(0).normal(size=(4, 8))})
    with pytest.raises(ValueError, match="square"):
        ActiveSet({"Cu": 2}, {"Cu": [0, 1, 2]}, {"Cu": np.eye(2)})
    with pytest.raises(ValueError, match="singular"):
        ActiveSet({"Cu": 2}, {"Cu": [0, 1]}, {"Cu": np.ones((2, 2))})


# --------------------------------------------------------- calibrate and the file
def test_calibration_round_trips_through_the_model_file(frames, tmp_path):
    ens = _ensemble(frames)
    cal = calibrate(ens, frames[12:], training=frames[:12])
    assert cal.signals == ("committee", "grade") and cal.scores is not None
    assert cal.maps["forces"][1:].tolist() == [1.0, 1.0]      # the scale form
    assert set(cal.maps) == {"energy", "forces", "stress"}
    path = tmp_path / "ens.nnp"
    ens.save(path)
    back = load(path)
    assert back.calibration.signals == cal.signals and back.calibration.form == cal.form
    for q in cal.maps:
        np.testing.assert_array_equal(back.calibration.maps[q], cal.maps[q])
    np.testing.assert_array_equal(back.calibration.scores, cal.scores)
    assert back.calibration.metadata == cal.metadata
    for m0, m1 in zip(ens.members, back.members):
        np.testing.assert_array_equal(m1.active_set.rows["Cu"], m0.active_set.rows["Cu"])
        np.testing.assert_array_equal(m1.active_set.columns["Cu"], m0.active_set.columns["Cu"])
    atoms = frames[20]
    r0 = NNPCalculator(ens).get_property("forces_std", atoms).copy()
    r1 = NNPCalculator(back).get_property("forces_std", atoms)
    np.testing.assert_array_equal(r0, r1)
    # a single potential with a grade-only calibration, too
    pot = sensitive_potential(["Cu"], frames[:4])
    cal1 = calibrate(pot, frames[12:], training=frames[:12])
    assert cal1.signals == ("grade",)
    pot.save(tmp_path / "one.nnp")
    one = load(tmp_path / "one.nnp")
    np.testing.assert_array_equal(one.calibration.maps["forces"], cal1.maps["forces"])
    calc = NNPCalculator(one)
    assert calc.calibrated and calc.get_property("forces_std", atoms).shape == (len(atoms),)


def test_calculator_reports_calibrated_values_with_raw_ones_beside(frames):
    ens = _ensemble(frames)
    cal = calibrate(ens, frames[12:], training=frames[:12])
    atoms = frames[15].copy()
    calc = NNPCalculator(ens, coverage=0.8)
    atoms.calc = calc
    r = {k: calc.get_property(k, atoms) for k in (
        "forces", "forces_std", "forces_std_raw", "energy_std", "energy_std_raw",
        "forces_interval", "extrapolation_grade", "stress_std", "stress_std_raw")}
    ev = ens.evaluate(atoms.positions, atoms.numbers, atoms.cell[:], atoms.pbc)
    np.testing.assert_allclose(r["forces_std_raw"], ev.forces_std)
    assert r["energy_std_raw"] == pytest.approx(ev.energy_std)
    g = ev.extrapolation_grade
    # the force's grade: the largest γ of the atom and of every atom within the cutoff
    from ase.neighborlist import neighbor_list
    i, j = neighbor_list("ij", atoms, ens.cutoff)
    gF = np.array([max(g[a], g[j[i == a]].max(initial=0)) for a in range(len(atoms))])
    np.testing.assert_allclose(ev.forces_grade, gF)
    np.testing.assert_allclose(calc.get_property("extrapolation_grade_forces", atoms), gF)
    assert np.any(gF > g)                                   # the test can fail
    comp = cal.sigma("forces", ev.forces_std / np.sqrt(3), gF)
    np.testing.assert_allclose(r["forces_std"], np.sqrt(3) * comp)
    n = len(atoms)
    assert r["energy_std"] == pytest.approx(n * cal.sigma("energy", ev.energy_std / n,
                                                           np.max(g)))
    q = cal.quantile(0.8)
    half = np.repeat(q * comp[:, None], 3, axis=1)
    np.testing.assert_allclose(r["forces_interval"][..., 1] - r["forces"], half)
    np.testing.assert_allclose(r["forces"] - r["forces_interval"][..., 0], half)
    assert not np.allclose(r["forces_std"], r["forces_std_raw"])
    with pytest.raises(ValueError, match="coverage"):
        calc.set(coverage=1.5)
    calc.set(coverage=0.95)                     # a new coverage, a new interval
    wider = calc.get_property("forces_interval", atoms)
    np.testing.assert_allclose(wider[..., 1] - r["forces"],
                               cal.quantile(0.95) * np.repeat(comp[:, None], 3, axis=1))
    assert cal.quantile(0.95) > q


def test_uncalibrated_ensemble_reports_raw_spreads_with_a_warning(frames):
    ens = _ensemble(frames)
    with pytest.warns(UncalibratedWarning, match="ase-nnp calibrate"):
        calc = NNPCalculator(ens)
    assert not calc.calibrated
    atoms = frames[0]
    np.testing.assert_array_equal(calc.get_property("forces_std", atoms),
                                  calc.get_property("forces_std_raw", atoms))


def test_bad_input_is_refused_with_the_fix(frames):
    ens = _ensemble(frames)
    bare = [a.copy() for a in frames[:3]]
    with pytest.raises(DatasetError, match="no reference potential energy"):
        calibrate(ens, bare)
    with pytest.raises(ValueError, match="lacks the signal"):
        calibrate(ens, frames[12:], signals=["grade"])
    pot = sensitive_potential(["Cu"], frames[:4])
    with pytest.raises(ValueError, match="active set"):
        calibrate(pot, frames[12:])
    with pytest.raises(ValueError, match="signals must be"):
        Calibration({"energy": (0, 0, 0), "forces": (0, 0, 0)}, ["spread"])
    with pytest.raises(DatasetError, match="cannot be split"):
        calibrate(ens, frames[12:13], signals=["committee"])


def test_model_file_refuses_a_damaged_calibration(frames, tmp_path):
    import h5py
    ens = _ensemble(frames)
    calibrate(ens, frames[12:], signals=["committee"])
    path = tmp_path / "ens.nnp"
    ens.save(path)
    with h5py.File(path, "r+") as f:
        del f["calibration/forces"]
        f["calibration/forces"] = np.array([0.0, np.nan, 0.0])
    with pytest.raises(ModelFileError, match="calibration/forces"):
        load(path)


# ------------------------------------------------------------------- metrics
def test_metrics_on_known_cases():
    rng = np.random.default_rng(4)
    sigma = rng.uniform(0.1, 2, 200000)
    e = sigma * rng.normal(size=len(sigma))
    assert cm.coverage(e, sigma, 1) == pytest.approx(0.6827, abs=0.005)
    assert cm.coverage(e, sigma, 2) == pytest.approx(0.9545, abs=0.003)
    assert cm.miscalibration_area(e, sigma) < 0.005
    assert cm.miscalibration_area(e, sigma / 3) > 0.2
    assert cm.rms_ratio(e, sigma) == pytest.approx(1.0, abs=0.01)
    assert cm.auroc([1, 2, 3, 4], [False, False, True, True]) == 1.0
    assert cm.auroc([4, 3, 2, 1], [False, False, True, True]) == 0.0
    assert cm.auroc([1, 1, 1, 1], [False, True, False, True]) == 0.5
    assert np.isnan(cm.auroc([1, 2], [True, True]))


def test_cli_calibrate_writes_the_calibration(frames, tmp_path, capsys):
    from ase.io import write
    from ase_nnp.cli import main
    ens = _ensemble(frames)
    ens.save(tmp_path / "ens.nnp")
    write(tmp_path / "train.extxyz", frames[:12])
    write(tmp_path / "val.extxyz", frames[12:])
    out = tmp_path / "cal.nnp"
    assert main(["calibrate", str(tmp_path / "ens.nnp"), str(tmp_path / "val.extxyz"),
                 "--training", str(tmp_path / "train.extxyz"), "-o", str(out)]) == 0
    text = capsys.readouterr().out
    assert "signals committee, grade" in text and "90 %" in text
    back = load(out)
    assert back.calibration is not None and back.members[0].active_set is not None
    assert load(tmp_path / "ens.nnp").calibration is None          # -o leaves MODEL alone
    assert main(["info", str(out)]) == 0
    text = capsys.readouterr().out
    assert "uncertainty: calibrated on 12 structures (scale, committee + grade" in text
    assert "active sets of 9 Cu atoms per member" in text
    assert main(["info", str(tmp_path / "ens.nnp")]) == 0
    assert "not calibrated" in capsys.readouterr().out
    assert main(["calibrate", str(out), str(tmp_path / "nothing.extxyz")]) == 2


def test_monitor_watches_the_calibrated_values_and_the_grade(frames, tmp_path):
    from ase_nnp import UncertaintyMonitor
    ens = _ensemble(frames)
    calibrate(ens, frames[12:], training=frames[:12])
    atoms = frames[14].copy()
    atoms.calc = NNPCalculator(ens)
    mon = UncertaintyMonitor(atoms, tmp_path / "u.csv", extrapolation_grade_max=1e-3)
    mon()
    head, row = (tmp_path / "u.csv").read_text().splitlines()
    values = dict(zip(head.split(","), row.split(",")))
    r = atoms.calc.results
    assert float(values["max_forces_std_eV_A"]) == pytest.approx(r["forces_std"].max(), 1e-5)
    assert float(values["max_forces_std_raw_eV_A"]) == pytest.approx(
        r["forces_std_raw"].max(), 1e-5)
    assert values["calibrated"] == "1"
    assert float(values["max_extrapolation_grade"]) == pytest.approx(
        r["extrapolation_grade"].max(), 1e-5)
    assert mon.picked and "max_extrapolation_grade" in mon.picked[0][1]
    with pytest.raises(ValueError, match="positive number"):
        UncertaintyMonitor(atoms, None, forces_std_max=-1)


def test_learn_calibrates_every_round_and_flags_by_calibrated_values(tmp_path):
    from ase_nnp.active import Explorer, learn
    from ase_nnp.exceptions import NNPError
    training = dict(cutoff=4.0, radial_n=5, radial_r_low=1.5, angular_n=2, angular_r_low=2.0,
                    zetas=[1, 2], hidden_layers=[5], max_epochs=15, forces_weight=0.01)
    initial = []
    for k in range(4):
        a = bulk("Cu", "fcc", a=3.61, cubic=True)
        a.rattle(0.05, seed=k)
        initial.append(a)
    held_out = _labelled(6, seed0=90, rattle=0.05, a=3.61)
    result = learn(oracle="emt", initial=initial,
                   explorers=[Explorer(temperature_K=300, steps=10, interval=5)],
                   workdir=str(tmp_path / "al"), ensemble_size=2, forces_std_max=1e-6,
                   extrapolation_grade_max=1e9, per_round=1, max_rounds=2,
                   training=training, log=None, calibration=held_out)
    ens = load(result.ensemble_path)
    assert ens.calibration is not None and ens.calibration.signals == ("committee", "grade")
    assert all(m.active_set is not None for m in ens.members)
    first = load(str(tmp_path / "al" / "round0" / "ensemble.nnp"))
    atoms = held_out[0].copy()
    atoms.calc = NNPCalculator(first)
    calibrated = atoms.calc.get_property("forces_std", atoms).max()
    assert not np.isclose(calibrated, atoms.calc.get_property("forces_std_raw", atoms).max())
    # the same from learn.toml: [data] calibration, [learn] extrapolation_grade_max
    from ase.io import write
    from ase_nnp.cli import main
    write(tmp_path / "init.extxyz", initial)
    write(tmp_path / "held.extxyz", held_out)
    keys = "\n".join(f"{k} = {v!r}".replace("'", '"') for k, v in training.items())
    toml = tmp_path / "learn.toml"
    toml.write_text('[oracle]\ncalculator = "emt"\n[data]\ninitial = ["init.extxyz"]\n'
                    'calibration = ["held.extxyz"]\n[learn]\nworkdir = "run"\n'
                    'ensemble_size = 2\nforces_std_max = 0\nextrapolation_grade_max = 1e-3\n'
                    'per_round = 1\nmax_rounds = 1\n[[explore]]\ntemperature_K = 300\n'
                    f'steps = 10\ninterval = 5\n[training]\n{keys}\n')
    assert main(["learn", str(toml)]) == 0
    assert load(str(tmp_path / "run" / "round0" / "ensemble.nnp")).calibration is not None
    from ase.io import read
    picked = read(str(tmp_path / "run" / "round0" / "candidates.extxyz"), ":")
    assert picked and "gamma" in picked[0].info["reason"]
    with pytest.raises(NNPError, match="needs the grade's active set"):
        learn(oracle="emt", initial=initial, explorers=[], workdir=str(tmp_path / "x"),
              forces_std_max=None, extrapolation_grade_max=2.0)
