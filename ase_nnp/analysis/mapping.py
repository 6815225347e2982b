r"""Atomic-energy mapping: is the atomic energy the network learned the physical one?

A potential is fitted to total energies E_tot = Σ_i E_at(G_i), but what it is used for
— and what makes it transferable — is the atomic-energy function E_at^NN(G) itself.
Yoo, Lee, Jeong, Watanabe and Han (Phys. Rev. Materials 3, 093802 (2019)) show that a
fit can reproduce total energies to 1 meV/atom while E_at^NN is off by 100 meV/atom
("ad hoc mapping": offsets that cancel inside every training structure), and how to see
it. This module gives their two probes.

**Invariant points.** In a structure whose atoms are all equivalent (one element, every
descriptor row G_i the same) the reference atomic energy is known exactly,
E_at^ref = E_ref / N, and so is the network's, E_at^NN = E_NN / N. The mapping error
at such a point is

    ΔE_at = E_at^NN − E_ref / N            (eV/atom).

With several elements, a crystal whose atoms of each element are equivalent (rocksalt,
L1_2 Cu3Au) is a multicomponent invariant point: each species has one E_at^NN there, and
E_ref/N is their composition-weighted mean (:mod:`ase_nnp.analysis.species`).
Crystals with one atom per primitive cell (fcc, bcc, sc) are invariant points under any
homogeneous strain; so are diamond and hcp, whose two atoms are related by inversion,
which a homogeneous strain keeps. :func:`invariant_points` strains a prototype cell
(hydrostatically for the equation of state, uniaxially, in shear) without relaxing
internal coordinates; :func:`check_invariant` verifies, with the potential's own
descriptor, that every atom's G_i agrees to ``tolerance`` (relative to the largest
|G| of the column) and raises :class:`NotInvariantError` naming the atom otherwise.

**Regional mapping errors** (their Fig. 2). In a structure with a bulk-like region
(the inside of a slab) whose atoms are close to the crystal at the same volume, the
reference atomic energy of the bulk atoms is taken as the crystal's,
E_at^ref(bulk) = E_ref(crystal) / N_crystal, and the mean reference atomic energy of
the remaining N_s "surface" atoms follows from the total:
E_at^ref(surface) = [E_ref − N_b E_at^ref(bulk)] / N_s. Then

    ΔĒ_at(bulk)    = (1/N_b) Σ_{i∈bulk} E_i^NN − E_at^ref(bulk),
    ΔĒ_at(surface) = (1/N_s) Σ_{i∈surface} E_i^NN − E_at^ref(surface),

so N_b ΔĒ_at(bulk) + N_s ΔĒ_at(surface) = E_NN − E_ref: a potential with an exact total
energy can still have large, opposite regional errors. The bulk atoms are given, or
chosen as the atoms whose network input (the scaled descriptor the network sees,
x = s_min + k ⊙ (G − G_0), columns spanning about [−1, 1] over the training data) lies
within ``tolerance`` (Euclidean) of the crystal's.

**The true error.** Where the reference defines atomic energies itself (an empirical
potential such as Stillinger–Weber or EAM, through ASE's ``get_potential_energies``)
:func:`atomic_energy_errors` gives E_i^NN − E_i^ref directly; the proxies above can
then be judged against it. The partition of an empirical potential is one exact
partition of the total energy into functions of each atom's environment; a network with
the same cutoff can represent it exactly, so a residual is a mapping error, not a
convention.

``potential``, everywhere: a :class:`~ase_nnp.Potential`, an
:class:`~ase_nnp.committee.Ensemble` (its mean, with the members' spread σ) or a path to
a model file. ``reference``: an ASE calculator, or ``None`` to use the energies stored
with the structures (e.g. read from an extxyz file); :func:`mapping_errors` also takes an
array of reference total energies.
"""

from typing import NamedTuple

import numpy as np

from ..exceptions import NNPError
from ..committee import Ensemble, load
from ..potential import Potential

