"""The ``ase-nnp`` command.

    ase-nnp init data... > config.toml     a starting configuration read off the data
            [--test TEST...] [--time-limit MIN] [--units U] [-o config.toml]
    ase-nnp plot model.curve.csv           the learning curve as a PNG
    ase-nnp learn learn.toml [--resume]    active learning with any ASE calculator as oracle
    ase-nnp info model.nnp                 what is in a model file
    ase-nnp evaluate model.nnp data...     RMSE / MAE against reference data (any ase.io source,
            [--units U]                    n2p2 input.data in U = angstrom-ev or bohr-hartree)
    ase-nnp train config.toml [--resume]   train a potential (keys: ase-nnp train --show-config)
    ase-nnp replicas ref.nnp config.toml   a replica ensemble of ref.nnp (per-atom uncertainty)
    ase-nnp mapping model.nnp --reference sw   atomic-energy mapping: invariant points,
                                           slabs, training-set connectivity r_g
    ase-nnp export / import                n2p2 and RuNNer files
    ase-nnp calibrate model.nnp data...    calibrated error bars from held-out labelled data
            [--training TRAIN...] [-o OUT]   (and γ's active set from the training data)
"""

import argparse
import json
import os
import sys

import numpy as np

from .active import learn_from_toml
from .analysis.mapping import crystal as prototype, load_potential
from .analysis.mapping_report import report
from .analysis.metrics import PARITY_UNITS, UNITS, compare_references
from .calculator import single_point
from .calibration import calibrate
from .committee import load
from .elements import ATOMIC_NUMBERS
from .exceptions import InteropError, NNPError
from .interop import read_n2p2, write_n2p2
from .interop.lammps import pair_lines
from .interop.lammps_committee import write_committee
from .interop.n2p2 import resolve_units
from .interop.snap import read_snap, write_mliap, write_snap
from .potential import Potential
from .training.config import TrainingConfig, describe
from .training.dataset import check_elements, labelled_atoms, read as read_data
from .training.reference import calculator_from_spec
from .training.replicas import train_replicas
from .training.run import run as run_training
from .training.suggest import suggest_config
from .version import __version__


def _info(args):
    import h5py

    model = load(args.model)
    with h5py.File(args.model, "r") as f:
        version = int(f.attrs["format_version"])
        created = f.attrs.get("created", "")
        package = f.attrs.get("package_version", "")
    print(f"{args.model}: ase-nnp model, format version {version}, written by ase-nnp "
          f"{package} at {created}")
    if isinstance(model, Potential):
        _describe_potential(model, args.functions)
        print(_units_line(model))
    else:
        print(f"an ensemble of {len(model)} members (their mean is the prediction, their "
              "spread the uncertainty); member 0:")
        _describe_potential(model.members[0], args.functions)
        print(_units_line(model.members[0]))
        if model.partner is not None:
            print(f"partner, mixed into every member with weight {model.partner_weight:.6g} "
                  f"(the networks {1 - model.partner_weight:.6g}):")
            _describe_potential(model.partner, args.functions)
    print(_uncertainty_line(model))
    if model.metadata:
        print("metadata: " + json.dumps(model.metadata, indent=None, default=str))
    return 0


def _uncertainty_line(model):
    """What the model's error bars are: calibrated (signals, form, data) or raw, and whether
    it has the extrapolation grade's active set."""
    graded = all(getattr(m, "active_set", None) is not None for m in model.members)
    grade = ("extrapolation grade: active sets of " + ", ".join(
        f"{m.active_set.rows[e].shape[0]} {e} atoms" for e in model.elements
        for m in model.members[:1]) + (" per member" if len(model.members) > 1 else "")
        if graded else "extrapolation grade: none (ase-nnp calibrate --training)")
    cal = model.calibration
    if cal is None:
        kind = ("raw spreads of the members, not calibrated (ase-nnp calibrate)"
                if len(model.members) > 1 else "none")
    else:
        meta = cal.metadata
        kind = (f"calibrated on {meta.get('structures', '?')} structures ({cal.form}, "
                f"{' + '.join(cal.signals)}"
                + (f", conformal scores of {len(cal.scores)} force components" if cal.scores
                   is not None else "") + ")")
    return f"uncertainty: {kind}; {grade}"


