"""Calibrated error bars: every uncertainty signal against the true error (Si, SW).

    python examples/calibration_si.py            # the study (~10 minutes on 2 shared cores)
    python examples/calibration_si.py --train-only   # data and ensemble only
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
    args.epochs, args.patience, args.workers = 3000, 200, 2
    os.makedirs(args.workdir, exist_ok=True)
    t_start = time.time()
    train, calib, tests = data(args)
    model = os.path.join(args.workdir, "ensemble.nnp")
    if args.reuse and os.path.exists(model):
        import ase_nnp
        ensemble = ase_nnp.load(model)
    else:
        ensemble = usi.train_ensemble(train, args.workdir, args)    # two members at a time
    print(f"data and ensemble: {(time.time() - t_start) / 60:.1f} min")
    if args.train_only:
        return
    study(ensemble, train, calib, tests, args)
    print(f"total time {(time.time() - t_start) / 60:.1f} min")


#: the error bars compared: name → (model: "ensemble" or "member 0", signals, form);
#: None: the raw committee spread, uncalibrated
VARIANTS = {
    "committee, raw": ("ensemble", None, None),
    "committee, scale": ("ensemble", ["committee"], "scale"),
    "committee, log-affine": ("ensemble", ["committee"], "log-affine"),
    "γ, one potential (scale, c = 1)": ("member 0", ["grade"], "scale"),
    "committee + γ, log-affine (c fitted)": ("ensemble", ["committee", "grade"], "log-affine"),
    "committee + γ (scale, c = 1; the default)": ("ensemble", ["committee", "grade"], "scale"),
}
FLAG = 0.3          # eV/Å: the atoms to flag


def sigmas(rows, variant, cal):
    """(σ_E per structure, σ per force component (n, 3) per atom flattened, raw score per
    atom for the ranking) of one variant on raw rows."""
    from ase_nnp.calibration import arrays
    if cal is None:
        sE = np.array([r["sE"] for r in rows])
        sC = np.concatenate([r["sF"] / np.sqrt(3.0) for r in rows])
        return sE, sC
    _, s, g = arrays(rows, "energy", cal.signals)
    sE = cal.sigma("energy", s, g)
    _, s, g = arrays(rows, "forces", cal.signals)
    sC = cal.sigma("forces", s, g)[::3]
    return sE, sC


def metrics(rows, sE, sC):
    from ase_nnp.analysis import calibration_metrics as cm
    dE = np.array([r["dE"] for r in rows])
    dF = np.concatenate([r["dF"] for r in rows])            # (atoms, 3)
    comp = np.repeat(sC, 3)
    norm = np.linalg.norm(dF, axis=1)
    return {"E ratio": cm.rms_ratio(dE, sE), "E 1σ": cm.coverage(dE, sE, 1),
            "E 2σ": cm.coverage(dE, sE, 2), "E NLL": cm.gaussian_nll(1e3 * dE, 1e3 * sE),
            "F ratio": cm.rms_ratio(dF.ravel(), comp), "F 1σ": cm.coverage(dF.ravel(), comp, 1),
            "F 2σ": cm.coverage(dF.ravel(), comp, 2),
            "F MA": cm.miscalibration_area(dF.ravel(), comp),
            "F NLL": cm.gaussian_nll(dF.ravel(), comp), "Spearman": cm.spearman(sC, norm),
            "AUROC": cm.auroc(sC, norm > FLAG), "flagged": float(np.mean(norm > FLAG))}


COLUMNS = ("E ratio", "E 1σ", "E 2σ", "E NLL", "F ratio", "F 1σ", "F 2σ", "F MA", "F NLL",
           "Spearman", "AUROC", "flagged")


def markdown(name, per_class, overall):
    head = "| class | " + " | ".join(COLUMNS) + " |"
    lines = [f"**{name}**", "", head, "|---" * (len(COLUMNS) + 1) + "|"]
    for c, m in list(per_class.items()) + [("all test atoms", overall)]:
        cells = []
        for k in COLUMNS:
            v = m[k]
            if k in ("E 1σ", "E 2σ", "F 1σ", "F 2σ", "flagged"):
                cells.append(f"{100 * v:.0f} %")
            else:
                cells.append("–" if not np.isfinite(v) else f"{v:.2f}")
        lines.append(f"| {c} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def study(ensemble, train, calib, tests, args):
    import copy
    import ase_nnp
    from ase_nnp.calibration import collect
    t0 = time.time()
    ase_nnp.select_active_set(ensemble, train)
    member = copy.deepcopy(ensemble.members[0])
    print(f"active sets: {time.time() - t0:.1f} s; sizes "
          f"{[m.active_set.rows['Si'].shape[0] for m in ensemble.members]}")
    models = {"ensemble": ensemble, "member 0": member}
    cals = {}
    for name, (which, signals, form) in VARIANTS.items():
        if signals is not None:
            cals[name] = ase_nnp.calibrate(copy.deepcopy(models[which]), calib, form=form,
                                           signals=signals)
            print(f"{name}: {cals[name]}")
        else:
            cals[name] = None
    raw = {w: {c: collect(m, tests[c]) for c in CLASSES} for w, m in models.items()}
    raw_cal = {w: collect(m, calib) for w, m in models.items()}
    out = {}
    for name, (which, signals, form) in VARIANTS.items():
        per_class, allE, allC, all_rows = {}, [], [], []
        for c in CLASSES:
            sE, sC = sigmas(raw[which][c], name, cals[name])
            per_class[c] = metrics(raw[which][c], sE, sC)
            allE.append(sE)
            allC.append(sC)
            all_rows += raw[which][c]
        overall = metrics(all_rows, np.concatenate(allE), np.concatenate(allC))
        sE, sC = sigmas(raw_cal[which], name, cals[name])
        per_class = {"calibration set (in-domain)": metrics(raw_cal[which], sE, sC),
                     **per_class}
        out[name] = (per_class, overall)
        print()
        print(markdown(name, per_class, overall))
    # γ alone as a flag (no calibration needed for a ranking), one potential and ensemble
    from ase_nnp.analysis.calibration_metrics import auroc, spearman
    print()
    for which in ("member 0", "ensemble"):
        rows = [r for c in CLASSES for r in raw[which][c]]
        norm = np.concatenate([np.linalg.norm(r["dF"], axis=1) for r in rows])
        for key, label in (("g", "γ"), ("gF", "γ^F")):
            g = np.concatenate([r[key] for r in rows])
            per = {c: auroc(np.concatenate([r[key] for r in raw[which][c]]),
                            np.concatenate([np.linalg.norm(r["dF"], axis=1)
                                            for r in raw[which][c]]) > FLAG) for c in CLASSES}
            print(f"{label} ({which}) alone: AUROC over all test atoms "
                  f"{auroc(g, norm > FLAG):.3f}, Spearman {spearman(g, norm):.3f}; per class "
                  + ", ".join(f"{c} {v:.2f}" for c, v in per.items()))
        print(f"   γ > 1 in: " + ", ".join(
            f"{c} {100 * np.mean(np.concatenate([r['g'] for r in raw[which][c]]) > 1):.0f} %"
            for c in CLASSES))
    with open(os.path.join(args.workdir, "study.json"), "w") as fh:
        json.dump({k: v for k, v in out.items()}, fh, indent=1, default=float)


if __name__ == "__main__":
    main()
