"""Smoke tests of the study scripts in examples/ that train potentials on Stillinger–Weber
data: each runs end to end with ``--smoke`` (seconds: a few SW steps, 2-4 epochs) and
exits with 0. The networks' numbers are meaningless at that size, so the checks are on
what does not depend on training: the SW labels and SW's own defect energies, the table's
shape, files that read back, and finite errors."""
import csv
import json

import numpy as np
import pytest

from example_scripts import assert_png, markdown_rows, need, numbers_after, run_script


@pytest.fixture(autouse=True)
def _matscipy():
    need("matscipy")                    # every study labels its data with matscipy's SW


def _finite_positive(cells):
    values = np.array(cells, float)
    assert np.all(np.isfinite(values)) and np.all(values >= 0), cells
    return values


def _sw_labelled(images, n_atoms, e_lo=-4.34, e_hi=-3.9):
    """SW-labelled snapshots of hot diamond Si: energy per atom between the crystal's
    -4.337 eV and a melt's, forces present and summing to zero (to extxyz's 8 decimals)."""
    for atoms in images:
        assert len(atoms) == n_atoms
        assert e_lo < atoms.get_potential_energy() / n_atoms < e_hi
        assert np.allclose(atoms.get_forces().sum(axis=0), 0.0, atol=1e-6)


def test_descriptor_comparison_trains_both_families_at_both_lengths(tmp_path):
    from ase.io import read
    run_script("examples/descriptor_comparison.py", "--smoke", "--workdir", "data",
               "--out", "table.md", cwd=tmp_path)
    rows = markdown_rows((tmp_path / "table.md").read_text())
    assert rows[0][:2] == ["T (K)", "values"] and [r[:2] for r in rows[1:]] == [
        ["300", "16"], ["300", "25"]]
    _finite_positive([r[2:] for r in rows[1:]])
    _sw_labelled(read(tmp_path / "data" / "sw_300K_train_4.extxyz", ":"), 64)
    assert len(read(tmp_path / "data" / "sw_300K_test_2.extxyz", ":")) == 2


def test_snap_vs_nnp_fits_snap_exactly_enough_and_rates_the_shipped_model(tmp_path):
    run_script("examples/snap_vs_nnp.py", "--smoke", "--workdir", "work", "--out", "table.md",
               cwd=tmp_path)
    rows = {r[0]: r[1:] for r in markdown_rows((tmp_path / "table.md").read_text())[1:]}
    assert len(rows) == 5
    for name, (n, e, f, s, fit, cost) in rows.items():
        _finite_positive([n, e, f, s, cost])
    # a linear least-squares fit on SW data, and the shipped potential: small test errors
    for name in ("linear SNAP, 2J=6", "linear SNAP, 2J=8",
                 "symmetry functions, network (data/si.nnp)"):
        assert float(rows[name][1]) < 5.0 and float(rows[name][2]) < 0.05, (name, rows[name])
    assert rows["linear SNAP, 2J=6"][0] == "30" and rows["linear SNAP, 2J=8"][0] == "55"


def test_uncertainty_si_tabulates_every_class_and_plots(tmp_path):
    from ase.io import read
    out = run_script("examples/uncertainty_si.py", "--smoke", "--workdir", "work", "--plot",
                     "sigma.png", cwd=tmp_path)
    rows = markdown_rows(out)
    classes = [r[0] for r in rows[1:]]
    assert classes == ["bulk 300-900 K", "bulk 1500 K", "liquid 2000 K", "0.92 V0", "1.08 V0",
                       "slab (100)", "slab (111)", "vacancy"]
    for r in rows[1:]:
        _finite_positive(r[1:9])
    for label in ("atoms:", "structures (σ_E vs |ΔE|):", "class means (σ_F vs RMSE F):"):
        rho = numbers_after(out, f"Spearman rank correlation, {label}")[0]
        assert -1.0 <= rho <= 1.0
    _sw_labelled(read(tmp_path / "work" / "train.extxyz", ":"), 64)
    assert_png(tmp_path / "sigma.png")


def test_slab_scale_fig2b_smoke_trains_both_temperatures_and_measures_the_gap(tmp_path):
    run_script("examples/slab_scale_fig2c.py", "--smoke", "--workdir", "work", cwd=tmp_path)
    rows = json.loads((tmp_path / "work" / "summary.json").read_text())["fig2b"]
    for key in ("100", "1000"):
        row = rows[key]
        assert row["n_bulk"] == 64 and row["epochs"] == 1 and len(row["layers"]) == 16
        # the proxy and the truth differ by the 16-layer slab's middle atoms' departure from
        # the crystal's E_at, small (section 7: 1 meV/atom)
        assert abs(row["bulk"] - row["true_bulk"]) < 5.0
        assert np.isfinite([row["surface"], row["true_surface"], row["true_rmse"]]).all()
        # per-layer errors: the slab's two faces are mirror images
        assert np.allclose(row["layers"], row["layers"][::-1], atol=1e-3)
    for T in ("100", "1000"):
        gap = rows["gap"][T]
        assert gap["snapshots"] == 2 and len(gap["chain"]) == 7
        assert 0 <= gap["gap_min"] <= gap["gap_median"] and gap["rg_inv"] > 0
    # a rerun keeps the potentials it has
    out = run_script("examples/slab_scale_fig2c.py", "--smoke", "--workdir", "work",
                     cwd=tmp_path)
    assert "kept from" in out


