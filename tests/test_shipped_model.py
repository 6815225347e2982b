"""The shipped data/si.nnp: loads, was trained by this package, and is Stillinger–Weber silicon.

Fast checks only; the full physics table is data/si_physics.py.
"""
import os

import numpy as np
import pytest
from ase.build import bulk
from scipy.optimize import minimize_scalar

from ase_nnp import NNPCalculator, load

DATA = os.path.join(os.path.dirname(__file__), "..", "data")
MODEL = os.path.join(DATA, "si.nnp")


def _a0(calc):
    def energy(a):
        atoms = bulk("Si", "diamond", a=a, cubic=True)
        atoms.calc = calc
        return atoms.get_potential_energy()
    return minimize_scalar(energy, bracket=(5.3, 5.43, 5.6), tol=1e-10).x


def test_shipped_model_is_trained_and_documented():
    pot = load(MODEL)
    assert pot.elements == ["Si"]
    meta = pot.metadata["training"]
    assert meta["validation_rmse"]["energy"] < 3.5 and meta["validation_rmse"]["forces"] < 0.08
    assert "si_sw_train" in meta["data"]


def test_shipped_model_reproduces_sw_lattice_constant_and_test_errors():
    pytest.importorskip("matscipy")
    from ase_nnp.training.dataset import read
    from ase_nnp.training.reference import stillinger_weber_si
    assert _a0(NNPCalculator(MODEL)) == pytest.approx(_a0(stillinger_weber_si()), rel=1e-3)
    pot = load(MODEL)
    refs = read(os.path.join(DATA, "si_sw_test.extxyz.gz"))
    de, df, kind = [], [], []
    for ref in refs:
        a = ref.atoms
        res = pot.evaluate(a.positions, a.numbers, a.cell[:], a.pbc, stress=False)
        de.append((res.energy - ref.energy) / len(a))
        df.append((res.forces - ref.forces).ravel())
        kind.append(a.info["config_type"])
    bulk = [k for k, c in enumerate(kind) if c in ("bulk", "elastic", "strained", "eos")]
    # the bulk crystal meets the targets; all classes together (slabs are the
    # weak part, see README) stay within the measured 2.75 meV/atom and 0.070 eV/Å
    assert 1000 * np.sqrt(np.mean(np.square([de[k] for k in bulk]))) < 2.0
    assert np.sqrt(np.mean(np.square(np.concatenate([df[k] for k in bulk])))) < 0.06
    assert 1000 * np.sqrt(np.mean(np.square(de))) < 2.8
    assert np.sqrt(np.mean(np.square(np.concatenate(df)))) < 0.071
