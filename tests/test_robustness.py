"""Bad input never crashes, hangs, races or leaves a file that cannot be read back.

Each test names the fault it provokes; each ends in a result or in a specific
ase-nnp exception whose message names the problem.
"""
import os
import threading
import time
import warnings

import h5py
import numpy as np
import pytest
from ase import Atoms
from ase.build import bulk
from ase.io import write

from ase_nnp import (ConfigError, ExtrapolationWarning, ModelFileError, NNPCalculator,
                     StructureError, load, train)
from ase_nnp.cli import main
from ase_nnp.neighbors import build
from conftest import sensitive_potential
from test_trainer import SMALL, _sw_data

SHIPPED = os.path.join(os.path.dirname(__file__), "..", "data", "si.nnp")


@pytest.fixture(scope="module")
def si():
    return load(SHIPPED)


@pytest.fixture(scope="module")
def sw_file(tmp_path_factory):
    path = tmp_path_factory.mktemp("robust") / "sw.extxyz"
    write(path, _sw_data(), format="extxyz")
    return str(path)


# ------------------------------------------------------------ degenerate cells
@pytest.mark.parametrize("cell,match", [
    (np.diag([5.0, 5.0, 4e-10]), r"4e-10 Å from its own periodic image along the lattice vector c"),
    (np.eye(3) * 0.002, r"0.002 Å from its own periodic image"),
    # no cell vector is short, but 2c - a - b is
    (np.array([[1.0, 0, 0], [0, 1.0, 0], [0.5, 0.5, 1e-6]]), r"along the lattice vector a \+ b - 2c"),
])
def test_atoms_on_their_own_images_are_refused_at_once(cell, match):
    t = time.perf_counter()
    with pytest.raises(StructureError, match=match):
        build(np.zeros((2, 3)) + [[0, 0, 0], [1e-3, 2e-3, 0]], cell, True, 3.8)
    assert time.perf_counter() - t < 1.0


def test_far_too_dense_cells_are_refused_before_allocating(si):
    # lattice vectors 0.2 Å (no self-overlap), ~27,000 images within 3.8 Å
    with pytest.raises(StructureError, match="MAX_NEIGHBORS|MAX_CANDIDATES"):
        build(np.zeros((1, 3)), np.eye(3) * 0.2, True, 3.8)
    with pytest.raises(StructureError, match="125 atoms/Å³, denser than"):
        si.evaluate(np.zeros((1, 3)), [14], np.eye(3) * 0.2, True)
    # a slab of 0.3 x 0.3 Å²: not a density, but ~500 images per atom within 3.8 Å
    # and 40 atoms -> ~20,000 neighbours each
    rng = np.random.default_rng(0)
    pos = rng.random((40, 3)) * [0.3, 0.3, 1.0]
    with pytest.raises(StructureError, match="MAX_NEIGHBORS|MAX_CANDIDATES"):
        build(pos, np.diag([0.3, 0.3, 0.0]), (True, True, False), 3.8)


def test_skewed_cell_is_reduced_and_matches_ase():
    from ase.neighborlist import neighbor_list
    rng = np.random.default_rng(2)
    cell = np.array([[3.1, 0, 0], [31.0, 2.9, 0], [-12.0, 7.0, 3.3]])   # reduced: ~3 Å cube
    pos = rng.random((6, 3)) @ cell
    nl = build(pos, cell, True, 4.0)
    atoms = Atoms("H6", positions=pos, cell=cell, pbc=True)
    i, j, S = neighbor_list("ijS", atoms, 4.0)
    assert set(zip(nl.i, nl.j, map(tuple, nl.S))) == set(zip(i, j, map(tuple, S)))
    D = pos[nl.j] - pos[nl.i] + nl.S @ cell         # shifts are those of the cell given
    assert np.abs(D - nl.D).max() < 1e-10


