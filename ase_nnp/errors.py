"""Exceptions raised by ase-nnp.

Each names the problem and, where there is one, the fix. They subclass the
built-in exception a caller would otherwise expect (``ValueError``,
``KeyError``), so generic handlers keep working.
"""


class ModelFileError(ValueError):
    """A ``.nnp`` model file is missing, truncated, foreign or inconsistent."""


class UnknownElementError(ValueError):
    """The structure holds an element the potential (or descriptor) has no network for."""


class StructureError(ValueError):
    """The structure cannot be evaluated: NaN/inf positions, a degenerate cell,
    overlapping atoms."""


class DescriptorSpecError(ValueError):
    """A descriptor parameter is out of its valid range."""


class ConfigError(ValueError):
    """A training configuration names an unknown key or holds a value of the wrong kind."""


class CheckpointError(ValueError):
    """A checkpoint cannot be resumed: missing, foreign, or made with other data or settings."""


class InteropError(ValueError):
    """A foreign potential file (n2p2/RuNNer) uses a feature ase-nnp does not cover, or a
    potential cannot be expressed in the foreign format; the message names file, line and
    keyword."""


class ExtrapolationWarning(UserWarning):
    """A structure lies outside the training data (e.g. a pair of atoms closer than any
    pair of those elements in training): the prediction is a guess."""