def _describe_potential(pot, functions=False):
    sf = pot.descriptor
    print(f"elements: {', '.join(pot.elements)}; descriptor: {sf.kind}, {len(sf)} functions, "
          f"cutoff {sf.cutoff:g} Å")
    for e in pot.elements:
        net = pot.networks[e]
        kinds = {}
        for label in sf.feature_labels(e):
            # quadratic SNAP's products (B3*B7, B3^2/2) counted as one kind
            key = "products" if ("*" in label or "^2" in label) else label.split("[")[0]
            kinds[key] = kinds.get(key, 0) + 1
        print(f"  {e}: {sf.n_features(e)} inputs ({', '.join(f'{n} {k}' for k, n in kinds.items())}), "
              f"network {'-'.join(map(str, net.layer_sizes))} ({', '.join(net.activations)}), "
              f"{net.n_parameters} parameters, scaling {pot.scalings[e].mode}, "
              f"E0 = {pot.energy_offsets[e]:.6f} eV")
    if functions:
        for e in pot.elements:
            for k, label in enumerate(sf.feature_labels(e)):
                print(f"  {e} {k:3d} {label}")


def _labelled(sources, units, elements, stress_order=None):
    """The structures of ``sources`` as Atoms carrying their reference labels."""
    refs = read_data(sources, units=units or "angstrom-ev", stress_order=stress_order)
    check_elements(refs, elements)
    return labelled_atoms(refs)


def _calibrate(args):
    model = load(args.model)
    frames = _labelled(args.data, args.units, model.elements, args.stress_order)
    training = None
    if args.training:
        training = _labelled(args.training, args.units, model.elements, args.stress_order)
    cal = calibrate(model, frames, form=args.form, conformal_fraction=args.conformal_fraction,
                    seed=args.seed, training=training, grade_exponent=args.grade_exponent)
    out = args.output or args.model
    model.save(out)
    meta = cal.metadata
    print(f"{len(frames)} structures: the map fitted on {meta['fitted_on']}, conformal scores "
          f"from {meta['conformal_on']}; signals {', '.join(cal.signals)}, form {cal.form}")
    units = {"energy": "meV/atom", "forces": "eV/Å", "stress": "meV/Å³"}
    scale = {"energy": 1e3, "forces": 1.0, "stress": 1e3}
    print(f"{'quantity':9s} {'values':>7s} {'RMSE':>10s} {'unit':9s}  log σ = a + b log s + "
          "c log(1 + ln max(γ, 1))")
    for q, (a, b, c) in cal.maps.items():
        st = meta["statistics"][q]
        print(f"{q:9s} {st['values']:7d} {scale[q] * st['rmse']:10.4g} {units[q]:9s}  "
              f"a = {a:.4g}, b = {b:.4g}, c = {c:.4g}")
    if cal.scores is not None:
        print("force intervals (conformal, in-distribution): "
              + ", ".join(f"{100 * p:g} %: ±{cal.quantile(p):.3g} σ" for p in (0.68, 0.9, 0.95)))
    print(f"calibration written to {out}")
    return 0


def _evaluate(args):
    pot = load(args.model)
    if args.units is not None:
        _units_need_an_input_data_file(args.units, args.data)
    refs = read_data(args.data, units=args.units or "angstrom-ev", stress_order=args.stress_order)
    check_elements(refs, pot.elements)
    report = compare_references(pot, refs, group=args.group)
    print(f"{len(refs)} structures from {', '.join(map(str, args.data))}")
    print(f"{'property':10s} {'unit':9s} {'RMSE':>12s} {'MAE':>12s} {'structures':>11s}")
    for name, st in report.stats.items():
        print(f"{name:10s} {UNITS[name][0]:9s} {st.rmse:12.5f} {st.mae:12.5f} "
              f"{st.n_structures:11d}")
    if args.group:
        with_stress = any("stress" in stats for stats in report.groups.values())
        print(f"\nby {args.group}: RMSE of energy (meV/atom) and forces (eV/Å)"
              + (", stress (GPa)" if with_stress else ""))
        print(f"{args.group:>16s} {'structures':>11s} {'energy':>10s} {'forces':>10s}"
              + (f" {'stress':>10s}" if with_stress else ""))
        for label, stats in report.groups.items():
            f = stats["forces"].rmse if "forces" in stats else float("nan")
            sigma = stats["stress"].rmse if "stress" in stats else float("nan")
            print(f"{label:>16s} {stats['energy'].n_structures:11d} "
                  f"{stats['energy'].rmse:10.3f} {f:10.4f}"
                  + (f" {sigma:10.4f}" if with_stress else ""))
    for line in _evaluate_notes(report):
        print(line)
    if args.write:
        _write_predictions(args.write, pot, refs)
    if args.plot:
        _parity_plot(args.plot, {k: v for k, v in report.parity.items()
                                 if k in ("energy", "forces", "stress")}, report.stats)
    return 0


def _units_need_an_input_data_file(units, data):
    """--units converts n2p2/RuNNer input.data files only: refused when none is given."""
    from .training.dataset import is_input_data
    if not any(is_input_data(str(f)) for f in data):
        raise ValueError(f"--units {units} applies to n2p2/RuNNer input.data files, and none "
                         "of the data is one (other formats carry their own units); leave "
                         "--units out")


