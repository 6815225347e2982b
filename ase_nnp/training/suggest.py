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
* **loss weights**: energy per atom 1, force components 0.002, stress components 1 (eV, Å):
  an error of 1 meV/atom costs as much as 22 meV/Å; a term the data has no reference for
  gets 0. With the Kalman filter below the weights set the balance of the normalised
  residuals (``kalman_normalization = "loss"``); on the DFT sets of Zuo et al. (J. Phys.
  Chem. A 124, 731 (2020)) 0.002 gave lower test energies than 0.01 at nearly the same
  forces (docs/real-data.md);
* **ensemble**: ``ENSEMBLE_SIZE`` members whose mean is the prediction (each with its own
  validation split and initial weights), trained ``workers`` at a time, one per core;
  averaging removes the members' independent error (the filter's updates are noisy), and
  the spread is the uncertainty;
* **partner**: a quadratic SNAP (2J_max = ``PARTNER_TWOJMAX``, the same cutoff) fitted in
  one weighted least-squares solve of the same loss, mixed into every member with the
  weight that minimises the loss on ``HOLDOUT_FRACTION`` of the training structures held
  out of every fit (:mod:`ase_nnp.training.partner`). On the DFT sets of Zuo et al. the
  networks and the linear model err differently (surfaces, bulk energies), and the
  mixture beats both (docs/real-data.md);
* **optimiser**: n2p2's extended Kalman filter (its recommended settings) on residuals
  normalised by the loss; each member keeps the epoch with the best loss on its own
  validation split. With a budget (``time_limit``) every member trains for its share of it
  (``BUDGET_STOPPING``): its validation split holds a few dozen structures, too noisy to
  stop on (with 15 epochs of patience, 4 of the 24 mlearn members stopped before epoch 30,
  one kept its epoch 3), and training on lowered the networks' own test energy error by
  3–13 % on all three elements (docs/real-data.md). Without a budget a member stops
  after 15 epochs without a better validation loss, or at 100 (``EPOCH_STOPPING``).
  Full-batch L-BFGS needed its whole share of the budget and ended with worse errors.
  With stress labels the filter also makes one stress update per structure and epoch
  (``short_stress_fraction = 1``; n2p2 has none): on the mlearn Mo set the networks'
  Elastic error fell from 5.2 to 1.4 meV/atom (docs/real-data.md);
* **the partner's ridge** ``partner_ridge = "auto"``: chosen on the held-out structures.

With a training budget (``time_limit``, minutes for the whole ``ase-nnp train`` run) each
member gets ``time_limit`` / ⌈K / workers⌉ less a reserve for reading, descriptors and the
final test evaluation (:func:`member_minutes`).

Paths of the data files are written as given, or relative to ``relative_to`` (the folder
of the configuration file being written, as ``ase-nnp init -o`` passes it): relative paths
in a configuration are read relative to the configuration file's folder.

