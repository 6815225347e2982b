"""Reference data in: any ``ase.io``-readable source, validated before training.

Each structure needs an energy; forces, stress and per-atom energies are used
where present and *masked* where absent (never filled with zeros). Every
problem is reported with its file and index, and nothing is dropped silently:
``summarize`` says what was read and which properties will be fitted.
"""

import os
from dataclasses import dataclass, field

import numpy as np

from ..elements import symbol
from ..errors import DatasetError  # noqa: F401  (raised here; defined with the others)


@dataclass
class Reference:
    """One structure and its reference properties, with where it came from."""
    atoms: object
    source: str
    index: int
    energy: float
    forces: np.ndarray = None
    stress: np.ndarray = None       # (3, 3), ASE sign
    energies: np.ndarray = None     # per-atom energies, if the reference has them

    @property
    def where(self):
        return f"{self.source}[{self.index}]"


def read(sources, index=":"):
    """Read every structure of one or several files (or take Atoms objects as they are)."""
    from ase.io import read as ase_read
    if isinstance(sources, (str, bytes, os.PathLike)) or hasattr(sources, "positions"):
        sources = [sources]
    refs = []
    for src in sources:
        if hasattr(src, "positions"):
            images, name = [src], "<Atoms>"
        else:
            name = str(src)
            try:
                images = ase_read(name, index=index)
            except FileNotFoundError:
                raise DatasetError(f"{name}: no such file") from None
            except Exception as err:  # ase.io raises many types for unreadable files
                raise DatasetError(f"{name}: ase.io cannot read it ({type(err).__name__}: {err})") from None
            if not isinstance(images, list):
                images = [images]
        for k, atoms in enumerate(images):
            refs.append(_reference(atoms, name, k))
    if not refs:
        raise DatasetError("no structures were read")
    return refs


def _reference(atoms, source, index):
    where = f"{source}[{index}]"
    results = getattr(atoms.calc, "results", {}) if atoms.calc is not None else {}
    if "energy" not in results and "free_energy" not in results:
        raise DatasetError(f"{where}: no reference energy; every structure needs one "
                           "(forces and stress are optional)")
    energy = float(results.get("energy", results.get("free_energy")))
    forces = results.get("forces")
    stress = results.get("stress")
    energies = results.get("energies")
    if stress is not None:
        stress = np.asarray(stress, dtype=np.float64)
        if stress.shape == (6,):
            from ase.stress import voigt_6_to_full_3x3_stress
            stress = voigt_6_to_full_3x3_stress(stress)
        if not np.all(atoms.pbc):
            raise DatasetError(f"{where}: has a stress but is not periodic in all directions")
    ref = Reference(atoms, source, index, energy,
                    None if forces is None else np.asarray(forces, dtype=np.float64),
                    stress, None if energies is None else np.asarray(energies, dtype=np.float64))
    for name, value in (("energy", ref.energy), ("forces", ref.forces), ("stress", ref.stress),
                        ("per-atom energies", ref.energies), ("positions", atoms.positions)):
        if value is not None and not np.all(np.isfinite(value)):
            raise DatasetError(f"{where}: {name} contain NaN or infinite values")
    if ref.forces is not None and ref.forces.shape != (len(atoms), 3):
        raise DatasetError(f"{where}: forces have shape {ref.forces.shape}, expected {(len(atoms), 3)}")
    return ref


def check_elements(refs, elements):
    """Every element in the data must have a network."""
    known = set(elements)
    for ref in refs:
        present = {symbol(z) for z in set(ref.atoms.numbers.tolist())}
        if present - known:
            raise DatasetError(f"{ref.where}: contains {sorted(present - known)}, which the "
                               f"potential does not cover (elements {list(elements)})")


@dataclass
class Summary:
    n_frames: int
    n_atoms: int
    atoms_per_element: dict
    with_forces: int
    with_stress: int
    with_atomic_energies: int
    sources: list = field(default_factory=list)

    def __str__(self):
        return (f"{self.n_frames} structures, {self.n_atoms} atoms {self.atoms_per_element}; "
                f"forces in {self.with_forces}, stress in {self.with_stress}, per-atom energies "
                f"in {self.with_atomic_energies}; from {', '.join(self.sources)}")


def summarize(refs):
    counts = {}
    for ref in refs:
        for z in ref.atoms.numbers:
            counts[symbol(z)] = counts.get(symbol(z), 0) + 1
    return Summary(len(refs), sum(len(r.atoms) for r in refs), counts,
                   sum(r.forces is not None for r in refs), sum(r.stress is not None for r in refs),
                   sum(r.energies is not None for r in refs),
                   sorted({r.source for r in refs}))


def check_weights(refs, weights):
    """A loss term with weight > 0 needs at least one structure with that reference."""
    s = summarize(refs)
    if weights.forces > 0 and s.with_forces == 0:
        raise DatasetError("the dataset has no forces but the force weight is "
                           f"{weights.forces}; provide forces or set the force weight to 0")
    if weights.stress > 0 and s.with_stress == 0:
        raise DatasetError("the dataset has no stress but the stress weight is "
                           f"{weights.stress}; provide stresses or set the stress weight to 0")


def frames(descriptor, refs):
    """A :class:`~ase_nnp.training.frameset.FrameSet` (neighbour lists, G and dG/dD
    computed once) of the references."""
    from .frameset import FrameSet
    check_elements(refs, descriptor.elements)
    return FrameSet.from_references(descriptor, refs)
