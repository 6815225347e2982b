"""Calibrated error bars: every uncertainty signal against the true error (Si, SW).

    python examples/calibration_si.py            # the study (~10 minutes on 2 shared cores)
    python examples/calibration_si.py --reuse    # evaluate the data and ensemble of --workdir again

The test classes of examples/uncertainty_si.py (Stillinger–Weber silicon as the ground
truth: held-out bulk 300-900 K, 1500 K, liquid, 0.92/1.08 V0, both slabs, vacancy), a
5-member bootstrap ensemble trained on bulk 300-900 K only, and a separate in-domain
*calibration* set (bulk 300-900 K, its own seeds). Then:

1. the active set of the extrapolation grade γ (D-optimality / MaxVol over the networks'
   last hidden layer, :mod:`ase_nnp.extrapolation_grade`) from the training structures;
2. :func:`ase_nnp.calibrate` on the calibration set only (the classes are the test);
3. for every signal — the committee spread, γ, and the calibrated combination — per class:
   rms error / rms σ for energies per atom and force components, coverage at 1σ and 2σ,
   the miscalibration area, the Gaussian negative log-likelihood, Spearman and the AUROC
   for flagging atoms with |ΔF| > 0.3 eV/Å (Markdown tables).
"""

import argparse
import importlib.util
import json
import os
import sys
import time
import warnings

import numpy as np
from ase.io import read, write

HERE = os.path.dirname(os.path.abspath(__file__))
_spec = importlib.util.spec_from_file_location("uncertainty_si",
                                               os.path.join(HERE, "uncertainty_si.py"))
usi = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(usi)
CLASSES = usi.CLASSES


def make_calibration_set(sampler, n, seed):
    """In-domain validation structures: the training recipe (bulk at V0, 300-900 K) with
    seeds of their own."""
    images = []
    for t, T in enumerate(usi.TRAIN_T):
        images += sampler.snapshots(usi.diamond(), T, n, np.random.default_rng([seed, 7, t]),
                                    "calibration")
    return images


def data(args):
    paths = {k: os.path.join(args.workdir, f"{k}.extxyz") for k in ("train", "test", "calib")}
    if args.reuse and all(os.path.exists(p) for p in paths.values()):
        train = read(paths["train"], ":")
        calib = read(paths["calib"], ":")
        tests = {c: [] for c in CLASSES}
        for a in read(paths["test"], ":"):
            tests[a.info["class"]].append(a)
        return train, calib, tests
    sampler = usi.Sampler()
    t0 = time.time()
    train = usi.make_training_set(sampler, args.n_traj, args.n_snap, args.seed)
    calib = make_calibration_set(sampler, args.n_calib, args.seed + 2)
    tests = usi.make_test_set(sampler, args.n_test, args.seed + 1)
    print(f"SW MD: {len(train)} training, {len(calib)} calibration, "
          f"{sum(map(len, tests.values()))} test structures ({time.time() - t0:.0f} s)")
    write(paths["train"], train, format="extxyz")
    write(paths["calib"], calib, format="extxyz")
    write(paths["test"], [a for c in CLASSES for a in tests[c]], format="extxyz")
    return train, calib, tests


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--workdir", default="calibration_si_run")
    ap.add_argument("--reuse", action="store_true")
    ap.add_argument("--seed", type=int, default=2019)
    ap.add_argument("--members", type=int, default=5)
    ap.add_argument("--hidden", type=int, nargs="+", default=[20, 20])
    ap.add_argument("--forces-weight", type=float, default=0.01)
    ap.add_argument("--member-minutes", type=float, default=0.9)
    ap.add_argument("--train-only", action="store_true", help="stop after training")
    args = ap.parse_args()
    args.n_traj, args.n_snap, args.n_test, args.n_calib = 2, 20, 6, 6
    args.epochs, args.patience = 3000, 200
    os.makedirs(args.workdir, exist_ok=True)
    t_start = time.time()
    train, calib, tests = data(args)
    model = os.path.join(args.workdir, "ensemble.nnp")
    if args.reuse and os.path.exists(model):
        import ase_nnp
        ensemble = ase_nnp.load(model)
    else:
        ensemble = usi.train_ensemble(train, args.workdir, args)
    print(f"data and ensemble: {(time.time() - t_start) / 60:.1f} min")
    if args.train_only:
        return


if __name__ == "__main__":
    main()
