r"""Read and write potentials in the n2p2 / RuNNer file family (2G-HDNNP, short range).

A directory holds::

    input.nn            keywords, one per line ('#' starts a comment)
    scaling.data        per element (atomic-number order) and function: element index,
                        function index (both 1-based), G_min, G_max, G_mean, G_sigma
    weights.ZZZ.data    per element (ZZZ = atomic number, 3 digits); first column read:
                        for each layer pair all weights with the source neuron in the outer
                        and the target neuron in the inner loop, then the target biases

What is covered
---------------
* symmetry functions of types 2 (radial), 3 (narrow angular) and 9 (wide angular, optional
  trailing r_s), one global ``cutoff_type`` 0-8 with optional inner fraction α;
* or the polynomial symmetry functions of types 20-25 (Bircher, Singraber and Dellago,
  Mach. Learn.: Sci. Technol. 2, 035026 (2021); :mod:`ase_nnp.descriptors.
  polynomial_symmetry_functions`) with their subtypes p1-p4, p1a-p4a, e, read into a
  ``PolynomialSymmetryFunctions`` descriptor (``cutoff_type`` is written, since n2p2
  requires it, and ignored);
* scaling keywords ``scale_symmetry_functions``, ``center_symmetry_functions`` (both
  together = n2p2's ST_SCALECENTER), ``scale_symmetry_functions_sigma``,
  ``scale_min_short``, ``scale_max_short`` (defaults 0 and 1, as in n2p2);
* ``global_hidden_layers_short``, ``global_nodes_short``, ``global_activation_short`` with
  activations l, t, s, p (identity, tanh, logistic, softplus) and a linear output;
* ``atom_energy`` per element (ase-nnp's energy offsets E⁰) and the normalisation header
  ``mean_energy``, ``conv_energy``, ``conv_length`` (all three or none);
* ``nnp_type``: 0 (released n2p2 v2.x: short range), 2 or 2G-HDNNP (n2p2 master), or none
  (both default to short range), also under n2p2's other names for it (``ALIASES``);
  ``symfunction`` for ``symfunction_short`` (n2p2 master); the training keywords of n2p2,
  with their other names, are read and ignored (``TRAINING_KEYWORDS``), since they do not
  change the model.

``write_n2p2`` writes no ``nnp_type``: released n2p2 (v2.1.1-v2.3.0, and LAMMPS'
``pair_style hdnnp`` built on it) reads ``nnp_type`` as 0 = short range, 1 = short range
+ charge network and stops at 2 with "Unknown NNP type"; n2p2 master reads 2 = 2G-HDNNP,
4 = 4G-HDNNP, 10 = Q-HDNNP and stops at 0. Leaving it out is short range in both.

Anything else — other function types (12, 13, ...), Gaussian and polynomial functions
in one potential (two descriptor families in ase-nnp), the charge types (released
``nnp_type 1``; master 4/4G-HDNNP, 10/Q-HDNNP) and their electrostatics keywords,
per-element topologies, ``normalize_nodes``, other activations, an unknown keyword, a
number that is NaN or infinite, a file that is not text — raises
:class:`~ase_nnp.exceptions.InteropError` naming file, line and keyword.

Order of the functions
----------------------
n2p2 sorts each element's functions (``Element::sortSymmetryFunctions``; comparison
operators of ``SymFncExpRad``, ``SymFncExpAngn``, ``SymFncExpAngw``) by

    radial:   type, cutoff type, α, r_c, η, r_s, e1
    angular:  type, cutoff type, α, r_c, η, r_s, ζ, λ, e1, e2        (e1 <= e2)
    20:       type, subtype, e1, r_c, r_l          (SymFncCompRad and the others
    21, 22:   type, subtype, e1, e2, r_c, r_l, θ_l, θ_r     of types 20-25)
    23:       type, subtype, r_c, r_l
    24, 25:   type, subtype, r_c, r_l, θ_l, θ_r

with elements as indices in atomic-number order, and both the network inputs and the
rows of ``scaling.data`` follow that sorted order, not the order of the lines in
input.nn. ase-nnp keeps the *line order* as its column order and permutes the first
weight matrix and the scaling rows through the sorted order when reading and writing,
so a potential written and read back has the same columns, the same first-layer rows
and therefore bit-identical energies, forces and stress.

Units
-----
n2p2 computes in whatever units its files hold; RuNNer's convention, and that of many
published potentials, is Bohr and Hartree. ``read_n2p2(..., units="bohr-hartree")``
(or ``length_unit`` / ``energy_unit``) converts to Å and eV with ASE's ``Bohr`` and
``Hartree``: η / L², r_s L, r_c L, r_l L, atom_energy U, output layer U (L Å and U eV per
file unit); symmetry-function values and hence ``scaling.data`` are dimensionless and
stay. Without a units argument a potential with a cutoff beyond 9 (as Å: no atomic
environment needs that; as Bohr: 4.8 Å, a usual cutoff) is refused with
:class:`~ase_nnp.exceptions.UnitsError` naming ``--units bohr-hartree``. ``write_n2p2``
takes the same arguments and writes either convention.

Normalisation
-------------
With the header, n2p2 evaluates in internal units (E · c_E, r · c_L) and returns
E = Σ_i [NN_i / c_E + mean_energy + atom_energy(e_i)]. Symmetry functions are
dimensionless (η r², r/r_c), so c_L changes nothing ase-nnp computes; on reading, the
output layer is divided by c_E and mean_energy is added to its bias (exact up to one
rounding). ``write_n2p2`` writes no header unless ``normalization=(mean_energy,
conv_energy, conv_length)`` is given, in which case it folds the inverse map into the
output layer.
"""

import math
import os

import numpy as np
from ase.units import Bohr, Hartree

from ..atomic import atomic_path
from ..descriptors import PolynomialSymmetryFunctions, SymmetryFunctions
from ..descriptors.symmetry_functions.cutoffs import CUTOFF_NAMES
from ..elements import ATOMIC_NUMBERS, normalize_elements
from ..exceptions import DescriptorSpecError, InputDataError, InteropError, UnitsError
from ..network import Network
from ..scaling import Scaling
from ..potential import Potential

ACTIVATION_LETTERS = {"l": "identity", "t": "tanh", "s": "logistic", "p": "softplus"}
LETTER_OF = {v: k for k, v in ACTIVATION_LETTERS.items()}
SCALING_KEYWORDS = ("scale_symmetry_functions", "center_symmetry_functions",
                    "scale_symmetry_functions_sigma")
MODEL_KEYWORDS = ("number_of_elements", "elements", "atom_energy", "cutoff_type",
                  "symfunction_short", "scale_min_short", "scale_max_short",
                  "global_hidden_layers_short", "global_nodes_short", "global_activation_short",
                  "mean_energy", "conv_energy", "conv_length", "nnp_type") + SCALING_KEYWORDS
#: n2p2 training settings: read and ignored, they do not change the model
TRAINING_KEYWORDS = (
    "random_seed", "test_fraction", "epochs", "normalize_data_set", "use_short_forces",
    "rmse_threshold", "rmse_threshold_energy", "rmse_threshold_force", "rmse_threshold_charge",
    "rmse_threshold_trials", "rmse_threshold_trials_energy", "rmse_threshold_trials_force",
    "rmse_threshold_trials_charge", "energy_fraction", "force_fraction", "force_energy_ratio",
    "charge_fraction", "use_old_weights_short", "use_old_weights_charge", "weights_min",
    "weights_max", "nguyen_widrow_weights_short", "nguyen_widrow_weights_charge",
    "precondition_weights", "main_error_metric", "write_trainpoints", "write_trainforces",
    "write_traincharges", "write_weights_epoch", "write_neuronstats", "write_trainlog",
    "repeated_energy_update", "updater_type", "parallel_mode", "jacobian_mode",
    "update_strategy", "selection_mode", "selection_mode_energy", "selection_mode_force",
    "selection_mode_charge", "task_batch_size_energy", "task_batch_size_force",
    "task_batch_size_charge", "gradient_type", "gradient_eta", "gradient_adam_eta",
    "gradient_adam_beta1", "gradient_adam_beta2", "gradient_adam_epsilon", "kalman_type",
    "kalman_epsilon", "kalman_eta", "kalman_etatau", "kalman_etamax", "kalman_q0",
    "kalman_qtau", "kalman_qmin", "kalman_lambda_short", "kalman_nue_short",
    "memorize_symfunc_results", "force_weight",
    # n2p2's other names of training keywords (Settings.cpp, v2.1.1-v2.3.0 and master)
    "short_energy_fraction", "short_force_fraction", "short_energy_error_threshold",
    "short_force_error_threshold")