def test_atomic_energy_mapping_runs_all_three_parts(tmp_path):
    need("matplotlib")
    run_script("examples/atomic_energy_mapping.py", "--smoke", "--workdir", "work",
               cwd=tmp_path)
    summary = json.loads((tmp_path / "work" / "summary.json").read_text())
    assert list(summary["bulk"]) == ["NVT", "NPT", "NVT+σ"]
    assert list(summary["slab"]) == ["100", "300", "500", "1000"]
    # the invariant points' reference is SW's E/N of the crystal: its minimum at V0
    bulk = summary["bulk"]["NVT"]
    v, ref = np.array(bulk["volume"]), np.array(bulk["ref"])
    assert v[np.argmin(ref)] == pytest.approx(5.431 ** 3 / 8, rel=0.03)
    assert ref.min() == pytest.approx(-4.3366, abs=2e-3)
    for row in summary["bulk"].values():
        assert np.all(np.isfinite(row["nn"])) and row["true_rmse"] > 0
    for row in summary["slab"].values():
        assert np.isfinite([row["bulk"], row["surface"], row["rg_inv"]]).all()
    cluster = summary["cluster"]
    assert cluster["atoms"] > 50 and cluster["epoch"][-1] == 4
    for name in ("eos", "slab", "cluster"):
        assert_png(tmp_path / "work" / f"mapping_{name}_si.png")
    assert "| NVT+σ |" in (tmp_path / "work" / "table.md").read_text()


def test_active_learning_si_labels_what_the_ensemble_doubts(tmp_path):
    from ase_nnp import load
    out = run_script("examples/active_learning_si.py", "--smoke", "--workdir", "al",
                     cwd=tmp_path)
    with open(tmp_path / "al" / "loop" / "curve.csv") as fh:
        curve = list(csv.DictReader(fh))
    assert [row["round"] for row in curve] == ["0", "1"]
    calls = [int(row["oracle_calls"]) for row in curve]
    assert calls[0] == 10 and 10 < calls[1] <= 12          # the 10 initial cells, ≤ 2 picked
    _finite_positive([[row["test_energy_meV_atom"], row["test_forces_eV_A"]] for row in curve])
    assert "stopped (max_rounds) after 2 rounds" in out
    assert len(load(tmp_path / "al" / "loop" / "round1" / "ensemble.nnp").members) == 2
    per_class = [r for r in markdown_rows(out) if r[0] in (
        "bulk 300 K", "bulk 900 K", "bulk 1500 K", "-5 % volume, 900 K", "+5 % volume, 900 K",
        "vacancy, 900 K", "(111) slab, 600 K")]
    assert len(per_class) == 7
    _finite_positive([c.split(" / ") for r in per_class for c in r[1:]])


def test_gdf_weighting_sorts_atoms_into_shells_and_measures_sw_defects(tmp_path):
    out = run_script("examples/gdf_weighting.py", "--smoke", "--workdir", "gdf", cwd=tmp_path)
    rows = markdown_rows(out)
    # the four atoms next to the vacancy, the twelve of the second shell, the other 47
    assert rows[0][1:4] == ["first shell (4.0 atoms)", "second shell (12.0)", "far (47.0)"]
    errors = [r[1:] for r in rows[1:5]]                   # the force table's model rows
    assert [r[0] for r in rows[1:5]] == ["plain, seed 0", "GDF, seed 0", "plain, mean of 1",
                                         "GDF, mean of 1"]
    _finite_positive(errors)
    sw = next(r for r in rows if r[0] == "SW")
    assert 2.5 < float(sw[2]) < 3.2 and 0.2 < float(sw[4]) < 0.9    # E_f, barrier (eV)


def test_weight_decay_study_chooses_lambda_by_the_mean_monitor_over_seeds():
    """The λ of the smallest mean monitor value over seeds, not of one lucky seed; the
    surface-energy choice and the rank correlation beside it; None without cluster rows."""
    import importlib.util
    import pathlib
    import sys
    root = pathlib.Path(__file__).resolve().parents[1] / "examples"
    sys.path.insert(0, str(root))
    try:
        spec = importlib.util.spec_from_file_location("weight_decay_study",
                                                      root / "weight_decay_study.py")
        study = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(study)
    finally:
        sys.path.remove(str(root))

    def row(lam, seed, monitor, err, name="cluster"):
        return dict(name=f"{name}, λ = {lam:g}, seed {seed}", weight_decay=lam, seed=seed,
                    monitor=monitor, max_abs_error_pct=err)
    rows = [row(0.0, 0, 10.0, 9.0), row(0.0, 1, 90.0, 7.0),        # best single seed, mean 50
            row(1e-7, 0, 30.0, 4.0), row(1e-7, 1, 40.0, 5.0),      # mean 35
            row(1e-5, 0, 60.0, 5.0), row(1e-5, 1, 70.0, 2.0),      # best surfaces, mean 65
            row(0.0, 0, 1.0, 30.0, name="bulk NPT")]               # not a cluster row
    choice = study.choose(rows)
    assert choice["chosen"] == 1e-7 and choice["best_by_gamma"] == 1e-5
    per = {c["weight_decay"]: c for c in choice["per_lambda"]}
    assert per[0.0]["monitor"] == 50.0 and per[0.0]["seeds"] == 2
    assert per[1e-7]["monitor_sd"] == pytest.approx(np.std([30.0, 40.0], ddof=1))
    assert per[1e-5]["max_abs_error_pct"] == 3.5
    assert -1.0 <= choice["spearman"] <= 1.0
    assert study.choose([rows[-1]]) is None
