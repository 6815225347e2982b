"""Exceptions raised by ase-nnp.

Each names the problem and, where there is one, the fix. They subclass
:class:`NNPError` (catch that for "anything ase-nnp refused") and the built-in
exception a caller would otherwise expect (``ValueError``), so generic handlers
keep working. The ``ase-nnp`` command prints any of them as one line and exits
with status 2.
"""


class NNPError(Exception):
    """Base class of every error ase-nnp raises on purpose."""


class ModelFileError(NNPError, ValueError):
    """A ``.nnp`` model file is missing, truncated, foreign or inconsistent."""


class UnknownElementError(NNPError, ValueError):
    """The structure holds an element the potential (or descriptor) has no network for."""


class StructureError(NNPError, ValueError):
    """The structure cannot be evaluated: NaN/inf positions, a degenerate cell,
    overlapping atoms."""


class DescriptorSpecError(NNPError, ValueError):
    """A descriptor parameter is out of its valid range."""


class ConfigError(NNPError, ValueError):
    """A training configuration names an unknown key or holds a value of the wrong kind."""


class CheckpointError(NNPError, ValueError):
    """A checkpoint cannot be resumed: missing, foreign, or made with other data or settings."""


class InteropError(NNPError, ValueError):
    """A foreign potential file (n2p2/RuNNer) uses a feature ase-nnp does not cover, or a
    potential cannot be expressed in the foreign format; the message names file, line and
    keyword."""


class WorkerError(NNPError, RuntimeError):
    """Worker processes of a parallel ensemble training could not run (the message names
    why and the fix: usually a script without the ``if __name__ == "__main__":`` guard)."""


class DatasetError(NNPError, ValueError):
    """Reference data that cannot be trained on; the message names file and index."""


class ExtrapolationWarning(UserWarning):
    """A structure lies outside the training data (e.g. a pair of atoms closer than any
    pair of those elements in training): the prediction is a guess."""


class UncalibratedWarning(UserWarning):
    """An ensemble without a calibration: its ``*_std`` results are the members' raw
    spreads, not error bars (``ase-nnp calibrate`` fits one)."""


class ExtrapolationError(NNPError, ValueError):
    """``NNPCalculator(..., extrapolation="raise")``: descriptor values outside the
    training range; the message names the atoms and the descriptor columns."""


class UncertaintyExceeded(NNPError, RuntimeError):
    """Raised by :class:`ase_nnp.UncertaintyMonitor` with ``stop=True`` when a step passes
    a threshold; ``.atoms`` holds a copy of the structure, ``.step`` the step."""

    def __init__(self, message, atoms=None, step=None):
        super().__init__(message)
        self.atoms = atoms
        self.step = step


class UnitsError(InteropError):
    """A foreign file's units are unknown or its numbers only make sense in other units
    than the ones assumed (e.g. an n2p2 potential in Bohr and Hartree read as Å and eV);
    the message names the units option that fixes it."""


class InputDataError(InteropError, DatasetError):
    """An n2p2/RuNNer structure file (``input.data``) is malformed: the message names the
    file, the line and what was expected there."""


class UnitsWarning(UserWarning):
    """Structures read from a file in other units than their numbers suggest (e.g. an
    n2p2 ``input.data`` in Bohr read as Å): the message names the units option that fixes it."""