#: volume ratios V/V_0 of the "eos" strain set (homogeneous, unrelaxed)
EOS_VOLUME_RATIOS = tuple(np.round(np.linspace(0.85, 1.15, 13), 4))
#: strains ε of the "uniaxial" (ε_xx) and "shear" (ε_xy = ε_yx) sets
UNIAXIAL_STRAINS = (-0.03, -0.02, -0.01, 0.01, 0.02, 0.03)
SHEAR_STRAINS = (-0.03, -0.02, -0.01, 0.01, 0.02, 0.03)
STRAIN_SETS = ("eos", "uniaxial", "shear", "all")


class NotInvariantError(NNPError, ValueError):
    """A structure given as an invariant point has inequivalent atoms (or more than one
    element), so E_tot / N is not the atomic energy of any atom."""


class MappingErrors(NamedTuple):
    """Per structure (eV/atom): ``error`` = E_at^NN − E_ref/N, the network's ``nn`` and
    the reference's ``reference`` atomic energy, ``std`` (the ensemble members' σ of
    E_at^NN; None for a single potential), ``volume`` (Å³/atom; NaN without full
    periodicity) and ``label`` (``info["invariant"]`` or the index)."""
    error: np.ndarray
    nn: np.ndarray
    reference: np.ndarray
    std: np.ndarray
    volume: np.ndarray
    label: list


class RegionalErrors(NamedTuple):
    """Regional mapping errors of one structure (eV/atom; module docstring):
    ``bulk``, ``surface`` = ΔĒ_at(bulk), ΔĒ_at(surface); ``bulk_atoms`` (bool mask);
    ``crystal`` = E_at^ref(bulk); ``true_bulk``, ``true_surface`` the same means of
    E_i^NN − E_i^ref with the reference's own atomic energies, and ``true_rmse`` their
    RMS over all atoms (NaN where the reference has no atomic energies)."""
    bulk: float
    surface: float
    n_bulk: int
    n_surface: int
    bulk_atoms: np.ndarray
    crystal: float
    true_bulk: float
    true_surface: float
    true_rmse: float


class AtomicEnergyErrors(NamedTuple):
    """E_i^NN − E_i^ref of every atom of every structure (eV), concatenated, with the
    structure index of each atom, and their RMS (eV)."""
    error: np.ndarray
    structure: np.ndarray
    rmse: float


# ------------------------------------------------------------------ structures
def _strains(strains):
    """(label, 3×3 deformation gradient) of a strain set name or an iterable of 3×3."""
    if isinstance(strains, str):
        if strains not in STRAIN_SETS:
            raise ValueError(f"unknown strain set {strains!r}; use one of {STRAIN_SETS} or "
                             "give a list of 3x3 deformation gradients")
        out = []
        if strains in ("eos", "all"):
            for v in EOS_VOLUME_RATIOS:
                out.append((f"eos_{v:.4g}", np.eye(3) * v ** (1.0 / 3.0)))
        if strains in ("uniaxial", "all"):
            for e in UNIAXIAL_STRAINS:
                F = np.eye(3)
                F[0, 0] += e
                out.append((f"uniaxial_{e:+.3g}", F))
        if strains in ("shear", "all"):
            for e in SHEAR_STRAINS:
                F = np.eye(3)
                F[0, 1] = F[1, 0] = e
                out.append((f"shear_{e:+.3g}", F))
        return out
    out = []
    for k, F in enumerate(strains):
        F = np.asarray(F, dtype=np.float64)
        if F.shape != (3, 3) or not np.all(np.isfinite(F)) or np.linalg.det(F) <= 0:
            raise ValueError(f"strain {k} must be a finite 3x3 deformation gradient with a "
                             f"positive determinant, got {F.tolist()}")
        out.append((f"strain_{k}", F))
    return out


