r"""What is fixed before the networks are fitted: reference energies and input scaling.

Reference energies: with n_fe the number of atoms of element e in frame f,
the per-element E⁰_e minimise Σ_f (E_f - Σ_e n_fe E⁰_e)² (least squares over
composition; the minimum-norm solution when compositions are collinear, e.g. a
one-element set). The networks then learn only the residual.

Scaling: per element, min / max / mean / σ of every descriptor column over the
training atoms (:class:`ase_nnp.scaling.Scaling`); stored in the model file and
kept for extrapolation checks.

Degenerate columns: a column that spans less than :data:`MIN_SPAN` over the
training atoms carries no information, yet its scale factor (s_max − s_min)/span
turns the smallest change outside the data into a large network input; one that
never varies at all is dead. :func:`degenerate_columns` finds both, so the trainer
can say so before fitting (typically a radial function centred where the data has
no neighbours).
"""

import numpy as np

from ..scaling import Scaling

#: a descriptor column spanning less than this over the training atoms is degenerate
MIN_SPAN = 1e-4


def fit_energy_offsets(potential, fs):
    """Set ``potential.energy_offsets`` from FrameSet ``fs`` by least squares over
    composition; return them."""
    n_el = len(potential.elements)
    A = np.zeros((fs.n_frames, n_el))
    np.add.at(A, (fs.frame, fs.species), 1.0)
    b = fs.energy
    offsets, *_ = np.linalg.lstsq(A, b, rcond=None)
    potential.energy_offsets = dict(zip(potential.elements, offsets.tolist()))
    return potential.energy_offsets


def fit_scaling(potential, fs, mode="scale_center", smin=-1.0, smax=1.0):
    """Set every element's input scaling from the descriptor values of FrameSet ``fs``."""
    sf = potential.descriptor
    for k, e in enumerate(potential.elements):
        data = fs.G[fs.species == k, :sf.n_features(e)]
        if not len(data):
            raise ValueError(f"no {e} atoms in the training frames: cannot fit its scaling; "
                             "add structures containing it or drop it from the potential")
        potential.scalings[e] = Scaling.from_data(data, mode, smin, smax)
    return potential.scalings


def degenerate_columns(potential):
    """[(element, column, label, min, max)] of the columns whose training span is below
    :data:`MIN_SPAN` (zero included), from the fitted scalings."""
    out = []
    for e in potential.elements:
        sc = potential.scalings[e]
        labels = potential.descriptor.feature_labels(e)
        for k in np.flatnonzero(sc.gmax - sc.gmin < MIN_SPAN):
            out.append((e, int(k), labels[k], float(sc.gmin[k]), float(sc.gmax[k])))
    return out
