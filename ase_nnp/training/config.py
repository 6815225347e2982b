"""The training configuration: TOML sections and keys, each with a default and a meaning.

``ase-nnp train --show-config`` prints this table; the README copies it.
Every key name is unique across sections, so :func:`ase_nnp.train` takes them
as plain keyword arguments. Relative paths in a TOML file are taken relative
to the file's folder, so a config runs the same from anywhere.
"""

import functools
import json
import math
import os

from ..errors import ConfigError

_LIST = "list"
_TABLE = "table"        # a TOML (inline) table: a dict of names to finite numbers >= 0
#: section -> key -> (default, type, meaning)
SCHEMA = {
    "data": {
        "train": (None, _LIST, "files (any ase.io format) or ase.Atoms with the training "
                  "structures; required"),
        "validation": ([], _LIST, "explicit validation files; when empty, validation_fraction "
                       "of the training structures is held out"),
        "validation_fraction": (0.1, float, "fraction held out for validation (0 disables "
                                "validation; early stopping then watches the training loss)"),
        "test": ([], _LIST, "files evaluated once with the best model at the end (never used "
                 "for fitting or model selection)"),
        "index": (":", str, "ase.io index applied to every file"),
        "split_seed": (0, int, "seed of the train/validation split"),
        "cache": ("auto", str, "HDF5 cache of descriptors and derivatives: 'auto' = "
                  "<model>.cache.h5, '' = no cache, or a path"),
    },
    "descriptor": {
        "preset": ("", str, "'' (build from the keys below) or 'si-yoo2019' (Yoo et al. 2019's 26 "
                   "functions at 6.5 Å, Si only)"),
        "family": ("symmetry_functions", str, "'symmetry_functions' (the cutoff_* to lambdas "
                   "keys) or 'spherical_bessel' (Kocer et al.: the cutoff, n_max, l_max and "
                   "bessel_mode keys)"),
        "elements": ([], _LIST, "element symbols, in network order; empty = the elements "
                     "found in the data, by atomic number"),
        "cutoff": (6.0, float, "cutoff radius r_c (Å)"),
        "cutoff_function": ("cos", str, "hard, cos, tanhu, tanh, exp, poly1, poly2, poly3, poly4"),
        "cutoff_alpha": (0.0, float, "inner cutoff fraction α of the n2p2 cutoff functions"),
        "radial_grid": ("shifted", str, "Imbalzano radial grid: 'shifted' or 'centered'"),
        "radial_n": (8, int, "radial grid intervals n (shifted: n functions, centered: n + 1) "
                     "per element pair"),
        "radial_r_low": (0.0, float, "shifted radial grid: leave out the functions centred "
                         "below this distance (Å), where the data has no neighbours and their "
                         "values, a few times 1e-100, would be scaled up enormously (0: keep all)"),
        "angular_grid": ("centered", str, "Gastegger angular grid: 'centered' or 'shifted'"),
        "angular_n": (3, int, "angular grid points per element triple"),
        "angular_r_low": (1.5, float, "innermost angular grid point (Å)"),
        "angular_kind": ("narrow", str, "'narrow' (G3, n2p2 type 3) or 'wide' (G9, type 9)"),
        "zetas": ([1, 2, 4], _LIST, "angular exponents ζ"),
        "lambdas": ([-1, 1], _LIST, "angular λ values (±1)"),
        "n_max": (4, int, "spherical_bessel: radial functions n = 0 .. n_max"),
        "l_max": (4, int, "spherical_bessel: angular momenta l = 0 .. l_max"),
        "bessel_mode": ("channels", str, "spherical_bessel with several elements: 'channels' "
                        "(one density per element, all element-pair spectra) or 'weighted' "
                        "(one density, atomic-number weights)"),
    },
    "network": {
        "hidden_layers": ([30, 30], _LIST, "neurons per hidden layer"),
        "activation": ("tanh", str, "tanh, logistic, softplus, shifted_softplus or identity"),
        "init_seed": (0, int, "seed of the Glorot initial weights"),
        "scaling": ("scale_center", str, "input scaling: none, scale, center, scale_center, "
                    "sigma"),
    },
    "loss": {
        "energy_weight": (1.0, float, "weight of the energy-per-atom MSE (eV²/atom²)"),
        "forces_weight": (1.0, float, "weight of the force-component MSE (eV²/Å²)"),
        "stress_weight": (1.0, float, "weight of the stress-component MSE (eV²/Å⁶)"),
        "atomic_energies_weight": (0.0, float, "weight of the per-atom energy MSE (needs "
                                   "per-atom reference energies)"),
        "group_weights": ({}, _TABLE, "factor per group (atoms.info['config_type']) that "
                          "multiplies each structure's weight (atoms.info['weight'], default 1), "
                          "e.g. {slab = 3.0}; groups not named keep factor 1"),
    },
    "repulsion": {
        "repulsion": ("none", str, "short-range pair repulsion under the networks: 'none' or "
                      "'zbl' (Ziegler-Biersack-Littmark screened nuclear repulsion, a fixed "
                      "baseline subtracted from the references before fitting)"),
        "repulsion_outer": (0.0, float, "distance (Å) where the repulsion has switched off; 0 = "
                            "for each element pair, the smallest distance of that pair in the "
                            "training data (so the baseline is zero on every training structure)"),
        "repulsion_inner_fraction": (0.5, float, "the switching starts at this fraction of the "
                                     "outer distance (LAMMPS pair_style zbl's inner cutoff)"),
    },
    "optimizer": {
        "method": ("lbfgs", str, "'lbfgs' (full batch, one iteration per epoch) or 'adam' "
                   "(mini-batch)"),
        "max_epochs": (1000, int, "epochs at most"),
        "patience": (100, int, "stop after this many epochs without a better validation loss "
                     "(0: never)"),
        "time_limit": (0.0, float, "stop after this many minutes of training (0: no limit)"),
        "memory": (10, int, "L-BFGS history length"),
        "batch_size": (32, int, "Adam: structures per batch"),
        "learning_rate": (1e-3, float, "Adam: initial learning rate"),
        "lr_decay": (1.0, float, "Adam: learning rate factor per epoch"),
    },
    "output": {
        "model": ("model.nnp", str, "the best model (lowest validation loss), written "
                  "atomically whenever it improves"),
        "checkpoint": ("auto", str, "trainer state for --resume: 'auto' = "
                       "<model>.checkpoint.h5"),
        "checkpoint_every": (10, int, "epochs between checkpoints (also written at the end "
                             "and on Ctrl-C; 0: only then)"),
        "learning_curve": ("auto", str, "CSV, one row per epoch: 'auto' = <model>.curve.csv"),
        "progress": (True, bool, "show a progress bar (tqdm when installed, else a line per "
                     "epoch)"),
    },
}

