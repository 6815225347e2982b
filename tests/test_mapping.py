"""Atomic-energy mapping: invariant points, mapping and regional errors, the training
monitor and ``ase-nnp mapping``, with Stillinger–Weber (which defines atomic energies)
as the reference."""
import csv
import os

import numpy as np
import pytest
from ase.build import bulk, diamond100
from ase.calculators.singlepoint import SinglePointCalculator
from ase.io import write

from ase_nnp import ConfigError, NNPCalculator, load, train
from ase_nnp.analysis import mapping
from ase_nnp.cli import main

pytest.importorskip("matscipy")
SI = os.path.join(os.path.dirname(__file__), "..", "data", "si.nnp")
A0 = 5.431


@pytest.fixture(scope="module")
def sw():
    from ase_nnp.training.reference import stillinger_weber_si
    return stillinger_weber_si()


@pytest.fixture(scope="module")
def si():
    return load(SI)


@pytest.mark.parametrize("crystal", [bulk("Si", "diamond", a=A0), bulk("Si", "fcc", a=3.9),
                                     bulk("Si", "bcc", a=3.1), bulk("Si", "hcp", a=2.7, c=4.4),
                                     bulk("Si", "diamond", a=A0, cubic=True)])
def test_every_strained_point_has_equivalent_atoms(si, crystal):
    points = mapping.invariant_points(crystal, "all")
    assert len(points) == len(mapping.EOS_VOLUME_RATIOS) + 12
    for p in points:
        assert mapping.check_invariant(si, p) < 1e-10
    ratios = [p.info["volume_ratio"] for p in points[:len(mapping.EOS_VOLUME_RATIOS)]]
    assert np.allclose(ratios, mapping.EOS_VOLUME_RATIOS)


def test_inequivalent_atoms_are_refused(si):
    rattled = bulk("Si", "diamond", a=A0, cubic=True)
    rattled.rattle(0.02, seed=1)
    with pytest.raises(mapping.NotInvariantError, match="not equivalent"):
        mapping.check_invariant(si, rattled)
    # two atoms per cell are always related by the inversion through their midpoint, so
    # a moved internal coordinate keeps them equivalent; in the cubic cell it does not
    shifted = bulk("Si", "diamond", a=A0)
    shifted.positions[1] += [0.1, 0.0, 0.0]
    assert mapping.check_invariant(si, mapping.invariant_points(shifted, "shear")[0]) < 1e-10
    shifted = bulk("Si", "diamond", a=A0, cubic=True)
    shifted.positions[1] += [0.1, 0.0, 0.0]
    with pytest.raises(mapping.NotInvariantError):
        mapping.mapping_errors(si, mapping.invariant_points(shifted, "shear"), np.zeros(6))
    # several elements: the atoms of each must be equivalent (tests/test_mapping_species.py)
    assert len(mapping.invariant_points(bulk("NaCl", "rocksalt", a=5.6), "eos")) == 13
    with pytest.raises(ValueError, match="strain set"):
        mapping.invariant_points(bulk("Si", "diamond", a=A0), "volume")


def test_mapping_error_is_the_per_atom_error_at_an_invariant_point(si, sw):
    points = mapping.invariant_points(bulk("Si", "diamond", a=A0), "all")
    tab = mapping.mapping_table(si, points, sw)
    for p, err in zip(points, tab.error):
        a = p.copy()
        a.calc = sw
        e_sw = a.get_potential_energy() / len(a)
        a.calc = NNPCalculator(si)
        assert err == pytest.approx(a.get_potential_energy() / len(a) - e_sw, abs=1e-12)
        # every atom carries the same error, so the true per-atom error equals it
        true = mapping.atomic_energy_errors(si, [p], sw).error
        assert np.allclose(true, err, atol=1e-10)
    # an array of reference energies gives the same, the wrong length is refused
    ref = [tab.reference[k] * len(p) for k, p in enumerate(points)]
    assert np.allclose(mapping.mapping_errors(si, points, ref), tab.error, atol=1e-14)
    with pytest.raises(ValueError, match="one total energy"):
        mapping.mapping_errors(si, points, ref[:-1])
    assert tab.std is None and np.allclose(tab.volume[6], A0 ** 3 / 8)


def _sw_images(sw, n, seed, atomic=True, rattle=0.1):
    rng = np.random.default_rng(seed)
    images = []
    for k in range(n):
        a = bulk("Si", "diamond", a=A0 * rng.uniform(0.97, 1.03), cubic=True)
        a.rattle(rattle, seed=k + 100 * seed)
        a.calc = sw
        res = dict(energy=a.get_potential_energy(), forces=a.get_forces(), stress=a.get_stress())
        if atomic:
            res["energies"] = a.get_potential_energies()
        a.calc = SinglePointCalculator(a, **res)
        images.append(a)
    return images