def invariant_points(crystal, strains="eos"):
    """Copies of ``crystal`` (an ASE Atoms, e.g. ``ase.build.bulk("Si", "diamond",
    a=5.431)``) deformed homogeneously, atoms moved with the cell: r' = r F^T, cell' =
    cell F^T. ``strains``: ``"eos"`` (volume ratios :data:`EOS_VOLUME_RATIOS`),
    ``"uniaxial"`` (ε_xx in :data:`UNIAXIAL_STRAINS`), ``"shear"`` (ε_xy),
    ``"all"``, or a list of 3×3 deformation gradients F. Each copy carries
    ``info["invariant"]`` (a label) and ``info["volume_ratio"]``. The equivalence of the
    atoms is checked against a descriptor by :func:`check_invariant`.
    A crystal of several elements whose atoms of each element are equivalent (rocksalt,
    zincblende, L1_2 Cu3Au) is a multicomponent invariant point: E_ref/N is then the
    composition-weighted mean of the per-species atomic energies
    (:mod:`ase_nnp.analysis.species` separates them)."""
    if not crystal.pbc.all():
        raise NotInvariantError("the crystal must be periodic in all three directions")
    out = []
    v0 = crystal.get_volume()
    for label, F in _strains(strains):
        a = crystal.copy()
        a.calc = None
        a.set_cell(crystal.cell.array @ F.T, scale_atoms=True)
        a.info["invariant"] = label
        a.info["volume_ratio"] = float(a.get_volume() / v0)
        out.append(a)
    return out


def first_member(potential):
    """The potential itself, or an ensemble's first member (whose descriptor all share
    and whose input scaling stands for the ensemble's in the distance measures)."""
    return potential.members[0] if hasattr(potential, "members") else potential


def _descriptor_rows(potential, atoms):
    """(G, species) of ``atoms`` under the potential's descriptor, through its own
    :meth:`~ase_nnp.Potential.prepare` (the structure checks and neighbour list)."""
    member = first_member(potential)
    st = member.prepare(atoms.positions, atoms.numbers, atoms.cell.array, atoms.pbc)
    return member.descriptor.forward(st.nl, st.species), st.species


def crystal(element, crystalstructure="", a=0.0):
    """``ase.build.bulk(element, crystalstructure, a=a)``, ASE's reference state and
    lattice constant where those are empty/0; ValueError (ASE's reason) when ASE cannot
    build it."""
    from ase.build import bulk
    kw = {}
    if crystalstructure:
        kw["crystalstructure"] = crystalstructure
    if a:
        kw["a"] = a
    try:
        return bulk(element, **kw)
    except (ValueError, KeyError, RuntimeError) as err:
        raise ValueError(f"cannot build the {element} crystal ({err})") from None


def check_invariant(potential, atoms, tolerance=1e-8):
    """Raise :class:`NotInvariantError` unless every atom of ``atoms`` has the same
    descriptor row under ``potential``'s descriptor as the first atom of its element:
    |G_ik − G_{0(i)k}| ≤ tolerance · max(max_j |G_jk|, 1e-12) for every column k, 0(i) the
    first atom of i's element, the maximum over that element's atoms. With one element
    this is Yoo et al.'s invariant point (E_at = E_tot/N); with several, every species has
    one atomic energy there (a multicomponent invariant point). Returns the largest
    relative deviation found."""
    pot = load_potential(potential)
    G, species = _descriptor_rows(pot, atoms)
    dev = np.zeros_like(G)
    first = np.zeros(len(G), dtype=np.int64)
    for s in np.unique(species):
        idx = np.flatnonzero(species == s)
        first[idx] = idx[0]
        scale = np.maximum(np.abs(G[idx]).max(axis=0), 1e-12)
        dev[idx] = np.abs(G[idx] - G[idx[0]]) / scale
    worst = float(dev.max()) if dev.size else 0.0
    if worst > tolerance:
        i, k = np.unravel_index(int(np.argmax(dev)), dev.shape)
        raise NotInvariantError(
            f"atom {i} differs from atom {first[i]} (the first of its element) in descriptor "
            f"column {k} by {worst:.3g} (relative; "
            f"tolerance {tolerance:g}): the atoms are not equivalent, so E_tot/N is not an "
            "atomic energy. Use a cell whose atoms of each element are all equivalent (a "
            "Bravais lattice, diamond/hcp, rocksalt under homogeneous strain, internal "
            "coordinates unrelaxed)")
    return worst


# ------------------------------------------------------------------ evaluation
def load_potential(potential):
    """A Potential or Ensemble as given, or the model file at a path as what it holds."""
    if isinstance(potential, (Potential, Ensemble)):
        return potential
    return load(potential)


def _evaluate(pot, atoms):
    """(per-atom energies, their ensemble σ or None, members' total energies or None)."""
    res = pot.evaluate(atoms.positions, atoms.numbers, atoms.cell.array, atoms.pbc,
                       forces=False, stress=False)
    return res.energies, getattr(res, "energies_std", None), getattr(res, "members_energy", None)


