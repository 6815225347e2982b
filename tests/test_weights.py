"""Structure, group and per-atom force weights: training with a weight of 2 is training
on a duplicate; group factors; the errors bad weights give."""
import numpy as np
import pytest
from ase.calculators.singlepoint import SinglePointCalculator
from ase.io import write

from ase_nnp import ConfigError, train
from ase_nnp.exceptions import DatasetError
from ase_nnp.training.cache import cache_key
from ase_nnp.training.config import TrainingConfig, describe
from ase_nnp.training.dataset import apply_group_weights, check_weights, read
from ase_nnp.training.loss import LossWeights

pytest.importorskip("matscipy")
from test_trainer import SMALL, _sw_data  # noqa: E402  (after the matscipy check)


def _copy(atoms):
    """An Atoms with its info and frozen reference results."""
    a = atoms.copy()
    a.calc = SinglePointCalculator(a, **atoms.calc.results)
    return a


def _state(pot):
    out = {"theta": np.concatenate([pot.networks[e].parameters for e in pot.elements]),
           "offsets": np.array([pot.energy_offsets[e] for e in pot.elements])}
    for e in pot.elements:
        sc = pot.scalings[e]
        for k in ("gmin", "gmax", "gmean", "gsigma", "factor"):
            out[f"{e}.{k}"] = getattr(sc, k)
    return out


def _max_rel(a, b):
    return float(np.max(np.abs(a - b) / np.maximum(np.abs(b), 1e-300), initial=0.0))


def test_weight_two_trains_the_model_of_a_duplicate(tmp_path):
    """ase_nnp.train on data with info['weight'] = 2 on one structure and on the same data
    with that structure twice: the same offsets, scaling and network parameters."""
    images = _sw_data(n=5, seed=3)
    weighted = [_copy(a) for a in images]
    weighted[2].info["weight"] = 2.0
    duplicated = [_copy(a) for a in images] + [_copy(images[2])]
    opts = dict(SMALL, validation_fraction=0.0, max_epochs=6, patience=0, cache="", log=None,
                checkpoint_every=0)
    a = train(weighted, model=str(tmp_path / "w.nnp"), **opts)
    b = train(duplicated, model=str(tmp_path / "d.nnp"), **opts)
    assert a.epochs == b.epochs == 6 and a.best_epoch == b.best_epoch
    sa, sb = _state(a.potential), _state(b.potential)
    worst = {k: _max_rel(sa[k], sb[k]) for k in sa}
    print("max relative differences:", {k: f"{v:.1e}" for k, v in worst.items()})
    assert max(worst.values()) < 1e-8, worst
    # and the weight does matter: without it the model is another one
    c = train([_copy(x) for x in images], model=str(tmp_path / "u.nnp"), **opts)
    assert _max_rel(_state(c.potential)["theta"], sa["theta"]) > 1e-4


def _tagged(n=4):
    images = _sw_data(n=n, seed=5)
    for k, a in enumerate(images):
        a.info["config_type"] = "slab" if k % 2 else "bulk"
    return images


def test_group_factor_is_that_weight_on_each_of_its_structures():
    from ase_nnp.descriptors.symmetry_functions.presets import reference_si_descriptor
    images = _tagged()
    by_group = apply_group_weights(read(images), {"slab": 3.0})
    for k in (1, 3):
        images[k].info["weight"] = 3.0
    by_info = read(images)
    assert [r.weight for r in by_group] == [r.weight for r in by_info] == [1.0, 3.0, 1.0, 3.0]
    sf = reference_si_descriptor()
    assert cache_key(sf, by_group) == cache_key(sf, by_info)       # the same prepared data
    # the two multiply
    images[1].info["weight"] = 0.5
    assert [r.weight for r in apply_group_weights(read(images), {"slab": 2.0, "bulk": 0.0})] \
        == [0.0, 1.0, 0.0, 6.0]
    assert cache_key(sf, by_group) != cache_key(sf, read(_tagged()))


def test_bad_weights_are_clear_errors(tmp_path):
    images = _tagged(3)
    for bad in (-1.0, float("nan"), float("inf"), "heavy", True):
        images[1].info["weight"] = bad
        with pytest.raises(DatasetError, match=r"<Atoms>\[0\]: info\['weight'\] = .* finite "
                                               r"number >= 0"):
            read(images[1])
    images[1].info["weight"] = -2.0
    path = tmp_path / "w.extxyz"
    write(path, images)
    with pytest.raises(DatasetError, match=rf"{path}\[1\]: info\['weight'\] = -2.0"):
        read(str(path))
    images[1].info["weight"] = 0.0                      # allowed: left out of the loss
    assert read(images)[1].weight == 0.0
    images[1].arrays["force_weight"] = np.full(len(images[1]), -1.0)
    with pytest.raises(DatasetError, match=r"<Atoms>\[1\]: arrays\['force_weight'\] holds negative"):
        read(images)
    images[1].arrays["force_weight"] = np.linspace(0, 1, len(images[1]))
    np.testing.assert_array_equal(read(images)[1].force_weight, images[1].arrays["force_weight"])
    with pytest.raises(DatasetError, match=r"names the group\(s\) \['surface'\].*groups in the "
                                           r"data are \['bulk', 'slab'\]"):
        apply_group_weights(read(images), {"surface": 2.0, "slab": 1.0})
    for a in images:
        a.info["weight"] = 0
    with pytest.raises(DatasetError, match="every structure has weight 0"):
        check_weights(read(images), LossWeights())


def test_group_weights_config_table(tmp_path):
    toml = tmp_path / "c.toml"
    toml.write_text('[data]\ntrain = "x.extxyz"\n[loss]\ngroup_weights = {slab = 3, bulk = 0.5}\n')
    cfg = TrainingConfig.from_toml(toml)
    assert cfg.group_weights == {"slab": 3.0, "bulk": 0.5}
    assert cfg.fingerprint()["group_weights"] == {"bulk": 0.5, "slab": 3.0}
    assert TrainingConfig(dict(train="x")).group_weights == {}
    assert "  group_weights = {}\n" in describe()
    for bad, what in ((3.0, "must be a table"), ({"slab": -1}, "slab = -1 is not allowed"),
                      ({"slab": "x"}, "finite numbers >= 0"), ({"slab": float("nan")}, "nan"),
                      ({"slab": True}, "True is not allowed"), ({1: 2.0}, "not a string")):
        with pytest.raises(ConfigError, match=rf"\[loss\] group_weights.*{what}"):
            TrainingConfig(dict(train="x", group_weights=bad))


def test_trainer_refuses_an_unknown_group(tmp_path):
    with pytest.raises(DatasetError, match="surface"):
        train(_tagged(3), model=str(tmp_path / "m.nnp"), group_weights={"surface": 2.0},
              log=None, cache="", **SMALL)
