"""Reference data in: any ``ase.io``-readable source, validated before training.

n2p2 / RuNNer structure files (:func:`is_input_data`: a file named ``input.data``, a
``*.data`` file whose first line with content is ``begin``, or one that ase.io would read
as RuNNer's) are read by :func:`ase_nnp.interop.n2p2.read_input_data` in the ``units``
given (``[data] units``, ``ase-nnp evaluate/init --units``; default "angstrom-ev"), never by
ase.io's ``runnerdata`` reader, which assumes Bohr and Hartree. Such files do not say
their units; every other format ase.io reads carries its own.

Each structure needs an energy; forces, stress and per-atom energies are used
where present and *masked* where absent (never filled with zeros). Every
problem is reported with its file and index, and nothing is dropped silently:
``summarize`` says what was read and which properties will be fitted.

Weights: a structure's weight w_f is ``atoms.info["weight"]`` (default 1; a
finite number >= 0, 0 leaves it out of the loss) times the factor of its group
``atoms.info["config_type"]`` in ``[loss] group_weights`` (:func:`apply_group_weights`);
per-atom force weights w_a come from ``atoms.arrays["force_weight"]`` (default 1).
How the loss uses them: :mod:`ase_nnp.training.loss`.
"""

import bz2
import dataclasses
import gzip
import io
import lzma
import os
from dataclasses import dataclass, field

import numpy as np

from ..elements import symbol
from ..exceptions import DatasetError  # noqa: F401  (raised here; defined with the others)
from .frameset import FrameSet


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
    weight: float = 1.0             # w_f: info["weight"] times the group factor
    force_weight: np.ndarray = None  # w_a per atom (None: all 1)

    @property
    def where(self):
        return f"{self.source}[{self.index}]"


def labelled_atoms(refs):
    """Each :class:`Reference` as a copy of its Atoms carrying its labels (energy, forces,
    stress in Voigt order) in a SinglePointCalculator: what :func:`ase_nnp.calibrate`
    and the ASE world read."""
    from ase.calculators.singlepoint import SinglePointCalculator
    from ase.stress import full_3x3_to_voigt_6_stress
    frames = []
    for r in refs:
        atoms = r.atoms.copy()
        labels = {"energy": r.energy}
        if r.forces is not None:
            labels["forces"] = r.forces
        if r.stress is not None:
            labels["stress"] = full_3x3_to_voigt_6_stress(r.stress)
        atoms.calc = SinglePointCalculator(atoms, **labels)
        frames.append(atoms)
    return frames


def read(sources, index=":", units="angstrom-ev", stress_order=None):
    """Read every structure of one or several files (or take Atoms objects as they are;
    an Atoms is named ``<Atoms>[k]``, k its position in ``sources``). ``units``: those of
    the n2p2 / RuNNer structure files among them ("angstrom-ev" or "bohr-hartree"; see
    the module docstring); other formats carry their own. ``stress_order``: the
    components that the six stress values as read (ASE's Voigt order xx yy zz yz xz xy)
    really are, e.g. "xx yy zz xz yz xy" for files whose converter exchanged yz and xz
    (``[data] stress_order``, :mod:`ase_nnp.training.stress_check`); None or ASE's own
    order leaves them as read."""
    from ..exceptions import ConfigError, NNPError
    from ..interop.n2p2 import read_input_data, resolve_units
    from .stress_check import VOIGT, parse_stress_order, reorder
    unit = resolve_units(units=units)        # an unknown name fails before any reading
    order = VOIGT
    if stress_order is not None:
        try:
            order = parse_stress_order(stress_order)
        except ValueError as err:
            raise ConfigError(str(err)) from None
    if isinstance(sources, (str, bytes, os.PathLike)) or hasattr(sources, "positions"):
        sources = [sources]
    refs = []
    for position, src in enumerate(sources):
        first = 0
        if hasattr(src, "positions"):
            images, name, first = [src], "<Atoms>", position
        else:
            name = os.fsdecode(src) if isinstance(src, bytes) else str(src)
            n2p2 = False
            try:
                n2p2 = is_input_data(name)
                images = (read_input_data(name, units=unit, index=index) if n2p2
                          else _read_file(name, index))
            except FileNotFoundError:
                raise DatasetError(f"{name}: no such file") from None
            except NNPError:          # names the file, the line and the problem itself
                raise
            except Exception as err:  # ase.io raises many types for unreadable files
                reader = "the n2p2 reader" if n2p2 else "ase.io"
                raise DatasetError(f"{name}: {reader} cannot read it ({type(err).__name__}: "
                                   f"{err})") from None
            if not isinstance(images, list):
                images = [images]
            if not n2p2:
                _db_key_value_pairs(name, index, images)
        for k, atoms in enumerate(images):
            refs.append(_reference(atoms, name, first + k))
    if not refs:
        raise DatasetError("no structures were read")
    if order != VOIGT:
        for r in refs:
            if r.stress is not None:
                r.stress = reorder(r.stress, order)
    return refs