def test_random_degenerate_cells_end_within_a_second(si):
    """Volumes per atom 1e-12 ... 2 Å³ with random skews: a result or a StructureError,
    each within a second (after the kernels are compiled)."""
    rng = np.random.default_rng(0)
    warm = bulk("Si", "diamond", 5.43)
    warm.calc = NNPCalculator(si)
    warm.get_forces()
    outcomes = {"result": 0, "error": 0}
    for case in range(40):
        n = int(rng.integers(1, 4))
        volume = n * 10.0 ** rng.uniform(-12, 0.3)
        shape = np.eye(3) + rng.uniform(-2, 2, (3, 3)) * (rng.random() < 0.7)
        if abs(np.linalg.det(shape)) < 1e-3:
            shape = np.eye(3)
        cell = shape * (volume / abs(np.linalg.det(shape))) ** (1 / 3)
        atoms = Atoms(f"Si{n}", scaled_positions=rng.random((n, 3)), cell=cell, pbc=True)
        atoms.calc = NNPCalculator(si)
        t = time.perf_counter()
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", ExtrapolationWarning)
                f = atoms.get_forces()
            assert np.all(np.isfinite(f))
            outcomes["result"] += 1
        except StructureError:
            outcomes["error"] += 1
        assert time.perf_counter() - t < 1.0, (case, volume, cell)
    assert outcomes["result"] and outcomes["error"]


