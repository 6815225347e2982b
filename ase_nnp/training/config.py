"""The training configuration: TOML sections and keys, each with a default and a meaning
(the table ``schema.toml`` beside this module, read into :data:`SCHEMA`).

``ase-nnp train --show-config`` prints this table; the README copies it.
Every key name is unique across sections, so :func:`ase_nnp.train` takes them
as plain keyword arguments. Relative paths in a TOML file are taken relative
to the file's folder, so a config runs the same from anywhere.
"""

import functools
import json
import math
import os
import re
from importlib import resources

from ..analysis.mapping import STRAIN_SETS   # [monitor] invariant_points; else a file path
from ..exceptions import ConfigError
from ..settings import choices as _choices, number as _number
from ..descriptors import FAMILIES
from ..descriptors.symmetry_functions.presets import PRESETS
from ..network import ACTIVATIONS
from ..scaling import MODES
from .regularization import check_method

_LIST = list
_TABLE = "table"        # a TOML (inline) table: a dict of names to finite numbers >= 0
_NUMBER_OR_AUTO = "number or 'auto'"    # the string "auto" or a finite number (its rule applies)
#: the type names of schema.toml
_TYPES = {"float": float, "int": int, "str": str, "bool": bool, "list": _LIST, "table": _TABLE,
          _NUMBER_OR_AUTO: _NUMBER_OR_AUTO}


def load_toml(path):
    """The TOML document at ``path``; ConfigError when it is missing or not valid TOML."""
    try:
        import tomllib
    except ImportError:         # Python < 3.11
        import tomli as tomllib
    try:
        with open(path, "rb") as fh:
            return tomllib.load(fh)
    except FileNotFoundError:
        raise ConfigError(f"{path}: no such configuration file") from None
    except tomllib.TOMLDecodeError as err:
        raise ConfigError(f"{path}: not valid TOML ({err})") from None


def _read_schema():
    """schema.toml (beside this module) as section -> key -> (default, type, meaning), in
    its order; the default of a required key is None."""
    with resources.as_file(resources.files(__package__) / "schema.toml") as path:
        table = load_toml(path)
    return {section: {key: (entry.get("default"), _TYPES[entry["type"]], entry["meaning"])
                      for key, entry in keys.items()}
            for section, keys in table.items()}


#: section -> key -> (default, type, meaning): the keys every run has, a table in
#: schema.toml; :func:`schema` adds the keys of every registered descriptor family to
#: [descriptor]
SCHEMA = _read_schema()


def _families():
    return FAMILIES


def schema():
    """Every section and key: :data:`SCHEMA` with each registered family's
    ``CONFIG_KEYS`` added to [descriptor] (ConfigError if a family's key clashes)."""
    out = {section: dict(keys) for section, keys in SCHEMA.items()}
    owner = {k: f"[{section}]" for section, keys in SCHEMA.items() for k in keys}
    for kind, cls in _families().items():
        for key, setting in cls.CONFIG_KEYS.items():
            if key in owner:
                raise ConfigError(f"descriptor family {kind!r} declares the key {key!r}, which "
                                  f"{owner[key]} already has; every key name must be unique")
            owner[key] = f"family {kind!r}"
            out["descriptor"][key] = (setting.default, setting.type, setting.meaning)
    return out


def family_of(key):
    """The descriptor family that owns ``key``, or None for a shared key."""
    for kind, cls in _families().items():
        if key in cls.CONFIG_KEYS:
            return kind
    return None


def _rule(key, items=False):
    """(test, what is allowed) for a value (or, with ``items``, each list item) of key."""
    kind = family_of(key)
    if kind is not None:
        setting = _families()[kind].CONFIG_KEYS[key]
        return setting.items if items else setting.allowed
    return _ITEM_RULES.get(key) if items else _value_rules().get(key)


def _stress_order_ok(value):
    from .stress_check import parse_stress_order
    try:
        parse_stress_order(value)
    except ValueError:
        return False
    return True


