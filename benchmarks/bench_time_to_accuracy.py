"""Time to accuracy: ase-nnp's optimisers side by side with n2p2's nnp-train, in one run.

    python benchmarks/bench_time_to_accuracy.py [--n2p2 DIR] [--only kalman,lbfgs,adam,n2p2]
                                                [--minutes 12] [--epochs 12]

The case is the shipped Si potential's (``data/si.toml``): its 29 symmetry functions at
3.8 Å and 25-25 tanh networks, trained on ``data/si_sw_train.extxyz.gz`` (1,679 SW
structures) and tested after every epoch on ``data/si_sw_test.extxyz.gz`` (227 structures
of independent trajectories, never used for fitting). Both codes fit energies and forces
only (n2p2 has no stress), each on the machine's two cores: ase-nnp with two Numba
threads, n2p2 with ``mpirun -np 2``. Wall time counts from the start of the process,
data reading and descriptors included, to the end of the epoch; the test evaluation is
left out (ase-nnp leaves it out of its ``seconds``; n2p2's per-epoch error pass over
training and test set, its normal operation, stays in).

* ase-nnp: ``ase-nnp train`` in a child process per optimiser, ``[data] test_every`` 1
  (L-BFGS: 10), no descriptor cache (so the descriptors are computed in the timed run,
  as n2p2 computes its symmetry functions), ``stress_weight = 0`` and no group weights
  (n2p2 has neither); L-BFGS with the settings of ``data/si.toml``, Adam with its
  defaults, Kalman with its defaults (n2p2's recommended ones).
* n2p2 (``--n2p2 DIR`` holding ``nnp-scaling`` and ``nnp-train``, v2.3.0): the same
  functions and networks (``write_n2p2`` of the untrained potential), the training
  keywords of n2p2's ``examples/input.nn.recommended`` (Kalman, threshold selection,
  force_energy_ratio 3, normalize_data_set force, sigma scaling), the same training and
  test structures in one ``input.data`` marked ``set=train`` / ``set=test`` (slabs closed
  with a gap of cutoff + 1 Å, which leaves their energies and forces unchanged), then
  ``nnp-scaling`` (timed too) and ``nnp-train``; errors and per-epoch loop times from its
  log (``ENERGY``/``FORCE``/``TIMING`` lines).

Printed: per run the epoch at which test E ≤ 1 meV/atom and F ≤ 0.05 eV/Å first hold,
its wall time, whether they hold at every later epoch, and the best errors; then the
ratio of the fastest ase-nnp optimiser to n2p2 (target ≤ 0.5). The 1-minute load is
reported before and after each run.
"""
import argparse
import csv
import json
import os
import re
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
DATA = os.path.join(HERE, "..", "data")
TRAIN = os.path.join(DATA, "si_sw_train.extxyz.gz")
TEST = os.path.join(DATA, "si_sw_test.extxyz.gz")
TARGET_E, TARGET_F = 1.0, 0.05          # meV/atom, eV/Å

#: n2p2's examples/input.nn.recommended (v2.3.0), training part; tanh and 25-25 come from
#: the written potential (the recommended file's 15-15 softplus is an example network)
N2P2_TRAINING = """
scale_symmetry_functions_sigma
scale_min_short 0.0
scale_max_short 1.0
use_short_forces
random_seed 1234567
epochs {epochs}
normalize_data_set force
updater_type 1
parallel_mode 0
jacobian_mode 1
update_strategy 0
selection_mode 2
task_batch_size_energy 1
task_batch_size_force 1
memorize_symfunc_results
test_fraction 0.0
force_weight 1.0
short_energy_fraction 1.000
force_energy_ratio 3.0
short_energy_error_threshold 0.00
short_force_error_threshold 1.00
rmse_threshold_trials 3
weights_min -1.0
weights_max 1.0
main_error_metric RMSEpa
write_trainpoints 0
write_trainforces 0
write_weights_epoch 0
write_neuronstats 0
kalman_type 0
kalman_epsilon 1.0E-2
kalman_q0 0.01
kalman_qtau 2.302
kalman_qmin 1.0E-6
kalman_eta 0.01
kalman_etatau 2.302
kalman_etamax 1.0
"""


def load():
    return float(open("/proc/loadavg").read().split()[0])


def _toml(workdir, name, method, minutes, epochs):
    """data/si.toml with absolute data paths and this run's optimiser settings."""
    with open(os.path.join(DATA, "si.toml")) as fh:
        text = fh.read()
    text = text.replace('"si_sw_train.extxyz.gz"', json.dumps(os.path.abspath(TRAIN)))
    text = text.replace('"si_sw_test.extxyz.gz"', json.dumps(os.path.abspath(TEST)))
    every = 10 if method == "lbfgs" else 1
    text = re.sub(r'(?m)^cache = .*$', 'cache = ""', text)
    text = re.sub(r'(?m)^test_every = .*$', f"test_every = {every}", text)
    text = re.sub(r'(?m)^stress_weight = .*$', "stress_weight = 0.0", text)
    text = re.sub(r'(?m)^group_weights = .*$', "", text)        # n2p2 has no group weights
    text = re.sub(r'(?m)^method = .*$', f'method = "{method}"', text)
    text = re.sub(r'(?m)^max_epochs = .*$',
                  f"max_epochs = {epochs if method == 'kalman' else 100000}", text)
    text = re.sub(r'(?m)^time_limit = .*$', f"time_limit = {minutes}", text)
    text = re.sub(r'(?m)^patience = .*$', "patience = 0", text)
    text = re.sub(r'(?m)^model = .*$', f'model = "{name}.nnp"', text)
    text = re.sub(r'(?m)^learning_curve = .*$', f'learning_curve = "{name}.curve.csv"', text)
    text = re.sub(r'(?m)^checkpoint_every = .*$', "checkpoint_every = 0\nprogress = false",
                  text)
    path = os.path.join(workdir, f"{name}.toml")
    with open(path, "w") as fh:
        fh.write(text)
    return path


