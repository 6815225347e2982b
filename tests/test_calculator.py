"""NNPCalculator as an ASE calculator: public API, bad input, and ASE's workflows."""
import numpy as np
import pytest
from ase import units
from ase.build import bulk
from ase.calculators.calculator import PropertyNotImplementedError

try:                                    # ASE >= 3.29 names it thermalize_momenta
    from ase.md.velocitydistribution import thermalize_momenta
except ImportError:
    from ase.md.velocitydistribution import MaxwellBoltzmannDistribution as thermalize_momenta

from ase_nnp import NNPCalculator, Potential, StructureError, UnknownElementError, load
from ase_nnp.descriptors import SymmetryFunctions
from conftest import sensitive_potential


def test_public_api_as_documented(tmp_path):
    """The snippet of the README, as written."""
    atoms = bulk("SiO", "rocksalt", a=4.2).repeat(2)
    atoms.rattle(0.05, seed=0)
    sf = SymmetryFunctions(elements=["Si", "O"], cutoff=6.5, cutoff_function="cos", alpha=0.0)
    sf.add_radial(eta=0.01, rs=0.0)
    sf.add_angular(eta=0.01, zeta=2, lambda_=-1, kind="narrow")
    sf.add_radial(eta=0.5, rs=2.0, center="Si", neighbor="O")
    values = sf.compute(atoms)
    assert values.shape == (len(atoms), 2 + 3 + 1)
    assert np.all(values[atoms.numbers == 8, 5] == 0)   # O has one function fewer
    pot = Potential(elements=["Si", "O"], descriptor=sf, hidden_layers=(30, 30),
                    activation="tanh", seed=0)
    pot.save(tmp_path / "x.nnp")
    pot2 = load(tmp_path / "x.nnp")
    atoms.calc = NNPCalculator(str(tmp_path / "x.nnp"))
    e = atoms.get_potential_energy()
    atoms.calc = NNPCalculator(pot2)
    assert atoms.get_potential_energy() == e
    assert np.isfinite(atoms.get_forces()).all() and np.isfinite(atoms.get_stress()).all()


def _si_calc():
    atoms = bulk("Si", "diamond", a=5.43, cubic=True)
    atoms.rattle(0.05, seed=1)
    return atoms, NNPCalculator(sensitive_potential(["Si"], [atoms]))


def test_unknown_element_lists_known_ones():
    atoms, calc = _si_calc()
    atoms.symbols[0] = "Ge"
    atoms.calc = calc
    with pytest.raises(UnknownElementError, match=r"\['Ge'\].*only knows \['Si'\]"):
        atoms.get_potential_energy()


def test_nan_positions():
    atoms, calc = _si_calc()
    atoms.positions[3, 1] = np.nan
    atoms.calc = calc
    with pytest.raises(StructureError, match="NaN"):
        atoms.get_forces()


def test_overlapping_atoms():
    atoms, calc = _si_calc()
    atoms.positions[2] = atoms.positions[5] + 1e-4
    atoms.calc = calc
    with pytest.raises(StructureError, match="overlap"):
        atoms.get_potential_energy()


def test_zero_volume_cell():
    atoms, calc = _si_calc()
    atoms.cell[2] = atoms.cell[0] + atoms.cell[1]
    atoms.calc = calc
    with pytest.raises(StructureError, match="zero volume"):
        atoms.get_potential_energy()


def test_stress_needs_full_periodicity():
    atoms, calc = _si_calc()
    atoms.pbc = (True, True, False)
    atoms.calc = calc
    assert np.isfinite(atoms.get_potential_energy())
    with pytest.raises(PropertyNotImplementedError, match="periodic"):
        atoms.get_stress()


def test_wrong_argument_type():
    with pytest.raises(TypeError, match="path to a .nnp file"):
        NNPCalculator(42)


def test_md_conserves_energy():
    from ase.md.verlet import VelocityVerlet
    atoms, calc = _si_calc()
    atoms = atoms.repeat(2)
    atoms.calc = calc
    thermalize_momenta(atoms, temperature_K=300, rng=np.random.default_rng(0))
    dyn = VelocityVerlet(atoms, 0.5 * units.fs)
    e0 = atoms.get_total_energy()
    drift = []
    dyn.attach(lambda: drift.append(atoms.get_total_energy() - e0), interval=5)
    dyn.run(100)
    assert np.abs(drift).max() < 1e-3 * len(atoms)   # meV/atom level
    assert atoms.get_kinetic_energy() > 0


def test_relaxation_with_cell_filter_and_eos():
    from ase.eos import EquationOfState
    from ase.filters import FrechetCellFilter
    from ase.optimize import BFGS
    atoms, calc = _si_calc()
    atoms.calc = calc
    opt = BFGS(FrechetCellFilter(atoms), logfile=None)
    opt.run(fmax=1e-3, steps=300)
    assert np.abs(atoms.get_forces()).max() < 1e-3
    assert np.abs(atoms.get_stress()).max() * atoms.get_volume() < 1e-3 * len(atoms) * 3
    cell0 = atoms.cell[:].copy()
    volumes, energies = [], []
    for s in np.linspace(0.98, 1.02, 7):
        a = atoms.copy()
        a.set_cell(cell0 * s, scale_atoms=True)
        a.calc = calc
        volumes.append(a.get_volume())
        energies.append(a.get_potential_energy())
    v0, e0, B = EquationOfState(volumes, energies).fit()
    assert np.isfinite(B)
    assert abs(v0 - atoms.get_volume()) / atoms.get_volume() < 0.01