#: n2p2's other names of model keywords (Settings.cpp, "Alternative keyword names"):
#: ``nn_type`` in released n2p2 v2.1.1-v2.3.0; ``nnp_generation``, ``nnp_type_gen``,
#: ``nnp_gen`` and ``symfunction`` in n2p2 master (which dropped ``nn_type``)
ALIASES = {"nn_type": "nnp_type", "nnp_generation": "nnp_type", "nnp_type_gen": "nnp_type",
           "nnp_gen": "nnp_type", "symfunction": "symfunction_short"}
#: nnp_type values: released n2p2 v2.x (enum SHORT_ONLY = 0, SHORT_CHARGE_NN = 1) and
#: n2p2 master (HDNNP_2G = 2, HDNNP_4G = 4, HDNNP_Q = 10, or the names)
SHORT_RANGE_TYPES = ("0", "2", "2G-HDNNP")
CHARGE_TYPES = {
    "1": "n2p2's short-range NNP with an additional charge network (M. Bircher's method, "
         "released n2p2 v2.x; n2p2 master calls it Q-HDNNP, 10)",
    "10": "n2p2 master's Q-HDNNP (short-range NNP with a charge network as extra input, "
          "no electrostatics)",
    "Q-HDNNP": "n2p2 master's Q-HDNNP (short-range NNP with a charge network as extra input, "
               "no electrostatics)",
    "4": "n2p2 master's 4G-HDNNP (electrostatics and non-local charge transfer; Ko, Finkler, "
         "Goedecker and Behler, Nat. Commun. 2021)",
    "4G-HDNNP": "n2p2 master's 4G-HDNNP (electrostatics and non-local charge transfer; Ko, "
                "Finkler, Goedecker and Behler, Nat. Commun. 2021)",
}
_RADIAL, _NARROW, _WIDE = 2, 3, 9
#: polynomial symmetry functions: type -> number of fields of its symfunction_short line
#: (n2p2 v2.3.0: 'e 20 e1 rl rc sub', 'e 21|22 e1 e2 rl rc al ar sub', 'e 23 rl rc sub',
#: 'e 24|25 rl rc al ar sub')
_POLY_FIELDS = {20: 6, 21: 9, 22: 9, 23: 5, 24: 7, 25: 7}

# ------------------------------------------------------------------ units
#: length units of n2p2/RuNNer files: name -> Å per unit (ASE's CODATA value of the Bohr)
LENGTH_UNITS = {"angstrom": 1.0, "bohr": Bohr}
#: energy units: name -> eV per unit (ASE's value of the Hartree)
ENERGY_UNITS = {"ev": 1.0, "hartree": Hartree}
#: the two conventions: ``units=`` / ``--units`` name -> (length unit, energy unit)
UNIT_SYSTEMS = {"angstrom-ev": ("angstrom", "ev"), "bohr-hartree": ("bohr", "hartree")}
_UNIT_SPELLINGS = {"å": "angstrom", "ang": "angstrom", "angstroem": "angstrom", "a0": "bohr",
                   "ha": "hartree", "eh": "hartree"}
#: without a units option, a potential whose largest cutoff read as Å exceeds this is
#: refused: no atomic environment needs it, while 10-12 Bohr (5.3-6.4 Å) is the usual
#: RuNNer/n2p2 cutoff in Bohr
SUSPICIOUS_CUTOFF = 9.0


class Units:
    """The units of a foreign file: ``length`` Å and ``energy`` eV per file unit.

    Conversion to ase-nnp's (Å, eV) is exact in the sense of one multiplication per
    number: a length r becomes r·L, η (length⁻²) becomes η/L², an energy E becomes E·U.
    """

    def __init__(self, length_name, length, energy_name, energy, explicit):
        self.length_name, self.length = length_name, float(length)
        self.energy_name, self.energy = energy_name, float(energy)
        self.explicit = explicit

    @property
    def name(self):
        for key, (ln, en) in UNIT_SYSTEMS.items():
            if (ln, en) == (self.length_name, self.energy_name):
                return key
        return f"{self.length_name}-{self.energy_name}"

    @property
    def identity(self):
        return self.length == 1.0 and self.energy == 1.0

    def metadata(self):
        """What the model file stores about the source units."""
        return {"source": self.name, "length": self.length_name,
                "angstrom_per_length_unit": self.length, "energy": self.energy_name,
                "ev_per_energy_unit": self.energy}


def _unit(value, table, what):
    """(name, factor) of a unit given by name (``table`` keys, case-insensitive) or as a
    positive number (Å or eV per file unit)."""
    if isinstance(value, str):
        key = value.strip().lower()
        key = _UNIT_SPELLINGS.get(key, key)
        if key not in table:
            raise UnitsError(f"unknown {what} unit {value!r}; give one of "
                             f"{', '.join(table)} or the size of the unit as a number "
                             f"({'Å' if what == 'length' else 'eV'} per unit)")
        return key, table[key]
    try:
        x = float(value)
    except (TypeError, ValueError):
        raise UnitsError(f"{what} unit {value!r} is neither a name ({', '.join(table)}) nor "
                         "a number") from None
    if not (math.isfinite(x) and x > 0):
        raise UnitsError(f"{what} unit {value!r} must be a positive finite number")
    names = [k for k, v in table.items() if v == x]
    return (names[0] if names else repr(x)), x


def resolve_units(units=None, length_unit=None, energy_unit=None):
    """:class:`Units` from ``units`` ("angstrom-ev" or "bohr-hartree") or from
    ``length_unit`` / ``energy_unit`` (names, or Å and eV per unit; the one left out is
    Å or eV); all None: Å and eV, marked as not given explicitly."""
    if units is not None:
        if length_unit is not None or energy_unit is not None:
            raise UnitsError("give either units= or length_unit=/energy_unit=, not both")
        key = str(units).strip().lower().replace("/", "-").replace("_", "-")
        if key not in UNIT_SYSTEMS:
            raise UnitsError(f"unknown units {units!r}; choose {' or '.join(UNIT_SYSTEMS)}")
        ln, en = UNIT_SYSTEMS[key]
        return Units(ln, LENGTH_UNITS[ln], en, ENERGY_UNITS[en], True)
    explicit = length_unit is not None or energy_unit is not None
    ln, lv = _unit("angstrom" if length_unit is None else length_unit, LENGTH_UNITS, "length")
    en, ev = _unit("ev" if energy_unit is None else energy_unit, ENERGY_UNITS, "energy")
    return Units(ln, lv, en, ev, explicit)


# ------------------------------------------------------------------ reading
def _text_lines(path, what, missing=None):
    """The lines of a text file; InteropError naming the file (and line) if it is missing
    or not text (NUL bytes, or bytes that are not UTF-8)."""
    try:
        with open(path, "rb") as fh:
            data = fh.read()
    except FileNotFoundError:
        raise InteropError(f"{path}: no such file ({missing or what})") from None
    lines = data.splitlines()
    for no, raw in enumerate(lines, 1):
        bad = raw.find(b"\0")
        if bad < 0:
            try:
                raw.decode("utf-8")
                continue
            except UnicodeDecodeError as err:
                bad = err.start
        raise InteropError(
            f"{path}:{no}: not a text file (byte 0x{raw[bad]:02x} at column {bad + 1}); "
            f"expected n2p2's plain-text {what} - is this the right file, or was it "
            "damaged in transfer?")
    return [raw.decode("utf-8") for raw in lines]


