"""``ase-nnp init data... > config.toml``: a starting configuration read off the data.

Every choice is written into the file as a comment with the numbers it came from:

* **elements**: those in the data, by atomic number;
* **cutoff**: 2.2 × the median nearest-neighbour distance d_nn, rounded to 0.1 Å and
  kept within 4–6.5 Å — past the second neighbour shell of close-packed (√2 d_nn) and
  diamond (1.63 d_nn) lattices, where most of the bonding energy lies;
* **radial functions**: the shifted grid of Imbalzano et al. (J. Chem. Phys. 148,
  241730 (2018)) with ``radial_r_low`` just below the shortest distance in the data
  (functions centred where no pair ever occurs take values near 1e-100 in training, and
  their scaling would blow up any structure that comes closer) and the fewest intervals
  that keep at least ``RADIAL_KEPT`` functions per element pair;
* **angular functions**: Gastegger et al.'s grid (J. Chem. Phys. 148, 241709 (2018))
  from the shortest distance;
* **loss weights**: ≈ 1 / (accuracy aimed at)² ÷ 10⁶ in eV and Å, for 1 meV/atom,
  32 meV/Å and 0.05 GPa — the weights the shipped Si potential was trained with; a term
  the data has no reference for gets 0.

Paths of the data files are written as given: relative ones are read relative to the
configuration file's folder, so write the file next to the data (or give absolute paths).
"""

import numpy as np

from ..elements import symbol
from ..neighbors import build
from .dataset import read

RADIAL_KEPT = 6
#: the most structures whose distances are read (evenly spaced over the data)
SAMPLE = 200


def distance_statistics(refs, reach=8.0):
    """(median nearest-neighbour distance, shortest distance per element pair) over a
    sample of the structures."""
    step = max(1, len(refs) // SAMPLE)
    nearest, shortest = [], {}
    for r in refs[::step]:
        a = r.atoms
        nl = build(a.positions, np.asarray(a.cell), a.pbc, reach)
        if not nl.n_pairs:
            continue
        near = np.full(len(a), np.inf)
        np.minimum.at(near, nl.i, nl.r)
        nearest.extend(near[np.isfinite(near)])
        z = a.numbers
        for zi, zj, d in zip(z[nl.i], z[nl.j], nl.r):
            key = (min(zi, zj), max(zi, zj))
            if d < shortest.get(key, np.inf):
                shortest[key] = d
    if not nearest:
        raise ValueError(f"no two atoms of the data lie within {reach} Å of each other")
    return float(np.median(nearest)), shortest


def _radial_n(cutoff, r_low):
    from ..descriptors.symmetry_functions.grids import radial_grid
    for n in range(4, 64):
        if len(radial_grid(n, cutoff, "shifted", r_low)) >= RADIAL_KEPT:
            return n
    return 64


def suggest_config(sources, index=":", model="model.nnp"):
    """The text of a TOML configuration for the data in ``sources`` (module docstring)."""
    refs = read(sources, index)
    zs = sorted({int(z) for r in refs for z in r.atoms.numbers})
    elements = [symbol(z) for z in zs]
    d_nn, shortest = distance_statistics(refs)
    cutoff = float(np.clip(round(2.2 * d_nn, 1), 4.0, 6.5))
    r_min = min(shortest.values())
    r_low = np.floor(0.95 * r_min * 20) / 20
    radial_n = _radial_n(cutoff, r_low)
    ang_low = max(round(r_min, 1), 0.5)
    has_f = sum(r.forces is not None for r in refs)
    has_s = sum(r.stress is not None for r in refs)
    pairs = ", ".join(f"{symbol(a)}-{symbol(b)} {d:.3f} Å" for (a, b), d in sorted(shortest.items()))
    files = [sources] if isinstance(sources, str) else list(sources)
    quoted = ", ".join(f'"{f}"' for f in files)
    lines = [
        f"# Starting configuration written by `ase-nnp init` from {len(refs)} structures",
        f"# ({', '.join(elements)}; forces in {has_f}, stress in {has_s}). Every key and its",
        "# default: ase-nnp train --show-config. Train with: ase-nnp train <this file>",
        "",
        "[data]",
        f"train = [{quoted}]",
        "validation_fraction = 0.1",
        "",
        "[descriptor]",
        f"elements = [{', '.join(repr(e).replace(chr(39), chr(34)) for e in elements)}]",
        f"# median nearest-neighbour distance {d_nn:.3f} Å; cutoff = 2.2 × that, within 4-6.5 Å,",
        "# reaches past the second neighbour shell",
        f"cutoff = {cutoff}",
        'cutoff_function = "cos"',
        f"# shortest distances in the data: {pairs}",
        f"# radial functions centred below {r_low} Å would see no pair in training, so they are",
        f"# left out, and {radial_n} intervals keep {RADIAL_KEPT} or more functions per element pair",
        'radial_grid = "shifted"',
        f"radial_n = {radial_n}",
        f"radial_r_low = {r_low}",
        'angular_grid = "centered"',
        "angular_n = 3",
        f"angular_r_low = {ang_low}",
        'angular_kind = "narrow"',
        "zetas = [1, 2, 4]",
        "lambdas = [-1, 1]",
        "",
        "[network]",
        "hidden_layers = [25, 25]",
        'activation = "tanh"',
        "",
        "[loss]",
        "# weights ≈ 1 / (accuracy aimed at)² ÷ 1e6 in eV and Å: 1 meV/atom, 32 meV/Å, 0.05 GPa",
        "energy_weight = 1.0",
        f"forces_weight = {0.001 if has_f else 0.0}" + ("" if has_f else "   # the data has no forces"),
        f"stress_weight = {10.0 if has_s else 0.0}" + ("" if has_s else "   # the data has no stress"),
        "",
        "[optimizer]",
        'method = "lbfgs"',
        "max_epochs = 2000",
        "patience = 200",
        "",
        "[output]",
        f'model = "{model}"',
        "",
    ]
    return "\n".join(lines)
