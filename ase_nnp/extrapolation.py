r"""Extrapolation in descriptor space: which atoms, which columns, and how often to say so.

An atom extrapolates when a descriptor value G_if lies outside [G_f^min, G_f^max], the
range of that column over the training atoms of its element (n2p2's definition; the
range is kept in the model file's scaling statistics). Columns that never varied in
training are not counted: their scaling factor is 0, the network does not use them.
A value within 1e-10 of the range, relative to the column's magnitude
(``ase_nnp.engine.ROUNDING``), counts as inside: a training structure evaluated with
another summation order can land an ulp outside its own range.
The excess of a value is its distance outside the range in units of the range,
(G_f^min − G_if) / (G_f^max − G_f^min) below it and likewise above.

The counts come out of the energy pass itself (:mod:`ase_nnp.engine`); this module
only turns them into a report and decides when to speak: :class:`ExtrapolationLog`
warns on the first call that extrapolates, then again when more atoms extrapolate
than ever reported before or after ``every`` calls, so an MD run is told without
being flooded.
"""

import numpy as np

#: atoms and columns named in one message at most
MAX_ATOMS, MAX_COLUMNS = 3, 3


def describe(potential, atoms, outside, excess):
    """A message naming the worst atoms (by excess), their element and the columns of
    each outside the training range, with the column's range. ``potential``: the
    Potential whose descriptor and scaling name the columns (an ensemble's first member)."""
    desc = potential.descriptor
    species = potential.species_indices(atoms.numbers)
    flagged = np.flatnonzero(outside > 0)
    worst = flagged[np.argsort(-excess[flagged], kind="stable")][:MAX_ATOMS]
    G = desc.compute(atoms)
    parts = []
    for a in worst:
        e = potential.elements[species[a]]
        sc = potential.scalings[e]
        labels = desc.feature_labels(e)
        g = G[a, :len(labels)]
        span = sc.gmax - sc.gmin
        with np.errstate(divide="ignore", invalid="ignore"):
            over = np.where(span > 0, np.maximum(sc.gmin - g, g - sc.gmax) / span, 0.0)
        cols = [f for f in np.argsort(-over, kind="stable") if over[f] > 0][:MAX_COLUMNS]
        named = "; ".join(f"column {f} {labels[f]}: {g[f]:.4g} outside "
                          f"[{sc.gmin[f]:.4g}, {sc.gmax[f]:.4g}]" for f in cols)
        more = f" and {int(outside[a]) - len(cols)} more" if outside[a] > len(cols) else ""
        parts.append(f"atom {a} ({e}), {int(outside[a])} column(s), up to "
                     f"{excess[a]:.3g} of the range: {named}{more}")
    return (f"{len(flagged)} of {len(outside)} atoms have descriptor values outside the "
            f"training range, so the potential is extrapolating: " + " | ".join(parts))


class ExtrapolationLog:
    """Running totals of the calls and atoms that extrapolated, and the rate limit of
    the warnings (module docstring)."""

    def __init__(self, every=100):
        self.every = int(every)
        self.calls = 0                # calls evaluated
        self.extrapolating_calls = 0  # calls with at least one atom outside the range
        self.extrapolating_atoms = 0  # summed over the calls
        self._last_warned = None      # call number of the last warning
        self._most = 0                # most atoms outside in one warned call
        self._since = 0               # extrapolating calls since the last warning

    def record(self, outside):
        """Count one call; True when this call should be reported."""
        self.calls += 1
        n = int(np.count_nonzero(outside))
        if not n:
            return False
        self.extrapolating_calls += 1
        self.extrapolating_atoms += n
        self._since += 1
        due = (self._last_warned is None or n > self._most
               or self.calls - self._last_warned >= self.every)
        if due:
            self._last_warned = self.calls
            self._most = max(self._most, n)
        return due

    def suffix(self):
        since, self._since = self._since, 0
        return (f" ({since} extrapolating call(s) since the last warning; "
                f"{self.extrapolating_calls} of {self.calls} calls so far)") if since > 1 else ""
