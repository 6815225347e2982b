"""An ensemble with a partner: a SNAP model mixed into every member (ase_nnp.committee,
ase_nnp.training.partner), its model file, its training and its LAMMPS lines."""
import os

import numpy as np
import pytest
from ase.build import bulk
from ase.calculators.emt import EMT
from ase.calculators.singlepoint import SinglePointCalculator

from ase_nnp import ConfigError, Ensemble, NNPCalculator, Potential, load, train
from ase_nnp.cli import main
from ase_nnp.descriptors import Bispectrum
from ase_nnp.training.partner import choose_weight, split_holdout

from conftest import random_atoms, random_cell, sensitive_potential

ELEMENTS = ["Si", "O"]


def _models(rng, structures, cutoff=4.5):
    """Two network members and a linear model on the bispectrum with the same cutoff."""
    from ase_nnp.descriptors import SymmetryFunctions
    sf = SymmetryFunctions(ELEMENTS, cutoff=cutoff, cutoff_function="cos")
    sf.add_radial(0.05)
    sf.add_radial(0.6, rs=1.8)
    sf.add_angular(0.01, 2, 1, kind="narrow")
    members = [sensitive_potential(ELEMENTS, structures, seed=k, hidden=(6,), descriptor=sf)
               for k in range(2)]
    bis = Bispectrum(ELEMENTS, twojmax=2, rcutfac=cutoff / 1.0, radelem=[0.5, 0.5])
    partner = sensitive_potential(ELEMENTS, structures, seed=7, hidden=(5,), descriptor=bis)
    return members, partner


def _predict(model, atoms):
    b = atoms.copy()
    b.calc = NNPCalculator(model, extrapolation="ignore")
    out = {"energy": b.get_potential_energy(), "energies": b.get_potential_energies(),
           "forces": b.get_forces(), "stress": b.get_stress()}
    if isinstance(model, Ensemble):
        out["forces_std"] = b.calc.get_property("forces_std", b)
        out["energy_std"] = b.calc.get_property("energy_std", b)
    return out


def test_the_mixture_is_the_weighted_sum_and_its_forces_are_exact(rng, tmp_path):
    structures = [random_atoms(rng, 9, ELEMENTS, random_cell(rng, 5.0, 7.0), True)
                  for _ in range(2)]
    members, partner = _models(rng, structures)
    w = 0.37
    mixed = Ensemble(members, partner=partner, partner_weight=w)
    plain = Ensemble(members)
    for atoms in structures:
        m, n, p = _predict(mixed, atoms), _predict(plain, atoms), _predict(partner, atoms)
        assert abs(n["energy"] - p["energy"]) > 1e-3          # the parts differ: it can fail
        for key in ("energy", "energies", "forces", "stress"):
            np.testing.assert_allclose(m[key], (1 - w) * n[key] + w * p[key], rtol=0,
                                       atol=1e-11)
        np.testing.assert_allclose(m["forces_std"], (1 - w) * n["forces_std"], atol=1e-12)
        assert m["energy_std"] == pytest.approx((1 - w) * n["energy_std"], abs=1e-12)
    # forces are the exact derivative of the mixed energy (central differences)
    atoms = structures[0].copy()
    atoms.calc = NNPCalculator(mixed, extrapolation="ignore")
    f = atoms.get_forces()
    h = 1e-5
    for a, d in [(0, 0), (3, 1), (8, 2)]:
        e = []
        for s in (1, -1):
            b = atoms.copy()
            b.positions[a, d] += s * h
            b.calc = NNPCalculator(mixed, extrapolation="ignore")
            e.append(b.get_potential_energy())
        assert f[a, d] == pytest.approx(-(e[0] - e[1]) / (2 * h), abs=1e-7)
    # the model file keeps the partner and its weight (format version 4)
    mixed.save(tmp_path / "mix.nnp")
    back = load(str(tmp_path / "mix.nnp"))
    assert back.partner is not None and back.partner_weight == w
    import h5py
    with h5py.File(tmp_path / "mix.nnp") as fh:
        assert fh.attrs["format_version"] == 4
    np.testing.assert_allclose(_predict(back, structures[1])["forces"],
                               _predict(mixed, structures[1])["forces"], atol=1e-13)