def _choices(*names):
    return (lambda v: v in names, "one of " + ", ".join(repr(n) for n in names))


def _number(lo=None, hi=None, lo_open=False, hi_open=False):
    def ok(v):
        if lo is not None and (v < lo or (lo_open and v == lo)):
            return False
        return not (hi is not None and (v > hi or (hi_open and v == hi)))
    text = []
    if lo is not None:
        text.append(f"{'>' if lo_open else '>='} {lo:g}")
    if hi is not None:
        text.append(f"{'<' if hi_open else '<='} {hi:g}")
    return ok, "a number " + " and ".join(text)


@functools.lru_cache(maxsize=None)
def _value_rules():
    """key -> (test, what is allowed) for scalar values, after the type check (built once)."""
    from ..descriptors.cutoffs import CUTOFF_CODES
    from ..network import ACTIVATIONS
    from ..scaling import MODES
    rules = {k: _number(0) for k in ("energy_weight", "forces_weight", "stress_weight",
                                     "atomic_energies_weight", "patience", "time_limit",
                                     "checkpoint_every", "n_max", "l_max")}
    rules.update({
        "validation_fraction": _number(0, 1, hi_open=True),
        "cutoff": _number(0, lo_open=True), "cutoff_alpha": _number(0, 1, hi_open=True),
        "radial_n": _number(1), "angular_n": _number(2), "radial_r_low": _number(0),
        "angular_r_low": _number(0, lo_open=True),
        "max_epochs": _number(1), "memory": _number(1), "batch_size": _number(1),
        "learning_rate": _number(0, lo_open=True), "lr_decay": _number(0, 1, lo_open=True),
        "cutoff_function": _choices(*CUTOFF_CODES), "activation": _choices(*ACTIVATIONS),
        "scaling": _choices(*MODES), "method": _choices("lbfgs", "adam"),
        "family": _choices("symmetry_functions", "spherical_bessel"),
        "radial_grid": _choices("shifted", "centered"),
        "angular_grid": _choices("centered", "shifted"),
        "angular_kind": _choices("narrow", "wide"), "bessel_mode": _choices("channels", "weighted"),
        "preset": _choices("", "si-yoo2019"),
        "repulsion": _choices("none", "zbl"), "repulsion_outer": _number(0),
        "repulsion_inner_fraction": _number(0, 1, lo_open=True, hi_open=True),
    })
    return rules