def _stored(atoms, name, k):
    calc = atoms.calc
    results = getattr(calc, "results", None) or {}
    if name not in results:
        raise ValueError(f"structure {k} has no stored {name!r}: give a reference calculator "
                         "or structures that carry reference results (extxyz, ase.db)")
    return np.asarray(results[name], dtype=np.float64)


def reference_energy(atoms, reference, k=0):
    """The reference total energy (eV) of ``atoms``: ``reference`` (an ASE calculator) on a
    copy, or with None the energy stored with the structure (structure ``k`` in errors)."""
    if reference is None:
        return float(_stored(atoms, "energy", k))
    a = atoms.copy()
    a.calc = reference
    return float(a.get_potential_energy())


def _reference_atomic_energies(atoms, reference, k):
    """The reference's per-atom energies, or None where it has none."""
    from ase.calculators.calculator import PropertyNotImplementedError
    if reference is None:
        results = getattr(atoms.calc, "results", None) or {}
        return np.asarray(results["energies"], dtype=np.float64) if "energies" in results else None
    a = atoms.copy()
    a.calc = reference
    try:
        return np.asarray(a.get_potential_energies(), dtype=np.float64)
    except (PropertyNotImplementedError, NotImplementedError):
        return None


def mapping_table(potential, structures, reference=None, tolerance=1e-8):
    """:class:`MappingErrors` at the invariant points ``structures`` (each checked by
    :func:`check_invariant`). ``reference``: an ASE calculator, an array of reference
    total energies (eV, one per structure), or None for the stored energies."""
    pot = load_potential(potential)
    structures = list(structures)
    if reference is not None and not hasattr(reference, "get_potential_energy"):
        ref_total = np.asarray(reference, dtype=np.float64).reshape(-1)
        if len(ref_total) != len(structures):
            raise ValueError(f"{len(ref_total)} reference energies for {len(structures)} "
                             "structures; give one total energy (eV) per structure")
    else:
        ref_total = np.array([reference_energy(a, reference, k)
                              for k, a in enumerate(structures)])
    n = len(structures)
    nn, ref, std, vol = np.empty(n), np.empty(n), None, np.full(n, np.nan)
    labels = []
    for k, atoms in enumerate(structures):
        check_invariant(pot, atoms, tolerance)
        E, _, members = _evaluate(pot, atoms)
        N = len(atoms)
        nn[k] = E.sum() / N
        ref[k] = ref_total[k] / N
        if members is not None:
            std = np.zeros(n) if std is None else std
            std[k] = float(np.std(np.asarray(members) / N))
        if atoms.pbc.all():
            vol[k] = atoms.get_volume() / N
        labels.append(str(atoms.info.get("invariant", k)))
    return MappingErrors(nn - ref, nn, ref, std, vol, labels)


def mapping_errors(potential, structures, reference=None, tolerance=1e-8):
    """E_at^NN − E_ref/N (eV/atom) at each invariant point (module docstring); the
    full table with σ and volumes is :func:`mapping_table`."""
    return mapping_table(potential, structures, reference, tolerance).error


def network_inputs(potential, atoms):
    """The scaled descriptor rows x_i the network of each atom sees ((n, n_features);
    the first member's scaling for an ensemble)."""
    pot = load_potential(potential)
    member = first_member(pot)
    G, species = _descriptor_rows(member, atoms)
    x = np.zeros_like(G)
    for e, (idx, xe) in member.network_inputs(G, species).items():
        x[idx, :xe.shape[1]] = xe
    return x


def bulk_atoms(potential, atoms, crystal, tolerance=0.1):
    """Mask of the atoms whose network input lies within ``tolerance`` (Euclidean, in
    the scaled inputs) of the crystal's (its atom 0; ``crystal`` must be an invariant
    point of the same element)."""
    x = network_inputs(potential, atoms)
    x0 = network_inputs(potential, crystal)[0]
    return np.linalg.norm(x - x0, axis=1) <= tolerance


