"""The ensemble mean as one potential (ase_nnp.mean_network): the same numbers as the
ensemble's means, through the n2p2 files too, and clear refusals."""
import numpy as np
import pytest

from ase_nnp import Ensemble, NNPCalculator, Potential, load
from ase_nnp.cli import main
from ase_nnp.interop import read_n2p2, write_n2p2
from ase_nnp.mean_network import MeanNetworkError, mean_potential
from ase_nnp.network import Network
from ase_nnp.scaling import Scaling

from conftest import random_atoms, random_cell, sensitive_potential

ELEMENTS = ["Si", "O"]


def _descriptor():
    """Radial and both angular kinds with one cutoff function (what n2p2 files hold)."""
    from ase_nnp.descriptors import SymmetryFunctions
    sf = SymmetryFunctions(ELEMENTS, cutoff=5.0, cutoff_function="cos")
    sf.add_radial(0.05)
    sf.add_radial(0.6, rs=1.8)
    sf.add_angular(0.01, 2, 1, kind="narrow")
    sf.add_angular(0.02, 4, -1, kind="wide")
    return sf


def _members(rng, structures, k=3, activation="tanh"):
    """k potentials on one descriptor with their own networks, scalings (shifted and
    stretched differently, one feature constant in one member) and reference energies."""
    base = sensitive_potential(ELEMENTS, structures, activation=activation,
                               descriptor=_descriptor())
    out = []
    for seed in range(k):
        scalings = {}
        for e in ELEMENTS:
            s = base.scalings[e]
            lo = s.gmin - rng.uniform(0, 0.2, s.gmin.shape)
            hi = s.gmax + rng.uniform(0, 0.3, s.gmax.shape)
            if seed == 1:
                hi[0] = lo[0]                   # a feature this member saw as constant
            scalings[e] = Scaling("scale_center", lo, hi, s.gmean + rng.normal(0, 0.01, lo.shape),
                                  s.gsigma, -1.0, 1.0)
        out.append(Potential(ELEMENTS, base.descriptor, hidden_layers=(7, 5),
                             activation=activation, seed=seed, scalings=scalings,
                             energy_offsets={e: float(rng.normal(-3, 1)) for e in ELEMENTS}))
    return out


def _predictions(model, atoms):
    b = atoms.copy()
    b.calc = NNPCalculator(model, extrapolation="ignore")
    return (b.get_potential_energy(), b.get_potential_energies(), b.get_forces(),
            b.get_stress() if b.pbc.all() else np.zeros(6))


@pytest.mark.parametrize("pbc", [True, False])
def test_the_joined_network_predicts_the_ensemble_mean(rng, tmp_path, pbc):
    structures = [random_atoms(rng, 10, ELEMENTS, random_cell(rng, 5.0, 7.0), pbc)
                  for _ in range(3)]
    members = _members(rng, structures)
    ens = Ensemble(members)
    mean = mean_potential(ens)
    assert mean.networks["Si"].layer_sizes[1:-1] == [21, 15]       # 3 × (7, 5)
    write_n2p2(mean, tmp_path / "n2p2")
    back = read_n2p2(tmp_path / "n2p2")
    for atoms in structures:
        want = _predictions(ens, atoms)
        single = [_predictions(m, atoms)[0] for m in members]
        assert np.ptp(single) > 1e-2                     # the members differ: the test can fail
        for got in (_predictions(mean, atoms), _predictions(back, atoms)):
            assert got[0] == pytest.approx(want[0], abs=1e-10)
            for g, w in zip(got[1:], want[1:]):
                np.testing.assert_allclose(g, w, rtol=0, atol=1e-10)
    # the training range is the union of the members'
    for e in ELEMENTS:
        np.testing.assert_array_equal(mean.scalings[e].gmin,
                                      np.min([m.scalings[e].gmin for m in members], axis=0))


def test_members_that_cannot_be_joined_are_refused(rng):
    structures = [random_atoms(rng, 8, ELEMENTS, random_cell(rng, 5.0, 7.0), True)]
    a, b = _members(rng, structures, k=2)
    c = _members(rng, structures, k=1, activation="softplus")[0]
    with pytest.raises(MeanNetworkError, match="activations"):
        mean_potential([a, c])
    net = a.networks["Si"]
    logistic = Network(net.weights, net.biases, net.activations[:-1] + ["logistic"])
    d = Potential(ELEMENTS, a.descriptor, networks=dict(a.networks, Si=logistic),
                  scalings=a.scalings, energy_offsets=a.energy_offsets)
    with pytest.raises(MeanNetworkError, match="linear output"):
        mean_potential([d, d])
    other = {e: Scaling("sigma", s.gmin, s.gmax, s.gmean, s.gsigma + 1.0, -1.0, 1.0)
             for e, s in b.scalings.items()}
    e = Potential(ELEMENTS, b.descriptor, networks=b.networks, scalings=other,
                  energy_offsets=b.energy_offsets)
    with pytest.raises(MeanNetworkError, match="scalings"):
        mean_potential([a, e])


def test_export_of_an_ensemble_writes_its_mean(rng, tmp_path, capsys):
    structures = [random_atoms(rng, 10, ELEMENTS, random_cell(rng, 5.0, 7.0), True)]
    ens = Ensemble(_members(rng, structures, k=2))
    ens.save(tmp_path / "ens.nnp")
    assert main(["export", str(tmp_path / "ens.nnp"), str(tmp_path / "out")]) == 0
    assert "ensemble of 2; its mean is written" in capsys.readouterr().out
    back = read_n2p2(tmp_path / "out")
    want = _predictions(load(str(tmp_path / "ens.nnp")), structures[0])
    got = _predictions(back, structures[0])
    assert got[0] == pytest.approx(want[0], abs=1e-10)
    np.testing.assert_allclose(got[2], want[2], atol=1e-10)