def _is_number(v):
    return isinstance(v, (int, float)) and not isinstance(v, bool)


#: list key -> (test of one item, what an item may be)
_ITEM_RULES = {
    "hidden_layers": (lambda v: isinstance(v, int) and not isinstance(v, bool) and v >= 1,
                      "positive integers (neurons per layer)"),
    "zetas": (lambda v: _is_number(v) and math.isfinite(v) and v >= 1, "numbers >= 1"),
    "lambdas": (lambda v: _is_number(v) and v in (-1, 1), "-1 or 1"),
    "elements": (lambda v: isinstance(v, str), "chemical symbols"),
    "train": (lambda v: isinstance(v, (str, os.PathLike)) or hasattr(v, "positions"),
              "file paths or ase.Atoms"),
}
_ITEM_RULES["validation"] = _ITEM_RULES["test"] = _ITEM_RULES["train"]

#: keys that may change between a run and its --resume
RESUMABLE_CHANGES = {"max_epochs", "patience", "time_limit", "progress", "checkpoint_every",
                     "test"}
#: keys whose values are paths, resolved against the config file's folder
PATH_KEYS = {"train", "validation", "test", "cache", "model", "checkpoint", "learning_curve"}


def section_of(key):
    for section, keys in SCHEMA.items():
        if key in keys:
            return section
    return None


def _valid_keys():
    return ", ".join(k for keys in SCHEMA.values() for k in keys)


def _check_type(section, key, value):
    default, kind, _ = SCHEMA[section][key]
    where = f"[{section}] {key}"
    if kind is _LIST:
        if isinstance(value, (str, os.PathLike)) or hasattr(value, "positions"):
            value = [value]
        if not isinstance(value, (list, tuple)):
            raise ConfigError(f"{where} must be a list, got {value!r}")
        if key in _ITEM_RULES:
            ok, allowed = _ITEM_RULES[key]
            for item in value:
                if not ok(item):
                    raise ConfigError(f"{where} = {list(value)!r}: the item {item!r} is not "
                                      f"allowed; items must be {allowed}")
        return list(value)
    if kind is _TABLE:
        if not isinstance(value, dict):
            raise ConfigError(f"{where} must be a table of names to numbers, e.g. "
                              f"{{slab = 3.0}}, got {value!r}")
        for name, factor in value.items():
            if not isinstance(name, str):
                raise ConfigError(f"{where}: the name {name!r} is not a string")
            if not (_is_number(factor) and math.isfinite(factor) and factor >= 0):
                raise ConfigError(f"{where}: {name} = {factor!r} is not allowed; factors must "
                                  "be finite numbers >= 0")
        return {name: float(factor) for name, factor in value.items()}
    if kind is bool:
        if not isinstance(value, bool):
            raise ConfigError(f"{where} must be true or false, got {value!r}")
        return value
    if kind is float and isinstance(value, int) and not isinstance(value, bool):
        value = float(value)
    if kind is int and isinstance(value, float) and value.is_integer():
        value = int(value)
    if not isinstance(value, kind) or isinstance(value, bool):
        raise ConfigError(f"{where} must be {'a number' if kind is float else kind.__name__}, "
                          f"got {value!r}")
    if kind is float and not math.isfinite(value):
        raise ConfigError(f"{where} must be a finite number, got {value!r}")
    rule = _value_rules().get(key)
    if rule is not None and not rule[0](value):
        raise ConfigError(f"{where} = {value!r} is not allowed; it must be {rule[1]}")
    return value


