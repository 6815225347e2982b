"""Linear SNAP against neural networks on the same Stillinger–Weber Si data.

    python examples/snap_vs_nnp.py            # the study (about 30 min on 2 cores)
    python examples/snap_vs_nnp.py --quick    # a short run (a few minutes)
    python examples/snap_vs_nnp.py --smoke    # seconds: does it run end to end?

Data: the shipped training and test sets of data/si.nnp (``data/si_sw_train.extxyz.gz``,
``data/si_sw_test.extxyz.gz``: SW Si crystal, strained cells, MD at 300-2,000 K, liquid,
surfaces, vacancies). Models, all at the data's 3.8 Å cutoff with the loss weights of
``data/si.toml`` (energy 1, forces 0.001, stress 10):

* linear SNAP (Thompson et al., J. Comput. Phys. 285, 316 (2015)) on the bispectrum with
  2J_max = 6 (30 components) and 8 (55), one least-squares solve;
* a network (25-25 tanh) on the 2J_max = 6 bispectrum;
* a network of the same shape on spherical-Bessel descriptors (Kocer et al., J. Chem.
  Phys. 150, 154102 (2019)) of similar length, n_max = 4, l_max = 5 (30 values);
* the shipped symmetry-function network data/si.nnp (its own training, not repeated).

The two new networks get the same wall-clock budget (``--minutes``) of L-BFGS.
Printed: test RMSE of energy (meV/atom), forces (eV/Å) and stress (GPa), the fit time,
and the cost of energy + forces + stress per atom on a 4,096-atom crystal on one thread
(interleaved rounds, machine load reported), as a Markdown table (also ``--out``).
``--smoke`` takes 10 training and 5 test structures, 2 epochs per network and a 64-atom
crystal for the cost: the test that the script runs, its numbers meaningless.
"""

import argparse
import os
import time

import numpy as np
from ase.build import bulk
from ase.io import read, write

from ase_nnp import NNPCalculator, load, train

ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..")
WEIGHTS = dict(energy_weight=1.0, forces_weight=1e-3, stress_weight=10.0)


def data_files(workdir, sizes=None):
    """The shipped training and test files, or with ``sizes`` = (n_train, n_test) files in
    workdir holding their first n_train and n_test structures."""
    train_file = os.path.join(ROOT, "data", "si_sw_train.extxyz.gz")
    test_file = os.path.join(ROOT, "data", "si_sw_test.extxyz.gz")
    if not sizes:
        return train_file, test_file
    os.makedirs(workdir, exist_ok=True)
    out = []
    for src, n in zip((train_file, test_file), sizes):
        path = os.path.join(workdir, os.path.basename(src).replace(".extxyz.gz", f"_{n}.extxyz"))
        if not os.path.exists(path):
            write(path, read(src, f":{n}"), format="extxyz")
        out.append(path)
    return out


def fit(name, workdir, train_file, test_file, minutes, epochs=100000, **keys):
    model = os.path.join(workdir, f"{name}.nnp")
    t = time.perf_counter()
    result = train(train_file, test=[test_file], model=model, cutoff=3.8, progress=False,
                   time_limit=minutes, max_epochs=epochs, patience=200, cache="",
                   log=None, **WEIGHTS, **keys)
    return dict(name=name, model=model, seconds=time.perf_counter() - t,
                test=result.test_errors, n=len(load(model).descriptor))


def shipped(test_file):
    from ase_nnp.analysis.metrics import compare_references
    from ase_nnp.training.dataset import read as read_data
    model = os.path.join(ROOT, "data", "si.nnp")
    pot = load(model)
    report = compare_references(pot, read_data([test_file]))
    test = {k: st.rmse for k, st in report.stats.items()}
    minutes = pot.metadata.get("training", {}).get("elapsed_minutes", float("nan"))
    return dict(name="symmetry functions, network (data/si.nnp)", model=model,
                seconds=60.0 * minutes, test=test, n=len(pot.descriptor))


def cost(models, rounds, repeat=8):
    """µs/atom of energy + forces + stress on rattled Si (repeat³ cubic cells: 4,096
    atoms by default), one thread, models interleaved in every round; the best of each
    model's rounds."""
    import numba
    numba.set_num_threads(1)
    atoms = bulk("Si", "diamond", a=5.431, cubic=True).repeat(repeat)
    atoms.rattle(0.05, seed=0)
    calcs = [NNPCalculator(m["model"]) for m in models]
    best = [np.inf] * len(models)
    for _ in range(rounds):
        for k, calc in enumerate(calcs):
            a = atoms.copy()
            a.calc = calc
            a.get_potential_energy()                      # compile and warm up
            a.positions[0, 0] += 1e-4
            t = time.perf_counter()
            a.get_stress()
            a.get_forces()
            best[k] = min(best[k], (time.perf_counter() - t) / len(a) * 1e6)
    return best


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--quick", action="store_true")
    ap.add_argument("--smoke", action="store_true",
                    help="10 + 5 structures, 2 epochs, 64 atoms: seconds, a test that it runs")
    ap.add_argument("--minutes", type=float, default=None,
                    help="training budget of each network (default 10; 1 with --quick)")
    ap.add_argument("--workdir", default="snap_vs_nnp")
    ap.add_argument("--out", default="snap_vs_nnp.md")
    args = ap.parse_args()
    minutes = args.minutes or (1.0 if args.quick else 10.0)
    sizes, epochs, repeat = ((200, 60) if args.quick else None), 100000, 8
    if args.smoke:
        sizes, epochs, repeat = (10, 5), 2, 2
    train_file, test_file = data_files(args.workdir, sizes)
    os.makedirs(args.workdir, exist_ok=True)
    models = [
        fit("snap6", args.workdir, train_file, test_file, minutes, family="bispectrum",
            twojmax=6, kind="linear"),
        fit("snap8", args.workdir, train_file, test_file, minutes, family="bispectrum",
            twojmax=8, kind="linear"),
        fit("nn_bispectrum6", args.workdir, train_file, test_file, minutes, epochs,
            family="bispectrum", twojmax=6, hidden_layers=[25, 25]),
        fit("nn_bessel", args.workdir, train_file, test_file, minutes, epochs,
            family="spherical_bessel", n_max=4, l_max=5, hidden_layers=[25, 25]),
        shipped(test_file),
    ]
    labels = ["linear SNAP, 2J=6", "linear SNAP, 2J=8", "network on bispectrum 2J=6",
              "network on spherical Bessel 4/5", models[-1]["name"]]
    us = cost(models, 1 if args.smoke else 2 if args.quick else 3, repeat)
    load1 = os.getloadavg()[0]
    lines = [f"Test set: {test_file} (machine load {load1:.2f} on {os.cpu_count()} cores; "
             f"network budget {minutes:g} min each)", "",
             "| model | inputs | E test (meV/atom) | F test (eV/Å) | σ test (GPa) | fit (s) "
             "| E+F+S (µs/atom, 1 thread) |", "|---|---|---|---|---|---|---|"]
    for label, m, t in zip(labels, models, us):
        e = m["test"]
        lines.append(f"| {label} | {m['n']} | {e.get('energy', np.nan):.2f} | "
                     f"{e.get('forces', np.nan):.4f} | {e.get('stress', np.nan):.4f} | "
                     f"{m['seconds']:.0f} | {t:.1f} |")
    text = "\n".join(lines)
    print(text)
    with open(args.out, "w") as fh:
        fh.write(text + "\n")


if __name__ == "__main__":
    main()
