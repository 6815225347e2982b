r"""On-the-fly active learning with any ASE calculator as the oracle.

    from ase_nnp.active import Explorer, learn
    result = learn(oracle=EMT(), initial=few_cells, workdir="al",
                   explorers=[Explorer(temperature_K=300, steps=500),
                              Explorer(temperature_K=1200, steps=500, strain=1.03)],
                   ensemble_size=4, forces_std_max=0.15, max_oracle_calls=200)

or ``ase-nnp learn learn.toml``. The loop, after Artrith and Behler's committee
(Phys. Rev. B 85, 045439 (2012)) and the on-the-fly sampling of Jeong et al.
(J. Phys. Chem. Lett. 11, 6090 (2020)):

1. **label** the initial structures with the oracle;
2. **train** an ensemble on every labelled structure (:func:`ase_nnp.train` with
   ``ensemble_size``); from round 1 on, member k starts from member k of the previous
   round's ensemble (a warm start, :mod:`ase_nnp.training.warm_start`);
3. **explore**: each :class:`Explorer` runs MD with the ensemble (Langevin NVT, or NPT at
   a pressure) from its start structure (an initial structure or a file, repeated,
   strained, cut into a slab, with vacancies), or checks the structures a user
   function yields; every ``interval`` steps a snapshot whose largest per-atom force
   spread max_a σ_F,a exceeds ``forces_std_max`` (or whose energy spread per atom
   exceeds ``energy_std_max``) becomes a candidate; an MD run stops early once its
   spread passes 4× the threshold (the trajectory is then no longer physical). With
   ``calibration`` structures (held out, labelled once, never trained on) each round's
   ensemble is calibrated first (:func:`ase_nnp.calibrate`, with the active set of its
   training structures), and σ is the calibrated expected error: the thresholds are
   then error bars in eV/Å and eV/atom, and ``extrapolation_grade_max`` can flag
   structures by the grade γ as well;
4. **select** at most ``per_round`` candidates, spread out in descriptor space:
   farthest-point selection on each structure's mean descriptor row, starting from the
   largest σ_F;
5. **label** them and repeat, until a whole exploration round finds no candidate
   ("converged"), or a budget is spent: ``max_rounds`` ensembles trained, ``time_limit``
   minutes (both checked before labelling, so no oracle call is spent on structures no
   ensemble would be trained on) or ``max_oracle_calls`` (the last labels then get an
   ensemble of their own, trained without a further exploration). The ensemble
   returned is always trained on every label of its round and before.

Nothing is lost and no oracle call is repeated: every labelled structure goes into
``workdir/labelled.db`` (an :mod:`ase.db` with round, reason, σ_F, the explorer and
its id) as soon
as the oracle returns; each round's ensemble is ``workdir/round<r>/ensemble.nnp``
(written atomically, so an existing file is a finished training) and its candidates
``workdir/round<r>/candidates.extxyz`` (written before any is labelled).
``resume=True`` (``--resume``) starts where a killed run stopped. An oracle that
raises or returns NaN on a structure is recorded (``failed=1`` with the error) and
skipped; the loop goes on. ``workdir/curve.csv`` has one row per round: oracle calls,
labelled structures, the ensemble's mean validation RMSEs, the largest σ_F met in
exploration, the number of candidates, the seconds since the start (summed over
resumed sessions) and, with ``test`` structures, the ensemble's test RMSEs.
"""

import csv
import math
import os
import time
import warnings
from dataclasses import dataclass, field

import numpy as np

from .exceptions import ExtrapolationWarning, NNPError
from .analysis.metrics import compare_references
from .atomic import atomic_path
from .calculator import NNPCalculator
from .committee import load
from .exceptions import ConfigError
from .training.config import load_toml
from .training.dataset import labelled_atoms, read
from .calibration import calibrate
from .training.reference import calculator_from_spec, import_function
from .training import run as training_run


