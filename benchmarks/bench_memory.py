"""Training data that scales: bytes per atom and seconds per epoch with dG/dD stored or
recomputed, for 10⁴, 10⁵ and 10⁶ atoms of Si.

    python benchmarks/bench_memory.py                   # 1e4, 1e5, 1e6 atoms
    python benchmarks/bench_memory.py --sizes 10000     # one size

The data: diamond Si cells of 512 atoms (4 x 4 x 4 conventional), each scaled by a random
factor in [0.97, 1.03] and rattled by 0.1 Å, labelled by Stillinger–Weber (matscipy):
``n / 512`` of them. The descriptor and network: those of the shipped ``data/si.toml`` (29
symmetry functions at 3.8 Å, 25-25 tanh), input scaling fitted to the data. Each size and
mode runs in a fresh process, so that its peak resident memory (``ru_maxrss``) is its own:

* **stored**: ``FrameSet.from_references(descriptor, refs)`` keeps J = ∂G/∂D;
* **recomputed**: ``jacobian_limit=0``: J is not kept, the loss runs the descriptor's
  backward and jvp kernels over all pairs (``ase_nnp.training.frameset``).

Reported per run: atoms, pairs, bytes stored per atom (the FrameSet's arrays), the build
time, one loss + gradient evaluation over all structures (what one L-BFGS epoch costs,
best of 3) and the process's peak memory. "stored" is skipped where J alone would exceed
``--stored-max`` (default 12 GB). The machine's load is printed with each row.
"""

import argparse
import json
import os
import resource
import subprocess
import sys
import time

import numpy as np

ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..")


def structures(n_atoms, seed=0):
    from ase.build import bulk
    from ase_nnp.training.reference import stillinger_weber_si
    calc = stillinger_weber_si()
    rng = np.random.default_rng(seed)
    out = []
    for k in range(max(1, n_atoms // 512)):
        a = bulk("Si", "diamond", a=5.431 * rng.uniform(0.97, 1.03), cubic=True).repeat(4)
        a.rattle(0.1, seed=int(rng.integers(2**31)))
        a.calc = calc
        a.get_forces()
        out.append(a)
    return out


def one_run(n_atoms, mode):
    """The measurements of one size and mode (in this process)."""
    from ase_nnp.training.config import TrainingConfig
    from ase_nnp.training.dataset import read
    from ase_nnp.training.frameset import FrameSet
    from ase_nnp.training.loss import LossWeights, loss_and_gradient
    from ase_nnp.training.preprocess import fit_energy_offsets, fit_scaling
    from ase_nnp.training.trainer import build_descriptor
    from ase_nnp import Potential
    cfg = TrainingConfig.from_toml(os.path.join(ROOT, "data", "si.toml"))
    desc = build_descriptor(cfg, ["Si"])
    t = time.perf_counter()
    refs = read(structures(n_atoms))
    t_label = time.perf_counter() - t
    t = time.perf_counter()
    fs = FrameSet.from_references(desc, refs, jacobian_limit=None if mode == "stored" else 0)
    t_build = time.perf_counter() - t
    del refs
    pot = Potential(["Si"], desc, hidden_layers=(25, 25), seed=0)
    fit_energy_offsets(pot, fs)
    fit_scaling(pot, fs)
    w = LossWeights(1.0, 1e-3, 10.0)
    best = np.inf
    for _ in range(3):
        t = time.perf_counter()
        loss_and_gradient(pot, fs, w)
        best = min(best, time.perf_counter() - t)
    return dict(atoms=fs.n_atoms, pairs=fs.n_pairs, mode=mode,
                bytes_per_atom=fs.stored_bytes() / fs.n_atoms, label_s=t_label,
                build_s=t_build, epoch_s=best,
                peak_GB=resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024 / 1e9,
                load=os.getloadavg()[0])


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sizes", type=int, nargs="+", default=[10_000, 100_000, 1_000_000])
    ap.add_argument("--stored-max", type=float, default=12e9,
                    help="skip 'stored' where J alone would need more bytes than this")
    ap.add_argument("--child", nargs=2, help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.child:
        print(json.dumps(one_run(int(args.child[0]), args.child[1])))
        return
    print(f"{os.cpu_count()} cores, load {os.getloadavg()}")
    rows = []
    for n in args.sizes:
        for mode in ("stored", "recomputed"):
            # J: ~ 8 pairs per atom x 29 functions x 24 bytes
            if mode == "stored" and n * 8 * 29 * 24 > args.stored_max:
                print(f"{n} atoms, stored: skipped (J alone ~{n * 8 * 29 * 24 / 1e9:.0f} GB)")
                continue
            out = subprocess.run([sys.executable, __file__, "--child", str(n), mode],
                                 capture_output=True, text=True)
            if out.returncode:
                print(out.stderr[-2000:])
                raise SystemExit(f"{n} atoms, {mode}: failed")
            row = json.loads(out.stdout.strip().splitlines()[-1])
            rows.append(row)
            print(f"{row['atoms']:>9d} atoms {row['mode']:>10s}: {row['bytes_per_atom']:8.0f} "
                  f"B/atom stored, build {row['build_s']:7.1f} s, epoch {row['epoch_s']:7.2f} s, "
                  f"peak {row['peak_GB']:6.2f} GB (labels {row['label_s']:.0f} s, load "
                  f"{row['load']:.2f})", flush=True)
    print("\n| atoms | pairs | dG/dD | bytes stored per atom | build (s) | loss + gradient (s) "
          "| peak memory (GB) |\n|---|---|---|---|---|---|---|")
    for r in rows:
        print(f"| {r['atoms']:,} | {r['pairs']:,} | {r['mode']} | {r['bytes_per_atom']:,.0f} | "
              f"{r['build_s']:.1f} | {r['epoch_s']:.2f} | {r['peak_GB']:.2f} |")


if __name__ == "__main__":
    main()