def _evaluate_notes(report):
    """The lines after ``evaluate``'s table: how many atoms extrapolated, and a warning
    for errors larger than those of a prediction that knows nothing."""
    x = report.extrapolation
    lines = []
    if x is not None and not x.checked:
        lines.append("extrapolation: not checked (the model stores no training range of its "
                     "descriptors, e.g. an imported SNAP or untrained model)")
    elif x is not None:
        lines.append(f"extrapolation: {x.atoms} of {x.n_atoms} atoms "
                     f"({100.0 * x.atoms / max(x.n_atoms, 1):.1f} %), in {x.structures} of "
                     f"{x.n_structures} structures, have descriptor values outside the "
                     "model's training range")
    what = {"energy": "a constant energy per atom (the data's mean)", "forces": "zero forces"}
    for name, rmse, trivial in report.worse_than_trivial():
        unit = UNITS[name][0]
        lines.append(f"WARNING: the {name} RMSE ({rmse:.5g} {unit}) exceeds that of "
                     f"{what[name]} ({trivial:.5g} {unit}), a prediction that knows nothing "
                     "about these data. Check the units (a potential in Bohr and Hartree "
                     "needs `ase-nnp import --units bohr-hartree`, an n2p2 input.data in "
                     "Bohr and Hartree `evaluate --units bohr-hartree`; other data files in "
                     "other units need converting), that this is the model for these data and "
                     "that both use the same reference energies")
    if x is not None and x.checked and x.n_atoms and x.atoms == x.n_atoms:
        lines.append("WARNING: every atom is outside the training range: the model was not "
                     "trained on anything like these structures, or lengths are in other "
                     "units than the model's")
    return lines


def _write_predictions(path, pot, refs):
    """Every structure with the prediction as its calculator results and the reference
    beside it (info ref_energy, ref_stress; arrays ref_forces): extxyz or any ase.io
    format, or an ase.db database (.db: references as key-value pairs and data)."""
    from ase.stress import full_3x3_to_voigt_6_stress
    images = []
    for ref in refs:
        a = single_point(pot, ref.atoms)
        a.info["ref_energy"] = ref.energy
        if ref.stress is not None:
            a.info["ref_stress"] = full_3x3_to_voigt_6_stress(ref.stress)
        if ref.forces is not None:
            a.arrays["ref_forces"] = np.asarray(ref.forces)
        images.append(a)
    if str(path).endswith(".db"):
        from ase.db import connect
        with connect(path, append=False) as db:
            for a in images:
                data = {k: a.arrays[k] for k in ("ref_forces",) if k in a.arrays}
                if "ref_stress" in a.info:
                    data["ref_stress"] = a.info["ref_stress"]
                db.write(a, ref_energy=a.info["ref_energy"], data=data)
    else:
        from ase.io import write
        write(path, images)
    print(f"predictions and references of {len(images)} structures written to {path}")


def _parity_plot(path, parity, stats):
    """Reference against prediction for energies, force and stress components, with each
    panel's RMSE (needs matplotlib); ``parity``: name -> (reference, prediction) and
    ``stats``: name -> Stats, as :class:`ErrorReport` holds them."""
    try:
        import matplotlib
        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        print("ase-nnp evaluate: --plot needs matplotlib (pip install 'ase-nnp[plot]')",
              file=sys.stderr)
        return
    panels = [(k, ref, pred) for k, (ref, pred) in parity.items()]
    fig, axes = plt.subplots(1, len(panels), figsize=(4.5 * len(panels), 4.2))
    for ax, (name, ref, pred) in zip(np.atleast_1d(axes), panels):
        lo, hi = min(ref.min(), pred.min()), max(ref.max(), pred.max())
        ax.plot([lo, hi], [lo, hi], "k-", lw=0.8)
        ax.plot(ref, pred, ".", ms=2, alpha=0.5)
        unit = PARITY_UNITS[name]
        ax.set_xlabel(f"reference {name} ({unit})")
        ax.set_ylabel(f"predicted {name} ({unit})")
        ax.set_title(f"RMSE {stats[name].rmse:.4g} {UNITS[name][0]}", fontsize=10)
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    print(f"parity plot written to {path}")


def _train(args):
    if args.show_config:
        print(describe())
        return 0
    if args.config is None:
        print("ase-nnp train: give a config.toml (see ase-nnp train --show-config)",
              file=sys.stderr)
        return 2
    cfg = TrainingConfig.from_toml(args.config)
    result = run_training(cfg, resume=args.resume)
    return 130 if result.interrupted else 0