@dataclass
class Explorer:
    """One exploration per round. The start structure is initial structure ``start``
    (index, cycling) or the first structure of file ``structure``, then, in this order,
    repeated ``repeat`` times along the cell vectors, scaled linearly by ``strain``, cut
    into a slab with Miller indices ``surface`` (``layers`` layers, ``vacuum`` Å on each
    side, periodic in-plane only; :func:`ase.build.surface`) and stripped of
    ``vacancies`` atoms drawn at random (seeded per round). From there Langevin MD at
    ``temperature_K`` (with ``pressure_GPa``: NPT, ASE's LangevinBAOAB with a
    hydrostatic barostat, or NPTBerendsen where that is missing) runs ``steps`` steps
    of ``timestep_fs``; the snapshot every ``interval`` steps is checked.

    ``generator = "module:function"`` replaces the MD: ``function(ensemble, start,
    rng)`` yields structures (ase.Atoms), each checked in turn. ``name`` labels the
    structures it finds in the database (default: a summary of the settings)."""
    temperature_K: float = 300.0
    steps: int = 200
    timestep_fs: float = 1.0
    interval: int = 10
    strain: float = 1.0
    start: int = 0
    friction: float = 0.02
    pressure_GPa: float = None
    structure: str = ""
    repeat: tuple = (1, 1, 1)
    surface: tuple = ()
    layers: int = 4
    vacuum: float = 8.0
    vacancies: int = 0
    generator: str = ""
    name: str = ""

    def label(self):
        if self.name:
            return self.name
        parts = [self.generator or f"{self.temperature_K:g} K"]
        if self.pressure_GPa is not None:
            parts.append(f"{self.pressure_GPa:g} GPa")
        if self.strain != 1.0:
            parts.append(f"strain {self.strain:g}")
        if self.surface:
            parts.append("(" + "".join(str(int(i)) for i in self.surface) + ") slab")
        if self.vacancies:
            parts.append(f"{self.vacancies} vacanc{'y' if self.vacancies == 1 else 'ies'}")
        return ", ".join(parts)

    def start_structure(self, initial, rng):
        """The structure this exploration starts from (class docstring)."""
        if self.structure:
            from .training.dataset import read_structures
            atoms = read_structures(self.structure, 0)     # n2p2 input.data: as Å
        else:
            atoms = initial[self.start % len(initial)].copy()
        atoms.calc = None
        if tuple(self.repeat) != (1, 1, 1):
            atoms = atoms.repeat(tuple(int(n) for n in self.repeat))
        if self.strain != 1.0:
            atoms.set_cell(atoms.cell * self.strain, scale_atoms=True)
        if self.surface:
            from ase.build import surface
            if not all(atoms.pbc):
                raise NNPError(f"explorer {self.label()!r}: a slab is cut from a periodic "
                               "bulk cell; the start structure is not periodic")
            atoms = surface(atoms, tuple(int(i) for i in self.surface), int(self.layers),
                            vacuum=float(self.vacuum))
            atoms.pbc = (True, True, False)
        if self.vacancies:
            if self.vacancies >= len(atoms):
                raise NNPError(f"explorer {self.label()!r}: {self.vacancies} vacancies in "
                               f"{len(atoms)} atoms")
            del atoms[sorted(rng.choice(len(atoms), self.vacancies, replace=False).tolist())]
        return atoms


@dataclass
class LearnResult:
    ensemble_path: str
    rounds: int
    oracle_calls: int
    labelled: int
    failed: int
    stopped_because: str
    curve: list = field(default_factory=list)


CURVE = ("round", "oracle_calls", "labelled", "val_energy_meV_atom", "val_forces_eV_A",
         "max_forces_std_eV_A", "candidates", "seconds", "test_energy_meV_atom",
         "test_forces_eV_A")


