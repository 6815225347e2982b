"""ase_nnp.analysis.errors against values worked out by hand on small arrays."""
import numpy as np
import pytest

from ase_nnp.analysis.errors import GPA, compare

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