CHILD = """
import sys, time
t_import = time.time()
from ase_nnp.training.trainer import Trainer
tr = Trainer(sys.argv[1], log=lambda *a, **k: print(*a, flush=True))
tr.prepare()
print("SETUP_DONE", time.time(), flush=True)
tr.run()
"""


def run_ase_nnp(method, workdir, minutes, epochs):
    """(rows of (epoch, wall s, test E, test F)), log tail)."""
    name = f"ase_nnp_{method}"
    toml = _toml(workdir, name, method, minutes, epochs)
    env = dict(os.environ, NUMBA_NUM_THREADS="2", OMP_NUM_THREADS="2")
    t0 = time.time()
    out = subprocess.run([sys.executable, "-c", CHILD, toml], cwd=workdir, env=env,
                         capture_output=True, text=True)
    if out.returncode:
        raise SystemExit(f"{name} failed:\n{out.stdout[-2000:]}\n{out.stderr[-3000:]}")
    setup = float(re.search(r"^SETUP_DONE (\S+)", out.stdout, re.M).group(1)) - t0
    rows = []
    with open(os.path.join(workdir, f"{name}.curve.csv")) as fh:
        for r in csv.DictReader(fh):
            e, f = float(r["test_energy_meV_atom"]), float(r["test_forces_eV_A"])
            if e == e:                                   # a tested epoch
                rows.append((int(r["epoch"]), setup + float(r["seconds"]), e, f))
    return rows, f"setup (reading, descriptors) {setup:.1f} s"


def _n2p2_inputs(workdir, epochs):
    from ase_nnp.interop import write_input_data, write_n2p2
    from ase_nnp.potential import Potential
    from ase_nnp.training.config import TrainingConfig
    from ase_nnp.training.dataset import read
    from ase_nnp.training.trainer import build_descriptor
    cfg = TrainingConfig.from_toml(os.path.join(DATA, "si.toml"))
    desc = build_descriptor(cfg, ["Si"])
    pot = Potential(["Si"], desc, hidden_layers=tuple(cfg.hidden_layers),
                    activation=cfg.activation, seed=0)
    d = os.path.join(workdir, "n2p2")
    write_n2p2(pot, d)
    for f in os.listdir(d):
        if f != "input.nn":
            os.remove(os.path.join(d, f))
    with open(os.path.join(d, "input.nn"), "a") as fh:
        fh.write(N2P2_TRAINING.format(epochs=epochs))
    train = [r.atoms for r in read([TRAIN])]
    test = [r.atoms for r in read([TEST])]
    write_input_data(train + test, os.path.join(d, "input.data"), slab_gap=desc.cutoff + 1.0,
                     sets=["train"] * len(train) + ["test"] * len(test))
    return d, len(train), len(test)


def run_n2p2(bindir, workdir, epochs):
    d, n_train, n_test = _n2p2_inputs(workdir, epochs)
    mpi = ["mpirun", "--allow-run-as-root", "-np", "2"]
    t0 = time.time()
    sc = subprocess.run(mpi + [os.path.join(bindir, "nnp-scaling"), "100"], cwd=d,
                        capture_output=True, text=True)
    if sc.returncode:
        raise SystemExit(f"nnp-scaling failed:\n{sc.stdout[-3000:]}\n{sc.stderr[-2000:]}")
    t_scaling = time.time() - t0
    tr = subprocess.run(mpi + [os.path.join(bindir, "nnp-train")], cwd=d,
                        capture_output=True, text=True)
    wall = time.time() - t0
    if tr.returncode:
        raise SystemExit(f"nnp-train failed:\n{tr.stdout[-3000:]}\n{tr.stderr[-2000:]}")
    log = tr.stdout
    energy = {int(m.group(1)): float(m.group(3)) for m in
              re.finditer(r"^ENERGY\s+(\d+)\s+\d+\s+(\S+)\s+(\S+)", log, re.M)}
    forces = {int(m.group(1)): float(m.group(3)) for m in
              re.finditer(r"^FORCES?\s+(\d+)\s+\d+\s+(\S+)\s+(\S+)", log, re.M)}
    loop = {int(m.group(1)): float(m.group(3)) for m in
            re.finditer(r"^TIMING\s+(\d+)\s+\d+\s+\S+\s+\S+\s+\S+\s+(\S+)\s+(\S+)", log, re.M)}
    last = max(loop)
    post = wall - t_scaling - loop[last]        # setup of nnp-train, and what follows its loop
    start = re.search(r"TIMING Finished setup: (\S+) seconds", log)
    rows = [(k, wall - (loop[last] - loop[k]), 1e3 * energy[k], forces[k])
            for k in sorted(loop) if k >= 1 and k in energy and k in forces]
    counts = re.search(r'property "energy":\s*- Total\s+patterns : \S+\s*'
                       r'- Training patterns : (\d+)\s*- Test\s+patterns : (\d+)', log)
    split = f"{counts.group(1)} / {counts.group(2)}" if counts else "?"
    return rows, (f"nnp-scaling {t_scaling:.1f} s, nnp-train setup "
                  f"{float(start.group(1)) if start else float('nan'):.1f} s (setup and "
                  f"output {post:.1f} s); written {n_train} training / {n_test} test "
                  f"structures, n2p2's log: {split}"), log