class _Store:
    """The labelled structures (ase.db), keyed by their id."""

    def __init__(self, path):
        from ase.db import connect
        self.db = connect(path)
        self.ids = {row.sid for row in self.db.select()}

    def label(self, oracle, atoms, sid, **info):
        """Label ``atoms`` with the oracle unless ``sid`` is stored; True when a call was made."""
        if sid in self.ids:
            return False
        from ase.calculators.singlepoint import SinglePointCalculator
        a = atoms.copy()
        try:
            a.calc = oracle
            energy = a.get_potential_energy()
            forces = a.get_forces()
            stress = a.get_stress() if all(a.pbc) else None
            values = [energy, forces] + ([stress] if stress is not None else [])
            if not all(np.all(np.isfinite(v)) for v in values):
                raise ValueError("the oracle returned NaN or infinite values")
        except Exception as err:            # any oracle failure is recorded, never fatal
            bare = atoms.copy()
            bare.calc = None
            self.db.write(bare, sid=sid, failed=1, error=f"{type(err).__name__}: {err}"[:500],
                          **info)
            self.ids.add(sid)
            return True
        results = {"energy": energy, "forces": forces}
        if stress is not None:
            results["stress"] = stress
        a.calc = SinglePointCalculator(a, **results)
        self.db.write(a, sid=sid, failed=0, **info)
        self.ids.add(sid)
        return True

    def structures(self, selection=None):
        return [row.toatoms() for row in self.db.select(selection, failed=0)]

    def count(self, selection=None, **keys):
        return self.db.count(selection, **keys)


def _dynamics(atoms, explorer, rng):
    """The MD integrator of an explorer (Langevin NVT, or NPT with ``pressure_GPa``)."""
    from ase.units import GPa, fs
    dt = explorer.timestep_fs * fs
    T = explorer.temperature_K
    if explorer.pressure_GPa is None:
        from ase.md.langevin import Langevin
        return Langevin(atoms, dt, temperature_K=T, friction=explorer.friction, rng=rng,
                        fixcm=False)
    if not all(atoms.pbc):
        raise NNPError(f"explorer {explorer.label()!r}: NPT (pressure_GPa) needs a cell "
                       "periodic in all directions")
    try:
        from ase.md.langevinbaoab import LangevinBAOAB
    except ImportError:                     # ASE < 3.25
        from ase.md.nptberendsen import NPTBerendsen
        return NPTBerendsen(atoms, dt, temperature_K=T, pressure_au=explorer.pressure_GPa * GPa,
                            taut=100 * fs, taup=1000 * fs, compressibility_au=1e-2 / GPa)
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message="Using heuristic P_mass")
        return LangevinBAOAB(atoms, dt, temperature_K=T,
                             externalstress=explorer.pressure_GPa * GPa, hydrostatic=True,
                             T_tau=100 * fs, P_tau=1000 * fs, rng=rng)


def _snapshots(ensemble, explorer, start, rng):
    """The structures an explorer checks, each with the ensemble's results attached."""
    if explorer.generator:
        make = import_function(explorer.generator, "explorer generator")
        for atoms in make(ensemble, start, rng):
            atoms = atoms.copy()
            atoms.calc = NNPCalculator(ensemble, extrapolation="ignore")
            atoms.get_forces()
            yield atoms
        return
    try:                                    # ASE >= 3.29 names it thermalize_momenta
        from ase.md.velocitydistribution import thermalize_momenta
    except ImportError:
        from ase.md.velocitydistribution import MaxwellBoltzmannDistribution as thermalize_momenta
    atoms = start
    atoms.calc = NNPCalculator(ensemble, extrapolation="ignore")
    thermalize_momenta(atoms, temperature_K=explorer.temperature_K, rng=rng)
    md = _dynamics(atoms, explorer, rng)
    for _ in range(0, explorer.steps, explorer.interval):
        md.run(explorer.interval)
        yield atoms