def _count_evaluations(calc, monkeypatch):
    """Record the (forces, stress) flags of every evaluation the calculator asks for."""
    calls = []
    evaluate = calc.potential.evaluate

    def counted(*args, **kwargs):
        calls.append((kwargs.get("forces", True), kwargs.get("stress", True)))
        return evaluate(*args, **kwargs)
    monkeypatch.setattr(calc.potential, "evaluate", counted)
    return calls


@pytest.mark.parametrize("order", [("energy", "forces", "stress"),
                                   ("forces", "energy", "stress"),
                                   ("stress", "forces", "energy")])
def test_one_pass_serves_energy_forces_and_stress_in_any_order(order, monkeypatch):
    atoms, calc = _si_calc()
    atoms.calc = calc
    ref = calc.potential.evaluate(atoms.positions, atoms.numbers, atoms.cell[:], atoms.pbc)
    calls = _count_evaluations(calc, monkeypatch)
    get = {"energy": atoms.get_potential_energy, "forces": atoms.get_forces,
           "stress": atoms.get_stress}
    got = {k: get[k]() for k in order}
    atoms.get_potential_energies(), atoms.calc.get_property("stresses", atoms)
    assert calls == [(True, True)]
    assert got["energy"] == ref.energy
    np.testing.assert_array_equal(got["forces"], ref.forces)
    atoms.positions[0, 0] += 0.01                      # a new configuration: one more pass
    atoms.get_forces(), atoms.get_potential_energy(), atoms.get_stress()
    assert calls == [(True, True)] * 2


def test_one_pass_without_periodicity_brings_the_forces(monkeypatch):
    atoms, calc = _si_calc()
    atoms.pbc = False
    atoms.calc = calc
    calls = _count_evaluations(calc, monkeypatch)
    atoms.get_potential_energy(), atoms.get_forces()
    assert calls == [(True, False)] and "stress" not in calc.results


def test_energy_only_mode_runs_no_backward_pass(monkeypatch):
    from ase_nnp import engine, evaluation
    atoms, calc = _si_calc()
    e_full = calc.get_potential_energy(atoms)
    f_full = calc.get_forces(atoms)
    calc = NNPCalculator(calc.potential, energy_only=True)
    atoms.calc = calc
    calls = _count_evaluations(calc, monkeypatch)

    def refuse(*args, **kwargs):
        raise AssertionError("a gradient was computed in energy_only mode")
    with monkeypatch.context() as m:
        m.setattr(engine, "members_energies_and_pair_gradients", refuse)
        m.setattr(evaluation, "backward_from_jacobian", refuse)
        m.setattr(Potential, "atomic_energies_and_gradients", refuse)
        m.setattr(type(calc.potential.descriptor), "backward", refuse)
        m.setattr(type(calc.potential.descriptor), "jacobian", refuse)
        assert atoms.get_potential_energy() == pytest.approx(e_full, abs=1e-10)
        assert len(atoms.get_potential_energies()) == len(atoms)
    assert calls == [(False, False)] and "forces" not in calc.results
    np.testing.assert_allclose(atoms.get_forces(), f_full, atol=1e-12)   # asked: computed
    assert calls == [(False, False), (True, True)] and "stress" in calc.results


def test_parameters_are_ase_parameters():
    atoms, calc = _si_calc()
    assert calc.todict() == {}
    assert calc.parameters == {"extrapolation": "warn", "warn_every": 100, "energy_only": False,
                               "coverage": 0.9}
    calc = NNPCalculator(calc.potential, warn_every=5, energy_only=True)
    assert calc.todict() == {"warn_every": 5, "energy_only": True}
    atoms.calc = calc
    e = atoms.get_potential_energy()
    assert calc.set(extrapolation="raise", warn_every=7) == {"extrapolation": "raise",
                                                             "warn_every": 7}
    assert calc.extrapolation == "raise" and calc.extrapolation_log.every == 7
    assert calc.results["energy"] == e                  # the results do not depend on them
    with pytest.raises(ValueError, match="extrapolation must be 'warn', 'raise' or 'ignore'"):
        calc.set(extrapolation="loud")
    with pytest.raises(ValueError, match="warn_every must be a positive integer"):
        calc.set(warn_every=0)
    with pytest.raises(ValueError, match="energy_only must be True or False"):
        NNPCalculator(calc.potential, energy_only="yes")
    with pytest.raises(TypeError, match=r"no parameter\(s\) \['xc'\]"):
        NNPCalculator(calc.potential, xc="PBE")
    assert calc.parameters["extrapolation"] == "raise"   # a refused set changes nothing
    calc.extrapolation = "ignore"                        # the attribute is the parameter
    assert calc.todict()["extrapolation"] == "ignore"