def test_the_extrapolation_warning_names_the_partner(rng):
    """Outside the data the partner can be far worse than the networks (docs/training.md):
    an ensemble with a partner says so in its extrapolation warning, one without does not."""
    from ase_nnp import ExtrapolationWarning
    structures = [random_atoms(rng, 9, ELEMENTS, random_cell(rng, 5.0, 7.0), True)
                  for _ in range(2)]
    members, partner = _models(rng, structures)
    squeezed = structures[0].copy()
    squeezed.set_cell(squeezed.cell * 0.75, scale_atoms=True)
    for model, named in ((Ensemble(members, partner=partner, partner_weight=0.4), True),
                         (Ensemble(members), False)):
        squeezed.calc = NNPCalculator(model)
        with pytest.warns(ExtrapolationWarning) as record:
            squeezed.get_potential_energy()
        text = " ".join(str(w.message) for w in record)
        assert ("mixed-in partner (SNAP, 2J_max = 2, weight 0.4)" in text) == named, text
    assert "partner SNAP, 2J_max = 2 with weight 0.4" in repr(
        Ensemble(members, partner=partner, partner_weight=0.4))


def test_a_partner_that_cannot_be_mixed_is_refused(rng):
    structures = [random_atoms(rng, 8, ELEMENTS, random_cell(rng, 5.0, 7.0), True)]
    members, partner = _models(rng, structures)
    _, other_cutoff = _models(rng, structures, cutoff=4.0)
    with pytest.raises(ValueError, match="cutoff"):
        Ensemble(members, partner=other_cutoff, partner_weight=0.5)
    with pytest.raises(ValueError, match="outside"):
        Ensemble(members, partner=partner, partner_weight=1.5)
    with pytest.raises(ValueError, match="without a partner"):
        Ensemble(members, partner_weight=0.5)
    with pytest.raises(ValueError, match="not both"):
        Ensemble(members, reference=members[0], partner=partner, partner_weight=0.5)


def test_the_weight_minimises_the_loss_on_the_held_out_residuals(rng):
    x = rng.normal(size=50)
    # opposite errors of the same size: the mean cancels them
    assert choose_weight({"energy": x}, {"energy": -x}, {"energy": 1.0}) == pytest.approx(0.5)
    # the partner is exact: all of it; it is worse in the same direction: none of it
    assert choose_weight({"energy": x}, {"energy": 0 * x}, {"energy": 1.0}) == 1.0
    assert choose_weight({"energy": x}, {"energy": 2 * x}, {"energy": 1.0}) == 0.0
    # two terms: the weight is the minimum of the weighted sum, found by brute force
    rn = {"energy": x, "forces": rng.normal(size=300)}
    rp = {"energy": rng.normal(size=50), "forces": rng.normal(size=300)}
    lam = {"energy": 1.0, "forces": 0.3}
    ws = np.linspace(0, 1, 100001)
    loss = sum(lam[k] * np.mean((rn[k][None] + ws[:, None] * (rp[k] - rn[k])[None]) ** 2, axis=1)
               for k in rn)
    assert choose_weight(rn, rp, lam) == pytest.approx(ws[np.argmin(loss)], abs=1e-4)


def test_the_held_out_structures_are_drawn_once_and_never_all():
    held, kept = split_holdout(30, 0.1, seed=3)
    assert len(held) == 3 and len(kept) == 27 and not set(held) & set(kept)
    assert split_holdout(30, 0.1, seed=3)[0].tolist() == held.tolist()
    assert len(split_holdout(4, 0.9, seed=0)[1]) == 2
    with pytest.raises(ConfigError, match="at least 3"):
        split_holdout(2, 0.1, seed=0)