class RegionalReference(NamedTuple):
    """The regions of a structure and their reference atomic energies (eV/atom; module
    docstring): ``bulk_atoms`` (bool mask), ``bulk`` = E_at^ref(bulk) (the crystal's),
    ``surface`` = E_at^ref(surface)."""
    bulk_atoms: np.ndarray
    bulk: float
    surface: float


def regional_reference(potential, atoms, crystal, reference=None, bulk=None, tolerance=0.1):
    """:class:`RegionalReference` of ``atoms`` against ``crystal`` (the invariant point at
    the bulk region's volume, checked). ``bulk``: a boolean mask or indices of the bulk
    atoms; by default the per-atom array ``atoms.arrays["bulk"]`` (e.g. a column of an
    extxyz file) when there is one, else :func:`bulk_atoms` with ``tolerance``. Both
    regions must be non-empty."""
    pot = load_potential(potential)
    check_invariant(pot, crystal)
    n = len(atoms)
    if bulk is None and "bulk" in atoms.arrays:
        bulk = atoms.arrays["bulk"].astype(bool)
    if bulk is None:
        mask = bulk_atoms(pot, atoms, crystal, tolerance)
    else:
        bulk = np.asarray(bulk)
        mask = bulk.astype(bool) if bulk.dtype == bool else np.isin(np.arange(n), bulk)
        if mask.shape != (n,):
            raise ValueError(f"bulk: a mask of {n} atoms or atom indices, got shape {bulk.shape}")
    n_b = int(mask.sum())
    if n_b == 0 or n_b == n:
        raise ValueError(f"{n_b} of {n} atoms are bulk: both regions need atoms. Mark the "
                         "bulk atoms (bulk=, or a per-atom 'bulk' column) or change the "
                         f"tolerance (now {tolerance:g}; the atoms' distances to the crystal "
                         "are in network_inputs / bulk_atoms)")
    e_cryst = reference_energy(crystal, reference, "crystal") / len(crystal)
    e_tot = reference_energy(atoms, reference, 0)
    return RegionalReference(mask, e_cryst, (e_tot - n_b * e_cryst) / (n - n_b))


def regional_errors(potential, atoms, crystal, reference=None, bulk=None, tolerance=0.1):
    """:class:`RegionalErrors` of ``atoms`` (a slab, a cluster, a defect cell) against
    ``crystal``; the regions and ``bulk``/``tolerance`` as in :func:`regional_reference`."""
    pot = load_potential(potential)
    regions = regional_reference(pot, atoms, crystal, reference, bulk, tolerance)
    mask = regions.bulk_atoms
    n, n_b = len(atoms), int(mask.sum())
    E, _, _ = _evaluate(pot, atoms)
    d_bulk = float(E[mask].mean() - regions.bulk)
    d_surf = float(E[~mask].mean() - regions.surface)
    true_b = true_s = true_rms = np.nan
    ref_at = _reference_atomic_energies(atoms, reference, 0)
    if ref_at is not None:
        r = E - ref_at
        true_b, true_s = float(r[mask].mean()), float(r[~mask].mean())
        true_rms = float(np.sqrt(np.mean(r ** 2)))
    return RegionalErrors(d_bulk, d_surf, n_b, n - n_b, mask, regions.bulk, true_b, true_s,
                          true_rms)


def atomic_energy_errors(potential, structures, reference=None):
    """:class:`AtomicEnergyErrors`: E_i^NN − E_i^ref for every atom, with the
    reference's own atomic energies (a calculator with ``get_potential_energies``, or
    stored ``energies``); ValueError if the reference has none."""
    pot = load_potential(potential)
    errs, owner = [], []
    for k, atoms in enumerate(structures):
        ref_at = _reference_atomic_energies(atoms, reference, k)
        if ref_at is None:
            raise ValueError(f"structure {k}: the reference gives no per-atom energies; the "
                             "true mapping error needs a reference that defines them (an "
                             "empirical potential), otherwise use the invariant points")
        E, _, _ = _evaluate(pot, atoms)
        errs.append(E - ref_at)
        owner.append(np.full(len(atoms), k))
    e = np.concatenate(errs) if errs else np.zeros(0)
    return AtomicEnergyErrors(e, np.concatenate(owner) if owner else np.zeros(0, int),
                              float(np.sqrt(np.mean(e ** 2))) if len(e) else np.nan)
