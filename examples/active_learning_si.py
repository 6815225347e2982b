"""Active learning of Si with Stillinger–Weber as the oracle, against random sampling.

    python examples/active_learning_si.py [--workdir al_si] [--resume] [--skip-baseline]
    python examples/active_learning_si.py --smoke      # seconds: does it run end to end?

1. **Classes.** Seven kinds of structure, each an :class:`ase_nnp.active.Explorer`
   from an 8-atom diamond cell: bulk (2×2×2, 64 atoms) at 300, 900 and 1,500 K; ±5 %
   volume at 900 K; one vacancy (63 atoms) at 900 K; a (111) slab (4 layers, 32 atoms,
   8 Å of vacuum on each side) at 600 K.
2. **Reference sets, by SW MD** (matscipy's Stillinger–Weber, Langevin, 2 fs, after
   500 fs of equilibration): an independent *test set* (8 snapshots per class, 100 fs
   apart) and, from other seeds, a *pool* (100 snapshots per class, 20 fs apart) for
   the random baseline.
3. **Active learning** (``ase-nnp learn``; the script writes ``learn.toml``, the
   initial cells and the test set into ``--workdir`` and runs it, so the same run is
   ``ase-nnp learn <workdir>/learn.toml [--resume]`` from the shell): SW labels 10
   rattled 8-atom diamond cells; every round trains a 3-member ensemble (warm-started
   from the last), runs the seven explorers with it (1,000 steps each, a snapshot
   checked every 20), keeps snapshots whose largest per-atom force spread exceeds
   ``forces_std_max`` and labels at most 12 of them, spread out in descriptor space.
   Every round's ensemble is tested on the test set (``curve.csv``).
4. **Random baseline**: the 10 initial cells plus n − 10 snapshots drawn at random from
   the pool, each trained as one cold-started 3-member ensemble with the same settings
   and the same epoch budget as one round of the active loop; tested on the same set.
   n = the oracle calls after which the active loop first reached the target (test E <=
   2 meV/atom and F <= 0.08 eV/Å), 3 × that, and the loop's final count (at most the
   pool).

The printed table has oracle calls and test RMSEs (ensemble mean, energy per atom and
force components) per round and per baseline size, and the test RMSE per class of the
final models. Measured on 2 cores shared with another job: the SW reference sets 7
minutes, the active loop 23 (its time limit is 22 minutes, checked between rounds), the
baseline 12.5. Needs matscipy. ``--smoke`` (the settings of :func:`smoke`: SW runs of a few
steps, 20-step explorers, 2 rounds of 2-member ensembles trained for 2 epochs) is the test
that the script runs end to end; its numbers mean nothing.
"""

import argparse
import csv
import os
import sys
import time

import numpy as np
from ase import units
from ase.build import bulk
from ase.io import read, write

from ase_nnp import load, train
from ase_nnp.active import Explorer, learn_from_toml
from ase_nnp.analysis.metrics import compare_references
from ase_nnp.training.dataset import read as read_refs
from ase_nnp.training.reference import Recorder, stillinger_weber_si

A0 = 5.431
STEPS, INTERVAL = 1000, 20
#: the classes explored, sampled for the test set and the baseline pool
CLASSES = {
    "bulk 300 K": dict(temperature_K=300, repeat=[2, 2, 2]),
    "bulk 900 K": dict(temperature_K=900, repeat=[2, 2, 2]),
    "bulk 1500 K": dict(temperature_K=1500, repeat=[2, 2, 2]),
    "-5 % volume, 900 K": dict(temperature_K=900, repeat=[2, 2, 2], strain=0.95 ** (1 / 3)),
    "+5 % volume, 900 K": dict(temperature_K=900, repeat=[2, 2, 2], strain=1.05 ** (1 / 3)),
    "vacancy, 900 K": dict(temperature_K=900, repeat=[2, 2, 2], vacancies=1),
    "(111) slab, 600 K": dict(temperature_K=600, surface=[1, 1, 1], layers=4, vacuum=8.0),
}
#: every round's ensemble and the baseline's (data/si.toml's descriptor, smaller networks)
TRAINING = dict(cutoff=3.8, cutoff_function="cos", radial_grid="shifted", radial_n=16,
                radial_r_low=1.5, angular_kind="wide", angular_grid="centered", angular_n=4,
                angular_r_low=2.0, zetas=[1, 2, 4], lambdas=[-1, 1], hidden_layers=[20, 20],
                energy_weight=1.0, forces_weight=0.001, stress_weight=1.0,
                repulsion="zbl", max_epochs=400, patience=60, memory=20)
