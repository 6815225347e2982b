"""Calibrated error bars on real DFT data: the mlearn test sets, per config type.

    ase-nnp init train.extxyz --time-limit 3 --model ens.nnp -o config.toml
    ase-nnp train config.toml                  # an ensemble (the recipe's 8 members)
    python examples/calibration_mlearn.py ens.nnp train.extxyz calib.extxyz \\
        ../shared/data/mlearn/Si/test.extxyz.gz

``calib.extxyz``: structures of the mlearn *training* file held out from training (the
in-domain validation data; ``--split`` makes train/calib from the training file with a
fixed seed). The test file of the benchmark (Zuo et al., J. Phys. Chem. A 124, 731
(2020)) is the test, per config type (AIMD-NVT, Elastic, Surface, Vacancy). The same
measures and tables as examples/calibration_si.py, for the raw committee spread, the
committee scaled, γ alone, and the default calibration (committee + γ, scale form).
"""

import argparse
import copy
import importlib.util
import os

import numpy as np
from ase.io import read, write

HERE = os.path.dirname(os.path.abspath(__file__))
_spec = importlib.util.spec_from_file_location("calibration_si",
                                               os.path.join(HERE, "calibration_si.py"))
csi = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(csi)


def split(source, outdir, fraction=1 / 6, seed=0):
    """train.extxyz and calib.extxyz in ``outdir`` from one training file."""
    frames = read(source, ":")
    order = np.random.default_rng(seed).permutation(len(frames))
    n = int(len(frames) * fraction)
    write(os.path.join(outdir, "calib.extxyz"), [frames[i] for i in sorted(order[:n])])
    write(os.path.join(outdir, "train.extxyz"), [frames[i] for i in sorted(order[n:])])


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("model", nargs="?")
    ap.add_argument("train", nargs="?")
    ap.add_argument("calib", nargs="?")
    ap.add_argument("test", nargs="?")
    ap.add_argument("--split", nargs=2, metavar=("TRAINING_FILE", "OUTDIR"),
                    help="only write OUTDIR/train.extxyz and OUTDIR/calib.extxyz")
    args = ap.parse_args()
    if args.split:
        split(*args.split)
        return
    import ase_nnp
    from ase_nnp.calibration import collect
    ensemble = ase_nnp.load(args.model)
    train, calib = read(args.train, ":"), read(args.calib, ":")
    tests = {}
    for a in read(args.test, ":"):
        tests.setdefault(a.info.get("config_type", "all"), []).append(a)
    ase_nnp.select_active_set(ensemble, train)
    member = copy.deepcopy(ensemble.members[0])
    models = {"ensemble": ensemble, "member 0": member}
    variants = {k: v for k, v in csi.VARIANTS.items() if "log-affine" not in k}
    cals = {name: None if signals is None else
            ase_nnp.calibrate(copy.deepcopy(models[which]), calib, form=form, signals=signals)
            for name, (which, signals, form) in variants.items()}
    raw = {w: {c: collect(m, f) for c, f in tests.items()} for w, m in models.items()}
    raw_cal = {w: collect(m, calib) for w, m in models.items()}
    print(f"{len(train)} training, {len(calib)} calibration, "
          f"{sum(map(len, tests.values()))} test structures; "
          + ", ".join(f"{c}: {len(f)}" for c, f in tests.items()))
    for name, (which, signals, form) in variants.items():
        if cals[name] is not None:
            print(f"{name}: {cals[name]}")
        per_class, allE, allC, rows = {}, [], [], []
        sE, sC = csi.sigmas(raw_cal[which], name, cals[name])
        per_class["calibration set (in-domain)"] = csi.metrics(raw_cal[which], sE, sC)
        for c in tests:
            sE, sC = csi.sigmas(raw[which][c], name, cals[name])
            per_class[c] = csi.metrics(raw[which][c], sE, sC)
            allE.append(sE)
            allC.append(sC)
            rows += raw[which][c]
        overall = csi.metrics(rows, np.concatenate(allE), np.concatenate(allC))
        print()
        print(csi.markdown(name, per_class, overall))
    from ase_nnp.analysis.calibration_metrics import auroc
    for which in ("member 0", "ensemble"):
        rows = [r for c in tests for r in raw[which][c]]
        g = np.concatenate([r["gF"] for r in rows])
        norm = np.concatenate([np.linalg.norm(r["dF"], axis=1) for r in rows])
        print(f"\nγ^F ({which}) alone: AUROC over all test atoms {auroc(g, norm > csi.FLAG):.3f}; "
              "γ > 1 in " + ", ".join(
                  f"{c} {100 * np.mean(np.concatenate([r['g'] for r in raw[which][c]]) > 1):.0f} %"
                  for c in tests))


if __name__ == "__main__":
    main()