def _emt_frames(n):
    rng = np.random.default_rng(0)
    frames = []
    for k in range(n):
        a = bulk("Cu", "fcc", a=3.6 * (1 + rng.uniform(-0.03, 0.03)), cubic=True)
        a = a.repeat((2, 1, 1))
        a.rattle(0.05 + 0.1 * rng.uniform(), seed=k)
        a.calc = EMT()
        results = dict(energy=a.get_potential_energy(), forces=a.get_forces(),
                       stress=a.get_stress())
        a.calc = SinglePointCalculator(a, **results)
        frames.append(a)
    return frames


def test_training_with_a_partner_holds_out_fits_and_mixes(tmp_path, capsys):
    frames = _emt_frames(24)
    res = train(frames, model=str(tmp_path / "m.nnp"), cutoff=4.0, radial_n=5, angular_n=2,
                hidden_layers=[6], ensemble_size=2, partner="quadratic", partner_twojmax=4,
                partner_ridge="auto", method="kalman", max_epochs=3, progress=False, cache="",
                log=None)
    mixing = res.mixing
    model = load(str(tmp_path / "m.nnp"))
    assert isinstance(model, Ensemble) and model.partner is not None
    assert model.partner_weight == mixing.weight and 0.0 <= mixing.weight <= 1.0
    assert mixing.n_structures == 3
    held = model.metadata["training"]["holdout"]
    assert len(held) == 3
    assert model.calibration is None          # 3 held-out structures are too few for a map
    # the partner's ridge, chosen on the held-out structures, is the one refitted with
    rho = model.metadata["training"]["partner_ridge"]
    assert load(str(tmp_path / "m.partner_holdout.nnp")).metadata["training"]["ridge"] == rho
    assert load(str(tmp_path / "m.partner.nnp")).metadata["training"]["ridge"] == rho
    # the partner mixed in is the solve on every structure, not the one that chose w
    holdout_partner = load(str(tmp_path / "m.partner_holdout.nnp"))
    final_partner = load(str(tmp_path / "m.partner.nnp"))
    e = "Cu"
    assert np.array_equal(model.partner.networks[e].weights[0],
                          final_partner.networks[e].weights[0])
    assert not np.allclose(holdout_partner.networks[e].weights[0],
                           final_partner.networks[e].weights[0])
    # the mixture is never worse than the better of its parts in the loss it minimises
    def loss(e):
        return e["energy"] ** 2 / 1e6 + 0.002 * e["forces"] ** 2 + 1.0 * e["stress"] ** 2
    assert loss(mixing.mixture) <= min(loss(mixing.networks), loss(mixing.partner)) + 1e-15
    # the same numbers come back from the written model on the held-out structures
    atoms = frames[held[0]]
    ev = model.evaluate(atoms.positions, atoms.numbers, atoms.cell[:], atoms.pbc)
    assert np.isfinite(ev.energy)
    # export: n2p2 files, SNAP files and the hybrid/scaled lines
    assert main(["export", str(tmp_path / "m.nnp"), str(tmp_path / "out")]) == 0
    out = capsys.readouterr().out
    assert "pair_style hybrid/scaled" in out and "pair_coeff * * snap" in out
    assert (tmp_path / "out" / "partner.snapcoeff").exists()
    assert main(["info", str(tmp_path / "m.nnp")]) == 0
    out = capsys.readouterr().out
    assert "an ensemble of 2 members" in out and "format version 4" in out
    assert f"partner, mixed into every member with weight {mixing.weight:.6g}" in out
    assert main(["export", str(tmp_path / "m.nnp"), str(tmp_path / "o2"), "--format",  # refused
                 "snap"]) == 2


def test_a_partner_for_a_linear_model_is_refused(tmp_path):
    with pytest.raises(ConfigError, match="kind"):
        train(_emt_frames(6), model=str(tmp_path / "m.nnp"), cutoff=4.0, family="bispectrum",
              twojmax=2, kind="linear", partner="quadratic", progress=False, cache="", log=None)


LMP = os.environ.get("ASE_NNP_LMP")