def _plot(args):
    try:
        import matplotlib
        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        print("ase-nnp plot needs matplotlib (pip install 'ase-nnp[plot]')", file=sys.stderr)
        return 2
    if not os.path.exists(args.curve):
        print(f"ase-nnp plot: no such file {args.curve}", file=sys.stderr)
        return 2
    data = np.genfromtxt(args.curve, delimiter=",", names=True)
    data = np.atleast_1d(data)
    panels = [("energy_meV_atom", "energy RMSE (meV/atom)"), ("forces_eV_A", "force RMSE (eV/Å)"),
              ("stress_GPa", "stress RMSE (GPa)")]
    panels = [(k, label) for k, label in panels
              if np.any(np.isfinite(data[f"train_{k}"])) or np.any(np.isfinite(data[f"val_{k}"]))]
    names = data.dtype.names
    mapping = [n for n in names if n.startswith("map_")]
    slab = [n for n in names if n.startswith("slab_")]
    n_panels = len(panels) + bool(mapping or slab)
    fig, axes = plt.subplots(1, n_panels, figsize=(4.2 * n_panels, 3.4), squeeze=False)
    if mapping or slab:
        # the [monitor] columns: rows off the schedule are NaN
        ax = axes[0][-1]
        if mapping:
            rows = np.all(np.isfinite([data[n] for n in mapping]), axis=0)
            rms = np.sqrt(np.mean([data[n][rows] ** 2 for n in mapping], axis=0))
            ax.plot(data["epoch"][rows], rms, "o-", ms=3,
                    label=f"invariant points, RMS of {len(mapping)}")
        for n in slab:
            rows = np.isfinite(data[n])
            ax.plot(data["epoch"][rows], np.abs(data[n][rows]), "s-", ms=3,
                    label="|ΔĒ_at(" + n.split("_")[1] + ")|")
        ax.set_yscale("log")
        ax.set_xlabel("epoch")
        ax.set_ylabel("mapping error (meV/atom)")
        ax.legend(fontsize=8)
    for ax, (k, label) in zip(axes[0], panels):
        for split, style in (("train", "-"), ("val", "--")):
            y = data[f"{split}_{k}"]
            if np.any(np.isfinite(y)):
                ax.plot(data["epoch"], y, style, label={"train": "training",
                                                        "val": "validation"}[split])
        ax.set_yscale("log")
        ax.set_xlabel("epoch")
        ax.set_ylabel(label)
        ax.legend()
    fig.tight_layout()
    out = args.out or os.path.splitext(args.curve)[0] + ".png"
    fig.savefig(out, dpi=100)
    print(f"learning curve written to {out}")
    return 0


def _mapping(args):
    from .training.dataset import read_structures
    from .analysis.mapping import crystal as prototype, load_potential
    from .analysis.mapping_report import report
    from .exceptions import NNPError
    from .training.reference import calculator_from_spec
    pot = load_potential(args.model)
    element = args.element
    if element is None:
        if len(pot.elements) != 1:
            raise NNPError(f"the model covers {pot.elements}: choose the crystal's element "
                           "with --element")
        element = pot.elements[0]
    try:
        crystal = prototype(element, args.crystal, args.a)
    except ValueError as err:
        raise NNPError(f"{err}; give --crystal and --a") from None
    reference = calculator_from_spec(args.reference, "--reference")
    slabs = [(path, read_structures(path, 0, args.units)) for path in args.slab]
    train = [a for path in args.train for a in read_structures(path, ":", args.units)]
    out_dir = args.out_dir or None
    if out_dir:
        import importlib.util
        if importlib.util.find_spec("matplotlib") is None:
            print("no plots: they need matplotlib (pip install 'ase-nnp[plot]')", file=sys.stderr)
            out_dir = None
    report(pot, reference, crystal, args.strains, slabs, train, out_dir, args.max_points,
           args.fraction, args.bulk_tolerance, validation_rmse=(
               None if args.validation_rmse is None else args.validation_rmse / 1000),
           atoms_per_structure=args.atoms_per_structure)
    return 0


def _learn(args):
    result = learn_from_toml(args.config, resume=args.resume)
    print(f"ensemble: {result.ensemble_path}")
    return 0


def _init(args):
    """Print the suggested configuration, or write it atomically to ``-o`` with the data
    paths relative to that file's folder (where ``ase-nnp train`` looks for them)."""
    from .training.suggest import suggest_config
    if args.time_limit is not None and not (0 < args.time_limit < float("inf")):
        raise ValueError(f"--time-limit {args.time_limit:g}: give the training budget in "
                         "minutes, a number above 0")
    for path in args.test or ():
        if not os.path.exists(path):
            raise FileNotFoundError(2, "no such test file (check the path given to --test)",
                                    path)
    if args.units != "angstrom-ev":
        _units_need_an_input_data_file(args.units, args.data)
    folder = os.path.dirname(os.path.abspath(args.output)) if args.output else None
    text = suggest_config(args.data, model=args.model, test=args.test,
                          time_limit=args.time_limit, relative_to=folder, units=args.units)
    if not args.output:
        print(text)
        return 0
    from .atomic import atomic_path
    os.makedirs(folder, exist_ok=True)
    with atomic_path(args.output) as tmp:
        with open(tmp, "w", encoding="utf-8") as fh:
            fh.write(text)
    print(f"configuration written to {args.output}; train with: ase-nnp train {args.output}")
    return 0