SMALL = dict(cutoff=3.8, radial_n=5, radial_r_low=1.5, radial_grid="shifted", angular_n=2,
             angular_r_low=2.0, zetas=[1, 2], hidden_layers=[8], progress=False,
             checkpoint_every=0, cache="", log_file="", validation_fraction=0.0)


def test_a_potential_fitted_to_sw_atomic_energies_maps_correctly(sw, tmp_path):
    images = _sw_images(sw, 16, 0, rattle=0.04)
    res = train(images, model=str(tmp_path / "atomic.nnp"), energy_weight=1.0,
                forces_weight=0.0, stress_weight=0.0, atomic_energies_weight=1.0,
                max_epochs=250, log=None, **SMALL)
    points = mapping.invariant_points(bulk("Si", "diamond", a=A0), "eos")
    inside = [p for p in points if 0.92 <= p.info["volume_ratio"] <= 1.08]
    err = mapping.mapping_errors(res.potential, inside, sw)
    true = mapping.atomic_energy_errors(res.potential, images).rmse
    # the atomic energies were fitted (6 meV RMS of a 0.1 eV spread after 300 epochs),
    # so the held-out invariant points inside the training volumes agree with SW
    assert true < 0.01
    assert np.max(np.abs(err)) < 0.02


def test_regional_errors_of_a_slab_with_exactly_bulk_atoms(si, sw):
    # an unrelaxed 12-layer (100) slab: an atom with all its crystal neighbours within
    # the cutoff (3.8 Å: only the first shell, 4 atoms) has exactly the crystal's
    # environment, for the descriptor and for SW (range 3.77 Å) alike
    from ase.neighborlist import neighbor_list
    slab = diamond100("Si", size=(2, 2, 12), a=A0, vacuum=8.0)
    crystal = bulk("Si", "diamond", a=A0)
    count = np.bincount(neighbor_list("i", slab, si.cutoff), minlength=len(slab))
    assert np.bincount(neighbor_list("i", crystal, si.cutoff)).tolist() == [4, 4]
    exact = count == 4
    mask = mapping.bulk_atoms(si, slab, crystal, tolerance=1e-9)
    assert np.array_equal(mask, exact) and 0 < mask.sum() < len(slab)
    # the model as its own reference: no mapping error anywhere
    own = mapping.regional_errors(si, slab, crystal, NNPCalculator(si), tolerance=1e-9)
    assert abs(own.bulk) < 1e-12 and abs(own.surface) < 1e-12 and own.true_rmse < 1e-12
    # SW: the bulk error is the crystal's mapping error, the regions add up to the total
    r = mapping.regional_errors(si, slab, crystal, sw, bulk=np.flatnonzero(exact))
    m0 = mapping.mapping_errors(si, [crystal], sw)[0]
    assert r.bulk == pytest.approx(m0, abs=1e-12)
    assert r.true_bulk == pytest.approx(m0, abs=1e-10)
    a = slab.copy()
    a.calc = sw
    e_sw = a.get_potential_energy()
    a.calc = NNPCalculator(si)
    e_nn = a.get_potential_energy()
    assert r.n_bulk * r.bulk + r.n_surface * r.surface == pytest.approx(e_nn - e_sw, abs=1e-9)
    # surface: true mean per-atom error of the surface atoms (SW's own partition)
    assert r.true_surface == pytest.approx(r.surface, abs=1e-9)
    with pytest.raises(ValueError, match="both regions"):
        mapping.regional_errors(si, slab, crystal, sw, bulk=np.zeros(len(slab), bool))


def test_monitor_columns_follow_the_model(sw, tmp_path):
    data = tmp_path / "sw.extxyz"
    write(data, _sw_images(sw, 10, 1), format="extxyz")
    slab = diamond100("Si", size=(2, 2, 8), a=A0, vacuum=8.0)
    order = np.argsort(np.argsort(slab.positions[:, 2]))
    slab.arrays["bulk"] = (order >= 8) & (order < 24)      # the middle four layers
    write(tmp_path / "slab.extxyz", slab)
    model = str(tmp_path / "m.nnp")
    keys = dict(SMALL, max_epochs=4, monitor_every=2, invariant_points="eos",
                monitor_reference="sw", monitor_crystal="diamond", monitor_a=A0,
                monitor_slab=str(tmp_path / "slab.extxyz"),
                energy_weight=1.0, forces_weight=0.01, stress_weight=0.0)
    res = train(str(data), model=model, log=None, **keys)
    cols = res.columns
    maps = [c for c in cols if c.startswith("map_")]
    assert len(maps) == len(mapping.EOS_VOLUME_RATIOS)
    rows = list(csv.DictReader(open(tmp_path / "m.curve.csv")))
    assert [r["epoch"] for r in rows] == ["1", "2", "3", "4"]
    assert np.isnan(float(rows[2][maps[0]])) and not np.isnan(float(rows[3][maps[0]]))
    assert res.best_epoch == 4
    points = mapping.invariant_points(bulk("Si", "diamond", a=A0), "eos")
    expect = 1000 * mapping.mapping_errors(load(model), points, sw)
    assert np.allclose([float(rows[3][c]) for c in maps], expect, rtol=1e-6, atol=1e-6)
    r = mapping.regional_errors(load(model), slab, bulk("Si", "diamond", a=A0), sw)
    assert r.n_bulk == 16
    assert float(rows[3]["slab_bulk_meV_atom"]) == pytest.approx(1000 * r.bulk, abs=1e-5)
    assert float(rows[3]["slab_surface_meV_atom"]) == pytest.approx(1000 * r.surface, abs=1e-5)
    with pytest.raises(ConfigError, match="monitor_reference"):
        train(str(data), model=model, log=None, **dict(keys, monitor_reference=""))
    # the slab alone, without invariant points: only its two columns
    res = train(str(data), model=model, log=None, **dict(keys, invariant_points="",
                                                          max_epochs=2))
    assert [c for c in res.columns if c.startswith(("map_", "slab_"))] == [
        "slab_bulk_meV_atom", "slab_surface_meV_atom"]
    assert np.isfinite(res.history[:, list(res.columns).index("slab_bulk_meV_atom")][1])
    slab.arrays["bulk"][:] = False
    write(tmp_path / "slab.extxyz", slab)
    with pytest.raises(ConfigError, match="monitor_slab.*both regions"):
        train(str(data), model=model, log=None, **keys)