@functools.lru_cache(maxsize=None)
def _value_rules():
    """key -> (test, what is allowed) for scalar values, after the type check (built once)."""
    rules = {k: _number(0) for k in ("energy_weight", "forces_weight", "stress_weight",
                                     "atomic_energies_weight", "weight_decay", "patience", "time_limit",
                                     "checkpoint_every", "test_every")}
    rules["ensemble_size"] = _number(1)
    rules["workers"] = _number(1)
    rules["partner"] = _choices("none", "linear", "quadratic")
    rules["partner_twojmax"] = _number(0, 20)
    rules["holdout_fraction"] = _number(0, 1, lo_open=True, hi_open=True)
    rules["partner_ridge"] = _number(0)
    rules.update({
        "validation_fraction": _number(0, 1, hi_open=True),
        "cutoff": _number(0, lo_open=True),
        "max_epochs": _number(1), "memory": _number(1), "batch_size": _number(1),
        "learning_rate": _number(0, lo_open=True), "lr_decay": _number(0, 1, lo_open=True),
        "activation": _choices(*ACTIVATIONS),
        "scaling": _choices(*MODES), "method": _choices("lbfgs", "adam", "kalman"),
        "kalman_type": _choices("standard", "fading_memory"),
        "kalman_epsilon": _number(0, lo_open=True), "kalman_q0": _number(0),
        "kalman_qtau": _number(0), "kalman_qmin": _number(0),
        "kalman_eta": _number(0, lo_open=True), "kalman_etatau": _number(0),
        "kalman_etamax": _number(0, lo_open=True),
        "kalman_lambda_short": _number(0, 1, lo_open=True),
        "kalman_nue_short": _number(0, 1, lo_open=True), "kalman_force_group": _number(1),
        "short_energy_fraction": _number(0, 1), "short_force_fraction": _number(0, 1),
        "short_stress_fraction": _number(0, 1), "force_energy_ratio": _number(0),
        "kalman_normalization": _choices("data", "loss", "none"),
        "selection_mode": _choices("random", "sort", "threshold"),
        "short_energy_error_threshold": _number(0), "short_force_error_threshold": _number(0),
        "rmse_threshold_trials": _number(1),
        "preset": _choices("", *PRESETS),
        "repulsion": _choices("none", "zbl"), "repulsion_outer": _number(0),
        "repulsion_inner_fraction": _number(0, 1, lo_open=True, hi_open=True),
        "gdf_sigma": _number(0, lo_open=True), "gdf_b": _number(0, lo_open=True),
        "gdf_c": _number(0, lo_open=True), "gdf_exact_max": _number(1),
        "monitor_a": _number(0), "monitor_bulk_tolerance": _number(0, lo_open=True),
        "monitor_every": _number(1),
        "kind": _choices("network", "linear", "quadratic"), "ridge": _number(0),
        "units": _choices("angstrom-ev", "bohr-hartree"),
        "stress_order": (_stress_order_ok, "the six components xx yy zz yz xz xy, each once, "
                         "the diagonal ones first (e.g. 'xx yy zz xz yz xy')"),
        "memory_limit": (lambda v: _parse_bytes(v) is not None,
                         "'auto' or a size such as '8GB', '500MB', '2.5GiB'"),
    })
    return rules


_UNITS = {"": 1, "b": 1, "kb": 1e3, "mb": 1e6, "gb": 1e9, "tb": 1e12, "kib": 2**10,
          "mib": 2**20, "gib": 2**30, "tib": 2**40}