def _replicas(args):
    train_replicas(args.reference, args.config, members=args.members)
    return 0


def _export(args):
    from .elements import ATOMIC_NUMBERS
    from .interop import write_n2p2
    from .interop.lammps import pair_lines
    from .committee import Ensemble, load as load_model
    from .mean_network import mean_potential
    pot = load_model(args.model)
    members = pot.members
    committee = pot if isinstance(pot, Ensemble) and pot.reference is None else None
    if getattr(pot, "reference", None) is not None:
        print(f"note: {args.model} is a replica ensemble; its prediction, the reference "
              "potential, is written")
        pot = pot.reference
    elif isinstance(pot, Ensemble):
        print(f"note: {args.model} holds an ensemble of {len(members)}; its mean is written as "
              f"one potential whose networks are the members' side by side ({len(members)}× "
              "as wide, the same numbers to rounding); the spread is not carried")
        partner, weight = pot.partner, pot.partner_weight
        pot = mean_potential(pot)
        if partner is not None:
            return _export_mixture(args, pot, partner, weight)
    if args.format in ("snap", "mliap") and args.units != "angstrom-ev":
        raise InteropError(f"--units {args.units} is for n2p2 files; LAMMPS' {args.format} "
                           "files are written for units metal (eV, Å)")
    if args.format in ("snap", "mliap"):
        write = write_snap if args.format == "snap" else write_mliap
        out = write(pot, args.outdir, name=os.path.splitext(os.path.basename(args.model))[0])
        print(f"{args.model} -> {', '.join(out.files)}")
        print("LAMMPS (units metal; types numbered in this element order):")
        for line in out.lines:
            print(f"  {line}")
        return 0
    norm = None
    if args.normalization:
        norm = tuple(args.normalization)
    write_n2p2(pot, args.outdir, normalization=norm, without_repulsion=True,
               units=args.units)
    by_z = sorted(pot.elements, key=ATOMIC_NUMBERS.get)
    # absolute, so that the pair_style line works in a deck run from any directory
    outdir = os.path.abspath(args.outdir)
    print(f"{args.model} -> {outdir}/ (n2p2: input.nn, scaling.data, "
          f"{', '.join(f'weights.{ATOMIC_NUMBERS[e]:03d}.data' for e in by_z)})")
    if pot.repulsion is not None:
        print(f"note: the {pot.repulsion.kind.upper()} repulsion is not in the n2p2 files "
              "(n2p2 cannot express it): nnp-predict and RuNNer see the networks alone; the "
              "LAMMPS lines below add it back with pair_style zbl")
    print("LAMMPS (units metal; types numbered in this element order):")
    for line in pair_lines(pot, outdir, units=resolve_units(args.units)):
        print(f"  {line}")
    if committee is not None and args.units == "angstrom-ev" and not args.normalization \
            and all(m.repulsion is None for m in committee.members):
        files = write_committee(committee, outdir)
        print(f"the {len(committee)} members -> {outdir}/member0 … member{len(committee) - 1}; "
              f"`include {files.include}` after read_data runs them as a committee: the mean, "
              f"and σ_E ({'calibrated' if committee.calibration is not None else 'raw spread'}) "
              "printed every nnp_every steps, fix halt at nnp_sigma_max eV/atom "
              "(lmp -var nnp_every 10 -var nnp_sigma_max 0.005)")
    return 0


def _export_mixture(args, networks, partner, weight):
    """An ensemble with a SNAP partner: the networks' mean as n2p2 files, the partner as
    ``partner.snapcoeff``/``.snapparam`` in the same folder, and LAMMPS' hybrid/scaled
    lines that mix them with the ensemble's weight."""
    from .interop.lammps import mixture_lines
    if args.format != "n2p2" or args.units != "angstrom-ev":
        raise InteropError(f"{args.model} mixes networks and a SNAP model; it is exported "
                           "as n2p2 files plus SNAP files for LAMMPS hybrid/scaled, in Å and "
                           "eV: use --format n2p2 without --units")
    if networks.repulsion is not None or partner.repulsion is not None:
        raise InteropError(f"{args.model} has a ZBL repulsion inside a mixture; LAMMPS' "
                           "hybrid/scaled would scale it too, so it is not exported")
    outdir = os.path.abspath(args.outdir)
    write_n2p2(networks, outdir, without_repulsion=True)
    snap = write_snap(partner, outdir, name="partner")
    print(f"{args.model} -> {outdir}/ (n2p2: input.nn, scaling.data, weights.*.data; "
          f"SNAP: {', '.join(os.path.basename(f) for f in snap.files)})")
    print(f"the networks' mean weighted {1 - weight:.6g}, the {partner.metadata.get('model', 'SNAP')} "
          f"partner {weight:.6g}")
    print("LAMMPS (units metal; types numbered in this element order):")
    for line in mixture_lines(pair_lines(networks, outdir), snap.lines, weight):
        print(f"  {line}")
    return 0


