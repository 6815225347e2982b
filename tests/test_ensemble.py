"""Ensembles: means and population spreads of the members, one file, the calculator."""

import h5py
import numpy as np
import pytest
from ase.build import bulk
from ase.md.verlet import VelocityVerlet
from ase.stress import voigt_6_to_full_3x3_stress
from ase.units import fs

from ase_nnp import Ensemble, NNPCalculator, Potential, load
from ase_nnp.calculator import PropertyNotImplementedError
from ase_nnp.exceptions import ModelFileError
from ase_nnp.descriptors.base import ATOM_PIECES

from conftest import random_atoms, random_cell, sensitive_potential
from test_forces_stress import _bessel


def _members(atoms, elements, k=3, descriptor=None):
    base = sensitive_potential(elements, [atoms], descriptor=descriptor)
    out = [base]
    for seed in range(1, k):
        out.append(Potential(elements, base.descriptor, hidden_layers=(7, 5), seed=seed,
                             scalings=base.scalings, energy_offsets=base.energy_offsets))
    return out


def _structure(rng, elements=("Si", "O")):
    return random_atoms(rng, 10, list(elements), random_cell(rng, 5.0, 7.0), True)


@pytest.mark.parametrize("family, k", [("symmetry_functions", 4), ("spherical_bessel", 4),
                                       ("symmetry_functions", 2)])
def test_means_and_spreads_are_numpys_over_the_members(rng, family, k):
    atoms = _structure(rng)
    desc = _bessel(n_max=3, l_max=3)(["Si", "O"]) if family == "spherical_bessel" else None
    members = _members(atoms, ["Si", "O"], k, desc)
    atoms.calc = NNPCalculator(Ensemble(members))
    r = {k: atoms.calc.get_property(k, atoms) for k in (
        "energy", "energies", "forces", "stress", "energy_std", "energies_std", "forces_std",
        "stress_std", "members_energy")}
    ind = [m.evaluate(atoms.positions, atoms.numbers, atoms.cell[:], atoms.pbc) for m in members]
    E = np.array([x.energy for x in ind])
    Ei = np.array([x.energies for x in ind])
    F = np.array([x.forces for x in ind])
    S = np.array([x.stress for x in ind])
    assert r["energy_std"] > 1e-3 and r["forces_std"].max() > 1e-3   # the test can fail
    np.testing.assert_allclose(r["members_energy"], E, rtol=0, atol=1e-10)
    assert r["energy"] == pytest.approx(E.mean(), abs=1e-10)
    assert r["energy_std"] == pytest.approx(np.std(E), abs=1e-10)
    np.testing.assert_allclose(r["energies"], Ei.mean(0), atol=1e-10)
    np.testing.assert_allclose(r["energies_std"], Ei.std(0), atol=1e-10)
    np.testing.assert_allclose(r["forces"], F.mean(0), atol=1e-10)
    np.testing.assert_allclose(r["forces_std"], np.sqrt(F.var(0).sum(1)), atol=1e-10)
    np.testing.assert_allclose(voigt_6_to_full_3x3_stress(r["stress"]), S.mean(0), atol=1e-12)
    np.testing.assert_allclose(voigt_6_to_full_3x3_stress(r["stress_std"]), S.std(0),
                               atol=1e-12)


def test_identical_members_have_zero_spread(rng):
    atoms = _structure(rng)
    pot = _members(atoms, ["Si", "O"], 1)[0]
    atoms.calc = NNPCalculator([pot, pot, pot])
    single = pot.evaluate(atoms.positions, atoms.numbers, atoms.cell[:], atoms.pbc)
    assert atoms.get_potential_energy() == pytest.approx(single.energy, abs=1e-10)
    for key in ("energy_std", "energies_std", "forces_std", "stress_std"):
        assert np.max(np.abs(atoms.calc.get_property(key, atoms))) < 1e-12, key


def test_fused_and_generic_paths_agree(rng, monkeypatch):
    atoms = _structure(rng)
    ens = Ensemble(_members(atoms, ["Si", "O"], 3))
    a = (atoms.positions, atoms.numbers, atoms.cell[:], atoms.pbc)
    fused = ens.evaluate(*a)
    monkeypatch.delitem(ATOM_PIECES, "symmetry_functions")
    generic = Ensemble(ens.members).evaluate(*a)
    for key in ("energy", "energy_std", "energies", "forces", "forces_std", "stress",
                "stress_std"):
        np.testing.assert_allclose(getattr(fused, key), getattr(generic, key), rtol=0,
                                   atol=1e-11, err_msg=key)