def _parse_settings(path):
    """{keyword: [(args, line number), ...]} from input.nn, with every keyword checked;
    n2p2's other keyword names are stored under the main name (``ALIASES``), and
    ``spelled[main name]`` is the name the file used."""
    out, spelled = {}, {}
    lines = _text_lines(path, "settings", "an n2p2 potential directory holds input.nn, "
                        "scaling.data and weights.ZZZ.data")
    for no, line in enumerate(lines, 1):
        words = line.split("#", 1)[0].split()
        if not words:
            continue
        key, args = words[0], words[1:]
        if key in TRAINING_KEYWORDS:
            continue
        main = ALIASES.get(key, key)
        if main not in MODEL_KEYWORDS:
            raise InteropError(
                f"{path}:{no}: keyword {key!r} is not supported by ase-nnp's n2p2 reader "
                "(covered: short-range 2G-HDNNP with symmetry-function types 2, 3, 9; see "
                "ase_nnp.interop.n2p2); refusing rather than approximating the model")
        if spelled.setdefault(main, key) != key:
            raise InteropError(
                f"{path}:{no}: keyword {key!r} is another name of {spelled[main]!r}, used "
                f"before; n2p2 refuses a mix of the two (\"Multiple alternative versions of "
                f"keyword\"); use one name for all lines")
        out.setdefault(main, []).append((args, no))
    out["__spelled__"] = spelled
    return out


def _single(settings, key, path, default=None):
    entries = settings.get(key)
    if not entries:
        if default is not None:
            return default
        raise InteropError(f"{path}: keyword {key!r} is required")
    if len(entries) > 1:
        raise InteropError(f"{path}:{entries[1][1]}: keyword {key!r} given more than once")
    return entries[0]


#: how :func:`_number` words a field that is (not a number, not finite), in the potential's
#: files (input.nn, scaling.data, the weights) and in structure files (input.data)
_MODEL_FILE = ("{key}: {token!r} is not a number",
               "{key}: {token!r} is not a finite number; the file is damaged or comes from a "
               "diverged training - re-export the potential from a good state")
_INPUT_DATA = ("{key} {token!r} is not a number",
               "{key} is {token}; every number in input.data must be finite")


def _number(text, path, no, key, kind=float, error=InteropError, says=_MODEL_FILE, token=None):
    """``kind(text)`` when that is a finite number; otherwise ``error`` at ``path:no``
    naming the field ``key`` and the ``token`` read (``text`` unless given), worded as
    ``says``. The one number parser of the n2p2 readers."""
    try:
        x = kind(text)
    except ValueError:
        x = None
    if x is not None and math.isfinite(x):
        return x
    said = says[x is not None].format(key=key, token=text if token is None else token)
    raise error(f"{path}:{no}: {said}")


def _value(settings, key, path, default=None, kind=float):
    """The first argument of a keyword given once, as a number."""
    args, no = _single(settings, key, path, None if default is None else ([str(default)], 0))
    if not args:
        raise InteropError(f"{path}:{no}: keyword {key!r} needs a value")
    return _number(args[0], path, no, key, kind)


def _check_activations(acts, known, linear, head, unknown, not_linear):
    """InteropError '<head> <a!r> <unknown>' for an activation not in ``known``, and
    ``not_linear`` when the output layer's is not ``linear``."""
    for a in acts:
        if a not in known:
            raise InteropError(f"{head} {a!r} {unknown}")
    if acts[-1] != linear:
        raise InteropError(not_linear)


def _sort_key(row, z_rank):
    """n2p2's comparison key of one function (module docstring); elements by Z rank."""
    kind, _, n1, n2, eta, rs, zeta, lam, rc, ctype, alpha = row
    if kind == _RADIAL:
        return (kind, ctype, alpha, rc, eta, rs, z_rank[n1])
    e1, e2 = sorted((z_rank[n1], z_rank[n2]))
    return (kind, ctype, alpha, rc, eta, rs, zeta, lam, e1, e2)


def _poly_sort_key(row, z_rank):
    """n2p2's comparison key of a polynomial function (module docstring)."""
    head = (row.type, row.subtype)
    if row.type == 20:
        return head + (z_rank[row.neighbor1], row.rc, row.rl)
    angles = (row.angle_left, row.angle_right)
    if row.type in (21, 22):
        e1, e2 = sorted((z_rank[row.neighbor1], z_rank[row.neighbor2]))
        return head + (e1, e2, row.rc, row.rl) + angles
    return head + (row.rc, row.rl) + (angles if row.type != 23 else ())


def n2p2_order(descriptor, element):
    """Column indices of ``element`` in n2p2's sorted order: network input k of n2p2 is
    ase-nnp column ``n2p2_order(...)[k]``."""
    rows = descriptor.functions(element)
    by_z = sorted(descriptor.elements, key=ATOMIC_NUMBERS.get)
    z_rank = [by_z.index(e) for e in descriptor.elements]
    key = _poly_sort_key if isinstance(descriptor, PolynomialSymmetryFunctions) else _sort_key
    return sorted(range(len(rows)), key=lambda k: key(rows[k], z_rank))


def _read_columns(path, what):
    """(words, line number) of every line that is not empty once comments are cut."""
    values = []
    for no, line in enumerate(_text_lines(path, what), 1):
        words = line.split("#", 1)[0].split()
        if words:
            values.append((words, no))
    return values