#: per format of ``ase-nnp import``: the number of inputs, what they are, the --units it
#: reads and what to say otherwise
_IMPORT_FORMATS = {
    "snap": (2, "two files, COEFF PARAM (.snapcoeff, .snapparam)", ("metal", "real"),
             "SNAP files are read for LAMMPS units metal (the default: eV, Å) or real "
             "(kcal/mol, Å)"),
    "n2p2": (1, "one potential directory", ("angstrom-ev", "bohr-hartree"),
             "n2p2 files are read as angstrom-ev or bohr-hartree"),
}


def _import(args):
    paths = list(args.paths)
    if args.output is None:
        if len(paths) < 2:
            raise InteropError("ase-nnp import: name the model file to write, as the last "
                               "argument or with -o MODEL")
        *paths, output = paths
    else:
        output = args.output
    count, what, units, why = _IMPORT_FORMATS[args.format]
    if len(paths) != count:
        raise InteropError(f"ase-nnp import --format {args.format} reads {what}; got "
                           f"{len(paths)} inputs {paths}")
    if args.units not in (None, *units):
        raise InteropError(f"--units {args.units}: {why}")
    if args.format == "snap":
        elements = args.elements.split(",") if args.elements else None
        pot = read_snap(*paths, elements=elements, units=args.units or "metal")
        pot.save(output)
        print(f"{' + '.join(paths)} -> {output}: {pot!r}, {pot.metadata['model']} SNAP")
        print(_units_line(pot))
        return 0
    if args.elements:
        raise InteropError("--elements is for --format snap (the pair_coeff order)")
    pot = read_n2p2(paths[0], units=args.units)
    pot.save(output)
    print(f"{paths[0]}/ -> {output}: {pot!r}")
    print(_units_line(pot))
    return 0


def _units_line(pot):
    """'units: ...' for ``info`` and ``import``: ase-nnp's, and the source files' when
    the model was converted on import."""
    u = pot.metadata.get("units") if isinstance(pot.metadata, dict) else None
    if not isinstance(u, dict):
        return "units: eV, Å"
    text = f"units: eV, Å (imported from {u.get('source', '?')} files"
    if u.get("angstrom_per_length_unit", 1.0) != 1.0 or u.get("ev_per_energy_unit", 1.0) != 1.0:
        text += (f": lengths x {u.get('angstrom_per_length_unit'):.12g} Å/{u.get('length')}, "
                 f"energies x {u.get('ev_per_energy_unit'):.12g} eV/{u.get('energy')}")
    return text + ")"


def _data_units(p, where, default="angstrom-ev", more=""):
    """The ``--units`` option of commands that read structures: those of the n2p2/RuNNer
    input.data files among them."""
    p.add_argument("--units", choices=["angstrom-ev", "bohr-hartree"], default=default,
                   help=f"units of n2p2/RuNNer input.data files among {where} (default "
                   f"angstrom-ev; bohr-hartree: RuNNer's convention){more}")


def _stress_order(p):
    """The ``--stress-order`` option of commands that compare with stress labels."""
    p.add_argument("--stress-order", metavar="'XX YY ZZ ..'",
                   help="the components the six stress values of the data really are, in "
                   "the order ASE reads them (xx yy zz yz xz xy), e.g. 'xx yy zz xz yz xy' "
                   "for files with yz and xz exchanged; as [data] stress_order of the "
                   "configuration (ase-nnp init checks and writes it)")