#: the accuracy aimed at: test E (meV/atom), F (eV/Å)
TARGET = (2.0, 0.08)
LEARN = dict(ensemble_size=3, forces_std_max=0.12, per_round=12, max_oracle_calls=250,
             max_rounds=25, time_limit=22.0, seed=0)
#: the SW reference sets: snapshots per class and fs between them; fs of equilibration
SETS = dict(test=(8, 100), pool=(100, 20))
EQUILIBRATE_FS = 500.0


def smoke():
    """--smoke: the module's settings shrunk so that the whole script takes seconds."""
    global STEPS, INTERVAL, SETS, EQUILIBRATE_FS
    STEPS, INTERVAL, EQUILIBRATE_FS = 20, 10, 4.0
    SETS = dict(test=(1, 4), pool=(3, 4))
    TRAINING.update(max_epochs=2, patience=2)
    LEARN.update(ensemble_size=2, per_round=2, max_oracle_calls=20, max_rounds=2,
                 time_limit=2.0)


def initial_cells(n=10, seed=0):
    rng = np.random.default_rng(seed)
    out = []
    for k in range(n):
        a = bulk("Si", "diamond", a=A0, cubic=True)
        a.positions += rng.normal(0.0, 0.08, a.positions.shape)
        out.append(a)
    return out


def sw_md(name, n_snap, every_fs, seed, cells, calc, dt_fs=2.0):
    """SW-labelled snapshots of one class: its start structure, Langevin MD at 2 fs
    after EQUILIBRATE_FS (500 fs) of equilibration."""
    from ase.md.langevin import Langevin
    try:
        from ase.md.velocitydistribution import thermalize_momenta
    except ImportError:                                  # ASE < 3.29
        from ase.md.velocitydistribution import MaxwellBoltzmannDistribution as thermalize_momenta
    rng = np.random.default_rng(seed)
    ex = Explorer(**CLASSES[name], start=seed)
    atoms = ex.start_structure(cells, rng)
    atoms.calc = calc
    thermalize_momenta(atoms, temperature_K=ex.temperature_K, rng=rng)
    dyn = Langevin(atoms, dt_fs * units.fs, temperature_K=ex.temperature_K, friction=0.02,
                   rng=rng, fixcm=False)
    dyn.run(int(round(EQUILIBRATE_FS / dt_fs)))
    rec = Recorder(calc)
    for _ in range(n_snap):
        dyn.run(int(round(every_fs / dt_fs)))
        rec.add(atoms, name)
    return rec.images


def reference_sets(workdir, calc):
    """The test set and the baseline pool, made once (extxyz files in workdir)."""
    paths = {k: os.path.join(workdir, f"{k}.extxyz") for k in ("test", "pool")}
    if all(os.path.exists(p) for p in paths.values()):
        return paths
    cells = initial_cells(10, seed=1)            # not the active loop's initial cells
    test, pool = [], []
    for c, name in enumerate(CLASSES):
        test += sw_md(name, *SETS["test"], 100 + c, cells, calc)
        pool += sw_md(name, *SETS["pool"], 200 + c, cells, calc)
    write(paths["test"], test)
    write(paths["pool"], pool)
    return paths


def write_learn_toml(workdir, calc):
    init = os.path.join(workdir, "initial.extxyz")
    if not os.path.exists(init):
        write(init, initial_cells(10, seed=0))
    lines = ['[oracle]', 'calculator = "sw"', '[data]', 'initial = ["initial.extxyz"]',
             'test = ["test.extxyz"]', '[learn]', 'workdir = "loop"']
    lines += [f"{k} = {v!r}" for k, v in LEARN.items()]
    for c, (name, keys) in enumerate(CLASSES.items()):
        lines += ["[[explore]]", f'name = "{name}"', f"steps = {STEPS}",
                  f"interval = {INTERVAL}", f"start = {c}"]
        lines += [f"{k} = {v!r}" for k, v in keys.items()]
    lines += ["[training]"] + [f"{k} = {v!r}".replace("'", '"') for k, v in TRAINING.items()]
    path = os.path.join(workdir, "learn.toml")
    with open(path, "w") as fh:
        fh.write("\n".join(lines) + "\n")
    return path


def test_errors(model, refs):
    """Ensemble-mean test RMSEs: overall (meV/atom, eV/Å) and per class."""
    rep = compare_references(load(model), refs, group="config_type", stress=False)
    per = {g: (s["energy"].rmse, s["forces"].rmse) for g, s in rep.groups.items()}
    return (rep.stats["energy"].rmse, rep.stats["forces"].rmse), per


