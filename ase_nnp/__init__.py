"""ase-nnp: Behler-Parrinello neural network potentials for ASE.

    from ase_nnp import NNPCalculator
    atoms.calc = NNPCalculator("si.nnp")
"""

__version__ = "0.1.0"

from .errors import DescriptorSpecError, ModelFileError, StructureError, UnknownElementError
from .potential import Potential
from .modelfile import read as load
from .calculator import NNPCalculator

__all__ = ["NNPCalculator", "Potential", "load", "ModelFileError", "UnknownElementError",
           "StructureError", "DescriptorSpecError", "__version__"]