def _explore(ensemble, start, explorer, rng, limits):
    """Candidates (atoms, σ_F max, reason) of one exploration, and the largest σ_F met."""
    f_max, e_max, g_max = limits
    found, worst = [], 0.0
    with warnings.catch_warnings():         # short pairs are expected here: σ is the criterion
        warnings.simplefilter("ignore", ExtrapolationWarning)
        for atoms in _snapshots(ensemble, explorer, start, rng):
            r = atoms.calc.results
            s_f = float(np.max(r["forces_std"]))
            s_e = float(r["energy_std"]) / len(atoms)
            if not (np.isfinite(s_f) and np.isfinite(s_e)):
                s_f = s_e = math.inf        # a blown-up trajectory: as uncertain as it gets
            worst = max(worst, s_f)
            reasons = []
            if f_max and s_f > f_max:
                reasons.append(f"sigma_F {s_f:.3g} > {f_max:g}")
            if e_max and s_e > e_max:
                reasons.append(f"sigma_E {s_e:.3g} > {e_max:g}")
            grade = float(np.max(r["extrapolation_grade"])) if g_max else 0.0
            if g_max and grade > g_max:
                reasons.append(f"gamma {grade:.3g} > {g_max:g}")
            if reasons:
                snap = atoms.copy()
                snap.calc = None
                found.append((snap, s_f, "; ".join(reasons)))
                if f_max and s_f > 4 * f_max and not explorer.generator:
                    break                   # the trajectory is no longer physical
    return found, worst


def _select(ensemble, candidates, n):
    """Farthest-point selection of n candidates on mean descriptor rows, from the largest σ."""
    if len(candidates) <= n:
        return list(range(len(candidates)))
    X = np.array([ensemble.descriptor.compute(c[0]).mean(axis=0) for c in candidates])
    span = X.max(axis=0) - X.min(axis=0)
    X = X / np.where(span > 0, span, 1.0)
    chosen = [int(np.argmax([c[1] for c in candidates]))]
    dist = np.linalg.norm(X - X[chosen[0]], axis=1)
    while len(chosen) < n:
        k = int(np.argmax(dist))
        chosen.append(k)
        dist = np.minimum(dist, np.linalg.norm(X - X[k], axis=1))
    return chosen


