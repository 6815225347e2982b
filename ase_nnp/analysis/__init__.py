"""Analysis of potentials and their training data: errors, GDF, connectivity and
distances take plain arrays; :mod:`~ase_nnp.analysis.mapping` probes a potential on ASE
structures (invariant points, regions of a slab)."""
