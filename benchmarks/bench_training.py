"""Training benchmark: one full-batch loss-and-gradient evaluation (energy + forces + stress).

    python benchmarks/bench_training.py [--frames 500]

The case: 500 structures of 64 rattled Si atoms, the 26-function, 30-30
setup. Reference values are random (only the time and memory are measured).
"""
import argparse
import os
import resource
import sys
import time

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from reference_setup import rattled_si, reference_potential  # noqa: E402

from ase_nnp.training import FrameSet, LossWeights, loss_and_gradient  # noqa: E402


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--frames", type=int, default=500)
    ap.add_argument("--repeat", type=int, default=3)
    args = ap.parse_args()
    pot = reference_potential()
    rng = np.random.default_rng(0)
    t = time.perf_counter()
    frames = []
    for k in range(args.frames):
        atoms = rattled_si(2, rattle=0.1, seed=k)
        atoms.set_cell(atoms.cell[:] * rng.uniform(0.97, 1.03), scale_atoms=True)
        frames.append(dict(positions=atoms.positions, numbers=atoms.numbers, cell=atoms.cell[:],
                           pbc=True, energy=-4.3 * 64, forces=rng.normal(0, 0.5, (64, 3)),
                           stress=np.diag(rng.normal(0, 0.01, 3))))
    fs = FrameSet.from_arrays(pot.descriptor, frames)
    t_prep = time.perf_counter() - t
    loss_and_gradient(pot, fs.subset([0, 1]), LossWeights())      # load the kernels
    times = []
    for _ in range(args.repeat):
        t = time.perf_counter()
        loss_and_gradient(pot, fs, LossWeights())
        times.append(time.perf_counter() - t)
    t_eval = min(times)
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"{args.frames} frames x 64 Si ({fs}):\n  preparation (neighbour lists, G, dG/dD; "
          f"once) {t_prep:.2f} s\n  one full-batch loss+gradient (E+F+stress), best of "
          f"{args.repeat}: {t_eval:.2f} s\n  peak RSS {peak:.0f} MB")


if __name__ == "__main__":
    main()