@pytest.mark.skipif(not LMP, reason="set ASE_NNP_LMP to a LAMMPS binary with the ML-HDNNP and "
                    "ML-SNAP packages (../shared/peers/build_lammps.sh builds one) to run the "
                    "exported mixture in LAMMPS")
def test_the_exported_mixture_runs_in_lammps_with_the_same_numbers(tmp_path, capsys):
    import subprocess
    import ase.io
    frames = _emt_frames(24)
    train(frames, model=str(tmp_path / "m.nnp"), cutoff=4.0, radial_n=5, angular_n=2,
          hidden_layers=[6], ensemble_size=2, partner="quadratic", partner_twojmax=4,
          method="kalman", max_epochs=3, progress=False, cache="", log=None)
    model = load(str(tmp_path / "m.nnp"))
    # a weight strictly inside (0, 1), so that both parts count in the comparison
    model = Ensemble(model.members, partner=model.partner, partner_weight=0.3)
    model.save(tmp_path / "mix.nnp")
    capsys.readouterr()
    assert main(["export", str(tmp_path / "mix.nnp"), str(tmp_path / "out")]) == 0
    printed = capsys.readouterr().out.splitlines()
    pair = [line.strip() for line in printed if line.strip().startswith("pair_")]
    assert pair[0].startswith("pair_style hybrid/scaled 0.7")
    atoms = frames[0].repeat((1, 2, 2))
    atoms.rattle(0.05, seed=1)
    atoms.calc = None
    cell, _ = atoms.cell.standard_form()
    atoms.set_cell(cell, scale_atoms=True)
    ase.io.write(tmp_path / "data.lmp", atoms, format="lammps-data", specorder=["Cu"],
                 masses=True)
    deck = "\n".join(["units metal", "boundary p p p", "atom_style atomic",
                      "atom_modify map array sort 0 0", "read_data data.lmp", *pair,
                      "thermo_style custom step pe", "dump f all custom 1 forces.dump id fx fy fz",
                      "dump_modify f sort id format float %.17g", "run 0",
                      'print "PE_EV $(pe:%.17g)"', ""])
    (tmp_path / "in.mix").write_text(deck)
    run = subprocess.run([LMP, "-in", "in.mix", "-log", "log.lammps", "-screen", "none"],
                         cwd=tmp_path, capture_output=True, text=True, timeout=300)
    log = (tmp_path / "log.lammps").read_text()
    assert run.returncode == 0, log[-2000:]
    e_lmp = float([x for x in log.splitlines() if x.startswith("PE_EV")][-1].split()[1])
    lines = (tmp_path / "forces.dump").read_text().splitlines()
    start = lines.index("ITEM: ATOMS id fx fy fz") + 1
    f_lmp = np.array([[float(v) for v in x.split()[1:]] for x in lines[start:start + len(atoms)]])
    atoms.calc = NNPCalculator(model, extrapolation="ignore")
    e = atoms.get_potential_energy()
    f = atoms.get_forces()
    assert e_lmp == pytest.approx(e, rel=1e-10)
    np.testing.assert_allclose(f_lmp, f, rtol=0, atol=1e-9 * np.abs(f).max())


def test_enough_held_out_structures_calibrate_the_written_model(tmp_path):
    frames = _emt_frames(30)
    res = train(frames, model=str(tmp_path / "m.nnp"), cutoff=4.0, radial_n=5, angular_n=2,
                hidden_layers=[6], ensemble_size=2, partner="quadratic", partner_twojmax=4,
                holdout_fraction=0.4, method="kalman", max_epochs=3, progress=False, cache="",
                log=None)
    assert res.mixing.n_structures == 12
    model = load(str(tmp_path / "m.nnp"))
    assert model.calibration is not None and model.partner is not None
    atoms = frames[0].copy()
    atoms.calc = NNPCalculator(model, extrapolation="ignore")
    assert atoms.calc.calibrated
    raw = atoms.calc.get_property("forces_std_raw", atoms)
    cal = atoms.calc.get_property("forces_std", atoms)
    assert raw.shape == cal.shape and np.all(cal > 0) and not np.allclose(raw, cal)
