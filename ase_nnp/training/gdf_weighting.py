r"""GDF force weights of the training atoms (``[loss] gdf = true``).

Jeong et al. (J. Phys. Chem. C 122, 22790 (2018)) weight each atom's force error
by how rare its environment is among the training atoms; SIMPLE-NN (Lee et al.,
Comput. Phys. Commun. 242, 95 (2019)) chooses the sigmoid's threshold. Per element
e, over the n_e training atoms of that element (all atoms of the training split,
whatever their structure's weight):

1. the element's descriptor columns (``descriptor.n_features(e)`` of them, D) are
   scaled per column to [-1, 1] by their training min and max
   (:func:`ase_nnp.analysis.gdf.scale_to_unit_box`; a column of zero span is 0);
2. ρ_i = (1/n_e) Σ_j exp(-‖G_i - G_j‖² / (2 σ² D)) (:func:`ase_nnp.analysis.gdf.gdf_density`),
   exact when n_e <= ``gdf_exact_max``, else estimated from a random subset of
   ``gdf_exact_max`` atoms drawn with seed :data:`SUBSET_SEED`;
3. w_i = Θ(1/ρ_i) / ⟨Θ(1/ρ)⟩_e with Θ(x) = x / (1 + exp(-b (x - c)))
   (:func:`ase_nnp.analysis.gdf.gdf_weights`; c per element when ``gdf_c = "auto"``).

The atom's force weight in the loss is then w_a · w_i, w_a the data's
``atoms.arrays["force_weight"]`` (default 1). Validation and test sets keep w_a.

The densities are the O(n² D) part; they are stored in the descriptor cache
(:func:`ase_nnp.training.cache.write_extra`) under a key of the data, the split, σ,
``gdf_exact_max`` and the seed, so a second run with the same data and settings
reads them back, and one with another σ recomputes them; b and c act on the stored
densities in O(n). Each key has its own entry (8 bytes per training atom), so runs
with other splits (ensemble members) or earlier settings keep theirs.
"""

import hashlib
import time

import numpy as np

from ..analysis import gdf
from . import cache

#: seed of the random reference subset above ``gdf_exact_max`` atoms of an element
SUBSET_SEED = 0
#: bump when the way the densities are computed changes: old stored ones are not reused
DENSITY_VERSION = 1
_EXTRA = "gdf_density"


def density_key(data_key, train_frames, sigma, exact_max):
    """SHA-256 of what the stored densities depend on."""
    h = hashlib.sha256(f"{_EXTRA}:{DENSITY_VERSION}:{data_key}:{float(sigma)!r}:"
                       f"{int(exact_max)}:{SUBSET_SEED}".encode())
    h.update(np.ascontiguousarray(train_frames, dtype=np.int64).tobytes())
    return h.hexdigest()


def scaled_descriptors(fs, descriptor, elements):
    """{element: (atom indices in fs, G scaled to [-1, 1] per column)} over fs's atoms."""
    out = {}
    for k, e in enumerate(elements):
        atoms = np.flatnonzero(fs.species == k)
        if len(atoms):
            out[e] = atoms, gdf.scale_to_unit_box(fs.G[atoms, :descriptor.n_features(e)])
    return out


def densities(fs, descriptor, elements, sigma, exact_max):
    """ρ of every atom of fs (per element, see the module docstring) and the seconds
    each element took."""
    rho = np.empty(fs.n_atoms)
    seconds = {}
    for e, (atoms, G) in scaled_descriptors(fs, descriptor, elements).items():
        t = time.perf_counter()
        rho[atoms] = gdf.gdf_density(G, sigma, max_reference=exact_max, seed=SUBSET_SEED)
        seconds[e] = time.perf_counter() - t
    return rho, seconds


def apply(fs, descriptor, elements, cfg, train_frames=None, data_key=None, log=None):
    """Multiply fs's force weights by the GDF weights of its atoms (module docstring);
    ``cfg`` a :class:`ase_nnp.training.config.TrainingConfig`. The densities are read
    from / written to ``cfg.cache`` when it is set and ``data_key`` is given. Returns
    the summary the model file keeps: the settings and, per element, the atoms, c,
    the weight range and whether the density was exact."""
    log = log or (lambda *a, **k: None)
    key = path = None
    if cfg.cache and data_key is not None:
        path = cfg.cache
        key = density_key(data_key, train_frames, cfg.gdf_sigma, cfg.gdf_exact_max)
    name = f"{_EXTRA}/{key}"
    stored = cache.read_extra(path, name, key) if path else None
    if stored is not None and stored["rho"].shape == (fs.n_atoms,):
        rho, seconds = stored["rho"], None
    else:
        rho, seconds = densities(fs, descriptor, elements, cfg.gdf_sigma, cfg.gdf_exact_max)
        why = cache.write_extra(path, name, key, {"rho": rho}) if path else None
        if why:
            log(f"GDF: could not store the densities in {path} ({why}); they are recomputed "
                "next time")
    w = np.ones(fs.n_atoms)
    per_element = {}
    for k, e in enumerate(elements):
        atoms = np.flatnonzero(fs.species == k)
        if not len(atoms):
            continue
        w[atoms], c = gdf.gdf_weights(rho[atoms], b=cfg.gdf_b, c=cfg.gdf_c)
        lo, mid, hi = np.min(w[atoms]), np.median(w[atoms]), np.max(w[atoms])
        n_ref = min(len(atoms), cfg.gdf_exact_max)
        per_element[e] = {"atoms": len(atoms), "c": float(c), "min": float(lo),
                          "median": float(mid), "max": float(hi),
                          "exact": bool(n_ref == len(atoms))}
        how = "read from the cache" if seconds is None else f"computed in {seconds[e]:.1f} s"
        density = "exact" if n_ref == len(atoms) else f"from {n_ref:,} reference atoms"
        log(f"GDF weights {e}: {len(atoms):,} atoms, density ({density}) {how}; "
            f"w min/median/max {lo:.3g} / {mid:.3g} / {hi:.3g}, c = {c:.4g}")
    fs.set_force_weights(fs.force_weight * w)
    return {"sigma": cfg.gdf_sigma, "b": cfg.gdf_b, "c": cfg.gdf_c,
            "exact_max": cfg.gdf_exact_max, "subset_seed": SUBSET_SEED,
            "elements": per_element}
