"""ase_nnp.analysis.metrics against values worked out by hand on small arrays."""
import numpy as np
import pytest

from ase_nnp.analysis.metrics import GPA, compare

approx = pytest.approx


def _report(groups=None):
    d_f = np.array([[0.1, 0.0, 0.0], [0.0, -0.2, 0.0], [0.0, 0.0, 0.3]])     # eV/Å
    f_ref = np.arange(9.0).reshape(3, 3)
    s_ref = np.full((1, 3, 3), 0.01)
    return compare(n_atoms=[2, 4], energy=[-8.0, -16.0], energy_ref=[-8.1, -16.4],
                   forces=f_ref + d_f, forces_ref=f_ref, force_frame=[0, 0, 1],
                   stress=s_ref + GPA * np.diag([1.0, 2.0, 3.0]), stress_ref=s_ref,
                   stress_frame=[1],
                   energies=[-4.0, -4.0], energies_ref=[-4.001, -3.997], energies_frame=[0, 0],
                   groups=groups)


def test_statistics_by_hand():
    r = _report()
    assert list(r.stats) == ["energy", "forces", "stress", "atomic_energies"]
    e = r.stats["energy"]            # residuals 0.1/2 and 0.4/4 eV/atom: 50 and 100 meV/atom
    assert (e.rmse, e.mae, e.max_abs, e.n_values, e.n_structures) == \
        (approx(np.sqrt((50.0**2 + 100.0**2) / 2)), approx(75.0), approx(100.0), 2, 2)
    f = r.stats["forces"]            # 9 components: 0.1, -0.2, 0.3 and six zeros
    assert (f.rmse, f.mae, f.max_abs, f.n_values, f.n_structures) == \
        (approx(np.sqrt(0.14 / 9)), approx(0.6 / 9), approx(0.3), 9, 2)
    s = r.stats["stress"]            # diag(1, 2, 3) GPa
    assert (s.rmse, s.mae, s.max_abs, s.n_values, s.n_structures) == \
        (approx(np.sqrt(14 / 9)), approx(6 / 9), approx(3.0), 9, 1)
    a = r.stats["atomic_energies"]   # 1 and -3 meV
    assert (a.rmse, a.mae, a.max_abs, a.n_values, a.n_structures) == \
        (approx(np.sqrt(5.0)), approx(2.0), approx(3.0), 2, 1)
    assert r.rmse() == {k: v.rmse for k, v in r.stats.items()}
    assert r.groups == {}


def test_groups_and_parity():
    r = _report(groups=["a", "b"])
    assert list(r.groups) == ["a", "b"]
    a, b = r.groups["a"], r.groups["b"]
    assert set(a) == {"energy", "forces", "atomic_energies"} and set(b) == {"energy", "forces",
                                                                           "stress"}
    assert a["energy"].rmse == approx(50.0) and b["energy"].rmse == approx(100.0)
    assert a["forces"].rmse == approx(np.sqrt(0.05 / 6)) and a["forces"].n_values == 6
    assert b["forces"].rmse == approx(np.sqrt(0.09 / 3)) and b["forces"].n_structures == 1
    assert b["stress"].rmse == approx(np.sqrt(14 / 9))
    ref, pred = r.parity["energy"]                        # eV/atom
    np.testing.assert_allclose(ref, [-4.05, -4.1])
    np.testing.assert_allclose(pred, [-4.0, -4.0])
    ref, pred = r.parity["stress"]                        # GPa
    np.testing.assert_allclose(pred - ref, np.diag([1.0, 2.0, 3.0]).ravel(), atol=1e-12)
    assert len(r.parity["forces"][0]) == 9


def test_only_what_has_a_reference_and_the_gpa_constant():
    from ase.units import GPa
    assert GPA == approx(GPa, rel=1e-15)
    r = compare([3], [-1.0], [-1.3])
    assert list(r.stats) == ["energy"] and r.stats["energy"].rmse == approx(100.0)


