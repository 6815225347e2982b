r"""What is fixed before the networks are fitted: reference energies and input scaling.

Both are weighted like the loss, with the structure weights w_f
(``FrameSet.weight``), so that a structure of weight 2 counts exactly as two
copies of it and one of weight 0 not at all.

Reference energies: with n_fe the number of atoms of element e in frame f,
the per-element E⁰_e minimise Σ_f w_f (E_f - Σ_e n_fe E⁰_e)² (weighted least
squares over composition; the minimum-norm solution when compositions are
collinear, e.g. a one-element set). The networks then learn only the residual.

Scaling: per element, over the training atoms i of that element with the weight
w_i = w_f(i) of their structure, the mean <G> = Σ_i w_i G_i / Σ_i w_i, the
standard deviation σ = sqrt(Σ_i w_i (G_i - <G>)² / Σ_i w_i) and min / max over
the atoms with w_i > 0 of every descriptor column
(:class:`ase_nnp.scaling.Scaling`); stored in the model file and kept for
extrapolation checks.

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
    """Set ``potential.energy_offsets`` from FrameSet ``fs`` by weighted least squares
    over composition; return them."""
    n_el = len(potential.elements)
    A = np.zeros((fs.n_frames, n_el))
    np.add.at(A, (fs.frame, fs.species), 1.0)
    root = np.sqrt(fs.weight)
    offsets, *_ = np.linalg.lstsq(A * root[:, None], fs.energy * root, rcond=None)
    potential.energy_offsets = dict(zip(potential.elements, offsets.tolist()))
    return potential.energy_offsets


def fit_scaling(potential, fs, mode="scale_center", smin=-1.0, smax=1.0):
    """Set every element's input scaling from the descriptor values of FrameSet ``fs``,
    weighted by the structure weights (see the module docstring)."""
    sf = potential.descriptor
    w_atom = fs.weight[fs.frame]
    for k, e in enumerate(potential.elements):
        mine = (fs.species == k) & (w_atom > 0)
        data = fs.G[mine, :sf.n_features(e)]
        if not len(data):
            raise ValueError(f"no {e} atoms with weight > 0 in the training frames: cannot fit "
                             "its scaling; add structures containing it or drop it from the "
                             "potential")
        w = w_atom[mine]
        if np.all(w == 1.0):
            potential.scalings[e] = Scaling.from_data(data, mode, smin, smax)
            continue
        mean = w @ data / w.sum()
        sigma = np.sqrt(w @ (data - mean) ** 2 / w.sum())
        potential.scalings[e] = Scaling(mode, data.min(0), data.max(0), mean, sigma, smin, smax)
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