def learn(oracle, initial, explorers, workdir, ensemble_size=3, forces_std_max=0.2,
          energy_std_max=None, per_round=10, max_oracle_calls=200, max_rounds=20,
          time_limit=None, training=None, seed=0, resume=False, warm_start=True, test=None,
          log=print, units="angstrom-ev", calibration=None, extrapolation_grade_max=None):
    """The active-learning loop of the module docstring; returns a :class:`LearnResult`.
    ``training``: keys of :func:`ase_nnp.train` for every round's ensemble;
    ``warm_start``: round r > 0 starts from round r − 1's ensemble (``init_model``);
    ``test``: labelled structures (files or ase.Atoms with results) on which every
    round's ensemble is evaluated (the ``test_*`` columns of curve.csv); ``units``: those
    of n2p2/RuNNer input.data files among them ("angstrom-ev" or "bohr-hartree");
    ``calibration``: held-out labelled structures (files or Atoms, never labelled by the
    loop): every round's ensemble then gets the active set of its training structures
    and a calibration on them (:func:`ase_nnp.calibrate`), and the thresholds
    ``forces_std_max`` (eV/Å) and ``energy_std_max`` (eV/atom) apply to the calibrated
    expected errors instead of the raw spreads; ``extrapolation_grade_max``: a structure
    whose largest grade γ passes it is a candidate too (needs ``calibration``)."""
    log = log or (lambda *a, **k: None)
    oracle = calculator_from_spec(oracle, "oracle")
    if not initial:
        raise NNPError("active learning needs at least one initial structure")
    if forces_std_max is None and energy_std_max is None and extrapolation_grade_max is None:
        raise NNPError("give forces_std_max, energy_std_max or extrapolation_grade_max: the "
                       "uncertainty that makes a structure worth labelling")
    if extrapolation_grade_max is not None and not calibration:
        raise NNPError("extrapolation_grade_max needs the grade's active set, which learn "
                       "selects when it calibrates: give calibration structures too")
    calibration_frames = labelled_atoms(_references(calibration, units)) if calibration \
        else None
    os.makedirs(workdir, exist_ok=True)
    db_path = os.path.join(workdir, "labelled.db")
    curve_path = os.path.join(workdir, "curve.csv")
    if not resume:
        for path in (db_path, curve_path):
            if os.path.exists(path):
                raise NNPError(f"{path} exists: continue that run with resume=True "
                               "(--resume), or choose another workdir")
    store = _Store(db_path)
    test_refs = _references(test, units)
    t0 = time.perf_counter()
    for k, atoms in enumerate(initial):
        store.label(oracle, atoms, f"init-{k}", round=0, reason="initial")
    curve = []
    if resume and os.path.exists(curve_path):
        with open(curve_path) as fh:
            curve = [row for row in csv.DictReader(fh)]
    done_rounds = {int(row["round"]) for row in curve}
    elapsed_before = max([float(row.get("seconds") or 0.0) for row in curve], default=0.0)
    r = 0
    while True:
        rdir = os.path.join(workdir, f"round{r}")
        os.makedirs(rdir, exist_ok=True)
        model = os.path.join(rdir, "ensemble.nnp")
        if not os.path.exists(model):
            # exactly the labels of rounds <= r: a replayed round sees what it saw first
            data = store.structures(f"round<={r}")
            log(f"round {r}: training an ensemble of {ensemble_size} on {len(data)} structures")
            keys = dict(dict(training or {}), ensemble_size=ensemble_size, model=model,
                        cache="", progress=False)
            keys.setdefault("validation_fraction", 0.1 if len(data) >= 10 else 0.0)
            previous = os.path.join(workdir, f"round{r - 1}", "ensemble.nnp")
            if warm_start and r and os.path.exists(previous):
                keys.setdefault("init_model", previous)
            training_run.train(data, log=None, **keys)
            if calibration_frames:
                ensemble = load(model)
                calibrate(ensemble, calibration_frames, training=data,
                          conformal_fraction=0.0)
                ensemble.save(model)
        ensemble = load(model)
        # the calls up to this round; a resumed run replays the rounds it has already done
        # (nothing is labelled twice) and takes the same decisions as the original run
        calls = store.count(f"round<={r}")
        if calls >= max_oracle_calls:           # the last labels are in this ensemble
            _curve_row(curve, done_rounds, curve_path, r, store, ensemble, test_refs,
                       None, None, time.perf_counter() - t0 + elapsed_before)
            reason = "max_oracle_calls"
            break
        picked, worst, n_cand = _candidates(ensemble, initial, explorers, rdir, r, seed,
                                            (forces_std_max, energy_std_max,
                                             extrapolation_grade_max), per_round,
                                            curve, done_rounds)
        log(f"round {r}: {n_cand} candidates, largest sigma_F {worst:.3g} eV/Å, "
            f"{len(picked)} picked")
        _curve_row(curve, done_rounds, curve_path, r, store, ensemble, test_refs, worst, n_cand,
                   time.perf_counter() - t0 + elapsed_before)
        if not picked:
            reason = "converged"
            break
        # stop before labelling what no ensemble would be trained on; the time limit is
        # checked at the frontier only (a replayed round was followed by another)
        if r + 1 >= max_rounds:
            reason = "max_rounds"
            break
        if (time_limit and r + 1 not in done_rounds
                and time.perf_counter() - t0 + elapsed_before > 60.0 * time_limit):
            reason = "time_limit"
            break
        for k, atoms in enumerate(picked):
            if calls >= max_oracle_calls:
                break
            store.label(oracle, atoms, f"r{r}-{k}", round=r + 1,
                        reason=atoms.info.get("reason", ""),
                        explorer=str(atoms.info.get("explorer", "")),
                        sigma_F=float(atoms.info.get("sigma_F", math.nan)))
            calls += 1
        r += 1
    calls = store.count()
    failed = store.count(failed=1)
    log(f"stopped ({reason}) after round {r}: {calls} oracle calls, "
        f"{store.count(failed=0)} labelled, {failed} failed")
    return LearnResult(model, r + 1, calls, store.count(failed=0), failed, reason, curve)