def _parse_bytes(text):
    """Bytes of a size such as '8GB', '500 MB', '2.5GiB' or 'auto' (a quarter of the
    machine's physical memory; 8 GB where it cannot be read); None if not a size."""
    t = str(text).strip().lower()
    if t == "auto":
        try:
            return int(os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") // 4)
        except (ValueError, OSError, AttributeError):
            return int(8e9)
    m = re.fullmatch(r"([0-9]*\.?[0-9]+(?:e[+-]?[0-9]+)?)\s*([kmgt]i?b|b)?", t)
    if not m:
        return None
    value = float(m.group(1)) * _UNITS[m.group(2) or ""]
    return int(value) if math.isfinite(value) and value >= 0 else None


def memory_limit_bytes(cfg):
    """The ``memory_limit`` of a configuration in bytes."""
    return _parse_bytes(cfg.memory_limit)


def _is_number(v):
    return isinstance(v, (int, float)) and not isinstance(v, bool)


#: list key -> (test of one item, what an item may be)
_ITEM_RULES = {
    "hidden_layers": (lambda v: isinstance(v, int) and not isinstance(v, bool) and v >= 1,
                      "positive integers (neurons per layer)"),
    "elements": (lambda v: isinstance(v, str), "chemical symbols"),
    "train": (lambda v: isinstance(v, (str, os.PathLike)) or hasattr(v, "positions"),
              "file paths or ase.Atoms"),
}
_ITEM_RULES["validation"] = _ITEM_RULES["test"] = _ITEM_RULES["train"]

#: keys that may change between a run and its --resume
RESUMABLE_CHANGES = {"max_epochs", "patience", "time_limit", "progress", "checkpoint_every",
                     "test", "log_file", "workers"}
#: keys added after checkpoints existed whose default differs from what runs before them did:
#: a checkpoint without the key ran with this value (the Kalman filter before its residuals
#: were normalised)
BEFORE_THE_KEY = {"kalman_normalization": "none", "force_energy_ratio": 0.0}
#: keys whose values are paths, resolved against the config file's folder
PATH_KEYS = {"train", "validation", "test", "cache", "model", "checkpoint", "learning_curve",
             "log_file", "monitor_slab", "init_model"}


def section_of(key):
    for section, keys in schema().items():
        if key in keys:
            return section
    return None


def _valid_keys():
    return ", ".join(k for keys in schema().values() for k in keys)


def _check_type(section, key, value):
    default, kind, _ = schema()[section][key]
    where = f"[{section}] {key}"
    if kind is _LIST:
        if isinstance(value, (str, os.PathLike)) or hasattr(value, "positions"):
            value = [value]
        if not isinstance(value, (list, tuple)):
            raise ConfigError(f"{where} must be a list, got {value!r}")
        rule = _rule(key, items=True)
        if rule is not None:
            ok, allowed = rule
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
    if kind is _NUMBER_OR_AUTO:
        if isinstance(value, str) and value == "auto":
            return value
        if not (_is_number(value) and math.isfinite(value)):
            allowed = _rule(key)[1] if _rule(key) else "a finite number"
            raise ConfigError(f"{where} must be \"auto\" or {allowed}, got {value!r}")
        kind, value = float, float(value)
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
    if key == "family" and value not in _families():
        raise ConfigError(f"{where} = {value!r} is not a registered descriptor family; "
                          f"known: {', '.join(map(repr, _families()))}")
    rule = _rule(key)
    if rule is not None and not rule[0](value):
        raise ConfigError(f"{where} = {value!r} is not allowed; it must be {rule[1]}")
    return value


class TrainingConfig:
    """All keys of :func:`schema` as attributes (``cfg.cutoff``, ``cfg.model`` …)."""

    def __init__(self, values=None, base_dir="."):
        self.base_dir = os.path.abspath(base_dir)
        self.values = self.defaults()
        for key, value in (values or {}).items():
            section = section_of(key)
            if section is None:
                raise ConfigError(f"unknown key {key!r}; valid keys: {_valid_keys()}")
            self.values[key] = _check_type(section, key, value)
        self._check_family_keys(values or {})
        self._check_kalman_keys()
        check_method(self.values["weight_decay"], self.values["method"], self.values["kind"])
        if self.values["train"] is None:
            raise ConfigError("[data] train is required: the files with the training structures")
        for key in PATH_KEYS:
            v = self.values[key]
            if isinstance(v, list):
                self.values[key] = [self._path(x) for x in v]
            elif v not in ("auto", ""):
                self.values[key] = self._path(v)
        if self.values["invariant_points"] not in ("", *STRAIN_SETS):
            self.values["invariant_points"] = self._path(self.values["invariant_points"])
        stem = model_stem(self.values["model"])
        for key, suffix in (("cache", ".cache.h5"), ("checkpoint", ".checkpoint.h5"),
                            ("learning_curve", ".curve.csv"), ("log_file", ".log")):
            if self.values[key] == "auto":
                self.values[key] = stem + suffix
        if not self.values["train"]:
            raise ConfigError("[data] train is empty: give the files with the training "
                              "structures")

    def _check_family_keys(self, given):
        """A key of one descriptor family set to other than its default is an error when
        another family (or a preset) builds the descriptor: it would be silently ignored."""
        chosen = self.values["family"]
        defaults = self.defaults()
        for key in given:
            owner = family_of(key)
            if owner is None or self.values[key] == defaults[key]:
                continue
            if self.values["preset"]:
                raise ConfigError(f"[descriptor] {key} has no effect with preset = "
                                  f"{self.values['preset']!r}, which fixes the descriptor; "
                                  "remove one of the two")
            if owner != chosen:
                raise ConfigError(f"[descriptor] {key} belongs to family {owner!r}, but family "
                                  f"is {chosen!r}; set family = {owner!r} or remove {key}")

    def _check_kalman_keys(self):
        """The Kalman keys that only make sense together."""
        v = self.values
        if v["kalman_etamax"] < v["kalman_eta"]:
            raise ConfigError(f"[optimizer] kalman_etamax = {v['kalman_etamax']!r} is below "
                              f"kalman_eta = {v['kalman_eta']!r}; η only grows, so "
                              "kalman_etamax must be at least kalman_eta")
        if v["method"] == "kalman" and not (v["short_energy_fraction"] > 0
                                            or v["short_force_fraction"] > 0
                                            or v["short_stress_fraction"] > 0):
            raise ConfigError("[optimizer] short_energy_fraction, short_force_fraction and "
                              "short_stress_fraction are all 0: the Kalman filter would make "
                              "no update")

    def changed(self):
        """The keys whose values differ from their defaults (paths as resolved): what a
        derived configuration (an ensemble member, a replica) starts from."""
        defaults = self.defaults()
        return {k: v for k, v in self.values.items() if v != defaults[k]}

    @staticmethod
    def defaults():
        """Every key's default value (lists and tables copied)."""
        return {k: (list(d) if isinstance(d, list) else dict(d) if isinstance(d, dict) else d)
                for keys in schema().values() for k, (d, _, _) in keys.items()}

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
        doc = load_toml(path)
        flat = {}
        table = schema()
        for section, keys in doc.items():
            if section not in table:
                raise ConfigError(f"{path}: unknown section [{section}]; valid sections: "
                                  f"{', '.join(table)}")
            if not isinstance(keys, dict):
                raise ConfigError(f"{path}: {section} must be a [section] table")
            for key, value in keys.items():
                if key not in table[section]:
                    home = section_of(key)
                    if home is not None:
                        raise ConfigError(f"{path}: {key!r} belongs in [{home}], not in "
                                          f"[{section}]")
                    raise ConfigError(f"{path}: unknown key {key!r} in [{section}]; valid keys "
                                      f"there: {', '.join(table[section])}")
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


def model_stem(model):
    """The model file's path without its ``.nnp``: the base of the files written beside it."""
    return model[:-4] if model.endswith(".nnp") else model


def describe():
    """The schema as text: one line per key with its default and meaning."""
    lines = []
    for section, keys in schema().items():
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
