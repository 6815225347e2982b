"""The reference Si setup of Yoo et al., Phys. Rev. Materials 3, 093802 (2019) (26 symmetry functions, 26-30-30-1 tanh)
and the timing helper the benchmarks share."""
import time

from ase.build import bulk

from ase_nnp import Potential
from ase_nnp.descriptors.symmetry_functions.presets import reference_si_descriptor


def reference_potential(seed=0):
    return Potential(["Si"], reference_si_descriptor(6.5), hidden_layers=(30, 30),
                     activation="tanh", seed=seed)


def rattled_si(n_cells, rattle=0.05, seed=0):
    """Diamond Si, cubic 8-atom cell repeated n_cells (int or 3-tuple) times, rattled."""
    atoms = bulk("Si", "diamond", a=5.43, cubic=True).repeat(n_cells)
    atoms.rattle(rattle, seed=seed)
    return atoms


def best_time(fn, repeat=5):
    """The shortest of ``repeat`` timed calls, after one untimed warm-up call."""
    fn()
    times = []
    for _ in range(repeat):
        t = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t)
    return min(times)


def print_table(rows):
    """Print (case, code, value) rows, all strings, as the Markdown table the README shows."""
    width = max(len(r[0]) for r in rows)
    wname = max(len(r[1]) for r in rows)
    print(f"\n| {'case':{width}} | {'code':{wname}} | value |")
    print(f"|{'-' * (width + 2)}|{'-' * (wname + 2)}|-------|")
    for case, name, value in rows:
        print(f"| {case:{width}} | {name:{wname}} | {value} |")