``test`` files (never fitted; evaluated once with the best model at the end) are written as
``[data] test``.
"""

import os
import textwrap

import numpy as np

from ..elements import symbol
from ..neighbors import build
from .dataset import read
from .stress_check import check_stress_labels

RADIAL_KEPT = 6
#: loss weights of the force and stress components (energy per atom: 1), eV and Å
FORCES_WEIGHT = 0.002
STRESS_WEIGHT = 1.0
#: members of the suggested ensemble
ENSEMBLE_SIZE = 8
#: the partner mixed into the ensemble: a quadratic SNAP of this 2J_max
PARTNER_TWOJMAX = 8
#: Kalman stress updates per epoch, as a fraction of the structures with stress
SHORT_STRESS_FRACTION = 1.0
STRESS_UPDATE_COMMENT = ("# one stress update per structure and epoch: the networks learn how the "
                         "energy changes with strain")
#: fraction of the training structures held out to choose the mixing weight
HOLDOUT_FRACTION = 0.1
#: stopping without a budget: at most 100 epochs, 15 without a better validation loss
EPOCH_STOPPING = ("max_epochs = 100", "patience = 15")
#: stopping with a budget: each member trains for its share of it (no early stopping)
BUDGET_STOPPING = (
    "# no early stopping: a member's validation split (a few dozen structures) is too noisy",
    "# to stop on; each member trains for its time_limit and keeps its best epoch",
    "max_epochs = 10000", "patience = 0")
#: minutes of a budget kept for reading the data, descriptors and the final evaluations
RESERVE_MINUTES = 0.5
#: fraction of a budget kept on top of that (an epoch in progress when the time is up)
RESERVE_FRACTION = 0.05
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


def _written_paths(sources, relative_to=None):
    """``sources`` (one path or several) as the configuration writes them: absolute ones
    unchanged, relative ones (to the current folder) re-expressed relative to the folder
    ``relative_to`` when given, so that the configuration there finds them (absolute when
    the two share no folder but the root)."""
    files = [sources] if isinstance(sources, (str, os.PathLike)) else list(sources)
    files = [os.fspath(f) for f in files]
    if relative_to is None:
        return files
    out = []
    for f in files:
        full = os.path.abspath(f)
        # a path that would climb to the root is clearer written absolute
        shared = os.path.commonpath([full, os.path.abspath(relative_to)])
        out.append(f if os.path.isabs(f) else
                   full if shared == os.path.dirname(shared) else os.path.relpath(full, relative_to))
    return out


def _toml_list(paths):
    """A TOML array of strings (backslashes and quotes escaped)."""
    return "[" + ", ".join('"' + p.replace("\\", "\\\\").replace('"', '\\"') + '"'
                           for p in paths) + "]"


def _add_to_section(lines, section, new):
    """Insert the lines ``new`` at the end of ``[section]`` in the TOML lines ``lines``
    (before the blank lines that close it), or append the section if it is missing."""
    header = f"[{section}]"
    if header not in lines:
        lines.extend([header] + new + [""])
        return
    end = lines.index(header) + 1
    while end < len(lines) and not lines[end].startswith("["):
        end += 1
    while lines[end - 1] == "":
        end -= 1
    lines[end:end] = new


def member_minutes(budget, members=ENSEMBLE_SIZE, workers=1):
    """Minutes of training per member so that ``members`` trained ``workers`` at a time fit
    a budget of ``budget`` minutes: (budget (1 − RESERVE_FRACTION) − RESERVE_MINUTES) /
    ⌈members / workers⌉, at least 0.1."""
    rounds = -(-members // max(1, workers))
    return max(0.1, (budget * (1 - RESERVE_FRACTION) - RESERVE_MINUTES) / rounds)


def suggest_config(sources, index=":", model="model.nnp", test=None, time_limit=None,
                   relative_to=None, units="angstrom-ev"):
    """The text of a TOML configuration for the data in ``sources`` (module docstring);
    ``test``: files for ``[data] test``; ``time_limit``: minutes for ``[optimizer]
    time_limit`` (the budget of the whole run); ``relative_to``: the folder the
    configuration will be written to; ``units``: those of n2p2 / RuNNer structure files
    among the data (``[data] units``, written whenever such a file is among them)."""
    from .dataset import is_input_data
    refs = read(sources, index, units)
    workers = max(1, min(ENSEMBLE_SIZE, os.cpu_count() or 1))
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
    check = check_stress_labels(refs, cutoff, FORCES_WEIGHT) if has_s else None
    stress_weight = STRESS_WEIGHT if has_s else 0.0
    stress_note = "" if has_s else "   # the data has no stress"
    stress_lines = []
    if check is not None:
        stress_lines = [f"# {line}" for line in textwrap.wrap(check.summary(), 86)]
        if check.decided and not check.consistent_scale:
            stress_weight = 0.0
            stress_lines.append("# the labels do not follow the energies (a sign or unit error? VASP's "
                                '"in kB" line is kbar,')
            stress_lines.append("# positive under compression; ASE: eV/Å³, tensile positive): "
                                "not fitted until the files are fixed")
    files = _written_paths(sources, relative_to)
    lines = [
        f"# Starting configuration written by `ase-nnp init` from {len(refs)} structures",
        f"# ({', '.join(elements)}; forces in {has_f}, stress in {has_s}). Every key and its",
        "# default: ase-nnp train --show-config. Train with: ase-nnp train <this file>",
        "",
        "[data]",
        f"train = {_toml_list(files)}",
        "validation_fraction = 0.1",
    ]
    if check is not None and check.reordered:
        lines += ["# the stress labels as read do not match the strain derivative of the energies;",
                  "# read in this order they do (training, validation and test files alike):",
                  f'stress_order = "{" ".join(check.order)}"']
    n2p2_files = [f for f in ([sources] if isinstance(sources, (str, os.PathLike))
                              else sources)
                  if isinstance(f, (str, os.PathLike)) and is_input_data(os.fspath(f))]
    if n2p2_files or units != "angstrom-ev":
        lines += ["# n2p2/RuNNer input.data files do not say their units: these were read as",
                  f"# {'Å and eV' if units == 'angstrom-ev' else 'Bohr and Hartree'}"
                  " (ase-nnp init --units angstrom-ev|bohr-hartree)",
                  f'units = "{units}"']
    lines += [
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
        "# eV and Å: 1 meV/atom of energy error costs as much as 22 meV/Å of force error",
        "energy_weight = 1.0",
        f"forces_weight = {FORCES_WEIGHT if has_f else 0.0}" + ("" if has_f else "   # the data has no forces"),
        *stress_lines,
        f"stress_weight = {stress_weight}" + stress_note,
        "",
        "[optimizer]",
        "# n2p2's Kalman filter on residuals normalised by the loss (kalman_normalization);",
        "# each member keeps the epoch best on its own validation split",
        'method = "kalman"',
        'kalman_normalization = "loss"',
        *(BUDGET_STOPPING if time_limit else EPOCH_STOPPING),
        *([STRESS_UPDATE_COMMENT, f"short_stress_fraction = {SHORT_STRESS_FRACTION}"]
          if stress_weight > 0 else []),
        "",
        "[ensemble]",
        f"# {ENSEMBLE_SIZE} members (own validation split and initial weights); their mean is the",
        f"# prediction and their spread the uncertainty; trained {workers} at a time ({os.cpu_count() or 1} cores)",
        f"ensemble_size = {ENSEMBLE_SIZE}",
        f"workers = {workers}",
        "# a quadratic SNAP fitted in one solve beside the networks, mixed into every member",
        f"# with the weight that is best on the {HOLDOUT_FRACTION:g} of the structures held out of every fit",
        'partner = "quadratic"',
        f"partner_twojmax = {PARTNER_TWOJMAX}",
        f"holdout_fraction = {HOLDOUT_FRACTION}",
        "# its ridge factor chosen on those held-out structures (0, 1e-9 ... 1e-1)",
        'partner_ridge = "auto"',
        "",
        "[output]",
        f'model = "{model}"',
        "",
    ]
    if test:
        _add_to_section(lines, "data", [
            "# evaluated once with the best model at the end, never fitted",
            f"test = {_toml_list(_written_paths(test, relative_to))}"])
    if time_limit:
        rounds = -(-ENSEMBLE_SIZE // workers)
        _add_to_section(lines, "optimizer", [
            f"# minutes per member: the budget of {float(time_limit):g} min (ase-nnp init --time-limit) "
            f"for {ENSEMBLE_SIZE} members",
            f"# in {rounds} round{'s' if rounds > 1 else ''} of {workers}, less a reserve for "
            "reading, descriptors and the final evaluation",
            f"time_limit = {member_minutes(time_limit, ENSEMBLE_SIZE, workers):.2f}"])
    return "\n".join(lines)
