"""Derivatives that scale: a FrameSet that stores no dG/dD recomputes the contractions
with the descriptor's own kernels and gives the loss, its gradient and the linear fit of
one that stores it; the trainer switches by ``memory_limit``; a cache whose dG/dD is over
the budget is reused without reading it."""
import numpy as np
import pytest

from ase_nnp import ConfigError, train
from ase_nnp.descriptors import Bispectrum
from ase_nnp.training.cache import load_or_build
from ase_nnp.training.config import _parse_bytes
from ase_nnp.training.dataset import read
from ase_nnp.training.frameset import FrameSet
from ase_nnp.training.loss import LossWeights, loss_and_gradient
from conftest import mixed_descriptor, sensitive_potential

pytest.importorskip("matscipy")


@pytest.fixture(scope="module")
def refs(tmp_path_factory):
    from ase.io import write
    from test_trainer import _sw_data
    path = tmp_path_factory.mktemp("mem") / "sw.extxyz"
    images = _sw_data(8)
    for k, a in enumerate(images):
        a.info["weight"] = 1.0 + 0.25 * k
    write(path, images, format="extxyz")
    return str(path)


@pytest.mark.parametrize("family", ["symmetry_functions", "bispectrum"])
def test_recomputed_derivatives_give_the_stored_numbers(refs, family):
    data = read([refs])
    desc = (mixed_descriptor(["Si"], cutoff=4.0) if family == "symmetry_functions"
            else Bispectrum(["Si"], twojmax=4, rcutfac=2.0, radelem=[1.0]))
    stored = FrameSet.from_references(desc, data)
    lean = FrameSet.from_references(desc, data, jacobian_limit=0)
    assert stored.stores_jacobian and not lean.stores_jacobian
    assert lean.stored_bytes() < 0.25 * stored.stored_bytes()
    pot = sensitive_potential(["Si"], [r.atoms for r in data], descriptor=desc, hidden=(5,))
    w = LossWeights(1.0, 0.3, 2.0)
    for a, b in ((stored, lean), (stored.subset([5, 1, 2]), lean.subset([5, 1, 2]))):
        la, ga, _ = loss_and_gradient(pot, a, w)
        lb, gb, _ = loss_and_gradient(pot, b, w)
        assert lb == pytest.approx(la, rel=1e-12)
        assert np.abs(gb["Si"] - ga["Si"]).max() < 1e-10 * np.abs(ga["Si"]).max()
    a, b = stored.jacobian_rows([2, 3]), lean.jacobian_rows([2, 3])
    assert a.shape == b.shape and np.abs(a - b).max() < 1e-12 * np.abs(a).max()


def test_linear_fit_without_stored_derivatives(refs):
    from ase_nnp import Potential
    from ase_nnp.training.linear import coefficients, fit
    from ase_nnp.training.preprocess import fit_scaling
    data = read([refs])
    desc = Bispectrum(["Si"], twojmax=4, rcutfac=2.0, radelem=[1.0])
    out = []
    for limit in (None, 0):
        fs = FrameSet.from_references(desc, data, jacobian_limit=limit)
        pot = Potential(["Si"], desc, hidden_layers=(), activation="identity")
        fit_scaling(pot, fs, mode="none")
        fit(pot, fs, LossWeights(1.0, 0.01, 0.1), block_atoms=40)
        out.append(coefficients(pot, "Si"))
    assert out[0][0] == pytest.approx(out[1][0], rel=1e-10)
    assert np.abs(out[0][1] - out[1][1]).max() < 1e-9 * np.abs(out[0][1]).max()


def test_trainer_follows_memory_limit_and_a_cache_over_budget_is_reused_lean(refs, tmp_path):
    logs = []
    keys = dict(cutoff=4.0, radial_n=4, angular_n=2, angular_r_low=2.0, zetas=[1, 2],
                hidden_layers=[5], progress=False, max_epochs=3)
    full = train(refs, model=str(tmp_path / "a.nnp"), log=None, **keys)
    lean = train(refs, model=str(tmp_path / "b.nnp"), memory_limit="1kB",
                 log=lambda *a, **k: logs.append(" ".join(map(str, a))), **keys)
    assert any("recomputed by the descriptor's kernels" in line for line in logs)
    np.testing.assert_allclose(lean.history[:, 2], full.history[:, 2], rtol=1e-9)
    # the cache of the first run (with dG/dD) is reused under a small budget without it
    desc = Bispectrum(["Si"], twojmax=2, rcutfac=2.0, radelem=[1.0])
    data = read([refs])
    cache = str(tmp_path / "c.h5")
    fs, how = load_or_build(cache, desc, data)
    assert how == "built" and fs.stores_jacobian
    again, how = load_or_build(cache, desc, data, jacobian_limit=100)
    assert how == "reused" and not again.stores_jacobian and again.descriptor is desc
    assert np.array_equal(again.G, fs.G)
    with pytest.raises(ConfigError, match="memory_limit"):
        train(refs, model=str(tmp_path / "c.nnp"), memory_limit="lots", log=None, **keys)


def test_sizes_parse():
    assert _parse_bytes("8GB") == 8_000_000_000 and _parse_bytes("2GiB") == 2 * 2**30
    assert _parse_bytes("500 mb") == 500_000_000 and _parse_bytes("auto") > 0
    assert _parse_bytes("-3GB") is None and _parse_bytes("eight") is None