def read_n2p2(directory, length_unit=None, energy_unit=None, units=None):
    """Read an n2p2 potential directory into a :class:`~ase_nnp.Potential` in Å and eV.

    The files' units: ``units="bohr-hartree"`` (RuNNer's convention, and that of many
    n2p2 potentials) or ``"angstrom-ev"``, or ``length_unit`` / ``energy_unit`` as names
    ("angstrom", "bohr"; "ev", "hartree") or as the size of the file's unit in Å / eV.
    With file units of L Å and U eV every number is converted once:

        η → η / L²,  r_s → r_s L,  r_c → r_c L               (symmetry functions)
        r_l → r_l L,  r_c → r_c L  (angles stay)              (polynomial ones)
        atom_energy → atom_energy · U
        output layer W_out → W_out · U, b_out → b_out · U     (after the normalisation
                                                               header is folded in)

    while the symmetry-function values (η r², r/r_c, cos θ, windows in r/r_c:
    dimensionless), hence
    ``scaling.data`` and all hidden layers, are unchanged. So the converted potential
    at positions r·L gives U times the original energy and U/L times its forces.

    Without any units argument the files are read as Å and eV, unless their largest
    cutoff exceeds :data:`SUSPICIOUS_CUTOFF` (9): such a potential is in Bohr far more
    likely than not, and :class:`~ase_nnp.exceptions.UnitsError` says to pass
    ``units="bohr-hartree"`` (``ase-nnp import --units bohr-hartree``) or, if the file
    really is in Å and eV, ``units="angstrom-ev"``. The units used are stored in the
    metadata under ``"units"``.
    """
    directory = os.fspath(directory)
    unit = resolve_units(units, length_unit, energy_unit)
    L, U = unit.length, unit.energy
    path = os.path.join(directory, "input.nn")
    st = _parse_settings(path)
    spelled = st.pop("__spelled__")
    nnp_type, no = _single(st, "nnp_type", path, (["0"], 0))
    key = spelled.get("nnp_type", "nnp_type")
    if len(nnp_type) != 1:
        raise InteropError(f"{path}:{no}: keyword {key!r} needs one value (0, or 2 / 2G-HDNNP "
                           "for a short-range potential)")
    if nnp_type[0] in CHARGE_TYPES:
        raise InteropError(
            f"{path}:{no}: keyword {key!r}: {key} {nnp_type[0]} is {CHARGE_TYPES[nnp_type[0]]}; "
            "ase-nnp reads short-range potentials only (nnp_type 0 in released n2p2, 2 or "
            "2G-HDNNP in n2p2 master, or no nnp_type)")
    if nnp_type[0] not in SHORT_RANGE_TYPES:
        raise InteropError(
            f"{path}:{no}: keyword {key!r}: {nnp_type[0]!r} is not an n2p2 potential type "
            "(released n2p2 v2.x: 0 short range, 1 short range + charges; n2p2 master: "
            "2/2G-HDNNP short range, 4/4G-HDNNP, 10/Q-HDNNP); for a short-range potential "
            "write 0, 2 or leave the line out")
    args, no = _single(st, "elements", path)
    try:
        elements = sorted(normalize_elements(args), key=ATOMIC_NUMBERS.get)
    except ValueError as err:
        raise InteropError(f"{path}:{no}: elements: {err}") from None
    if _value(st, "number_of_elements", path, kind=int) != len(elements):
        raise InteropError(f"{path}: number_of_elements is not the number of 'elements' "
                           f"({len(elements)})")
    eidx = {e: k for k, e in enumerate(elements)}

    def element(sym, no, key):
        try:
            e = normalize_elements([sym])[0]
        except ValueError:
            e = sym
        if e not in eidx:
            raise InteropError(f"{path}:{no}: {key}: element {sym!r} is not in 'elements' "
                               f"{elements}")
        return eidx[e]

    # cutoff and symmetry functions
    rows, poly = [], []
    for args, no in st.get("symfunction_short", []):
        if len(args) < 2:
            raise InteropError(f"{path}:{no}: symfunction_short needs an element and a type")
        kind = _number(args[1], path, no, "symfunction_short type", int)
        c = element(args[0], no, "symfunction_short")
        if kind == _RADIAL and len(args) == 6:
            n1 = element(args[2], no, "symfunction_short")
            eta, rs, rc = (_number(a, path, no, "symfunction_short") for a in args[3:6])
            rows.append((kind, c, n1, -1, eta, rs, 0.0, 0.0, rc, no))
        elif kind in (_NARROW, _WIDE) and len(args) in (8, 9):
            n1 = element(args[2], no, "symfunction_short")
            n2 = element(args[3], no, "symfunction_short")
            eta, lam, zeta, rc = (_number(a, path, no, "symfunction_short") for a in args[4:8])
            rs = _number(args[8], path, no, "symfunction_short") if len(args) == 9 else 0.0
            rows.append((kind, c, n1, n2, eta, rs, zeta, lam, rc, no))
        elif _POLY_FIELDS.get(kind) == len(args):
            neighbours = {20: 1, 21: 2, 22: 2}.get(kind, 0)
            n1, n2 = ([element(a, no, "symfunction_short") for a in args[2:2 + neighbours]]
                      + [-1, -1])[:2]
            numbers = [_number(a, path, no, "symfunction_short") for a in args[2 + neighbours:-1]]
            rl, rc = numbers[:2]
            left, right = numbers[2:] if len(numbers) == 4 else (0.0, 0.0)
            poly.append((kind, c, n1, n2, rl, rc, left, right, args[-1], no))
        else:
            raise InteropError(
                f"{path}:{no}: symfunction_short of type {kind} with {len(args)} fields is not "
                "supported (ase-nnp covers types 2: 'e 2 e1 eta rs rc', 3 and 9: "
                "'e t e1 e2 eta lambda zeta rc [rs]', 20: 'e 20 e1 rl rc subtype', 21 and 22: "
                "'e t e1 e2 rl rc angle_left angle_right subtype', 23: 'e 23 rl rc subtype', "
                "24 and 25: 'e t rl rc angle_left angle_right subtype')")
    if not rows and not poly:
        raise InteropError(f"{path}: no symfunction_short lines")
    if rows and poly:
        raise InteropError(
            f"{path}:{poly[0][-1]}: this potential mixes Gaussian symmetry functions (types 2, "
            "3, 9) with polynomial ones (types 20-25); ase-nnp keeps them in two descriptor "
            "families and a potential has one descriptor, so it cannot read this file")
    cutoffs = [(r[8], r[-1]) for r in rows] + [(r[5], r[-1]) for r in poly]
    longest = max(rc for rc, _ in cutoffs)
    if not unit.explicit and longest > SUSPICIOUS_CUTOFF:
        line = next(no for rc, no in cutoffs if rc == longest)
        raise UnitsError(
            f"{path}:{line}: cutoff {longest:g} - read as Å it is far beyond any atomic "
            f"environment, so this potential is most likely in Bohr and Hartree (RuNNer's "
            f"convention; {longest:g} Bohr = {longest * Bohr:.4g} Å). Say which: "
            "`ase-nnp import --units bohr-hartree` (read_n2p2(..., units='bohr-hartree')) "
            "converts it to Å and eV; --units angstrom-ev reads it as it stands")
    if poly:
        # lengths to Å: r_l and r_c; angles and subtypes stay
        sf = PolynomialSymmetryFunctions(elements, cutoff=longest * L)
        for kind, c, n1, n2, rl, rc, left, right, subtype, no in poly:
            try:
                sf.add_function(kind, c, n1, n2, rl * L, rc * L, left, right, subtype)
            except DescriptorSpecError as err:
                raise InteropError(f"{path}:{no}: symfunction_short: {err}") from None
    else:
        (ct, no) = _single(st, "cutoff_type", path)
        ctype = _value(st, "cutoff_type", path, kind=int)
        if ctype not in CUTOFF_NAMES:
            raise InteropError(f"{path}:{no}: cutoff_type {ctype} is not one of n2p2's 0-8")
        alpha = _number(ct[1], path, no, "cutoff_type") if len(ct) > 1 else 0.0
        # lengths to Å: η in length⁻², r_s and r_c in lengths (module docstring)
        rows = [(kind, c, n1, n2, eta / (L * L), rs * L, zeta, lam, rc * L, no)
                for kind, c, n1, n2, eta, rs, zeta, lam, rc, no in rows]
        sf = SymmetryFunctions(elements, cutoff=max(r[8] for r in rows),
                               cutoff_function=CUTOFF_NAMES[ctype], alpha=alpha)
        for kind, c, n1, n2, eta, rs, zeta, lam, rc, no in rows:
            try:
                sf.add_function(kind, c, n1, n2, eta, rs, zeta, lam, rc, ctype, alpha)
            except ValueError as err:
                raise InteropError(f"{path}:{no}: symfunction_short: {err}") from None
    for e in elements:
        if sf.n_features(e) == 0:
            raise InteropError(f"{path}: element {e} has no symfunction_short lines")

    # scaling
    present = [k for k in SCALING_KEYWORDS if k in st]
    if "scale_symmetry_functions_sigma" in present and len(present) > 1:
        raise InteropError(f"{path}: scale_symmetry_functions_sigma cannot be combined with "
                           f"{[k for k in present if k != 'scale_symmetry_functions_sigma']}")
    mode = {(): "none", ("scale_symmetry_functions",): "scale",
            ("center_symmetry_functions",): "center",
            ("scale_symmetry_functions", "center_symmetry_functions"): "scale_center",
            ("scale_symmetry_functions_sigma",): "sigma"}[tuple(present)]
    smin = _value(st, "scale_min_short", path, 0.0)
    smax = _value(st, "scale_max_short", path, 1.0)
    if mode in ("none", "center"):
        smin, smax = 0.0, 1.0
    spath = os.path.join(directory, "scaling.data")
    srows = _read_columns(spath, "scaling statistics")
    scalings, orders, pos = {}, {}, 0
    for k, e in enumerate(elements):
        nf = sf.n_features(e)
        order = n2p2_order(sf, e)
        orders[e] = order
        stats = np.zeros((4, nf))
        block = srows[pos:pos + nf]
        if len(block) < nf:
            raise InteropError(f"{spath}: {len(srows)} rows, but the functions of input.nn "
                               f"need {sum(sf.n_features(x) for x in elements)}")
        for j, (words, no) in enumerate(block):
            if len(words) < 5:
                raise InteropError(f"{spath}:{no}: expected 'element function min max mean "
                                   "[sigma]'")
            if (_number(words[0], spath, no, "element index", int) != k + 1
                    or _number(words[1], spath, no, "function index", int) != j + 1):
                raise InteropError(f"{spath}:{no}: row for element {words[0]}, function "
                                   f"{words[1]}; expected {k + 1}, {j + 1}")
            vals = [_number(w, spath, no, "scaling.data") for w in words[2:6]]
            stats[:len(vals), order[j]] = vals
        pos += nf
        scalings[e] = Scaling(mode, *stats, smin, smax)
    if pos != len(srows):
        raise InteropError(f"{spath}: {len(srows) - pos} rows more than input.nn's functions")

    # networks
    n_hidden = _value(st, "global_hidden_layers_short", path, kind=int)
    (nodes, no_n) = _single(st, "global_nodes_short", path)
    (acts, no_a) = _single(st, "global_activation_short", path)
    if len(nodes) != n_hidden or len(acts) != n_hidden + 1:
        raise InteropError(f"{path}:{no_a}: {n_hidden} hidden layers need {n_hidden} "
                           f"global_nodes_short and {n_hidden + 1} global_activation_short "
                           f"entries (got {len(nodes)} and {len(acts)})")
    _check_activations(acts, ACTIVATION_LETTERS, "l", f"{path}:{no_a}: activation",
                       f"is not supported (covered: {', '.join(ACTIVATION_LETTERS)})",
                       f"{path}:{no_a}: the output activation must be 'l' (linear)")
    widths = [_number(x, path, no_n, "global_nodes_short", int) for x in nodes]
    names = [ACTIVATION_LETTERS[a] for a in acts]
    norm = [k in st for k in ("mean_energy", "conv_energy", "conv_length")]
    if any(norm) and not all(norm):
        raise InteropError(f"{path}: use all or none of mean_energy, conv_energy, conv_length "
                           "(as n2p2 requires)")
    if all(norm):
        mean_e = _value(st, "mean_energy", path)
        conv_e = _value(st, "conv_energy", path)
        if conv_e <= 0 or _value(st, "conv_length", path) <= 0:
            raise InteropError(f"{path}: conv_energy and conv_length must be positive")
    offsets = {e: 0.0 for e in elements}
    for args, no in st.get("atom_energy", []):
        if len(args) != 2:
            raise InteropError(f"{path}:{no}: atom_energy needs 'element energy'")
        offsets[elements[element(args[0], no, "atom_energy")]] = _number(
            args[1], path, no, "atom_energy") * U
    networks = {}
    for e in elements:
        wpath = os.path.join(directory, f"weights.{ATOMIC_NUMBERS[e]:03d}.data")
        values = np.array([_number(w[0], wpath, no, "weight") for w, no in
                           _read_columns(wpath, f"weights of {e}")])
        sizes = [sf.n_features(e)] + widths + [1]
        need = sum(a * b + b for a, b in zip(sizes[:-1], sizes[1:]))
        if len(values) != need:
            raise InteropError(f"{wpath}: {len(values)} values, but the {'-'.join(map(str, sizes))} "
                               f"network needs {need}")
        Ws, bs, at = [], [], 0
        for a, b in zip(sizes[:-1], sizes[1:]):
            Ws.append(values[at:at + a * b].reshape(a, b).copy())
            at += a * b
            bs.append(values[at:at + b].copy())
            at += b
        inverse = np.empty(len(orders[e]), dtype=np.int64)
        inverse[orders[e]] = np.arange(len(orders[e]))
        Ws[0] = Ws[0][inverse]                      # n2p2 input k -> ase-nnp column order[k]
        if all(norm):
            Ws[-1] = Ws[-1] / conv_e
            bs[-1] = bs[-1] / conv_e + mean_e
        if U != 1.0:                                # file energy unit -> eV
            Ws[-1] = Ws[-1] * U
            bs[-1] = bs[-1] * U
        networks[e] = Network(Ws, bs, names)
    return Potential(elements, sf, networks=networks, scalings=scalings, energy_offsets=offsets,
                     metadata={"imported_from": "n2p2", "source": os.path.abspath(directory),
                               "units": unit.metadata()})


