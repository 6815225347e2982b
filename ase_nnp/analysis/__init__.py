"""Analysis of potentials and their training data (no calculator state, no ASE needed)."""