def _candidates(ensemble, initial, explorers, rdir, r, seed, limits, per_round, curve,
                done_rounds):
    """(picked structures, largest σ_F met, number of candidates) of round r: read back
    when the round's candidates file exists, else explored, selected and written."""
    from ase.io import read, write
    cand_path = os.path.join(rdir, "candidates.extxyz")
    if os.path.exists(cand_path):
        picked = read(cand_path, ":") if os.path.getsize(cand_path) else []
        row = [c for c in curve if int(c["round"]) == r]
        if row and row[0].get("candidates") not in (None, ""):
            return picked, float(row[0]["max_forces_std_eV_A"]), int(row[0]["candidates"])
        worst = max([float(a.info.get("sigma_F", 0.0)) for a in picked], default=0.0)
        return picked, worst, len(picked)
    candidates, worst = [], 0.0
    for e, ex in enumerate(explorers):
        rng = np.random.default_rng([seed, r, e])
        found, w = _explore(ensemble, ex.start_structure(initial, rng), ex, rng, limits)
        candidates += [(a, s_f, why, ex.label()) for a, s_f, why in found]
        worst = max(worst, w)
    picked = []
    for k in _select(ensemble, candidates, per_round):
        atoms, s_f, why, name = candidates[k]
        atoms.info.update(sigma_F=s_f, reason=why, explorer=name)
        picked.append(atoms)
    with atomic_path(cand_path, suffix=".extxyz") as tmp:
        if picked:
            write(tmp, picked, format="extxyz")
        else:
            open(tmp, "w").close()
    return picked, worst, len(candidates)


def _curve_row(curve, done_rounds, path, r, store, ensemble, test_refs, worst, n_cand,
               seconds):
    """Append round r's row to curve.csv unless a resumed run has it already."""
    if r in done_rounds:
        return
    errs = _validation_errors(ensemble)
    row = {"round": r, "oracle_calls": store.count(f"round<={r}"),
           "labelled": store.count(f"round<={r}", failed=0),
           "val_energy_meV_atom": errs[0], "val_forces_eV_A": errs[1],
           "max_forces_std_eV_A": "" if worst is None else worst,
           "candidates": "" if n_cand is None else n_cand, "seconds": round(seconds, 1)}
    if test_refs:
        rmse = compare_references(ensemble, test_refs, stress=False).rmse()
        row.update(test_energy_meV_atom=rmse.get("energy", math.nan),
                   test_forces_eV_A=rmse.get("forces", math.nan))
    curve.append(row)
    done_rounds.add(r)
    _write_curve(path, curve)


def _references(test, units="angstrom-ev"):
    """Labelled test structures as the trainer reads them (None for none)."""
    if not test:
        return None
    return read(test, units=units)


def _validation_errors(ensemble):
    """Mean over the members of their validation (else training) energy and force RMSEs."""
    members = ensemble.metadata.get("training", {}).get("members", {})
    e, f = [], []
    for m in members.values():
        errs = m.get("validation") or m.get("train") or {}
        e.append(errs.get("energy", math.nan))
        f.append(errs.get("forces", math.nan))
    return (float(np.mean(e)) if e else math.nan, float(np.mean(f)) if f else math.nan)