def summarise(label, rows):
    """(first epoch at target, its wall time, stays below afterwards, best E, best F)."""
    hit = next((i for i, r in enumerate(rows) if r[2] <= TARGET_E and r[3] <= TARGET_F), None)
    best_e = min(r[2] for r in rows) if rows else float("nan")
    best_f = min(r[3] for r in rows) if rows else float("nan")
    if hit is None:
        return dict(label=label, epoch=None, wall=None, stable=None, best_e=best_e,
                    best_f=best_f, last=rows[-1] if rows else None)
    stable = all(r[2] <= TARGET_E and r[3] <= TARGET_F for r in rows[hit:])
    return dict(label=label, epoch=rows[hit][0], wall=rows[hit][1], stable=stable,
                best_e=best_e, best_f=best_f, last=rows[-1])


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--n2p2", default="", help="folder with nnp-scaling and nnp-train")
    ap.add_argument("--only", default="kalman,lbfgs,adam,n2p2")
    ap.add_argument("--minutes", type=float, default=12.0,
                    help="time limit of each ase-nnp run (minutes)")
    ap.add_argument("--epochs", type=int, default=12,
                    help="epochs of the Kalman runs, ase-nnp's and n2p2's (L-BFGS and Adam "
                    "stop at --minutes)")
    ap.add_argument("--workdir", default="")
    args = ap.parse_args()
    workdir = args.workdir or tempfile.mkdtemp(prefix="tta_")
    os.makedirs(workdir, exist_ok=True)
    results, notes = [], []
    for which in args.only.split(","):
        before = load()
        if which == "n2p2":
            if not args.n2p2:
                notes.append("n2p2: not run (give --n2p2 DIR with nnp-scaling, nnp-train)")
                continue
            rows, note, log = run_n2p2(args.n2p2, workdir, args.epochs)
            with open(os.path.join(workdir, "nnp-train.log"), "w") as fh:
                fh.write(log)
            label = "n2p2 nnp-train (Kalman, 2 MPI ranks)"
        else:
            rows, note = run_ase_nnp(which, workdir, args.minutes, args.epochs)
            label = f"ase-nnp {which} (2 threads)"
        after = load()
        res = summarise(label, rows)
        res["load"] = (before, after)
        results.append(res)
        notes.append(f"{label}: {note}; load {before:.2f} -> {after:.2f}")
        print(f"{label}: " + "; ".join(f"ep {r[0]} {r[1]:.0f} s E {r[2]:.3f} F {r[3]:.4f}"
                                      for r in rows), flush=True)
    print(f"\nwork folder: {workdir}")
    print(f"target: test E <= {TARGET_E} meV/atom and F <= {TARGET_F} eV/Å "
          f"({os.path.basename(TEST)})\n")
    print("| run | epoch at target | wall time to target (s) | stays below after | best test E "
          "(meV/atom) | best test F (eV/Å) | last epoch: wall s, E, F |")
    print("|---|---|---|---|---|---|---|")
    for r in results:
        last = r["last"]
        last_txt = f"{last[0]}: {last[1]:.0f}, {last[2]:.3f}, {last[3]:.4f}" if last else ""
        if r["epoch"] is None:
            print(f"| {r['label']} | not reached | — | — | {r['best_e']:.3f} | "
                  f"{r['best_f']:.4f} | {last_txt} |")
        else:
            print(f"| {r['label']} | {r['epoch']} | {r['wall']:.0f} | "
                  f"{'yes' if r['stable'] else 'no'} | {r['best_e']:.3f} | {r['best_f']:.4f} | "
                  f"{last_txt} |")
    peer = [r for r in results if r["label"].startswith("n2p2") and r["wall"]]
    ours = [r for r in results if r["label"].startswith("ase-nnp") and r["wall"]]
    if peer and ours:
        best = min(ours, key=lambda r: r["wall"])
        print(f"\nratio fastest ase-nnp ({best['label']}) / n2p2: "
              f"{best['wall'] / peer[0]['wall']:.2f} (target <= 0.5)")
    print()
    for n in notes:
        print(f"- {n}")


if __name__ == "__main__":
    main()
