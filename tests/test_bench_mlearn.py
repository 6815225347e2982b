"""benchmarks/bench_mlearn.py: the targets' verdict, the summary table, the speed cell and
the refusal of bad input (no training, no published files needed)."""
import importlib.util
from pathlib import Path

import numpy as np
import pytest
from ase.build import bulk

PATH = Path(__file__).resolve().parents[1] / "benchmarks" / "bench_mlearn.py"


@pytest.fixture(scope="module")
def bench():
    spec = importlib.util.spec_from_file_location("bench_mlearn", PATH)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _model(e, f, groups):
    return {"energy": {"rmse": e, "mae": e}, "forces": {"rmse": f, "mae": f},
            "stress": {"rmse": 0.1, "mae": 0.1}, "extrapolating_atoms": None,
            "by_config_type": {k: {"energy": ge, "forces": gf} for k, (ge, gf) in groups.items()}}


def _result(ours):
    models = {"published NNP": _model(7.0, 0.17, {"Surface": (12.7, 0.25), "Elastic": (5.5, 2e-16)}),
              "published SNAP": _model(8.0, 0.20, {"Surface": (4.6, 0.23), "Elastic": (3.6, 3e-16)}),
              "published qSNAP": _model(5.5, 0.18, {"Surface": (2.2, 0.22), "Elastic": (3.8, 1e-16)})}
    if ours is not None:
        models["ase-nnp recipe"] = ours
    return {"models": models, "test_structures": 2, "test_atoms": 10,
            "config_types": ["Elastic", "Surface"]}


def test_targets_compare_with_the_best_published_model_overall_and_per_config_type(bench):
    # best published: energy 5.5 (qSNAP), forces 0.17 (NNP); Surface 2.2 / 0.22
    win = _result(_model(4.0, 0.13, {"Surface": (3.2, 0.30), "Elastic": (3.0, 4e-16)}))
    v = bench.targets(win)
    assert v == {"overall": True, "config_types": True, "stretch": True, "failures": []}
    # 0.8 × 0.17 = 0.136 < 0.14: no stretch; Surface 3.4 > 1.5 × 2.2 = 3.3
    v = bench.targets(_result(_model(4.0, 0.14, {"Surface": (3.4, 0.30), "Elastic": (3.0, 0)})))
    assert v["overall"] and not v["stretch"] and not v["config_types"]
    assert v["failures"] == ["Surface energy RMSE 3.4 > 1.5 × 2.2 (published qSNAP)"]
    v = bench.targets(_result(_model(5.6, 0.17, {"Surface": (2.0, 0.20), "Elastic": (3.0, 0)})))
    assert not v["overall"] and v["config_types"]
    assert v["failures"] == ["energy RMSE 5.6 > 5.5 (published qSNAP)"]
    assert bench.targets(_result(None)) is None


def test_summary_table_bolds_the_best_and_states_the_verdict(bench):
    result = _result(_model(4.0, 0.19, {"Surface": (3.2, 0.30), "Elastic": (3.0, 0)}))
    result["timing"] = {"init_s": 6.0, "train_s": 594.0}
    result["targets"] = bench.targets(result)
    text = bench.summary_table({"Si": result})
    assert "| published NNP | 7.00 / **0.170** |" in text
    assert "| ase-nnp recipe | **4.00** / 0.190 (10.0 min) |" in text
    assert "- Si: E and F RMSE ≤ best published: NO" in text
    assert "forces RMSE 0.19 > 0.17 (published NNP)" in text
    table = bench.element_table("Si", result)
    assert "| ase-nnp recipe | 4.00 | 4.00 | 0.1900 |" in table and "0.1 + 9.9" in table


def test_speed_cell_repeats_the_first_aimd_frame_to_the_size_asked(bench):
    class Ref:
        def __init__(self, atoms):
            self.atoms = atoms
    small = bulk("Li", "bcc", a=3.44, cubic=True).repeat((3, 3, 3))      # 54 atoms
    small.info["config_type"] = "AIMD-NVT"
    big = bulk("Li", "bcc", a=3.44, cubic=True).repeat((4, 4, 4))
    big.info["config_type"] = "Surface"
    cell = bench.speed_cell([Ref(big), Ref(small)], 2000)
    assert len(cell) == 54 * 48 and len(cell) >= 2000 and cell.calc is None
    assert np.allclose(sorted(cell.cell.lengths()), sorted(np.array([3, 4, 4]) * 3 * 3.44))


def test_bad_input_is_refused_with_the_fix(bench, tmp_path):
    with pytest.raises(SystemExit, match="--data DIR"):
        bench.check_inputs(tmp_path / "nope", ["Si"])
    (tmp_path / "Li").mkdir()
    (tmp_path / "Li" / "test.extxyz.gz").write_bytes(b"")
    with pytest.raises(SystemExit, match="no element Cu .*choose from Li with --elements"):
        bench.check_inputs(tmp_path, ["Cu"])
    with pytest.raises(SystemExit, match="missing .*training.extxyz.gz"):
        bench.check_inputs(tmp_path, ["Li"])


def test_training_refuses_to_clear_a_folder_that_is_not_an_earlier_run(bench, tmp_path):
    (tmp_path / "Li").mkdir()
    (tmp_path / "Li" / "notes.txt").write_text("keep me")
    with pytest.raises(SystemExit, match="not a run of this benchmark; choose another --out"):
        bench.train_recipe(tmp_path, "Li", tmp_path, 1.0, skip_train=False)
    assert (tmp_path / "Li" / "notes.txt").read_text() == "keep me"
    with pytest.raises(SystemExit, match="--skip-train but no trained model for Li"):
        bench.train_recipe(tmp_path, "Li", tmp_path, 1.0, skip_train=True)


def test_empty_plots_option_means_no_plots(bench, tmp_path):
    data = tmp_path / "mlearn"
    for e in ("Li",):
        for f in ("training.extxyz.gz", "test.extxyz.gz", "published/nnp/input.nn",
                  "published/snap/SNAPotential.snapcoeff", "published/snap/SNAPotential.snapparam",
                  "published/qsnap/SNAPotential.snapcoeff",
                  "published/qsnap/SNAPotential.snapparam"):
            (data / e / f).parent.mkdir(parents=True, exist_ok=True)
            (data / e / f).write_text("")
    args = bench.parse_args(["--data", str(data), "--elements", "Li", "--plots", ""])
    assert args.plots is None
    args = bench.parse_args(["--data", str(data), "--elements", "Li"])
    assert args.plots == PATH.parents[1] / "docs"
