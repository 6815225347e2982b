"""Exchange potentials with other codes (no ASE needed), and n2p2's structure files."""
from .n2p2 import read_input_data, read_n2p2, write_input_data, write_n2p2

__all__ = ["read_n2p2", "write_n2p2", "read_input_data", "write_input_data"]