# ------------------------------------------------------------------ writing
def _g(x):
    """Shortest text that reads back to the same double."""
    return repr(float(x))


def _polynomial_line(e, row, el, z_rank, L):
    """The symfunction_short line of polynomial function ``row`` (centre ``e``; lengths
    divided by L, the file's length unit in Å)."""
    window = f"{_g(row.rl / L)} {_g(row.rc / L)}"
    angles = f" {_g(row.angle_left)} {_g(row.angle_right)}"
    if row.type == 20:
        body = f"{el[row.neighbor1]} {window}"
    elif row.type in (21, 22):
        a, b = sorted((el[row.neighbor1], el[row.neighbor2]), key=z_rank.get)
        body = f"{a} {b} {window}{angles}"
    else:
        body = window + (angles if row.type != 23 else "")
    return f"symfunction_short {e} {row.type} {body} {row.subtype}"


def write_n2p2(potential, directory, normalization=None, without_repulsion=False,
               units=None, length_unit=None, energy_unit=None):
    """Write ``potential`` as an n2p2 directory (input.nn, scaling.data, weights.ZZZ.data).

    Units: Å and eV by default; ``units="bohr-hartree"`` (or ``length_unit`` /
    ``energy_unit`` as in :func:`read_n2p2`) writes the files in RuNNer's convention, the
    inverse of the reader's map: η → η L², r_s → r_s / L, r_c → r_c / L, atom energies
    and the output layer divided by U (L Å and U eV per file unit); the header comment
    names the units. ``normalization=(mean_energy, conv_energy, conv_length)`` writes
    n2p2's normalisation header (mean_energy in the file's energy unit) and folds it
    into the output layers; by default none is written and the networks are written
    exactly (in Å and eV, bit for bit). Raises :class:`InteropError` for what n2p2 cannot
    express: another descriptor family, several cutoff types, per-element scaling modes or
    topologies, activations other than l, t, s, p, or a non-linear output — and a
    short-range repulsion, unless ``without_repulsion`` says to write the networks alone
    (LAMMPS then adds the repulsion back: :func:`ase_nnp.interop.lammps.pair_lines`).
    """
    if potential.repulsion is not None and not without_repulsion:
        raise InteropError(
            f"the potential carries a {potential.repulsion.kind.upper()} repulsion, which "
            "n2p2's input.nn cannot express (nnp-predict and RuNNer would silently miss it); "
            "for LAMMPS, write the networks alone with without_repulsion=True and add the "
            "repulsion with pair_style hybrid/overlay hdnnp ... zbl (the lines of "
            "ase_nnp.interop.lammps.pair_lines, which `ase-nnp export` prints)")
    sf = potential.descriptor
    polynomial = isinstance(sf, PolynomialSymmetryFunctions)
    if not (polynomial or isinstance(sf, SymmetryFunctions)):
        raise InteropError(f"n2p2 has no {sf.kind} descriptors; only symmetry functions "
                           "(Gaussian or polynomial) can be exported")
    # n2p2 requires cutoff_type even where, as for the polynomial functions, none is used
    cut = {(1, 0.0)} if polynomial else {(r.cutoff_type, r.alpha) for r in sf.functions()}
    if len(cut) != 1:
        raise InteropError(f"n2p2 uses one cutoff type and α for all functions; this potential "
                           f"has {sorted((CUTOFF_NAMES[t], a) for t, a in cut)}")
    ctype, alpha = cut.pop()
    elements = sorted(potential.elements, key=ATOMIC_NUMBERS.get)
    sc = {(potential.scalings[e].mode, potential.scalings[e].smin, potential.scalings[e].smax)
          for e in elements}
    if len(sc) != 1:
        raise InteropError(f"n2p2 uses one scaling mode and range for all elements; got {sc}")
    mode, smin, smax = sc.pop()
    nets = [potential.networks[e] for e in elements]
    shape = {(tuple(n.layer_sizes[1:]), tuple(n.activations)) for n in nets}
    if len(shape) != 1:
        raise InteropError("n2p2's global topology keywords need the same hidden layers and "
                           f"activations for every element; got {shape}")
    hidden, acts = shape.pop()
    _check_activations(acts, LETTER_OF, "identity", "activation",
                       "has no n2p2 equivalent (n2p2: "
                       f"{', '.join(f'{k}={v}' for k, v in ACTIVATION_LETTERS.items())})",
                       f"n2p2 expects a linear output layer; this one is {acts[-1]!r}")
    unit = resolve_units(units, length_unit, energy_unit)
    L, U = unit.length, unit.energy
    unit_text = {"angstrom-ev": "eV, Angstrom", "bohr-hartree": "Hartree, Bohr"}.get(
        unit.name, f"energy {unit.energy_name} = {U!r} eV, length {unit.length_name} = "
                   f"{L!r} Angstrom")
    z_rank = {e: k for k, e in enumerate(elements)}
    el = sf.elements
    lines = [f"# n2p2 / RuNNer potential written by ase-nnp (units: {unit_text}).",
             "# The symmetry functions are listed in ase-nnp's column order; n2p2 sorts them,",
             "# and scaling.data and the first weight layer follow n2p2's sorted order.",
             "# No nnp_type: released n2p2 (v2.1-v2.3, LAMMPS pair_style hdnnp) reads 0 as",
             "# short range and stops at 2, n2p2 master reads 2 and stops at 0; without the",
             "# keyword both read a short-range potential.",
             f"number_of_elements {len(elements)}",
             "elements " + " ".join(elements)]
    lines += [f"atom_energy {e} {_g(potential.energy_offsets[e] / U)}" for e in elements]
    if normalization is not None:
        mean_e, conv_e, conv_l = (float(x) for x in normalization)
        lines += [f"mean_energy {_g(mean_e)}", f"conv_energy {_g(conv_e)}",
                  f"conv_length {_g(conv_l)}"]
    lines.append(f"cutoff_type {ctype} {_g(alpha)}")
    lines += {"none": [], "scale": ["scale_symmetry_functions"],
              "center": ["center_symmetry_functions"],
              "scale_center": ["scale_symmetry_functions", "center_symmetry_functions"],
              "sigma": ["scale_symmetry_functions_sigma"]}[mode]
    if mode in ("scale", "scale_center", "sigma"):
        lines += [f"scale_min_short {_g(smin)}", f"scale_max_short {_g(smax)}"]
    lines += [f"global_hidden_layers_short {len(hidden) - 1}",
              "global_nodes_short " + " ".join(str(h) for h in hidden[:-1]),
              "global_activation_short " + " ".join(LETTER_OF[a] for a in acts)]
    for e in elements:
        if polynomial:
            lines += [_polynomial_line(e, row, el, z_rank, L) for row in sf.functions(e)]
            continue
        for row in sf.functions(e):
            kind, n1, n2, eta, rs, zeta, lam, rc = (row.type, row.neighbor1, row.neighbor2,
                                                     row.eta * (L * L), row.rs / L, row.zeta,
                                                     row.lambda_, row.cutoff / L)
            if kind == _RADIAL:
                lines.append(f"symfunction_short {e} 2 {el[n1]} {_g(eta)} {_g(rs)} {_g(rc)}")
            else:
                a, b = sorted((el[n1], el[n2]), key=z_rank.get)
                lines.append(f"symfunction_short {e} {kind} {a} {b} {_g(eta)} {_g(lam)} "
                             f"{_g(zeta)} {_g(rc)} {_g(rs)}")
    scaling_lines = ["# element function min max mean sigma (n2p2 order: elements by atomic "
                     "number, functions sorted)"]
    weights = {}
    for k, e in enumerate(elements):
        order = n2p2_order(sf, e)
        s = potential.scalings[e]
        for j, col in enumerate(order):
            scaling_lines.append(f"{k + 1} {j + 1} {_g(s.gmin[col])} {_g(s.gmax[col])} "
                                 f"{_g(s.gmean[col])} {_g(s.gsigma[col])}")
        net = potential.networks[e]
        Ws = [w.copy() for w in net.weights]
        bs = [b.copy() for b in net.biases]
        Ws[0] = Ws[0][order]
        if U != 1.0:                                # eV -> the file's energy unit
            Ws[-1] = Ws[-1] / U
            bs[-1] = bs[-1] / U
        if normalization is not None:
            Ws[-1] = Ws[-1] * conv_e
            bs[-1] = (bs[-1] - mean_e) * conv_e
        wl = ["# weight/bias  kind  layer  source  target  (first column is read)"]
        for layer, (W, b) in enumerate(zip(Ws, bs)):
            for i in range(W.shape[0]):
                for o in range(W.shape[1]):
                    wl.append(f"{_g(W[i, o])} a {layer} {i + 1} {layer + 1} {o + 1}")
            for o in range(len(b)):
                wl.append(f"{_g(b[o])} b {layer + 1} {o + 1}")
        weights[e] = wl
    os.makedirs(directory, exist_ok=True)
    files = {"input.nn": lines, "scaling.data": scaling_lines}
    files.update({f"weights.{ATOMIC_NUMBERS[e]:03d}.data": weights[e] for e in elements})
    for name, text in files.items():
        with atomic_path(os.path.join(directory, name)) as tmp, open(tmp, "w") as fh:
            fh.write("\n".join(text) + "\n")