@pytest.mark.parametrize("fused", [True, False])
def test_a_potential_is_the_one_member_view_of_evaluate_members(rng, monkeypatch, fused):
    """Potential.evaluate_structure, an Ensemble of one and evaluate_members agree exactly;
    the potential's view has no spreads, the ensemble's spreads are zero."""
    from ase_nnp.evaluation import evaluate_members
    atoms = _structure(rng)
    pot = _members(atoms, ["Si", "O"], 1)[0]
    if not fused:
        monkeypatch.delitem(ATOM_PIECES, "symmetry_functions")
    st = pot.prepare(atoms.positions, atoms.numbers, atoms.cell[:], atoms.pbc)
    single = pot.evaluate_structure(st)
    direct = evaluate_members([pot], st, spread=False)
    one = Ensemble([pot]).evaluate_structure(st)
    for key in ("energy", "energies", "forces", "stress", "stresses", "outside", "excess"):
        np.testing.assert_array_equal(getattr(direct, key), getattr(single, key), err_msg=key)
        np.testing.assert_array_equal(getattr(one, key), getattr(single, key), err_msg=key)
    assert np.abs(single.forces).max() > 1e-3                      # the test can fail
    assert single.energy_std is None and single.forces_std is None and \
        single.members_energy is None
    assert one.energy_std == 0 and one.forces_std.max() == 0 and one.stress_std.max() == 0
    assert one.members_energy.tolist() == [single.energy]
    shared = pot.descriptor.evaluate_pass(st.nl, st.species, jacobian=False)
    with pytest.raises(ValueError, match="need its Jacobian"):
        evaluate_members([pot, pot], st, descriptors=shared)
    e_only = evaluate_members([pot, pot], st, forces=False, stress=False, descriptors=shared)
    assert e_only.energy == pytest.approx(single.energy, abs=1e-12) and e_only.forces is None


def test_one_file_round_trip_and_clear_refusals(rng, tmp_path):
    atoms = _structure(rng)
    members = _members(atoms, ["Si", "O"], 3)
    path = tmp_path / "ens.nnp"
    Ensemble(members, metadata={"note": "x"}).save(str(path), trained="today")
    with h5py.File(path) as f:
        assert f.attrs["format_version"] == 3 and f.attrs["members"] == 3
    again = load(str(path))
    assert isinstance(again, Ensemble) and len(again) == 3
    assert again.metadata == {"note": "x", "trained": "today"}
    a = (atoms.positions, atoms.numbers, atoms.cell[:], atoms.pbc)
    np.testing.assert_allclose(again.evaluate(*a).members_energy,
                               Ensemble(members).evaluate(*a).members_energy, atol=1e-12)
    with pytest.raises(ModelFileError, match="holds an ensemble of 3 potentials"):
        Potential.load(str(path))
    # single-potential files stay version 1 and load as ensembles of one
    members[0].save(str(tmp_path / "one.nnp"))
    with h5py.File(tmp_path / "one.nnp") as f:
        assert f.attrs["format_version"] == 1
    assert len(Ensemble.load(str(tmp_path / "one.nnp"))) == 1
    calc = NNPCalculator([str(tmp_path / "one.nnp"), members[1]])
    assert calc.is_ensemble and len(calc.potential) == 2
    other = Potential(["Si", "O"], _bessel()(["Si", "O"]), seed=0)
    with pytest.raises(ValueError, match="another descriptor specification"):
        Ensemble([members[0], other])
    single = NNPCalculator(members[0])
    atoms.calc = single
    with pytest.raises(PropertyNotImplementedError, match="need an ensemble"):
        single.get_property("forces_std", atoms)


def test_md_with_an_ensemble_file_reports_the_spread_each_step(tmp_path):
    base = Potential.load("data/si.nnp")
    members = [base] + [Potential(base.elements, base.descriptor, hidden_layers=(8,), seed=s,
                                  scalings=base.scalings, energy_offsets=base.energy_offsets)
                        for s in (1, 2)]
    Ensemble(members).save(str(tmp_path / "e.nnp"))
    atoms = bulk("Si", "diamond", a=5.43, cubic=True)
    atoms.rattle(0.05, seed=3)
    atoms.calc = NNPCalculator(str(tmp_path / "e.nnp"))
    seen = []
    md = VelocityVerlet(atoms, 1.0 * fs)
    md.attach(lambda: seen.append(atoms.calc.results["forces_std"].max()))
    md.run(3)
    assert len(seen) == 4 and all(s > 0 for s in seen)
    with pytest.raises(PropertyNotImplementedError, match="periodic"):
        slab = atoms.copy()
        slab.pbc = (True, True, False)
        slab.calc = NNPCalculator(str(tmp_path / "e.nnp"))
        slab.calc.get_property("stress_std", slab)


