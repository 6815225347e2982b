"""GDF weighting in training: the force weights the trainer sets, the stored densities,
the model file's summary, --resume and the config errors."""
import numpy as np
import pytest
from ase.calculators.singlepoint import SinglePointCalculator
from ase.io import write

from ase_nnp import CheckpointError, ConfigError, load, train
from ase_nnp.analysis import gdf
from ase_nnp.training.config import TrainingConfig
from ase_nnp.training.trainer import Trainer

pytest.importorskip("matscipy")
from test_trainer import SMALL, _sw_data  # noqa: E402  (after the matscipy check)

GDF = dict(SMALL, gdf=True, gdf_sigma=0.3, max_epochs=2)


@pytest.fixture(scope="module")
def two_element_file(tmp_path_factory):
    """SW Si structures in which some atoms are relabelled C (the references are just
    numbers), with a per-atom force weight on every other structure."""
    rng = np.random.default_rng(7)
    images = []
    for k, a in enumerate(_sw_data(n=12, seed=3)):
        results = a.calc.results
        b = a.copy()
        if k % 3:
            b.symbols[rng.choice(len(b), 3, replace=False)] = "C"
        if k % 2:
            b.arrays["force_weight"] = rng.uniform(0.5, 2.0, len(b))
        b.calc = SinglePointCalculator(b, **results)
        images.append(b)
    path = tmp_path_factory.mktemp("gdf") / "mixed.extxyz"
    write(path, images, format="extxyz")
    return str(path)


def _prepared(path, tmp_path, **keys):
    cfg = TrainingConfig(dict(GDF, train=path, model=str(tmp_path / "m.nnp"), **keys))
    trainer = Trainer(cfg, log=None)
    trainer.prepare()
    return trainer


def _expected_gdf(trainer, exact_max):
    """The GDF weights of the training atoms, computed here from the descriptors."""
    fs, sf = trainer.train_set, trainer.descriptor
    w = np.full(fs.n_atoms, np.nan)
    for k, e in enumerate(trainer.potential.elements):
        atoms = np.flatnonzero(fs.species == k)
        G = fs.G[atoms, :sf.n_features(e)]
        lo, hi = G.min(0), G.max(0)
        scaled = np.zeros_like(G)
        live = hi > lo
        scaled[:, live] = 2 * (G[:, live] - lo[live]) / (hi[live] - lo[live]) - 1
        if len(atoms) <= exact_max:
            d2 = ((scaled[:, None, :] - scaled[None, :, :]) ** 2).sum(-1)
            rho = np.exp(-d2 / (2 * 0.3 ** 2 * G.shape[1])).mean(1)
        else:
            rho = gdf.gdf_density_subset(scaled, 0.3, exact_max, seed=0)
        w[atoms] = gdf.gdf_weights(rho, b=1.0, c="auto")[0]
    return w


@pytest.mark.parametrize("exact_max", [100000, 40])      # exact; C exact, Si from 40 atoms
def test_training_force_weights_are_gdf_times_the_data(two_element_file, tmp_path, exact_max):
    trainer = _prepared(two_element_file, tmp_path, gdf_exact_max=exact_max, cache="")
    plain = _prepared(two_element_file, tmp_path, gdf=False, cache="")
    data_fw = plain.train_set.force_weight
    assert np.ptp(data_fw) > 0.5                                  # the data's own weights
    expected = _expected_gdf(trainer, exact_max)
    assert np.ptp(expected) > 0.1                                 # not all alike
    np.testing.assert_allclose(trainer.train_set.force_weight, data_fw * expected, rtol=1e-10)
    np.testing.assert_array_equal(trainer.val_set.force_weight, plain.val_set.force_weight)
    assert trainer.gdf["elements"]["Si"]["exact"] is (exact_max == 100000)
    assert trainer.gdf["elements"]["C"]["exact"]


def test_training_runs_and_the_model_keeps_the_summary(two_element_file, tmp_path):
    lines = []
    model = str(tmp_path / "g.nnp")
    result = train(two_element_file, model=model, log=lines.append, **GDF)
    assert result.epochs == 2 and np.isfinite(result.history[:, 2]).all()
    summary = load(model).metadata["training"]["gdf"]
    assert {k: summary[k] for k in ("sigma", "b", "c", "exact_max")} == {
        "sigma": 0.3, "b": 1.0, "c": "auto", "exact_max": 100000}
    for e in ("C", "Si"):
        s = summary["elements"][e]
        assert s["c"] > 0 and 0 < s["min"] <= s["median"] <= s["max"]
    gdf_lines = [x for x in lines if x.startswith("GDF weights")]
    assert len(gdf_lines) == 2 and "min/median/max" in gdf_lines[0] and "c = " in gdf_lines[0]