def test_trainer_rmse_are_the_pooled_errors():
    """loss.errors (the trainer's report) over a FrameSet: the pooled RMSEs by hand."""
    from ase_nnp.training import errors, predict
    from test_training_loss import _setup
    pot, fs = _setup()
    pred = predict(pot, fs)
    got = errors(fs, pred)
    fm = fs.has_forces[fs.frame]
    am = fs.has_energies[fs.frame]
    expected = {
        "energy": 1000 * np.sqrt(np.mean(((pred.energy - fs.energy) / fs.n_atoms_per_frame) ** 2)),
        "forces": np.sqrt(np.mean((pred.forces - fs.forces)[fm] ** 2)),
        "stress": np.sqrt(np.mean(((pred.stress - fs.stress)[fs.has_stress] / GPA) ** 2)),
        "atomic_energies": 1000 * np.sqrt(np.mean((pred.energies - fs.energies)[am] ** 2))}
    assert got == {k: approx(v, rel=1e-12) for k, v in expected.items()}


def test_errors_of_a_prediction_that_knows_nothing():
    r = _report()
    # reference energies per atom -4.05 and -4.1: about their mean ±0.025 eV/atom
    assert r.trivial["energy"] == approx(25.0)
    assert r.trivial["forces"] == approx(np.sqrt(np.mean(np.arange(9.0) ** 2)))
    # the model's energy RMSE (79 meV/atom) is worse than the mean's, its forces are not
    assert [k for k, _, _ in r.worse_than_trivial()] == ["energy"]
    one = compare(n_atoms=[2], energy=[-8.0], energy_ref=[-8.1])
    assert one.trivial == {} and one.worse_than_trivial() == []


def test_extrapolating_atoms_are_counted(tmp_path, capsys):
    """compare_references and ``ase-nnp evaluate`` count the atoms with a descriptor value
    outside the training range: the count equals one made here from the descriptor values
    and the scaling's min/max; a model without statistics is reported as not checked."""
    from ase.build import bulk
    from ase.calculators.emt import EMT
    from ase.io import write

    from ase_nnp import Potential
    from ase_nnp.analysis.metrics import compare_references
    from ase_nnp.cli import main
    from ase_nnp.descriptors import SymmetryFunctions
    from ase_nnp.training.dataset import read
    from conftest import sensitive_potential
    sf = SymmetryFunctions(["Cu"], 4.5)
    for eta in (0.05, 0.5, 2.0):
        sf.add_radial(eta)
    sf.add_angular(0.01, 1, 1)
    train = []
    for k, a in enumerate((3.55, 3.6, 3.65)):
        atoms = bulk("Cu", "fcc", a=a, cubic=True).repeat((2, 1, 1))
        atoms.rattle(0.02, seed=k)
        train.append(atoms)
    pot = sensitive_potential(["Cu"], train, hidden=(3,), descriptor=sf)
    test = []
    for k, a in enumerate((3.6, 3.3, 3.95)):           # inside, compressed, stretched
        atoms = bulk("Cu", "fcc", a=a, cubic=True).repeat((2, 1, 1))
        atoms.rattle(0.03, seed=10 + k)
        atoms.calc = EMT()
        atoms.get_potential_energy()
        atoms.get_forces()
        test.append(atoms)
    sc = pot.scalings["Cu"]
    used = sc.gmax > sc.gmin
    expected = [int(np.count_nonzero(((sf.compute(a) < sc.gmin) | (sf.compute(a) > sc.gmax))
                                     [:, used].any(axis=1))) for a in test]
    assert expected[1] == expected[2] == 8 and sum(expected) < 24   # the check can fail
    x = compare_references(pot, read(test)).extrapolation
    assert (x.atoms, x.n_atoms, x.structures, x.n_structures, x.checked) == \
        (sum(expected), 24, sum(1 for e in expected if e), 3, True)
    data = str(tmp_path / "test.extxyz")
    write(data, test)
    pot.save(tmp_path / "m.nnp")
    assert main(["evaluate", str(tmp_path / "m.nnp"), data]) == 0
    out = capsys.readouterr().out
    assert (f"extrapolation: {sum(expected)} of 24 atoms ({100 * sum(expected) / 24:.1f} %), "
            f"in {x.structures} of 3 structures") in out
    assert "WARNING: the energy RMSE" in out and "WARNING: the forces RMSE" in out
    Potential(["Cu"], sf, hidden_layers=(3,), seed=0).save(tmp_path / "raw.nnp")
    assert main(["evaluate", str(tmp_path / "raw.nnp"), data]) == 0
    assert "extrapolation: not checked" in capsys.readouterr().out
