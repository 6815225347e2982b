"""Exchange potentials with other codes (no ASE needed)."""
from .n2p2 import read_n2p2, write_input_data, write_n2p2

__all__ = ["read_n2p2", "write_n2p2", "write_input_data"]