def main(argv=None):
    ap = argparse.ArgumentParser(prog="ase-nnp", description="Neural network potentials for ASE")
    ap.add_argument("--version", action="version", version=f"ase-nnp {__version__}")
    sub = ap.add_subparsers(dest="command", required=True)
    p = sub.add_parser("info", help="describe a .nnp model file")
    p.add_argument("model")
    p.add_argument("--functions", action="store_true", help="list every descriptor function")
    p.set_defaults(func=_info)
    p = sub.add_parser("evaluate", help="RMSE/MAE of a model against reference data")
    p.add_argument("model")
    p.add_argument("data", nargs="+", help="files ase.io can read, or n2p2/RuNNer input.data "
                   "(see --units), with energies (forces/stress optional)")
    p.add_argument("--plot", metavar="PNG", help="also draw a parity plot (needs matplotlib)")
    p.add_argument("--group", metavar="KEY",
                   help="also break the errors down by this atoms.info key (e.g. config_type)")
    p.add_argument("--write", metavar="FILE",
                   help="store each structure with the prediction and the reference beside it "
                        "(extxyz or any ase.io format; .db: an ase.db database)")
    _data_units(p, "the data", None, "; other formats carry their own")
    _stress_order(p)
    p.set_defaults(func=_evaluate)
    p = sub.add_parser("train", help="train a potential from a TOML configuration")
    p.add_argument("config", nargs="?", help="TOML file (every key: --show-config)")
    p.add_argument("--resume", action="store_true",
                   help="continue from the checkpoint of an interrupted or finished run")
    p.add_argument("--show-config", action="store_true",
                   help="print every configuration key with its default and meaning")
    p.set_defaults(func=_train)
    p = sub.add_parser("plot", help="draw a learning curve (<model>.curve.csv) as a PNG")
    p.add_argument("curve", help="the CSV the trainer writes, one row per epoch")
    p.add_argument("--out", help="PNG path (default: the CSV's name with .png)")
    p.set_defaults(func=_plot)
    p = sub.add_parser("learn", help="active learning: train, explore with an ensemble, label "
                       "with an ASE calculator, repeat")
    p.add_argument("config", help="learn.toml (see ase_nnp.active)")
    p.add_argument("--resume", action="store_true", help="continue a killed run in its workdir")
    p.set_defaults(func=_learn)
    p = sub.add_parser("init", help="print (or write with -o) a starting config.toml for your "
                       "data")
    p.add_argument("data", nargs="+", help="files ase.io can read, or n2p2/RuNNer input.data "
                   "(see --units), with energies")
    p.add_argument("--model", default="model.nnp", help="[output] model of the config "
                   "(relative: next to the configuration file)")
    p.add_argument("--test", nargs="+", metavar="TEST",
                   help="test files, written as [data] test: evaluated once with the best "
                   "model at the end of training, never fitted")
    p.add_argument("--time-limit", type=float, metavar="MIN",
                   help="the training budget in minutes, written as [optimizer] time_limit: "
                   "the whole `ase-nnp train` run is meant to fit into it")
    p.add_argument("-o", "--output", metavar="CONFIG",
                   help="write the configuration to this file (atomically; data paths "
                   "relative to its folder) instead of printing it")
    _data_units(p, "the data, written as [data] units")
    p.set_defaults(func=_init)
    p = sub.add_parser("replicas", help="train a replica ensemble of a reference potential "
                       "(per-atom uncertainty)")
    p.add_argument("reference", help="the .nnp potential whose per-atom energies the replicas fit")
    p.add_argument("config", help="TOML file: training structures, settings, [output] model")
    p.add_argument("--members", type=int, default=4, help="number of replicas (default 4)")
    p.set_defaults(func=_replicas)
    p = sub.add_parser("mapping", help="is the learned atomic energy physical? invariant "
                       "points, regional errors, connectivity r_g (Yoo et al. 2019)")
    p.add_argument("model", help="a .nnp potential or ensemble")
    p.add_argument("--reference", required=True,
                   help="'sw', 'emt' or [python:]module:function returning an ASE calculator")
    p.add_argument("--element", help="element of the crystal (default: the model's, if one)")
    p.add_argument("--crystal", default="", help="ase.build.bulk crystal structure, e.g. "
                   "diamond (default: ASE's reference state of the element)")
    p.add_argument("--a", type=float, default=0.0, help="lattice constant (Å; default ASE's)")
    p.add_argument("--strains", default="all", choices=["eos", "uniaxial", "shear", "all"])
    p.add_argument("--slab", action="append", default=[], metavar="FILE",
                   help="a structure (first frame) whose regional errors to report (repeatable)")
    p.add_argument("--train", nargs="+", default=[], metavar="FILE",
                   help="the training data: r_g, distances and PCA of its atoms")
    p.add_argument("--fraction", type=float, default=0.5,
                   help="r_g: the merge at which the largest cluster exceeds this fraction of "
                        "the training atoms (default 0.5)")
    p.add_argument("--max-points", type=int, default=100000,
                   help="r_g from at most this many random training atoms per element")
    p.add_argument("--bulk-tolerance", type=float, default=0.1,
                   help="slab atoms this close to the crystal in scaled descriptor space are bulk")
    p.add_argument("--validation-rmse", type=float, default=None, metavar="MEV",
                   help="the verdict's validation energy RMSE (meV/atom; default: the one "
                        "stored in the model file)")
    p.add_argument("--atoms-per-structure", type=float, default=None, metavar="N",
                   help="the verdict's mean atoms per training structure (default: from "
                        "--train, else the model file's training summary)")
    p.add_argument("--out-dir", default=".", help="where the plots go ('' for none)")
    _data_units(p, "--slab and --train")
    p.set_defaults(func=_mapping)
    p = sub.add_parser("calibrate", help="fit calibrated error bars (energy, forces, stress) "
                       "on held-out labelled data and store them in the model file")
    p.add_argument("model", help="a .nnp potential or ensemble")
    p.add_argument("data", nargs="+", help="held-out labelled structures (any ase.io source "
                   "or n2p2 input.data), like those the model will meet")
    p.add_argument("-o", "--output", metavar="OUT", help="the .nnp to write (default: MODEL)")
    p.add_argument("--training", nargs="+", metavar="TRAIN",
                   help="the training structures: select the active set of the extrapolation "
                   "grade γ from them first (needed for a single potential)")
    p.add_argument("--form", choices=["scale", "log-affine"], default="scale",
                   help="scale (default): σ = e^a s (1 + ln max(γ, 1))^c with c fixed; "
                   "log-affine: log σ = a + b log s + c log(1 + ln max(γ, 1)), all fitted")
    p.add_argument("--grade-exponent", type=float, default=1.0,
                   help="c of the scale form (default 1)")
    p.add_argument("--conformal-fraction", type=float, default=0.5,
                   help="share of the structures kept for the conformal force intervals "
                   "(0: none)")
    p.add_argument("--seed", type=int, default=0, help="of the random split")
    _data_units(p, "the data", None)
    _stress_order(p)
    p.set_defaults(func=_calibrate)
    p = sub.add_parser("export", help="write a model in another code's format (n2p2/RuNNer, LAMMPS snap/mliap)")
    p.add_argument("model")
    p.add_argument("outdir")
    p.add_argument("--format", choices=["n2p2", "snap", "mliap"], default="n2p2",
                   help="n2p2 (also read by LAMMPS pair_style hdnnp and RuNNer); snap "
                   "(pair_style snap: linear/quadratic models on the bispectrum); mliap "
                   "(pair_style mliap: linear models and networks on the bispectrum)")
    p.add_argument("--normalization", nargs=3, type=float,
                   metavar=("MEAN_ENERGY", "CONV_ENERGY", "CONV_LENGTH"),
                   help="also write n2p2's normalisation header (folded into the output layer)")
    p.add_argument("--units", choices=["angstrom-ev", "bohr-hartree"], default="angstrom-ev",
                   help="n2p2 files' units (default angstrom-ev; bohr-hartree: RuNNer's)")
    p.set_defaults(func=_export)
    p = sub.add_parser("import", help="read an n2p2/RuNNer potential directory or LAMMPS "
                       "snap files into a .nnp",
                       description="ase-nnp import DIRECTORY MODEL (n2p2), "
                       "ase-nnp import --format snap COEFF PARAM -o MODEL (LAMMPS snap)")
    p.add_argument("paths", nargs="+", metavar="PATH",
                   help="the n2p2 directory (or, with --format snap, the .snapcoeff and "
                   ".snapparam files), then the .nnp to write unless -o gives it")
    p.add_argument("-o", "--output", metavar="MODEL", help="the .nnp model file to write")
    p.add_argument("--format", choices=["n2p2", "snap"], default="n2p2",
                   help="n2p2 (a directory: input.nn, scaling.data, weights.ZZZ.data) or "
                   "snap (LAMMPS pair_style snap: linear or quadratic SNAP)")
    p.add_argument("--units", choices=["angstrom-ev", "bohr-hartree", "metal", "real"],
                   help="the files' units, converted to Å and eV. n2p2: angstrom-ev or "
                   "bohr-hartree (required when the numbers look like Bohr: a cutoff beyond "
                   "9); snap: LAMMPS units metal (default) or real")
    p.add_argument("--elements", metavar="A,B,...",
                   help="snap: the elements in the order of the pair_coeff line (numbers "
                   "chemflag's element triples; default: the coefficient file's order)")
    p.set_defaults(func=_import)
    args = ap.parse_args(argv)
    try:
        return args.func(args)
    except BrokenPipeError:
        # the reader went away (``ase-nnp train --show-config | head``): stop quietly
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        return 0
    except (NNPError, OSError, ValueError) as err:
        # every refusal of this package, a file that cannot be read or written, a bad value:
        # one line and status 2, never a traceback (ASE_NNP_DEBUG=1 shows it)
        if os.environ.get("ASE_NNP_DEBUG"):
            raise
        text = str(err) or type(err).__name__
        if isinstance(err, OSError) and getattr(err, "filename", None) and \
                str(err.filename) not in text:
            text = f"{err.filename}: {text}"
        print(f"ase-nnp {args.command}: {' '.join(text.split())}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