def _closed_gap(atoms, pbc, gap):
    """A copy periodic in all directions: every non-periodic cell vector replaced by an
    orthonormal complement of the periodic ones, scaled to the atoms' extent + gap."""
    cell = np.array(atoms.cell, dtype=np.float64)
    per = np.flatnonzero(pbc)
    _, _, vt = np.linalg.svd(cell[per]) if len(per) else (None, None, np.eye(3))
    complement = vt[len(per):]
    out = atoms.copy()
    out.calc = atoms.calc
    pos = out.positions
    for row, k in zip(complement, np.flatnonzero(~pbc)):
        h = pos @ row
        extent = np.ptp(h) if len(h) else 0.0
        cell[k] = row * (extent + gap)
        if len(h):
            pos += np.outer(np.full(len(h), 0.5 * gap - h.min()), row)  # gap/2 each side
    out.positions = pos
    out.set_cell(cell, scale_atoms=False)
    out.pbc = True
    return out


# ------------------------------------------------------------------ structure files
#: the per-atom array that keeps the atom lines' 7th column (n2p2: "not used"; RuNNer:
#: the atomic energy) when a file holds other values than 0 there; unconverted
N_COLUMN = "input_data_n"
#: the compressions a structure file may come in, by suffix
_OPENERS = {".gz": "gzip", ".bz2": "bz2", ".xz": "lzma"}


def _open_binary(path):
    """``path`` opened for reading bytes, decompressed when it ends in .gz, .bz2 or .xz."""
    module = _OPENERS.get(os.path.splitext(os.fspath(path))[1].lower())
    if module is None:
        return open(path, "rb")
    import importlib
    return importlib.import_module(module).open(path, "rb")


def _input_data_text(path):
    """The lines of a structure file; InputDataError naming file and line when it holds
    bytes that are not text."""
    try:
        with _open_binary(path) as fh:
            data = fh.read()
    except FileNotFoundError:
        raise FileNotFoundError(2, "no such file", os.fspath(path)) from None
    except (OSError, EOFError) as err:        # a damaged .gz/.bz2/.xz
        raise InputDataError(f"{path}: cannot be decompressed ({err})") from None
    try:
        if b"\0" in data:
            raise UnicodeDecodeError("utf-8", data, data.index(b"\0"), data.index(b"\0") + 1,
                                     "NUL byte")
        return data.decode("utf-8").splitlines()
    except UnicodeDecodeError as err:
        no = data.count(b"\n", 0, err.start) + 1
        raise InputDataError(
            f"{path}:{no}: not a text file (byte 0x{data[err.start]:02x}); expected n2p2's "
            "plain-text input.data - is this the right file, or was it damaged in "
            "transfer?") from None


def _float(token, path, no, what):
    """A finite float from an input.data field (Fortran's 1.0D+00 accepted, Python's
    1_000 not)."""
    text = token.replace("D", "e").replace("d", "e") if "_" not in token else "x"
    return _number(text, path, no, what, float, InputDataError, _INPUT_DATA, token)


_ATOM_LAYOUT = "atom x y z element charge n fx fy fz"
#: the lines a structure holds at most once: keyword -> (layout, what the value is)
_ONCE = {"energy": ("energy E", "energy"), "charge": ("charge Q", "total charge")}


def _structure_blocks(path, lines):
    """[(first, last)] 1-based line numbers of each ``begin`` and its ``end``; every other
    line with content must lie between the two."""
    blocks, start = [], None
    for no, line in enumerate(lines, 1):
        words = line.split(None, 1)
        if not words or words[0][0] in "#!":
            continue
        key = words[0]
        if key == "begin":
            if start is not None:
                raise InputDataError(f"{path}:{no}: 'begin' inside the structure that began on "
                                     f"line {start}: that structure has no 'end' line")
            start = no
        elif key == "end":
            if start is None:
                raise InputDataError(f"{path}:{no}: 'end' without a 'begin' before it")
            blocks.append((start, no))
            start = None
        elif start is None:
            raise InputDataError(
                f"{path}:{no}: {key!r} outside a structure; n2p2's input.data encloses each "
                "structure in a 'begin' and an 'end' line - is this an input.data file?")
    if start is not None:
        raise InputDataError(f"{path}:{start}: the structure beginning here has no 'end' line "
                             "(is the file truncated?)")
    return blocks