def baseline(workdir, pool_path, n_calls, epochs, seed=0):
    """A cold-started ensemble on the 10 initial cells and n_calls − 10 random pool
    snapshots, labelled by SW."""
    model = os.path.join(workdir, f"baseline_{n_calls}.nnp")
    if not os.path.exists(model):
        pool = read(pool_path, ":")
        pick = np.random.default_rng(seed).choice(len(pool), n_calls - 10, replace=False)
        calc = stillinger_weber_si()
        rec = Recorder(calc)
        for a in read(os.path.join(workdir, "initial.extxyz"), ":"):
            rec.add(a, "initial")
        data = rec.images + [pool[k] for k in sorted(pick)]
        keys = dict(TRAINING, max_epochs=epochs, patience=max(TRAINING["patience"], 60))
        train(data, model=model, cache="", progress=False, log=None,
              ensemble_size=LEARN["ensemble_size"], validation_fraction=0.1, **keys)
    return model


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--workdir", default="al_si")
    ap.add_argument("--resume", action="store_true", help="continue a stopped run")
    ap.add_argument("--skip-baseline", action="store_true")
    ap.add_argument("--smoke", action="store_true",
                    help="tiny settings (seconds): a test that the script runs end to end")
    args = ap.parse_args()
    if args.smoke:
        smoke()
    os.makedirs(args.workdir, exist_ok=True)
    calc = stillinger_weber_si()
    t0 = time.perf_counter()
    sets = reference_sets(args.workdir, calc)
    print(f"test set and pool: {time.perf_counter() - t0:.0f} s")
    toml = write_learn_toml(args.workdir, calc)
    print(f"active loop: ase-nnp learn {toml}{' --resume' if args.resume else ''}")
    t1 = time.perf_counter()
    result = learn_from_toml(toml, resume=args.resume)
    t_loop = time.perf_counter() - t1
    print(f"active loop: {t_loop / 60:.1f} min this session, stopped ({result.stopped_because})"
          f" after {result.rounds} rounds, {result.oracle_calls} oracle calls")
    refs = read_refs(sets["test"])
    with open(os.path.join(args.workdir, "loop", "curve.csv")) as fh:
        curve = list(csv.DictReader(fh))
    print("\n| round | oracle calls | test E (meV/atom) | test F (eV/Å) | largest σ_F | "
          "candidates |\n|---|---|---|---|---|---|")
    for row in curve:
        print(f"| {row['round']} | {row['oracle_calls']} | "
              f"{float(row['test_energy_meV_atom']):.2f} | {float(row['test_forces_eV_A']):.3f}"
              f" | {float(row['max_forces_std_eV_A']):.3f} | {row['candidates']} |")
    final = {"active": test_errors(result.ensemble_path, refs)}
    calls = result.oracle_calls
    reach = [row for row in curve if float(row["test_energy_meV_atom"]) <= TARGET[0]
             and float(row["test_forces_eV_A"]) <= TARGET[1]]
    if reach:
        print(f"\nthe active loop first reached E <= {TARGET[0]} meV/atom and F <= {TARGET[1]} "
              f"eV/Å in round {reach[0]['round']}, after {reach[0]['oracle_calls']} oracle calls")
    if not args.skip_baseline:
        t2 = time.perf_counter()
        print("\n| sampling | oracle calls | test E (meV/atom) | test F (eV/Å) |\n|---|---|---|---|")
        if reach:
            print(f"| active, round {reach[0]['round']} | {reach[0]['oracle_calls']} | "
                  f"{float(reach[0]['test_energy_meV_atom']):.2f} | "
                  f"{float(reach[0]['test_forces_eV_A']):.3f} |")
        (e, f), _ = final["active"]
        print(f"| active, final | {calls} | {e:.2f} | {f:.3f} |")
        n_pool = len(read(sets["pool"], ":"))
        sizes = [calls]
        if reach:
            sizes = [int(reach[0]["oracle_calls"]), 3 * int(reach[0]["oracle_calls"])] + sizes
        for n in sorted({min(n, 10 + n_pool) for n in sizes}):
            model = baseline(args.workdir, sets["pool"], n, TRAINING["max_epochs"])
            final[f"random, {n}"] = test_errors(model, refs)
            (e, f), _ = final[f"random, {n}"]
            print(f"| random | {n} | {e:.2f} | {f:.3f} |", flush=True)
        print(f"baseline: {(time.perf_counter() - t2) / 60:.1f} min")
    print("\nper class, test RMSE E (meV/atom) / F (eV/Å):\n| class | " +
          " | ".join(final) + " |\n|---|" + "---|" * len(final))
    for name in CLASSES:
        print(f"| {name} | " + " | ".join(f"{per[name][0]:.2f} / {per[name][1]:.3f}"
                                          for _, per in final.values()) + " |")
    print(f"\ntotal: {(time.perf_counter() - t0) / 60:.1f} min")
    return 0


if __name__ == "__main__":
    sys.exit(main())
