r"""The atomic-energy mapping watched during training ([monitor] keys).

Yoo et al. (Phys. Rev. Materials 3, 093802 (2019), Fig. 3b) show that the RMSE of a fit
can level off long before its atomic energies have converged, and suggest watching the
atomic energy at invariant points — held out of the training set — as the convergence
criterion. With ``invariant_points`` set, every ``monitor_every`` epochs (and at the
first) the trainer evaluates, with the current parameters,

* the mapping error ΔE_at = E_at^NN − E_ref/N at each invariant point
  (:mod:`ase_nnp.analysis.mapping`), one column ``map_<label>_meV_atom`` each, where the
  points are the strained crystals of every element (``eos``, ``uniaxial``, ``shear`` or
  ``all``; ``ase.build.bulk(element, monitor_crystal, a=monitor_a)``, labelled by
  ``monitor_reference``) or the structures of a file (their stored energies, or
  ``monitor_reference``);
* with ``monitor_slab``, the regional errors ΔĒ_at(bulk) and ΔĒ_at(surface) of that
  structure against the unstrained crystal: columns ``slab_bulk_meV_atom`` and
  ``slab_surface_meV_atom``. The bulk atoms are the file's per-atom ``bulk`` column
  when it has one; otherwise they are chosen once, before the first epoch (the input
  scaling is fixed by then), by their distance to the crystal in scaled descriptor
  space (``monitor_bulk_tolerance``).

The reference energies are computed once. Rows between evaluations hold NaN.
"""

import re

import numpy as np

from ..exceptions import ConfigError
from ..analysis import mapping
from ..analysis.mapping import STRAIN_SETS, crystal
from .reference import calculator_from_spec


def _label(text):
    return re.sub(r"[^A-Za-z0-9_.+-]", "_", str(text))


class MappingMonitor:
    """Learning-curve columns of the mapping errors (module docstring); ``columns``
    names them, ``row(potential, epoch)`` gives their values (meV/atom; NaN off the
    schedule)."""

    def __init__(self, cfg, potential, log=print):
        self.every = cfg.monitor_every
        self.points, self.labels, ref = [], [], None
        if cfg.monitor_reference:
            ref = calculator_from_spec(cfg.monitor_reference, "[monitor] monitor_reference")
        spec = cfg.invariant_points
        crystals = {}
        if spec in STRAIN_SETS or cfg.monitor_slab:
            if spec in STRAIN_SETS and ref is None:
                raise ConfigError(f"[monitor] invariant_points = {spec!r} makes strained "
                                  "crystals, which need reference energies: set "
                                  "monitor_reference ('sw', 'emt' or 'module:function')")
            crystals = {e: self._crystal(e, cfg) for e in potential.elements}
        if spec in STRAIN_SETS:
            for e, crystal in crystals.items():
                pts = mapping.invariant_points(crystal, spec)
                self.points += pts
                self.labels += [_label(f"{e}_{a.info['invariant']}" if len(crystals) > 1
                                       else a.info["invariant"]) for a in pts]
        elif spec:
            from .dataset import read_structures
            try:
                pts = read_structures(spec, ":", cfg.units)
            except Exception as err:
                raise ConfigError(f"[monitor] invariant_points: cannot read {spec} ({err})") from None
            self.points = list(pts)
            self.labels = [_label(a.info.get("invariant", a.info.get("label", k)))
                           for k, a in enumerate(pts)]
        self.reference = np.zeros(0)            # a slab alone has no invariant points
        if self.points:
            self.reference = np.array([mapping.reference_energy(a, ref, k)
                                       for k, a in enumerate(self.points)])
            for a in self.points:
                mapping.check_invariant(potential, a)
        self.slab = None
        if cfg.monitor_slab:
            from .dataset import read_structures
            slab = read_structures(cfg.monitor_slab, 0, cfg.units)
            el = set(slab.get_chemical_symbols())
            if len(el) != 1:
                raise ConfigError("[monitor] monitor_slab: regional errors need a one-element "
                                  f"structure, {cfg.monitor_slab} holds {sorted(el)}")
            crystal = crystals[el.pop()]
            try:
                regions = mapping.regional_reference(potential, slab, crystal, ref,
                                                     tolerance=cfg.monitor_bulk_tolerance)
            except ValueError as err:
                raise ConfigError(f"[monitor] monitor_slab {cfg.monitor_slab}: {err}") from None
            self.slab = (slab, regions)
            n_b = int(regions.bulk_atoms.sum())
            log(f"monitor: {cfg.monitor_slab}: {n_b} bulk, {len(slab) - n_b} surface atoms")
        self.columns = tuple(f"map_{x}_meV_atom" for x in self.labels) + (
            ("slab_bulk_meV_atom", "slab_surface_meV_atom") if self.slab else ())
        if self.columns:
            log(f"monitor: {len(self.points)} invariant points"
                + (" and the slab's regional errors" if self.slab else "")
                + f" every {self.every} epochs")

    @staticmethod
    def _crystal(element, cfg):
        try:
            return crystal(element, cfg.monitor_crystal, cfg.monitor_a)
        except ValueError as err:
            raise ConfigError(f"[monitor] {err}; set monitor_crystal and monitor_a") from None

    def row(self, potential, epoch):
        """The columns' values after ``epoch`` (1-based) with the potential's current
        parameters (meV/atom), NaN when the schedule skips this epoch."""
        n = len(self.columns)
        if not n or not (epoch == 1 or epoch % self.every == 0):
            return (np.nan,) * n
        out = []
        for a, e_ref in zip(self.points, self.reference):
            E = potential.evaluate(a.positions, a.numbers, a.cell.array, a.pbc,
                                   forces=False, stress=False).energy
            out.append(1000.0 * (E - e_ref) / len(a))
        if self.slab:
            slab, regions = self.slab
            mask = regions.bulk_atoms
            E = potential.evaluate(slab.positions, slab.numbers, slab.cell.array, slab.pbc,
                                   forces=False, stress=False).energies
            out += [1000.0 * (E[mask].mean() - regions.bulk),
                    1000.0 * (E[~mask].mean() - regions.surface)]
        return tuple(out)
