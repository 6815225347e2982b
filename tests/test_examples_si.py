"""Smoke tests of the examples on the shipped potential data/si.nnp: each script runs end to
end on tiny sizes (its ``--smoke`` or size options), exits with 0, and what it printed or
wrote is checked against physics that does not depend on the tiny sizes (lattice constant,
bulk modulus, finite differences, vacancy energies, SW's own numbers)."""
import numpy as np
import pytest

from example_scripts import assert_png, has, markdown_rows, need, numbers_after, run_script


def test_eos_si_fits_the_lattice_constant_and_bulk_modulus(tmp_path):
    out = run_script("examples/eos_si.py", "--plot", "eos.png", cwd=tmp_path)
    v0, a0, e0, B = numbers_after(out, "NNP ", 4)
    assert a0 == pytest.approx((8 * v0) ** (1 / 3))
    assert 5.40 < a0 < 5.46 and -4.40 < e0 < -4.30 and 90 < B < 115     # SW: 5.431, -4.337, 101.5
    if has("matscipy"):
        _, a_sw, _, b_sw = numbers_after(out, "SW ", 4)
        assert a_sw == pytest.approx(5.431, abs=1e-3) and b_sw == pytest.approx(101.5, abs=1)
        assert numbers_after(out, "largest energy difference along the curve:")[0] < 5.0
    if has("matplotlib"):
        assert_png(tmp_path / "eos.png")


def test_md_si_runs_langevin_then_nve_with_a_small_drift(tmp_path):
    out = run_script("examples/md_si.py", "--size", "1", "--nvt-steps", "20", "--nve-steps",
                     "20", cwd=tmp_path)
    assert out.startswith("8 atoms; Langevin at 1000 K for 20 fs")
    rows = [line for line in out.splitlines() if line.strip().startswith("t =")]
    assert len(rows) >= 10
    temperatures = [numbers_after(r, "t =", 2)[1] for r in rows]
    drifts = [float(r.split("drift =")[1].split()[0]) for r in rows]
    assert all(0 < T < 5000 for T in temperatures)
    assert max(map(abs, drifts)) < 1.0                              # meV/atom in 20 fs
    assert "20 NVE steps in" in out


def test_relax_si_gives_vacancy_energies_and_relaxes_the_cell(tmp_path):
    out = run_script("examples/relax_si.py", "--smoke", cwd=tmp_path)
    unrelaxed, relaxed = numbers_after(out, "NNP: vacancy formation energy", 2)
    assert 4.1 < unrelaxed < 4.5 and 3.0 < relaxed < 4.6            # SW: 4.337 unrelaxed
    if has("matscipy"):
        assert numbers_after(out, "SW: vacancy formation energy")[0] == pytest.approx(4.3366,
                                                                                      abs=1e-3)
    line = next(x for x in out.splitlines() if x.startswith("NNP cell relaxation"))
    cell = np.array(line.split("cell [")[1].split("]")[0].split(","), float)
    assert np.allclose(cell[:3], 5.431, rtol=0.01) and np.allclose(cell[3:], 90, atol=1.0)
    assert float(line.split("max |F|")[1].split()[0]) <= 0.05


def test_quickstart_forces_and_pressure_match_finite_differences(tmp_path):
    out = run_script("examples/quickstart.py", "--cells", "1", cwd=tmp_path)
    assert "model file written and read back" in out
    f, f_fd = numbers_after(out, "F[0,x] analytic", 2)
    assert f_fd == pytest.approx(f, abs=1e-6) and abs(f) > 1e-4
    p, p_fd = numbers_after(out, "pressure analytic", 2)
    assert p_fd == pytest.approx(p, abs=1e-7)
    assert abs(float(out.split("total energy drift")[1].split()[0])) < 1.0    # meV/atom