def test_uncertainty_monitor_logs_saves_and_stops(tmp_path):
    from ase.io import read
    from ase_nnp import UncertaintyExceeded, UncertaintyMonitor
    base = Potential.load("data/si.nnp")
    members = [base] + [Potential(base.elements, base.descriptor, hidden_layers=(8,), seed=s,
                                  scalings=base.scalings, energy_offsets=base.energy_offsets)
                        for s in (1, 2)]
    atoms = bulk("Si", "diamond", a=5.43, cubic=True)
    atoms.rattle(0.05, seed=4)
    atoms.calc = NNPCalculator(members)
    log = tmp_path / "u.csv"
    md = VelocityVerlet(atoms, 1.0 * fs)
    mon = UncertaintyMonitor(atoms, log, forces_std_max=1e9)
    md.attach(mon)
    md.run(2)
    rows = log.read_text().splitlines()
    assert rows[0].startswith("step,max_forces_std_eV_A") and len(rows) == 4
    values = [float(x) for x in rows[1].split(",")[:4]]
    assert values[1] == pytest.approx(atoms.calc.results["forces_std"].max(), rel=0.5)
    assert values[1] > 0 and not mon.picked
    md2 = VelocityVerlet(atoms, 1.0 * fs)
    stopper = UncertaintyMonitor(atoms, None, forces_std_max=1e-6,
                                 save=str(tmp_path / "picked.extxyz"), stop=True)
    md2.attach(stopper)
    with pytest.raises(UncertaintyExceeded, match="max_forces_std_eV_A") as err:
        md2.run(5)
    assert err.value.step == 0 and len(err.value.atoms) == 8
    saved = read(str(tmp_path / "picked.extxyz"), ":")
    assert len(saved) == 1 and "max_forces_std_eV_A" in saved[0].info["reason"]
    # a single potential logs the extrapolation count and leaves the spreads empty
    atoms.calc = NNPCalculator(base)
    single = UncertaintyMonitor(atoms, tmp_path / "s.csv")
    single()
    assert (tmp_path / "s.csv").read_text().splitlines()[1].startswith("0,,,")


def test_a_short_pair_is_reported_once_not_once_per_member():
    import warnings
    from ase import Atoms
    base = Potential.load("data/si.nnp")
    members = [base] + [Potential(base.elements, base.descriptor, hidden_layers=(8,), seed=s,
                                  scalings=base.scalings, energy_offsets=base.energy_offsets,
                                  min_distances=base.min_distances) for s in (1, 2)]
    atoms = Atoms("Si2", positions=[[0, 0, 0], [0, 0, 1.7]])
    with warnings.catch_warnings(record=True) as seen:
        warnings.simplefilter("always")
        Ensemble(members).evaluate(atoms.positions, atoms.numbers, atoms.cell[:], atoms.pbc)
    assert sum("closer than any" in str(w.message) for w in seen) == 1


def test_replica_ensemble_agrees_on_its_training_data_and_spreads_outside(tmp_path):
    from ase.io import write
    from ase_nnp.cli import main
    from ase_nnp.training.reference import stillinger_weber_si
    data = []
    for k in range(10):
        atoms = bulk("Si", "diamond", a=5.43, cubic=True)
        atoms.rattle(0.08, seed=k)
        atoms.calc = stillinger_weber_si()
        atoms.get_potential_energy()
        data.append(atoms)
    write(tmp_path / "d.extxyz", data)
    ref = Potential.load("data/si.nnp")
    ref.save(str(tmp_path / "ref.nnp"))
    toml = tmp_path / "r.toml"
    toml.write_text('[data]\ntrain = ["d.extxyz"]\nvalidation_fraction = 0.0\ncache = ""\n'
                    '[network]\nhidden_layers = [8]\n[loss]\nforces_weight = 0.1\n'
                    'atomic_energies_weight = 10.0\n[optimizer]\nmax_epochs = 60\n'
                    '[output]\nmodel = "rep.nnp"\nprogress = false\n')
    assert main(["replicas", str(tmp_path / "ref.nnp"), str(toml), "--members", "3"]) == 0
    ens = load(str(tmp_path / "rep.nnp"))
    assert isinstance(ens, Ensemble) and len(ens) == 3 and ens.reference is not None
    assert [m.networks["Si"].layer_sizes[1] for m in ens.members] == [8, 6, 10]
    inside = ens.evaluate(data[3].positions, data[3].numbers, data[3].cell[:], data[3].pbc)
    mine = ref.evaluate(data[3].positions, data[3].numbers, data[3].cell[:], data[3].pbc)
    assert inside.energy == mine.energy                  # the reference's prediction
    np.testing.assert_array_equal(inside.forces, mine.forces)
    far = bulk("Si", "diamond", a=5.43 * 1.12, cubic=True)
    far.rattle(0.08, seed=99)
    outside = ens.evaluate(far.positions, far.numbers, far.cell[:], far.pbc)
    assert outside.energies_std.mean() > 5 * inside.energies_std.mean(), (
        outside.energies_std.mean(), inside.energies_std.mean())