def _parse_structure(path, lines, first, last, unit):
    """One ``begin`` ... ``end`` block (1-based lines first..last) as ase.Atoms."""
    from ase import Atoms
    from ase.calculators.singlepoint import SinglePointCalculator

    def fail(no, text):
        raise InputDataError(f"{path}:{no}: {text}")

    def fields(no, words, n, layout):
        if len(words) != n:
            fail(no, f"{words[0]!r} line with {len(words) - 1} fields; expected {n - 1} "
                 f"({layout})")

    cell, symbols, positions, charges, column_n, forces = [], [], [], [], [], []
    once = {}                                   # keyword of _ONCE -> (value, line number)
    comments, info = [], {}
    for no in range(first, last + 1):
        line = lines[no - 1].strip()
        if not line or line[0] in "#!":
            continue
        words = line.split()
        key = words[0]
        if key == "begin":
            for token in words[1:]:
                name, sep, value = token.partition("=")
                if not (sep and name and value):
                    fail(no, f"'begin' followed by {token!r}: only name=value tags (n2p2's "
                         "set=train / set=test) may follow it; RuNNer 2's custom atom-column "
                         f"layouts are not supported (write the default layout {_ATOM_LAYOUT!r})")
                info[name] = value
        elif key == "comment":
            comments.append(line[len("comment"):].strip())
        elif key == "lattice":
            fields(no, words, 4, "lattice ax ay az")
            if len(cell) == 3:
                fail(no, "a fourth 'lattice' line; a periodic structure has three (the cell "
                     "vectors a, b, c), a non-periodic one none")
            cell.append([_float(w, path, no, "lattice component") for w in words[1:]])
        elif key == "atom":
            fields(no, words, 10, _ATOM_LAYOUT)
            positions.append([_float(w, path, no, "coordinate") for w in words[1:4]])
            if words[4] not in ATOMIC_NUMBERS:
                fail(no, f"unknown element {words[4]!r} (the 5th field of an atom line is the "
                     f"chemical symbol: {_ATOM_LAYOUT})")
            symbols.append(words[4])
            charges.append(_float(words[5], path, no, "atomic charge"))
            column_n.append(_float(words[6], path, no, "7th atom field (n)"))
            forces.append([_float(w, path, no, "force component") for w in words[7:10]])
        elif key in _ONCE:
            layout, what = _ONCE[key]
            fields(no, words, 2, layout)
            if key in once:
                fail(no, f"a second '{key}' line (the first is line {once[key][1]}); each "
                     "structure has one")
            once[key] = (_float(words[1], path, no, what), no)
        elif key == "end":
            if len(words) > 1:
                fail(no, f"'end' followed by {' '.join(words[1:])!r}; the line holds 'end' only")
        else:
            fail(no, f"unknown keyword {key!r}; input.data lines begin with one of begin, "
                 "comment, lattice, atom, energy, charge, end")
    energy, charge = (once.get(k, (None,))[0] for k in ("energy", "charge"))
    if not symbols:
        fail(first, "the structure beginning here has no 'atom' line")
    if len(cell) not in (0, 3):
        fail(first, f"the structure beginning here has {len(cell)} 'lattice' line(s); a "
             "periodic structure has three, a non-periodic one none")
    L, U = unit.length, unit.energy
    pos = np.array(positions) * L
    frc = np.array(forces) * (U / L)
    if cell:
        cell = np.array(cell) * L
        volume = abs(np.linalg.det(cell))
        if not volume > 1e-12 * np.prod(np.linalg.norm(cell, axis=1)):
            fail(first, "the three 'lattice' vectors of the structure beginning here are "
                 "linearly dependent (the cell has no volume)")
    atoms = Atoms(symbols, positions=pos, cell=cell if len(cell) else None,
                  pbc=bool(len(cell)))
    atoms.set_initial_charges(charges)
    if any(x != 0.0 for x in column_n):
        atoms.arrays[N_COLUMN] = np.array(column_n)
    if comments:
        info["comment"] = "\n".join(comments)
    if charge is not None:
        info["charge"] = charge
    atoms.info.update(info)
    results = {"forces": frc}
    if energy is not None:
        results["energy"] = energy * U
    atoms.calc = SinglePointCalculator(atoms, **results)
    return atoms


def read_input_data(path, units="angstrom-ev", index=":"):
    r"""Structures from an n2p2 / RuNNer structure file (``input.data``).

    Format (n2p2's "configuration file format"; RuNNer's default layout), one block per
    structure, blank lines and lines starting with ``#`` or ``!`` skipped::

        begin [set=train|set=test]
        comment <text>                      (any number; optional)
        lattice ax ay az                    (three lines for a periodic structure,
        lattice bx by bz                     none for a non-periodic one)
        lattice cx cy cz
        atom x y z element charge n fx fy fz   (one per atom)
        energy E
        charge Q
        end

    ``units``: the file's units, "angstrom-ev" (default: numbers taken as they are) or
    "bohr-hartree" (RuNNer's convention: lengths × ASE's ``Bohr``, energies × ``Hartree``,
    forces × Hartree/Bohr). The file does not say which; n2p2 uses the numbers as they
    are, so they are in whatever units the potential trained on them uses.

    Returns ``ase.Atoms`` (a list for a slice such as the default ":", one structure for
    an integer; ``index`` as in ``ase.io.read``): symbols, positions (Å), the cell and
    ``pbc=True`` when lattice lines are present (else no cell, ``pbc=False``), a
    ``SinglePointCalculator`` with ``energy`` (eV; absent without an ``energy`` line) and
    ``forces`` (eV/Å), per-atom charges as ``atoms.get_initial_charges()`` (in e, not
    converted), the total charge as ``info["charge"]``, the comment lines (joined by
    newlines) as ``info["comment"]``, and ``begin`` tags such as ``set=train`` as
    ``info["set"]``. The 7th atom field (n2p2: not used; RuNNer: atomic energy) is kept
    unconverted in ``atoms.arrays["input_data_n"]`` when it is not all zeros.
    Positions are not wrapped into the cell (n2p2 does that itself).

    Since the file does not say its units, the structures are checked after reading: a
    :class:`~ase_nnp.exceptions.UnitsWarning` naming the other ``units`` when their nearest
    neighbours lie implausibly far apart for Å (or close together for Bohr), see
    :data:`PLAUSIBLE_NEIGHBOUR_RATIO`.

    A malformed file raises :class:`~ase_nnp.exceptions.InputDataError` naming the file, the
    line and what was expected: content outside ``begin``/``end``, a missing ``end``, an
    unknown keyword, a line with the wrong number of fields, a field that is not a finite
    number (Fortran's ``1.0D+00`` is accepted), an unknown element, one or two lattice
    lines, a singular cell, two ``energy`` or ``charge`` lines, a structure without atoms.
    """
    from ase.io.formats import string2index
    unit = units if isinstance(units, Units) else resolve_units(units=units)
    lines = _input_data_text(path)
    blocks = _structure_blocks(path, lines)
    if not blocks:
        raise InputDataError(f"{path}: no structure in it (n2p2's input.data encloses each "
                             "structure in a 'begin' and an 'end' line)")
    which = string2index(index) if isinstance(index, str) else index
    if isinstance(which, slice):
        images = [_parse_structure(path, lines, a, b, unit) for a, b in blocks[which]]
    else:
        try:
            a, b = blocks[which]
        except IndexError:
            raise IndexError(f"{path}: structure index {which} is out of range; the file "
                             f"holds {len(blocks)} structures") from None
        images = [_parse_structure(path, lines, a, b, unit)]
    _warn_length_scale(path, images, unit)
    return images if isinstance(which, slice) else images[0]


#: the median over atoms of (nearest-neighbour distance) / (sum of the two covalent
#: radii, ASE's ``covalent_radii``) is about 0.8-1.2 in condensed matter and molecules
#: (bcc Mo 0.89, Cu 0.97, Si 1.06, Li 1.19; but solid Ar 1.75); lengths in Bohr read as
#: Å multiply it by 1.89, lengths in Å read as Bohr by 0.53. Outside these bounds
#: :func:`read_input_data` warns.
PLAUSIBLE_NEIGHBOUR_RATIO = (0.7, 1.5)
_RATIO_SAMPLE, _RATIO_REACH = 20, 8.0