#: the compressions ase.io opens itself, by suffix
_OPENERS = {".gz": gzip.open, ".bz2": bz2.open, ".xz": lzma.open}


def is_input_data(name):
    """Whether the file ``name`` is an n2p2 / RuNNer structure file: named ``input.data``,
    or ``*.data`` with ``begin`` as the first word of its first line with content (both
    also compressed: .gz, .bz2, .xz), or any file ase.io would read as ``runnerdata``
    (whose reader assumes Bohr and Hartree; ase.io takes every ``*.data`` for one, so a
    ``*.data`` file that is not n2p2's gets the n2p2 reader's error naming its first
    line rather than ase.io's guess)."""
    base = os.path.basename(name)
    stem, ext = os.path.splitext(base)
    opener = _OPENERS.get(ext.lower())
    if opener is not None:
        base = stem
    if base == "input.data":
        return True
    if base.lower().endswith(".data") and os.path.isfile(name):
        try:
            with (opener or open)(name, "rt", encoding="utf-8", errors="replace") as fh:
                for _, line in zip(range(10000), fh):
                    words = line.split()
                    if words and words[0][0] not in "#!":     # RuNNer's comment lines
                        if words[0] == "begin":
                            return True
                        break
        except (OSError, EOFError):     # unreadable: let the reader say why
            return False
    try:
        from ase.io.formats import filetype
        return filetype(name, read=True) == "runnerdata"
    except Exception:       # not a file ase.io recognises: ase.io will say so
        return False


def read_structures(name, index=":", units="angstrom-ev"):
    """``ase.io.read(name, index)`` for a structure file, except that an n2p2 / RuNNer
    structure file (:func:`is_input_data`) is read by
    :func:`~ase_nnp.interop.n2p2.read_input_data` in ``units``, and a compressed extxyz
    is decompressed into memory first (:func:`_read_file`)."""
    name = os.fspath(name)
    if is_input_data(name):
        from ..interop.n2p2 import read_input_data
        return read_input_data(name, units=units, index=index)
    return _read_file(name, index)


def _read_file(name, index):
    """``ase.io.read(name, index)``; a compressed (ext)xyz file is decompressed into
    memory first. ase.io's extxyz reader seeks back to the start of every frame, and a
    seek backwards in a compressed stream decompresses it again from the beginning: the
    1,679 structures of the shipped Si data took 120 s to read that way, against 1 s now.
    Other formats go to ase.io as they are."""
    from ase.io import read as ase_read
    opener = _OPENERS.get(os.path.splitext(name)[1].lower())
    if opener is None or not os.path.isfile(name):
        return ase_read(name, index=index)
    from ase.io.formats import filetype
    fmt = filetype(name, read=True)
    if fmt not in ("extxyz", "xyz"):
        return ase_read(name, index=index)
    with opener(name, "rt") as fh:
        text = io.StringIO(fh.read())
    return ase_read(text, index=index, format=fmt)