# ------------------------------------------------------------------- threads
@pytest.mark.filterwarnings("ignore::ase_nnp.ExtrapolationWarning")
def test_one_calculator_shared_by_threads_gives_each_its_own_results(si):
    base = bulk("Si", "diamond", 5.43, cubic=True) * (2, 2, 2)
    structures = []
    for k in range(4):
        a = base.copy()
        a.rattle(0.1, seed=k)
        structures.append(a)
    expected = []
    for a in structures:
        b = a.copy()
        b.calc = NNPCalculator(si)
        expected.append((b.get_forces(), b.get_stress()))
    shared = NNPCalculator(si)
    wrong = []

    def work(k):
        for _ in range(40):
            a = structures[k].copy()
            a.calc = shared
            f, s = a.get_forces(), a.get_stress()
            if not (np.array_equal(f, expected[k][0]) and np.array_equal(s, expected[k][1])):
                wrong.append(k)
    threads = [threading.Thread(target=work, args=(k,)) for k in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not wrong


# ----------------------------------------------------------------- collapse
def _dimer_in_bulk(d):
    atoms = bulk("Si", "diamond", 5.43, cubic=True)
    a, b = atoms.positions[0], atoms.positions[1]
    u = (b - a) / np.linalg.norm(b - a)
    atoms.positions[1] = a + d * u
    return atoms


def test_shipped_potential_resists_collapse(si):
    """Pushing one atom onto its neighbour costs energy at every distance from the crystal's
    2.35 Å down to 0.3 Å (scanned every 0.01 Å: no spike, no well), the force pushes it
    back, and below the training range (1.90 Å) a warning says so."""
    assert si.repulsion is not None and si.min_distances is not None
    distances = np.arange(0.30, 2.355, 0.01)
    calc = NNPCalculator(si)
    energies, radial = [], []
    for d in distances:
        atoms = _dimer_in_bulk(d)
        atoms.calc = calc
        with warnings.catch_warnings(record=True) as seen:
            warnings.simplefilter("always", ExtrapolationWarning)
            energies.append(atoms.get_potential_energy())
            u = atoms.positions[1] - atoms.positions[0]
            radial.append(atoms.get_forces()[1] @ u / np.linalg.norm(u))
        assert (d < si.min_distances[0, 0]) == any(
            "closer than any Si-Si pair" in str(w.message) for w in seen), d
    assert np.all(np.diff(energies) < 0)          # closer is always dearer
    assert np.all(np.array(radial)[:-1] > 0)      # and pushed apart (2.35 Å: at rest)
    assert energies[0] - energies[-1] > 1000.0    # eV: ZBL at 0.3 Å


def test_potential_without_repulsion_warns_below_training_range(si):
    from ase_nnp import Potential
    bare = Potential(si.elements, si.descriptor, networks=si.networks, scalings=si.scalings,
                     energy_offsets=si.energy_offsets, min_distances=si.min_distances)
    atoms = _dimer_in_bulk(1.2)
    atoms.calc = NNPCalculator(bare)
    with pytest.warns(ExtrapolationWarning, match="no short-range repulsion"):
        atoms.get_potential_energy()
    inside = bulk("Si", "diamond", 5.43, cubic=True)
    inside.calc = NNPCalculator(bare)
    with warnings.catch_warnings():
        warnings.simplefilter("error", ExtrapolationWarning)
        inside.get_potential_energy()                 # 2.35 Å: inside the range, no warning


def test_zbl_forces_and_stress_match_finite_differences():
    """ZBL on top of a random two-element potential, atoms in the switching region
    and inside it, triclinic cell: forces and stress against central differences."""
    from ase_nnp import Potential
    from ase_nnp.repulsion import ZBLRepulsion
    from conftest import numerical_forces, numerical_stress
    rng = np.random.default_rng(3)
    cell = np.array([[5.2, 0, 0], [1.1, 4.9, 0], [-0.7, 0.6, 5.5]])
    pos = rng.random((6, 3)) @ cell
    pos[1] = pos[0] + [0.8, 0.3, 0.1]          # 0.86 Å: inside the inner distance
    pos[3] = pos[2] + [1.0, -0.9, 0.5]         # 1.44 Å: in the switching region
    atoms = Atoms("SiOSiOSiO", positions=pos, cell=cell, pbc=True)
    net = sensitive_potential(["Si", "O"], [atoms])
    outer = np.array([[1.9, 1.6], [1.6, 1.4]])
    rep = ZBLRepulsion(["Si", "O"], 0.5 * outer, outer)
    pot = Potential(["Si", "O"], net.descriptor, networks=net.networks, scalings=net.scalings,
                    energy_offsets=net.energy_offsets, repulsion=rep)
    atoms.calc = NNPCalculator(pot)
    F = atoms.get_forces()
    assert np.abs(F - numerical_forces(atoms, 1e-5)).max() < 1e-5 * max(1.0, np.abs(F).max())
    from ase.stress import voigt_6_to_full_3x3_stress
    S = voigt_6_to_full_3x3_stress(atoms.get_stress())
    assert np.abs(S - numerical_stress(atoms, 1e-5)).max() < 1e-6 * max(1.0, np.abs(S).max())
    E_i = atoms.get_potential_energies()
    assert abs(E_i.sum() - atoms.get_potential_energy()) < 1e-9


def test_zbl_is_exactly_lammps_switched_form():
    """φ, φ', φ'' vanish at the outer distance; below the inner one φ is φ_ZBL + C."""
    from ase_nnp.repulsion import ZBLRepulsion, zbl
    rep = ZBLRepulsion(["Si", "O"], [[1.0, 0.8], [0.8, 0.6]], [[1.9, 1.6], [1.6, 1.4]])
    for a, b, za, zb in ((0, 0, 14, 14), (0, 1, 14, 8), (1, 1, 8, 8)):
        rc, r1 = rep.outer[a, b], rep.inner[a, b]
        h = 1e-3
        e, de = rep.pair_energy([rc - h, rc - h / 2, rc, rc + h], a, b)
        assert e[2] == 0 and e[3] == 0 and de[2] == 0
        # φ ~ (r_c - r)³ and φ' ~ (r_c - r)²: φ, φ' and φ'' all vanish at r_c
        assert abs(e[1] / e[0] - 1 / 8) < 0.01 and abs(de[1] / de[0] - 1 / 4) < 0.01
        r = np.array([0.2, 0.5, r1 - 1e-3])
        shift = rep.pair_energy(r, a, b)[0] - zbl(r, za, zb)[0]
        assert np.ptp(shift) < 1e-9 and shift[0] < 0                    # a constant C < 0


# -------------------------------------------------------------- model files
@pytest.fixture(scope="module")
def small_pot():
    rng = np.random.default_rng(0)
    atoms = Atoms("SiOSiO", positions=rng.random((4, 3)) * 4, cell=np.eye(3) * 5, pbc=True)
    return sensitive_potential(["Si", "O"], [atoms])


@pytest.mark.parametrize("edit,match", [
    (lambda f: f["scaling/Si"].attrs.__setitem__("smin", np.nan), "smin.*finite"),
    (lambda f: f["scaling/O"].attrs.__setitem__("smax", "one"), "smax.*number"),
    (lambda f: (f.__delitem__("elements"), f.create_dataset("elements", data=[14.5, 8.0])),
     "'/elements' must hold integers"),
    (lambda f: f.attrs.__setitem__("metadata", 5), "metadata.*string"),
    (lambda f: f.attrs.__setitem__("metadata", "[1, 2]"), "metadata must be a JSON object"),
    (lambda f: f.attrs.__setitem__("format_version", 1.5), "format_version.*integer"),
    (lambda f: f["scaling/Si"].attrs.__setitem__("mode", 3), "mode.*string"),
    (lambda f: f["networks/O"].attrs.__setitem__("activations", [1, 2, 3]), "activations of O"),
])
def test_every_attribute_is_validated(tmp_path, small_pot, edit, match):
    path = tmp_path / "bad.nnp"
    small_pot.save(path)
    with h5py.File(path, "r+") as f:
        edit(f)
    with pytest.raises(ModelFileError, match=match):
        load(path)


@pytest.mark.parametrize("spoil,where", [
    (lambda p: p.networks["O"].weights[1].__setitem__((0, 0), np.nan), r"network of O \(W1\)"),
    (lambda p: p.scalings["Si"].gmax.__setitem__(0, np.inf), r"scaling of Si \(max\)"),
    (lambda p: p.energy_offsets.__setitem__("Si", np.nan), "energy offset of Si"),
])
def test_save_refuses_nan_before_touching_the_file(tmp_path, spoil, where):
    rng = np.random.default_rng(1)
    atoms = Atoms("SiOSiO", positions=rng.random((4, 3)) * 4, cell=np.eye(3) * 5, pbc=True)
    pot = sensitive_potential(["Si", "O"], [atoms])
    path = tmp_path / "m.nnp"
    pot.save(path)
    before = path.read_bytes()
    spoil(pot)
    with pytest.raises(ModelFileError, match=where):
        pot.save(path)
    assert path.read_bytes() == before and sorted(os.listdir(tmp_path)) == ["m.nnp"]


def test_model_with_repulsion_round_trips_as_version_2(tmp_path, si):
    path = tmp_path / "zbl.nnp"
    si.save(path)
    with h5py.File(path) as f:
        assert f.attrs["format_version"] == 2 and f["repulsion"].attrs["kind"] == "zbl"
    again = load(path)
    np.testing.assert_array_equal(again.repulsion.outer, si.repulsion.outer)
    np.testing.assert_array_equal(again.min_distances, si.min_distances)


def test_stale_temporaries_of_this_target_are_removed_and_nothing_else(tmp_path, small_pot):
    path = tmp_path / "model.nnp"
    old = time.time() - 7200
    stale = tmp_path / ".model.nnp.ab12cd_3.nnp.tmp"
    fresh = tmp_path / ".model.nnp.zz99yy88.nnp.tmp"                 # a save in progress
    others = [tmp_path / ".other.nnp.ab12cd34.nnp.tmp", tmp_path / ".model.nnp.ab12cd34.nnp.tmp.keep",
              tmp_path / "model.nnp.ab12cd34.nnp.tmp", tmp_path / "notes.txt"]
    for p in [stale, fresh] + others:
        p.write_text("x")
        if p is not fresh:
            os.utime(p, (old, old))
    small_pot.save(path)
    left = set(os.listdir(tmp_path))
    assert stale.name not in left
    assert {fresh.name, "model.nnp"} | {p.name for p in others} == left


# ----------------------------------------------------------------- training
@pytest.mark.parametrize("key,value,match", [
    ("forces_weight", -1.0, r"\[loss\] forces_weight = -1.0 is not allowed; it must be a number >= 0"),
    ("max_epochs", 0, r"\[optimizer\] max_epochs = 0 is not allowed; it must be a number >= 1"),
    ("max_epochs", -5, "max_epochs = -5"),
    ("batch_size", 0, r"batch_size = 0 is not allowed"),
    ("hidden_layers", ["six"], r"\[network\] hidden_layers = \['six'\]: the item 'six' is not allowed"),
    ("zetas", ["one"], r"\[descriptor\] zetas = \['one'\]: the item 'one'"),
    ("lambdas", [0.5], "items must be -1 or 1"),
    ("activation", "relu", r"activation = 'relu' is not allowed; it must be one of"),
    ("energy_weight", float("nan"), "energy_weight must be a finite number"),
])
def test_bad_config_values_name_key_value_and_rule(key, value, match):
    with pytest.raises(ConfigError, match=match):
        train("x.extxyz", **{key: value})


def test_damaged_cache_is_detected_and_rebuilt(sw_file, tmp_path):
    opts = dict(SMALL, train=sw_file, model=str(tmp_path / "c.nnp"), max_epochs=2, log=None)
    train(**opts)
    cache = tmp_path / "c.cache.h5"
    with h5py.File(cache, "r+") as f:                 # bytes changed, headers intact
        G = f["G"][()]
        G[3, 2] += 0.5
        f["G"][...] = G
    lines = []
    train(**dict(opts, log=lines.append))
    assert any("checksum of 'G' does not match" in ln for ln in lines)
    load(tmp_path / "c.nnp")
    with h5py.File(cache, "r+") as f:                 # a deleted dataset
        del f["J"]
    lines.clear()
    train(**dict(opts, log=lines.append))
    assert any("rebuilt" in ln and "datasets" in ln for ln in lines)
    with h5py.File(cache) as f:
        assert "J" in f


# ---------------------------------------------------------------- command line
def test_command_line_prints_one_line_for_every_refusal(sw_file, tmp_path, capsys):
    bad = tmp_path / "bad.toml"
    bad.write_text(f'[data]\ntrain = ["{sw_file}"]\n[descriptor]\ncutoff = 4.0\n'
                   'angular_r_low = 9.0\n')                       # a DescriptorSpecError
    assert main(["train", str(bad)]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "angular grid needs" in err and "Traceback" not in err
    bad.write_text(f'[data]\ntrain = ["{sw_file}"]\n[network]\nactivation = "relu"\n')
    assert main(["train", str(bad)]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "activation = 'relu'" in err
    garbage = tmp_path / "g.nnp"
    garbage.write_bytes(b"\x89HDF\r\n" + os.urandom(200))
    assert main(["info", str(garbage)]) == 2
    assert capsys.readouterr().err.count("\n") == 1


# ------------------------------------------------------------------ export
def test_n2p2_export_refuses_a_repulsion_it_cannot_express(si, tmp_path):
    from ase_nnp import InteropError
    from ase_nnp.interop import write_n2p2
    with pytest.raises(InteropError, match="ZBL repulsion, which n2p2's input.nn cannot express"):
        write_n2p2(si, tmp_path / "x")
    assert not (tmp_path / "x").exists()


def test_export_prints_the_lammps_lines_that_add_the_repulsion(tmp_path, capsys):
    assert main(["export", SHIPPED, str(tmp_path / "si")]) == 0
    out = capsys.readouterr().out
    rep = load(SHIPPED).repulsion
    assert (f"pair_style hybrid/overlay hdnnp 3.8 dir \"{tmp_path / 'si'}\"" in out
            and f"zbl {float(rep.inner[0, 0])!r} {float(rep.outer[0, 0])!r}" in out)
    assert "pair_coeff * * hdnnp Si" in out and "pair_coeff 1 1 zbl 14.0 14.0" in out
    assert "not in the n2p2 files" in out


def test_repulsion_is_a_baseline_the_networks_learn_on_top_of(sw_file, tmp_path):
    """With the ZBL switched off beyond the nearest neighbours (2.4 Å) it is far from zero on
    the data; the trainer fits the networks to reference - ZBL, and the saved potential adds
    it back: its errors through the calculator are the trainer's own RMSEs."""
    from ase.io import read
    from ase_nnp.training.baseline import min_pair_distances
    from ase_nnp.training.dataset import read as read_refs
    result = train(**dict(SMALL, train=sw_file, model=str(tmp_path / "z.nnp"), max_epochs=3,
                          validation_fraction=0.0, repulsion="zbl", repulsion_outer=2.4,
                          log=None))
    pot = load(tmp_path / "z.nnp")
    np.testing.assert_array_equal(pot.repulsion.outer, [[2.4]])
    np.testing.assert_array_equal(pot.repulsion.inner, [[1.2]])
    refs = read_refs(sw_file)
    np.testing.assert_array_equal(pot.min_distances, min_pair_distances(refs, ["Si"], 4.0))
    de, df = [], []
    for atoms in read(sw_file, ":"):
        e_ref, f_ref = atoms.get_potential_energy(), atoms.get_forces()
        atoms.calc = NNPCalculator(pot)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ExtrapolationWarning)
            de.append((atoms.get_potential_energy() - e_ref) / len(atoms))
            df.append((atoms.get_forces() - f_ref).ravel())
    rmse_e = 1000 * np.sqrt(np.mean(np.square(de)))
    rmse_f = np.sqrt(np.mean(np.square(np.concatenate(df))))
    assert abs(rmse_e - result.train_errors["energy"]) < 1e-6 * rmse_e
    assert abs(rmse_f - result.train_errors["forces"]) < 1e-6 * rmse_f
    # the baseline is far from zero on these structures (nearest neighbours inside 2.4 Å)
    a = read(sw_file, 0)
    nl = build(a.positions, a.cell[:], a.pbc, 2.4)
    e_zbl = pot.repulsion.energies_and_pair_gradients(nl, np.zeros(len(a), dtype=np.int64))[0]
    assert e_zbl.sum() / len(a) > 0.01          # eV/atom, against RMSEs of meV/atom


def test_a_key_in_the_wrong_section_names_its_section(tmp_path):
    bad = tmp_path / "w.toml"
    bad.write_text('[data]\ntrain = ["x.extxyz"]\n[loss]\ncutoff = 3.0\n')
    from ase_nnp.training.config import TrainingConfig
    with pytest.raises(ConfigError, match=r"'cutoff' belongs in \[descriptor\], not in \[loss\]"):
        TrainingConfig.from_toml(bad)


def test_version_and_a_closed_pipe(capsys):
    import subprocess
    import sys
    with pytest.raises(SystemExit) as stop:
        main(["--version"])
    assert stop.value.code == 0 and capsys.readouterr().out.startswith("ase-nnp ")
    run = subprocess.run(f"{sys.executable} -m ase_nnp.cli train --show-config | head -1",
                         shell=True, capture_output=True, text=True)
    assert run.stdout == "[data]\n" and "Error" not in run.stderr


def test_energy_alone_runs_no_backward_pass_in_energy_only_mode(si, monkeypatch):
    from ase_nnp import engine
    atoms = bulk("Si", "diamond", 5.43, cubic=True)
    atoms.rattle(0.05, seed=1)
    atoms.calc = NNPCalculator(si, energy_only=True)
    calls = []
    real = engine.members_energies_and_pair_gradients
    monkeypatch.setattr(engine, "members_energies_and_pair_gradients",
                        lambda *a: calls.append(1) or real(*a))
    e = atoms.get_potential_energy()
    assert not calls and "forces" not in atoms.calc.results
    f = atoms.get_forces()
    assert calls == [1] and abs(atoms.get_potential_energy() - e) < 1e-12
    assert atoms.get_stress() is not None and calls == [1]       # came with the forces
    assert np.abs(f).max() > 0


def test_trainer_warns_about_degenerate_descriptor_columns(sw_file, tmp_path):
    """A shifted radial grid of 10 intervals at 4 Å puts functions at 0.4-1.0 Å, where the
    data has no neighbours: named before fitting. With them left out: no warning."""
    lines = []
    opts = dict(SMALL, train=sw_file, model=str(tmp_path / "d.nnp"), max_epochs=1,
                radial_grid="shifted", radial_n=10)
    train(**dict(opts, log=lines.append))
    warned = [ln for ln in lines if ln.startswith("warning: descriptor column")]
    assert warned and "rs=0.4 " in warned[0] and "carries no information" in warned[0]
    lines.clear()
    train(**dict(opts, radial_r_low=1.8, log=lines.append))
    assert not [ln for ln in lines if ln.startswith("warning: descriptor column")]


def test_a_cold_kernel_cache_is_announced_once(monkeypatch, capsys):
    """Cold: the cache index holds no entry for the plan's type; warm: it does."""
    from numba import typeof

    from ase_nnp import engine
    from ase_nnp.descriptors import SymmetryFunctions
    sf = SymmetryFunctions(["Si"], 4.0)
    sf.add_radial(1.0)
    plan = sf.plan()
    cache_file = engine._energy_kernel._cache._cache_file
    monkeypatch.setattr(engine, "_announced", set())
    monkeypatch.setattr(cache_file, "_load_index", lambda: {((typeof(1.0),), None, None): 1})
    engine._announce_compilation("symmetry_functions", plan)
    engine._announce_compilation("symmetry_functions", plan)
    err = capsys.readouterr().err
    assert err.count("compiling the symmetry_functions kernels once") == 1
    monkeypatch.setattr(engine, "_announced", set())
    monkeypatch.setattr(cache_file, "_load_index", lambda: {((typeof(plan),), None, None): 1})
    engine._announce_compilation("symmetry_functions", plan)      # warm: silent
    assert capsys.readouterr().err == ""