def neighbour_ratio(images):
    """Median over the atoms of up to 20 evenly spread structures of d_nn / (r_i + r_j):
    each atom's nearest-neighbour distance (within 8 Å) over the sum of its and that
    neighbour's covalent radii; None when no atom has a neighbour within 8 Å."""
    from ase.data import covalent_radii
    from ..neighbors import build
    step = max(1, len(images) // _RATIO_SAMPLE)
    ratios = []
    for atoms in images[::step]:
        try:
            nl = build(atoms.positions, np.asarray(atoms.cell), atoms.pbc, _RATIO_REACH)
        except Exception:       # a structure the neighbour list refuses: judged elsewhere
            continue
        if not nl.n_pairs:
            continue
        near = np.full(len(atoms), np.inf)
        np.minimum.at(near, nl.i, nl.r)
        best = np.full(len(atoms), -1)
        hit = nl.r == near[nl.i]
        best[nl.i[hit]] = nl.j[hit]
        ok = np.isfinite(near) & (best >= 0)
        z = atoms.numbers
        ratios.extend(near[ok] / (covalent_radii[z[ok]] + covalent_radii[z[best[ok]]]))
    return float(np.median(ratios)) if ratios else None


def _warn_length_scale(path, images, unit):
    """UnitsWarning when the structures' nearest-neighbour distances are implausible for
    the units they were read in (:data:`PLAUSIBLE_NEIGHBOUR_RATIO`)."""
    import warnings
    from ..exceptions import UnitsWarning
    lo, hi = PLAUSIBLE_NEIGHBOUR_RATIO
    if unit.name not in ("angstrom-ev", "bohr-hartree"):
        return
    ratio = neighbour_ratio(images)
    if ratio is None:
        return
    if unit.name == "angstrom-ev" and ratio > hi:
        warnings.warn(
            f"{path}: read as Å, the nearest neighbours lie at a median {ratio:.2f} times the "
            f"sum of their covalent radii (usual: 0.8-1.2; Bohr read as Å gives about 1.9 "
            "times that): the file looks like Bohr and Hartree (RuNNer's convention). If it "
            "is, read it with units='bohr-hartree' ([data] units = \"bohr-hartree\", "
            "`ase-nnp evaluate/init --units bohr-hartree`)", UnitsWarning, stacklevel=3)
    elif unit.name == "bohr-hartree" and ratio < lo:
        warnings.warn(
            f"{path}: read as Bohr, the nearest neighbours lie at a median {ratio:.2f} times "
            "the sum of their covalent radii (usual: 0.8-1.2; Å read as Bohr gives about "
            "0.53 times that): the file looks like Å and eV. If it is, read it with "
            "units='angstrom-ev' (the default)", UnitsWarning, stacklevel=3)


def write_input_data(images, path, slab_gap=None, sets=None, units="angstrom-ev"):
    """Write structures in n2p2's ``input.data`` format (one ``begin``/``end`` block each;
    the layout is in :func:`read_input_data`, which reads the file back exactly).

    ``images``: ASE ``Atoms`` (or objects with ``positions``, ``cell``, ``pbc``,
    ``get_chemical_symbols()``). Lattice lines are written for periodic structures (n2p2
    treats a structure as periodic in all three directions when they are present); the
    reference energy and forces when the structure carries them (``atoms.calc`` results),
    zeros otherwise; per-atom charges from ``atoms.get_initial_charges()`` and the total
    charge from ``info["charge"]`` (default: their sum); ``info["comment"]`` as comment
    lines (one per line of it; default "structure k written by ase-nnp"); the 7th atom
    field from ``arrays["input_data_n"]`` (default 0). Every number is written with the
    shortest text that reads back to the same double.

    ``units``: the file's units, "angstrom-ev" (default) or "bohr-hartree" (RuNNer's
    convention): positions and cell ÷ ASE's ``Bohr``, energy ÷ ``Hartree``, forces ÷
    Hartree/Bohr; charges stay in e.

    n2p2 has no mixed boundaries, so a structure periodic in some directions only is
    refused, unless ``slab_gap`` (Å, whatever ``units``) is given: then each non-periodic
    direction becomes periodic, its cell vector replaced by the unit normal to the periodic
    ones times the atoms' extent along it plus ``slab_gap`` (the atoms moved to leave half
    the gap on each side). With ``slab_gap`` at least the potential's
    cutoff, no atom sees a periodic image across the gap, so energies and forces are
    those of the slab (or wire) itself.

    ``sets``: None, or one of "train", "test" (or None) per structure, written as
    ``begin set=train`` / ``begin set=test``: n2p2's ``nnp-train`` (v2.3.0) then keeps
    that split instead of drawing one with ``test_fraction``, so that it and another
    code fit and test on the same structures. Without ``sets``, a structure's
    ``info["set"]`` ("train" or "test", as :func:`read_input_data` stores it) is written.
    """
    unit = units if isinstance(units, Units) else resolve_units(units=units)
    L, U = unit.length, unit.energy
    FU = U / L
    images = list(images)
    if sets is not None:
        sets = list(sets)
        if len(sets) != len(images):
            raise InteropError(f"sets has {len(sets)} entries for {len(images)} structures; "
                               "give one ('train', 'test' or None) per structure")
        bad = sorted({str(x) for x in sets if x not in ("train", "test", None)})
        if bad:
            raise InteropError(f"sets may hold 'train', 'test' or None, not {', '.join(bad)}")
    out = []
    for k, atoms in enumerate(images):
        pbc = np.asarray(atoms.pbc, dtype=bool)
        if pbc.any() and not pbc.all():
            if slab_gap is None:
                raise InteropError(f"structure {k}: n2p2 structures are periodic in all three "
                                   f"directions or in none; this one has pbc={pbc.tolist()}. "
                                   "Give slab_gap (at least the cutoff) to make it periodic "
                                   "with that much vacuum")
            atoms = _closed_gap(atoms, pbc, float(slab_gap))
            pbc = np.ones(3, dtype=bool)
        n = len(atoms)
        energy, forces = 0.0, np.zeros((n, 3))
        results = getattr(atoms.calc, "results", {}) if atoms.calc is not None else {}
        if "energy" in results:
            energy = float(results["energy"])
        if "forces" in results:
            forces = np.asarray(results["forces"])
        info = getattr(atoms, "info", {})
        arrays = getattr(atoms, "arrays", {})
        charges = (np.asarray(atoms.get_initial_charges(), dtype=float)
                   if hasattr(atoms, "get_initial_charges") else np.zeros(n))
        column_n = np.asarray(arrays.get(N_COLUMN, np.zeros(n)), dtype=float)
        total = info.get("charge", float(charges.sum()))
        try:
            total = float(total)
        except (TypeError, ValueError):
            raise InteropError(f"structure {k}: info['charge'] = {total!r} is not a number "
                               "(the total charge, in e)") from None
        which = sets[k] if sets is not None else info.get("set")
        out.append(f"begin set={which}" if which in ("train", "test") else "begin")
        comment = info.get("comment")
        comment = f"structure {k} written by ase-nnp" if comment is None else str(comment)
        out += [f"comment {c}".rstrip() for c in comment.split("\n")]
        if pbc.all():
            out += [f"lattice {_g(v[0] / L)} {_g(v[1] / L)} {_g(v[2] / L)}"
                    for v in np.asarray(atoms.cell)]
        for sym, r, q, c, f in zip(atoms.get_chemical_symbols(), atoms.positions, charges,
                                   column_n, forces):
            out.append(f"atom {_g(r[0] / L)} {_g(r[1] / L)} {_g(r[2] / L)} {sym} {_g(q)} "
                       f"{_g(c)} {_g(f[0] / FU)} {_g(f[1] / FU)} {_g(f[2] / FU)}")
        out += [f"energy {_g(energy / U)}", f"charge {_g(total)}", "end"]
    with atomic_path(os.fspath(path)) as tmp, open(tmp, "w", encoding="utf-8") as fh:
        fh.write("\n".join(out) + "\n")
