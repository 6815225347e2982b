"""The shipped data/si.nnp: loads, was trained by this package, and is Stillinger–Weber silicon.

The targets of the shipped potential, measured the way data/si_physics.py measures them (its functions,
imported from data/): the 0 K lattice and elastic constants within 1 % of SW's, the test RMSEs
within 1 meV/atom and 0.05 eV/Å. The MD (the 10 ps NVE run and K, G at 300 K) stays in that
script: it takes about 15 minutes, most of it SW's own MD.
"""
import importlib.util
import os

import pytest

from ase_nnp import NNPCalculator, load

DATA = os.path.join(os.path.dirname(__file__), "..", "data")
MODEL = os.path.join(DATA, "si.nnp")


@pytest.fixture(scope="module")
def physics():
    pytest.importorskip("matscipy")
    spec = importlib.util.spec_from_file_location("si_physics", os.path.join(DATA, "si_physics.py"))
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_shipped_model_is_trained_and_documented():
    pot = load(MODEL)
    assert pot.elements == ["Si"]
    meta = pot.metadata["training"]
    assert meta["validation_rmse"]["energy"] < 2.0 and meta["validation_rmse"]["forces"] < 0.05
    assert meta["elapsed_minutes"] <= 30.0
    assert "si_sw_train" in meta["data"]


def test_shipped_model_meets_the_test_set_targets(physics):
    energy, forces, count = physics.test_errors(load(MODEL), os.path.join(DATA, "si_sw_test.extxyz.gz"))
    assert count > 150
    assert energy <= 1.0          # meV/atom
    assert forces <= 0.05         # eV/Å


def test_shipped_model_reproduces_sw_lattice_and_elastic_constants(physics):
    sw, nnp = physics.stillinger_weber(), NNPCalculator(MODEL)
    a_sw, a_nn = physics.lattice_constant(sw), physics.lattice_constant(nnp)
    assert a_nn == pytest.approx(a_sw, rel=1e-3)
    assert physics.bulk_modulus(nnp, a_nn) == pytest.approx(physics.bulk_modulus(sw, a_sw), rel=0.01)
    c_sw, c_nn = physics.elastic_constants(sw, a_sw), physics.elastic_constants(nnp, a_nn)
    for key in ("C11", "C12", "C44"):
        assert c_nn[key] == pytest.approx(c_sw[key], rel=0.01), key