def _write_curve(path, rows):
    with atomic_path(path) as tmp, open(tmp, "w", newline="") as fh:
        w = csv.DictWriter(fh, fieldnames=CURVE)
        w.writeheader()
        w.writerows(rows)


#: learn.toml: section -> key -> default (the [training] section takes any training key,
#: [[explore]] is a list of Explorer fields)
LEARN_KEYS = {
    "oracle": {"calculator": None},
    "data": {"initial": None, "index": ":", "test": [], "units": "angstrom-ev",
             "calibration": []},
    "learn": {"workdir": "active", "ensemble_size": 3, "forces_std_max": 0.2,
              "energy_std_max": 0.0, "extrapolation_grade_max": 0.0, "per_round": 10,
              "max_oracle_calls": 200,
              "max_rounds": 20, "time_limit": 0.0, "seed": 0, "warm_start": True},
}


def learn_from_toml(path, resume=False, log=print):
    """:func:`learn` with the settings of a TOML file (``ase-nnp learn``); relative paths
    are taken from the file's folder."""
    import dataclasses
    from ase.io import read
    base = os.path.dirname(os.path.abspath(path))
    doc = load_toml(path)
    fields = {f.name for f in dataclasses.fields(Explorer)}
    for section, keys in doc.items():
        if section == "training":
            continue
        if section == "explore":
            for ex in keys:
                bad = set(ex) - fields
                if bad:
                    raise ConfigError(f"{path}: [[explore]] has unknown keys {sorted(bad)}; "
                                      f"known: {sorted(fields)}")
            continue
        if section not in LEARN_KEYS:
            raise ConfigError(f"{path}: unknown section [{section}]; known: oracle, data, "
                              "learn, explore, training")
        bad = set(keys) - set(LEARN_KEYS[section])
        if bad:
            raise ConfigError(f"{path}: [{section}] has unknown keys {sorted(bad)}; known: "
                              f"{sorted(LEARN_KEYS[section])}")
    get = {s: dict(LEARN_KEYS[s], **doc.get(s, {})) for s in LEARN_KEYS}
    if get["oracle"]["calculator"] is None or get["data"]["initial"] is None:
        raise ConfigError(f"{path}: [oracle] calculator and [data] initial are required")
    def paths(files):
        files = [files] if isinstance(files, str) else files
        return [f if os.path.isabs(f) else os.path.join(base, f) for f in files]
    from .interop.n2p2 import read_input_data
    from .training.dataset import is_input_data
    units = get["data"]["units"]
    initial = []
    for f in paths(get["data"]["initial"]):
        # n2p2/RuNNer input.data in [data] units, never ase.io's Bohr assumption
        got = (read_input_data(f, units=units, index=get["data"]["index"])
               if is_input_data(f) else read(f, get["data"]["index"]))
        initial += got if isinstance(got, list) else [got]
    explorers = []
    for ex in doc.get("explore", []):
        if ex.get("structure"):
            ex = dict(ex, structure=paths(ex["structure"])[0])
        explorers.append(Explorer(**ex))
    explorers = explorers or [Explorer()]
    training = dict(doc.get("training", {}))
    L = get["learn"]
    workdir = L["workdir"] if os.path.isabs(L["workdir"]) else os.path.join(base, L["workdir"])
    return learn(get["oracle"]["calculator"], initial, explorers, workdir,
                 ensemble_size=L["ensemble_size"], forces_std_max=L["forces_std_max"] or None,
                 energy_std_max=L["energy_std_max"] or None, per_round=L["per_round"],
                 max_oracle_calls=L["max_oracle_calls"], max_rounds=L["max_rounds"],
                 time_limit=L["time_limit"] or None, training=training, seed=L["seed"],
                 resume=resume, warm_start=L["warm_start"],
                 test=paths(get["data"]["test"]) or None, log=log, units=units,
                 calibration=paths(get["data"]["calibration"]) or None,
                 extrapolation_grade_max=L["extrapolation_grade_max"] or None)