def test_densities_are_cached_and_recomputed_for_other_settings(two_element_file, tmp_path,
                                                                monkeypatch):
    calls = []
    exact = gdf.gdf_density

    def counting(G, *args, **kwargs):
        calls.append(len(G))
        return exact(G, *args, **kwargs)
    monkeypatch.setattr(gdf, "gdf_density", counting)
    first = _prepared(two_element_file, tmp_path).train_set.force_weight
    assert len(calls) == 2                                        # one per element
    again = _prepared(two_element_file, tmp_path).train_set.force_weight
    assert len(calls) == 2                                        # read back
    np.testing.assert_array_equal(again, first)
    steeper = _prepared(two_element_file, tmp_path, gdf_b=3.0).train_set.force_weight
    assert len(calls) == 2 and not np.allclose(steeper, first)    # b acts on stored densities
    _prepared(two_element_file, tmp_path, gdf_sigma=0.2)
    assert len(calls) == 4                                        # another sigma: recomputed
    _prepared(two_element_file, tmp_path, gdf_exact_max=40)
    assert len(calls) == 6
    back = _prepared(two_element_file, tmp_path).train_set.force_weight
    assert len(calls) == 6                                        # each key keeps its entry
    np.testing.assert_array_equal(back, first)
    _prepared(two_element_file, tmp_path, validation_fraction=0.3)
    assert len(calls) == 8                                        # another split
    _prepared(two_element_file, tmp_path, gdf_sigma=0.2, cache="")
    assert len(calls) == 10                                       # no cache: computed


def test_cache_with_stored_densities_still_serves_the_frames(two_element_file, tmp_path):
    from ase_nnp.training import cache as cache_mod
    trainer = _prepared(two_element_file, tmp_path)
    fs, why = cache_mod.read(trainer.cfg.cache, trainer.data_key)
    assert why is None and fs.n_atoms == trainer.train_set.n_atoms + trainer.val_set.n_atoms


def test_resume_refuses_other_gdf_settings(two_element_file, tmp_path):
    model = str(tmp_path / "r.nnp")
    train(two_element_file, model=model, log=None, **GDF)
    for change, name in ((dict(gdf_sigma=0.2), "gdf_sigma"), (dict(gdf=False), "gdf"),
                         (dict(gdf_c=5.0), "gdf_c")):
        with pytest.raises(CheckpointError, match=name):
            train(two_element_file, model=model, resume=True, log=None,
                  **dict(GDF, max_epochs=3, **change))
    result = train(two_element_file, model=model, resume=True, log=None,
                   **dict(GDF, max_epochs=3))
    assert result.epochs == 3


@pytest.mark.parametrize("key,value,match", [
    ("gdf_c", "Auto", 'must be "auto" or a number > 0'),
    ("gdf_c", -1.0, "gdf_c = -1.0 is not allowed"),
    ("gdf_c", True, 'must be "auto"'),
    ("gdf_c", float("inf"), 'must be "auto"'),
    ("gdf_sigma", 0.0, "must be a number > 0"),
    ("gdf_b", -2, "must be a number > 0"),
    ("gdf_exact_max", 0, "must be a number >= 1"),
    ("gdf", 1, "must be true or false"),
])
def test_bad_gdf_settings_are_refused(key, value, match):
    with pytest.raises(ConfigError, match=match):
        TrainingConfig({"train": "x.extxyz", key: value})


def test_gdf_keys_from_toml(tmp_path):
    path = tmp_path / "c.toml"
    path.write_text('[data]\ntrain = ["x.extxyz"]\n[loss]\ngdf = true\ngdf_c = 3\n'
                    'gdf_sigma = 0.05\n')
    cfg = TrainingConfig.from_toml(path)
    assert (cfg.gdf, cfg.gdf_c, cfg.gdf_sigma, cfg.gdf_b, cfg.gdf_exact_max) == (
        True, 3.0, 0.05, 1.0, 100000)
    assert TrainingConfig({"train": "x"}).gdf_c == "auto"