def _db_key_value_pairs(name, index, images):
    """An ase.db file: ase.io drops the rows' key-value pairs; put them into each
    structure's ``info`` (without overriding what is there), so that ``config_type``,
    ``weight`` and any ``--group`` key stored in a database work as in an extxyz file."""
    from ase.io.formats import filetype, string2index
    try:
        if filetype(name, read=False) != "db":
            return
    except Exception:       # not a recognisable file name: nothing to add
        return
    from ase.db import connect
    pairs = [row.key_value_pairs for row in connect(name).select()]
    chosen = pairs[string2index(index)] if isinstance(index, str) else pairs[index]
    if isinstance(chosen, dict):
        chosen = [chosen]
    if len(chosen) != len(images):
        return
    for atoms, kvp in zip(images, chosen):
        for key, value in kvp.items():
            atoms.info.setdefault(key, value)


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
                    stress, None if energies is None else np.asarray(energies, dtype=np.float64),
                    _weight(atoms, where), _force_weight(atoms, where))
    for name, value in (("energy", ref.energy), ("forces", ref.forces), ("stress", ref.stress),
                        ("per-atom energies", ref.energies), ("positions", atoms.positions)):
        if value is not None and not np.all(np.isfinite(value)):
            raise DatasetError(f"{where}: {name} contain NaN or infinite values")
    if ref.forces is not None and ref.forces.shape != (len(atoms), 3):
        raise DatasetError(f"{where}: forces have shape {ref.forces.shape}, expected {(len(atoms), 3)}")
    return ref


def _is_weight(value):
    return isinstance(value, (int, float)) and not isinstance(value, bool) and \
        np.isfinite(value) and value >= 0


def _weight(atoms, where):
    """atoms.info["weight"] (default 1), checked."""
    value = atoms.info.get("weight", 1.0)
    if isinstance(value, (np.ndarray, np.generic)) and np.shape(value) == ():
        value = value.item()         # extxyz reads numbers as numpy scalars
    if not _is_weight(value):
        raise DatasetError(f"{where}: info['weight'] = {value!r} is not allowed; a structure "
                           "weight must be a finite number >= 0 (0 leaves the structure out)")
    return float(value)


def _force_weight(atoms, where):
    """atoms.arrays["force_weight"] (None when absent), checked."""
    if "force_weight" not in atoms.arrays:
        return None
    value = atoms.arrays["force_weight"]
    if value.dtype.kind not in "iuf" or value.shape != (len(atoms),):
        raise DatasetError(f"{where}: arrays['force_weight'] must hold one number per atom, "
                           f"shape ({len(atoms)},); it has dtype {value.dtype}, shape {value.shape}")
    value = np.asarray(value, dtype=np.float64)
    if not np.all(np.isfinite(value) & (value >= 0)):
        raise DatasetError(f"{where}: arrays['force_weight'] holds negative, NaN or infinite "
                           "values; per-atom force weights must be finite numbers >= 0")
    return value


def group_of(ref):
    """The structure's group: ``atoms.info["config_type"]`` as text (None without one)."""
    group = ref.atoms.info.get("config_type")
    return None if group is None else str(group)


def apply_group_weights(refs, group_weights):
    """References with w_f multiplied by the factor of their group (``group_weights``:
    config_type -> factor; structures of other groups keep their weight). A group
    that no structure has is a DatasetError listing the groups there are."""
    if not group_weights:
        return list(refs)
    present = {group_of(r) for r in refs}
    missing = sorted(set(group_weights) - present)
    if missing:
        names = sorted(g for g in present if g is not None)
        raise DatasetError(f"[loss] group_weights names the group(s) {missing}, but no structure "
                           f"has that info['config_type']; the groups in the data are "
                           f"{names or 'none (no structure has a config_type)'}")
    return [r if group_of(r) not in group_weights else
            dataclasses.replace(r, weight=r.weight * float(group_weights[group_of(r)]))
            for r in refs]


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
    if not any(r.weight > 0 for r in refs):
        raise DatasetError("every structure has weight 0 (info['weight'] times its group "
                           "weight): nothing to fit; give some structures a weight > 0")
    if weights.forces > 0 and s.with_forces == 0:
        raise DatasetError("the dataset has no forces but the force weight is "
                           f"{weights.forces}; provide forces or set the force weight to 0")
    if weights.stress > 0 and s.with_stress == 0:
        raise DatasetError("the dataset has no stress but the stress weight is "
                           f"{weights.stress}; provide stresses or set the stress weight to 0")


def frames(descriptor, refs, jacobian_limit=None):
    """A :class:`~ase_nnp.training.frameset.FrameSet` (neighbour lists, G and dG/dD
    computed once; dG/dD only up to ``jacobian_limit`` bytes) of the references."""
    check_elements(refs, descriptor.elements)
    return FrameSet.from_references(descriptor, refs, jacobian_limit)