def test_command_line_mapping(sw, tmp_path, capsys):
    pytest.importorskip("matplotlib")
    data = tmp_path / "train.extxyz"
    write(data, _sw_images(sw, 4, 2, atomic=False), format="extxyz")
    slab = diamond100("Si", size=(2, 2, 12), a=A0, vacuum=8.0)
    slab.calc = sw
    slab.calc = SinglePointCalculator(slab, energy=slab.get_potential_energy())
    write(tmp_path / "slab.extxyz", slab)
    out = tmp_path / "plots"
    assert main(["mapping", SI, "--reference", "sw", "--crystal", "diamond", "--a", str(A0),
                 "--train", str(data), "--slab", str(tmp_path / "slab.extxyz"),
                 "--out-dir", str(out)]) == 0
    text = capsys.readouterr().out
    assert "eos_0.85" in text and "shear_+0.03" in text and "r_g =" in text
    assert "ΔĒ_at(bulk)" in text
    # the shipped potential maps soundly (ΔE_at ~1 meV/atom at 46 atoms per structure)
    assert "verdict: SOUND" in text and "why:" in text
    for f in ("mapping_eos.png", "mapping_pca.png", "mapping_distances.png"):
        assert (out / f).stat().st_size > 1000
    assert main(["mapping", SI, "--reference", "nonsense"]) == 2
    assert "unknown --reference" in capsys.readouterr().err


def test_report_verdict_is_the_statistic_of_its_table(si, sw):
    from ase_nnp.analysis.mapping_report import report
    from ase_nnp.analysis.verdict import atoms_per_structure, mapping_verdict, validation_rmse
    lines = []
    rep = report(si, sw, bulk("Si", "diamond", a=A0), "eos", log=lines.append)
    # the shipped model's own training summary gives ε and N̄
    expected = mapping_verdict(rep.table.error, validation_rmse(si), atoms_per_structure(si))
    assert rep.verdict.statistic == pytest.approx(expected.statistic)
    assert any(line.startswith(f"verdict: {expected.verdict.upper()}") for line in lines)
    assert any("why:" in line for line in lines)
    rep = report(si, sw, bulk("Si", "diamond", a=A0), "eos", log=lines.append,
                 validation_rmse=1e-5, atoms_per_structure=1)
    assert rep.verdict.verdict == "ad hoc"


def test_report_connectivity_is_that_of_the_training_atoms(si, sw):
    from scipy.cluster.hierarchy import linkage
    from ase_nnp.analysis.mapping_report import report, training_points
    train = _sw_images(sw, 3, 3, atomic=False)
    rep = report(si, sw, bulk("Si", "diamond", a=A0), "eos", train=train, log=lambda *a: None)
    X = training_points(si, train)["Si"]
    assert X.shape == (24, si.descriptor.n_features("Si"))
    D = np.linalg.norm(X[:, None] - X[None], axis=2)
    np.fill_diagonal(D, np.inf)
    c = rep.connectivity["Si"]
    assert np.allclose(c.within, D.min(axis=1), rtol=1e-12, atol=1e-14)
    Z = linkage(X, "single")
    assert c.rg == pytest.approx(Z[np.argmax(Z[:, 3] > 0.5 * len(X)), 2], rel=1e-12)
    P = training_points(si, mapping.invariant_points(bulk("Si", "diamond", a=A0), "eos"))["Si"]
    d = np.linalg.norm(P[:, None] - X[None], axis=2).min(axis=1)
    assert np.allclose(c.invariant_distance, d[0::2], rtol=1e-12, atol=1e-14)
    assert np.allclose(d[0::2], d[1::2], atol=1e-12)         # the two atoms are equivalent