def test_repulsion_si_pushes_atoms_apart_and_survives_hot_md(tmp_path):
    out = run_script("examples/repulsion_si.py", "--steps", "12", "--plot", "rep.png",
                     cwd=tmp_path)
    closest = numbers_after(out, "0.20 ", 6)            # E and force of the three columns
    e_zbl, f_zbl, e_sw, f_sw = closest[0], closest[1], closest[4], closest[5]
    assert e_zbl > 1000 and f_zbl > 0 and e_sw > 1000 and f_sw > 0
    far = numbers_after(out, "2.35 ", 6)
    assert np.allclose(far[::2], 0.0)                   # the curves are E(d) - E(2.35 Å)
    for name in ("NNP + ZBL", "SW"):
        line = next(x for x in out.splitlines() if x.startswith(name + " "))
        assert line.rstrip().endswith("ok")
        assert 1.5 < float(line[len(name):].split()[0]) < 2.6     # smallest distance (Å)
    if has("matplotlib"):
        assert_png(tmp_path / "rep.png")


def test_phonons_si_gives_acoustic_zero_and_optical_frequencies_at_gamma(tmp_path):
    need("phonopy", "matscipy")
    args = ["--mesh", "3", "--plot", "ph.png"] + ([] if has("phono3py") else ["--no-kappa"])
    out = run_script("examples/phonons_si.py", *args, cwd=tmp_path)
    gamma = [line.split()[1:4] for line in out.splitlines() if line.startswith("Γ ")]
    assert len(gamma) == 6                               # branch, NNP, SW (THz)
    for branch, nnp, sw in np.array(gamma, float):
        if branch <= 3:
            assert abs(nnp) < 0.1 and abs(sw) < 0.1
        else:
            assert 17.0 < nnp < 18.7 and nnp == pytest.approx(sw, abs=0.1)   # 17.86, 17.83
    if has("phono3py"):
        kappa = numbers_after(out, "NNP  κ =")[0]
        assert np.isfinite(kappa) and kappa > 0
    if has("matplotlib"):
        assert_png(tmp_path / "ph.png")


def test_vacancy_migration_si_finds_the_inward_vacancy_and_a_barrier(tmp_path):
    need("matscipy")
    out = run_script("examples/vacancy_migration_si.py", "--smoke", "--plot", "neb.png",
                     cwd=tmp_path)
    ef_outer = numbers_after(out, "E_f bulk-terminated vacancy (eV)", 2)
    ef = numbers_after(out, "E_f inward-relaxed vacancy (eV)", 2)
    barrier = numbers_after(out, "migration barrier, climbing image (eV)", 2)
    symmetric = numbers_after(out, "E(final) - E(initial) (eV)", 2)
    for k in range(2):                                   # NNP, SW
        assert 4.0 < ef_outer[k] < 4.7 and 2.4 < ef[k] < 3.3 and ef[k] < ef_outer[k]
        assert 0.1 < barrier[k] < 1.5 and abs(symmetric[k]) < 0.05
    assert ef[1] == pytest.approx(2.87, abs=0.05)        # SW at 0.3 eV/Å
    profile = [numbers_after(out, f"{i} ", 4) for i in range(3)]
    assert profile[0][1] == 0 and profile[1][1] == pytest.approx(barrier[0], abs=1e-3)
    if has("matplotlib"):
        assert_png(tmp_path / "neb.png")


def test_make_cuau_data_writes_emt_labelled_cells(tmp_path):
    from ase.calculators.emt import EMT
    from ase.io import read
    out = run_script("examples/make_cuau_data.py", "--runs", "1", cwd=tmp_path)
    assert "wrote cuau_train.extxyz and cuau_test.extxyz" in out
    train, test = (read(tmp_path / f"cuau_{k}.extxyz", ":") for k in ("train", "test"))
    assert len(train) == 10 and len(test) == 10
    for atoms in train + test:
        assert len(atoms) == 32 and 0.25 <= np.mean(atoms.symbols == "Au") <= 0.5
        assert atoms.get_forces().shape == (32, 3) and atoms.get_stress().shape == (6,)
    atoms = test[-1]
    e, f = atoms.get_potential_energy(), atoms.get_forces()
    atoms.calc = EMT()                                   # the labels belong to the positions
    assert atoms.get_potential_energy() == pytest.approx(e, abs=1e-8)
    assert np.allclose(atoms.get_forces(), f, atol=1e-8)


def test_markdown_rows_reads_tables():
    assert markdown_rows("x\n| a | b |\n|---|---|\n| 1 | 2 |\n") == [["a", "b"], ["1", "2"]]