class TrainingConfig:
    """All keys of :data:`SCHEMA` as attributes (``cfg.cutoff``, ``cfg.model`` …)."""

    def __init__(self, values=None, base_dir="."):
        self.base_dir = os.path.abspath(base_dir)
        self.values = self.defaults()
        for key, value in (values or {}).items():
            section = section_of(key)
            if section is None:
                raise ConfigError(f"unknown key {key!r}; valid keys: {_valid_keys()}")
            self.values[key] = _check_type(section, key, value)
        if self.values["train"] is None:
            raise ConfigError("[data] train is required: the files with the training structures")
        for key in PATH_KEYS:
            v = self.values[key]
            if isinstance(v, list):
                self.values[key] = [self._path(x) for x in v]
            elif v not in ("auto", ""):
                self.values[key] = self._path(v)
        model = self.values["model"]
        stem = model[:-4] if model.endswith(".nnp") else model
        for key, suffix in (("cache", ".cache.h5"), ("checkpoint", ".checkpoint.h5"),
                            ("learning_curve", ".curve.csv")):
            if self.values[key] == "auto":
                self.values[key] = stem + suffix
        if not self.values["train"]:
            raise ConfigError("[data] train is empty: give the files with the training "
                              "structures")

    @staticmethod
    def defaults():
        """Every key's default value (lists and tables copied)."""
        return {k: (list(d) if isinstance(d, list) else dict(d) if isinstance(d, dict) else d)
                for keys in SCHEMA.values() for k, (d, _, _) in keys.items()}

    def _path(self, p):
        if hasattr(p, "positions"):
            return p
        p = os.fspath(p)
        return p if os.path.isabs(p) else os.path.normpath(os.path.join(self.base_dir, p))

    def __getattr__(self, key):
        values = self.__dict__.get("values", {})
        if key in values:
            return values[key]
        raise AttributeError(key)

    @classmethod
    def from_toml(cls, path):
        try:
            import tomllib
        except ImportError:         # Python < 3.11
            import tomli as tomllib
        try:
            with open(path, "rb") as fh:
                doc = tomllib.load(fh)
        except FileNotFoundError:
            raise ConfigError(f"{path}: no such configuration file") from None
        except tomllib.TOMLDecodeError as err:
            raise ConfigError(f"{path}: not valid TOML ({err})") from None
        flat = {}
        for section, keys in doc.items():
            if section not in SCHEMA:
                raise ConfigError(f"{path}: unknown section [{section}]; valid sections: "
                                  f"{', '.join(SCHEMA)}")
            if not isinstance(keys, dict):
                raise ConfigError(f"{path}: {section} must be a [section] table")
            for key, value in keys.items():
                if key not in SCHEMA[section]:
                    home = section_of(key)
                    if home is not None:
                        raise ConfigError(f"{path}: {key!r} belongs in [{home}], not in "
                                          f"[{section}]")
                    raise ConfigError(f"{path}: unknown key {key!r} in [{section}]; valid keys "
                                      f"there: {', '.join(SCHEMA[section])}")
                flat[key] = value
        return cls(flat, base_dir=os.path.dirname(os.path.abspath(path)))

    def fingerprint(self):
        """The settings that must match for --resume (JSON-able dict). File locations
        are left out: the data themselves are checked by their content hash, so a
        moved folder still resumes and a changed file does not."""
        out = {}
        for k, v in self.values.items():
            if k in RESUMABLE_CHANGES or k in PATH_KEYS:
                continue
            if isinstance(v, list):
                v = [x if isinstance(x, (str, int, float)) else "<Atoms>" for x in v]
            elif isinstance(v, dict):
                v = {name: v[name] for name in sorted(v)}
            out[k] = v
        return out

    def to_json(self):
        return json.dumps(self.fingerprint(), sort_keys=True)


def describe():
    """The schema as text: one line per key with its default and meaning."""
    lines = []
    for section, keys in SCHEMA.items():
        lines.append(f"[{section}]")
        for key, (default, _, doc) in keys.items():
            if default is None:
                shown = "(required)"
            elif isinstance(default, dict):       # as TOML writes an inline table
                shown = "{" + ", ".join(f"{n} = {json.dumps(v)}" for n, v in default.items()) + "}"
            else:
                shown = json.dumps(default)
            lines.append(f"  {key} = {shown}\n      {doc}")
    return "\n".join(lines)
