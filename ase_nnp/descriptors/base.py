"""The contract of a descriptor family, and the registry the rest of the package reads.

A descriptor maps the pairs of a neighbour list (``ase_nnp.neighbors``) to one row of
values per atom. Every family offers, through :class:`PairDescriptor`,

* ``forward``  G[i, f]                               values
* ``backward`` g_p = Σ_f W[i_p, f] ∂G[i_p, f]/∂D_p   vector–Jacobian product (forces, stress)
* ``jvp``      δG[i, f] = Σ_p ∂G[i, f]/∂D_p · V_p    Jacobian–vector product (training)
* ``jacobian`` J[p, f] = ∂G[i_p, f]/∂D_p             the sparse Jacobian (training cache)

Writing a family
----------------
A subclass of :class:`PairDescriptor`, decorated with :func:`register_family`, provides

``kind``
    its name in model files, caches and the ``[descriptor] family`` key;
``elements``, ``cutoff``, ``n_features(element)``, ``feature_labels(element)``
    the shape of its output (columns past ``n_features(element)`` are 0);
    ``n_features_max`` and ``len()`` default to ``n_features()`` (override them when
    the count differs between elements);
``kernel(mode, nl, launch, W, V, G, g, J)``
    fills the output array of ``mode`` (FORWARD: G; BACKWARD: g from W; JVP: G from V;
    JACOBIAN: J), all zeroed by the caller; ``launch`` is a :class:`Launch`; or, in its
    place, ``plan()`` and the registered per-atom pieces below;
``to_arrays()`` / ``from_arrays(arrays)`` and ``ARRAY_TYPES``
    the full specification as named arrays (dtype per name; "elements" holds atomic
    numbers and is always present): what the model file and the training cache store;
``CONFIG_KEYS`` and ``from_config(elements, settings)``
    its keys of the training configuration (name -> :class:`ase_nnp.settings.Setting`;
    unique across all sections) and the constructor from them (``settings`` also holds
    the shared ``cutoff``); raise DescriptorSpecError for a bad combination.

Per-atom pieces
---------------
A family written in Numba provides instead of ``kernel`` a ``plan()`` (one NamedTuple of
arrays and numbers, built once per specification) and registers, with
:func:`register_atom_pieces`, five njit functions of one signature for every family
(``i`` the atom; ``first``, ``jn``, ``D``, ``r`` the neighbour list's CSR arrays:
the pairs of atom i are p = first[i] .. first[i+1]-1, neighbour jn[p], vector D_p,
length r_p; ``species`` the element index of every atom):

``scratch(max_pairs, plan, records)``
    one worker's arrays for the atom in hand (``records``: what the derivatives need);
``values(i, first, jn, D, r, species, plan, scr, Gi, records)``
    G_i into ``Gi`` (zeroed by the caller), keeping in ``scr`` what the derivatives of
    the same atom read; returns an int ``state`` passed on to them;
``vjp(i, first, jn, D, r, species, plan, scr, state, w, g)``
    g_p += Σ_f w_f ∂G_if/∂D_p for the pairs p of atom i (vector–Jacobian product);
``jvp(i, first, jn, D, r, species, plan, scr, state, V, dGi)``
    dGi_f += Σ_p ∂G_if/∂D_p · V_p (Jacobian–vector product);
``jacobian(i, first, jn, D, r, species, plan, scr, state, J, j0)``
    J[p - j0, f] += ∂G_if/∂D_p (the atom's own rows with j0 = first[i]),

and says whether K > 1 potentials sharing the descriptor (an ensemble) should contract
one per-atom Jacobian K times (``share_jacobian``: g_kp = Σ_f w_kf J[p, f]) rather than
run ``vjp`` K times. From these pieces one generic kernel here serves the four modes of
every such family, and :mod:`ase_nnp.engine` composes them with the networks into its
fused per-atom kernel (descriptor → scaling → network → backward, one atom at a time),
which gives the three-step numbers faster. The pieces reach the compiled kernels by the
type of the plan, at compile time (:func:`atom_values` ...): a new family changes no
kernel source. A family with a ``kernel`` of its own and no pieces runs the three steps.
"""

import types
from typing import NamedTuple

import numpy as np
from numba import get_num_threads, njit, prange
from numba.core.errors import TypingError
from numba.extending import overload

from ..elements import element_indices
from ..exceptions import DescriptorSpecError
from ..neighbors import build

FORWARD, BACKWARD, JVP, JACOBIAN = 0, 1, 2, 3
#: placeholders for the outputs a kernel mode does not use
NO_G = np.zeros((0, 0))
NO_V = np.zeros((0, 3))
NO_J = np.zeros((0, 0, 3))

#: registered families by kind, in registration order
FAMILIES = {}
_REQUIRED = ("kind", "ARRAY_TYPES", "CONFIG_KEYS", "from_config", "to_arrays", "from_arrays",
             "n_features", "feature_labels")


def register_family(cls):
    """Class decorator: make ``cls`` known by its ``kind`` to the model file, the training
    cache and configuration, the CLI and the engine (module docstring)."""
    missing = [name for name in _REQUIRED if not hasattr(cls, name)]
    if missing:
        raise TypeError(f"descriptor family {cls.__name__} lacks {', '.join(missing)} "
                        "(see ase_nnp.descriptors.base)")
    if not issubclass(cls, PairDescriptor):
        raise TypeError(f"descriptor family {cls.__name__} must derive from PairDescriptor")
    if cls.kernel is PairDescriptor.kernel and not hasattr(cls, "plan"):
        raise TypeError(f"descriptor family {cls.__name__} lacks kernel (or plan, with "
                        "per-atom pieces; see ase_nnp.descriptors.base)")
    known = FAMILIES.get(cls.kind)
    if known is not None and known is not cls:
        raise ValueError(f"descriptor kind {cls.kind!r} is already registered by "
                         f"{known.__module__}.{known.__name__}")
    FAMILIES[cls.kind] = cls
    return cls


def family(kind):
    """The registered class of ``kind``; KeyError naming the known kinds otherwise."""
    if kind not in FAMILIES:
        raise KeyError(f"unknown descriptor kind {kind!r}; known: {', '.join(FAMILIES)}")
    return FAMILIES[kind]


def check_shapes(arrays, shapes):
    """DescriptorSpecError naming the first stored array whose shape is not ``shapes[name]``
    (for ``from_arrays``: (1,) for a scalar, (n_elements,) for a per-element value)."""
    for key, shape in shapes.items():
        if np.shape(arrays[key]) != tuple(shape):
            what = "one value" if shape == (1,) else f"{shape[0]} values"
            raise DescriptorSpecError(f"'{key}' has shape {np.shape(arrays[key])}, expected "
                                      f"{tuple(shape)} ({what})")


def per_element_values(name, value, elements):
    """One finite number per element from a dict (symbol -> number) or a sequence in
    element order, as a float array; DescriptorSpecError naming ``name`` otherwise."""
    given = value
    if isinstance(value, dict):
        missing = [e for e in elements if e not in value]
        if missing:
            raise DescriptorSpecError(f"{name} has no value for {missing}; give one per element")
        value = [value[e] for e in elements]
    try:
        arr = np.asarray(value, dtype=float).reshape(-1)
    except (TypeError, ValueError):
        arr = None
    if arr is None or arr.shape != (len(elements),) or not np.all(np.isfinite(arr)):
        raise DescriptorSpecError(f"{name} must hold {len(elements)} finite numbers (one per "
                                  f"element {list(elements)}), got {given!r}")
    return arr


def same_specification(a, b):
    """True when descriptors a and b are the same specification: the same family and
    equal arrays of ``to_arrays`` (what a model file stores)."""
    if a.kind != b.kind:
        return False
    x, y = a.to_arrays(), b.to_arrays()
    return x.keys() == y.keys() and all(np.array_equal(x[k], y[k]) for k in x)


def descriptor_from_arrays(kind, arrays):
    """Rebuild a descriptor from its stored specification (``to_arrays``)."""
    return family(kind).from_arrays(arrays)


class DescriptorPass(NamedTuple):
    """A descriptor evaluation kept for reuse (several potentials with the same
    descriptor on one structure): values G and, optionally, the sparse Jacobian J."""
    G: np.ndarray
    J: np.ndarray = None


def backward_from_jacobian(first, dE_dG, J):
    """g_p = Σ_f dE/dG_{i_p f} J[p, f] from a stored Jacobian (pairs of atom a:
    first[a]:first[a + 1]); the same numbers as ``backward``, without a triplet loop."""
    g = np.empty((J.shape[0], 3))
    _backward_from_jacobian(first, np.ascontiguousarray(dE_dG, dtype=np.float64), J, g)
    return g


@njit(parallel=True, cache=True)
def _backward_from_jacobian(pair_first, dE_dG, J, g):
    nf = J.shape[1]
    for a in prange(len(pair_first) - 1):
        for p in range(pair_first[a], pair_first[a + 1]):
            g0 = g1 = g2 = 0.0
            for f in range(nf):
                w = dE_dG[a, f]
                g0 += w * J[p, f, 0]
                g1 += w * J[p, f, 1]
                g2 += w * J[p, f, 2]
            g[p, 0] = g0
            g[p, 1] = g1
            g[p, 2] = g2



# ---------------------------------------------------------------------------
# The per-atom contract (module docstring): the pieces by family, the generic
# functions that call the plan's family, and the one kernel of the four modes.
# ---------------------------------------------------------------------------

class AtomPieces(NamedTuple):
    """A family's per-atom pieces (module docstring) and the class of its plan.
    ``cache``: the kernels compiled for this plan go to Numba's cache; only for a family
    whose plan class every process can import (a package's), since the cache index of
    a shared kernel must unpickle every type it holds."""
    plan: type
    scratch: object
    values: object
    vjp: object
    jvp: object
    jacobian: object
    share_jacobian: bool = False
    cache: bool = False


#: per-atom pieces by family kind: the families the fused kernel of ase_nnp.engine serves
ATOM_PIECES = {}
#: the same pieces by plan class, read when a kernel is compiled for a plan type
_BY_PLAN = {}


def register_atom_pieces(kind, pieces):
    """Make the per-atom pieces of family ``kind`` (an :class:`AtomPieces`) the ones of
    its plan type in every compiled kernel, and offer the family the fused kernel."""
    known = _BY_PLAN.get(pieces.plan)
    if known is not None and known != pieces:
        raise ValueError(f"plan class {pieces.plan.__name__} already has per-atom pieces")
    _BY_PLAN[pieces.plan] = pieces
    ATOM_PIECES[kind] = pieces
    return pieces


def pieces_of(plan):
    """The :class:`AtomPieces` of a plan (an instance) or of a plan's Numba type."""
    cls = getattr(plan, "instance_class", type(plan))
    if cls not in _BY_PLAN:
        raise TypingError(f"no per-atom pieces are registered for plan type {cls.__name__} "
                          "(register_atom_pieces)")
    return _BY_PLAN[cls]


def atom_scratch(max_pairs, plan, records):
    """One worker's scratch for the plan's family (piece ``scratch``)."""
    return pieces_of(plan).scratch(max_pairs, plan, records)


def atom_values(i, first, jn, D, r, species, plan, scr, Gi, records):
    """G_i into Gi, returning the state of the atom (piece ``values``)."""
    return pieces_of(plan).values(i, first, jn, D, r, species, plan, scr, Gi, records)


def atom_vjp(i, first, jn, D, r, species, plan, scr, state, w, g):
    """g_p += Σ_f w_f ∂G_if/∂D_p for the pairs of atom i (piece ``vjp``)."""
    pieces_of(plan).vjp(i, first, jn, D, r, species, plan, scr, state, w, g)


def atom_jvp(i, first, jn, D, r, species, plan, scr, state, V, dGi):
    """dGi_f += Σ_p ∂G_if/∂D_p · V_p over the pairs of atom i (piece ``jvp``)."""
    pieces_of(plan).jvp(i, first, jn, D, r, species, plan, scr, state, V, dGi)


def atom_jacobian(i, first, jn, D, r, species, plan, scr, state, J, j0):
    """J[p - j0, f] += ∂G_if/∂D_p for the pairs of atom i (piece ``jacobian``)."""
    pieces_of(plan).jacobian(i, first, jn, D, r, species, plan, scr, state, J, j0)


def shares_jacobian(plan):
    """Whether the plan's family contracts one per-atom Jacobian for several members."""
    return pieces_of(plan).share_jacobian


# The overloads compile the family's own Python function in place of the generic call
# (``.py_func``, one jit option for all: error_model="numpy"), so a piece costs what a
# direct call costs: a wrapper, called or inlined, around a piece that passes the plan
# and the scratch (tuples of tens of arrays, each reference-counted) cost 20% of the
# symmetry functions' forward pass. A piece's parameters carry the names above.
_JIT = {"error_model": "numpy"}


@overload(atom_scratch, jit_options=_JIT, prefer_literal=True)
def _atom_scratch(max_pairs, plan, records):
    return pieces_of(plan).scratch.py_func


@overload(atom_values, jit_options=_JIT, prefer_literal=True)
def _atom_values(i, first, jn, D, r, species, plan, scr, Gi, records):
    return pieces_of(plan).values.py_func


@overload(atom_vjp, jit_options=_JIT, prefer_literal=True)
def _atom_vjp(i, first, jn, D, r, species, plan, scr, state, w, g):
    return pieces_of(plan).vjp.py_func


@overload(atom_jvp, jit_options=_JIT, prefer_literal=True)
def _atom_jvp(i, first, jn, D, r, species, plan, scr, state, V, dGi):
    return pieces_of(plan).jvp.py_func


@overload(atom_jacobian, jit_options=_JIT, prefer_literal=True)
def _atom_jacobian(i, first, jn, D, r, species, plan, scr, state, J, j0):
    return pieces_of(plan).jacobian.py_func


@overload(shares_jacobian, inline="always")
def _shares_jacobian(plan):
    share = bool(pieces_of(plan).share_jacobian)
    return lambda plan: share


@njit(cache=True, error_model="numpy")
def _pair_block(blk, n_blocks, first, jn, D, r, species, W, V, G, g, J, max_pairs, plan,
                mode):
    """Every n_blocks-th atom from blk: values (FORWARD) or values with records and then
    the vector–Jacobian product (BACKWARD: W -> g), the Jacobian–vector product (JVP:
    V -> G) or the Jacobian (JACOBIAN: J). A function of its own, not the prange body,
    because Numba 0.68 miscompiles a NamedTuple (the scratch) made in a prange body and
    passed to an inlined function."""
    records = mode != FORWARD
    scr = atom_scratch(max_pairs, plan, records)
    Gi = np.empty(max(W.shape[1], G.shape[1], J.shape[1]))
    for i in range(blk, first.shape[0] - 1, n_blocks):
        if mode == FORWARD:
            atom_values(i, first, jn, D, r, species, plan, scr, G[i], False)
            continue
        Gi[:] = 0.0
        state = atom_values(i, first, jn, D, r, species, plan, scr, Gi, True)
        if mode == BACKWARD:
            atom_vjp(i, first, jn, D, r, species, plan, scr, state, W[i], g)
        elif mode == JVP:
            atom_jvp(i, first, jn, D, r, species, plan, scr, state, V, G[i])
        else:
            atom_jacobian(i, first, jn, D, r, species, plan, scr, state, J, 0)


@njit(cache=True, parallel=True, error_model="numpy")
def _pair_kernel(first, jn, D, r, species, W, V, G, g, J, max_pairs, n_blocks, plan, mode):
    """The four modes of every family with per-atom pieces, blocks of atoms in parallel."""
    for blk in prange(n_blocks):
        _pair_block(blk, n_blocks, first, jn, D, r, species, W, V, G, g, J, max_pairs, plan,
                    mode)


def uncached_copies(namespace, functions, **replace):
    """Copies of the njit ``functions`` (of the module whose globals are ``namespace``),
    compiled without Numba's cache and calling one another (and ``replace`` by name) in
    place of the cached originals: the kernels of a family whose plan type cannot go
    into the cache (:class:`AtomPieces`)."""
    g = dict(namespace, **replace)
    out = {}
    for f in functions:
        py = f.py_func
        opts = {k: v for k, v in f.targetoptions.items() if k not in ("nopython", "boundscheck")}
        g[py.__name__] = out[py.__name__] = njit(**opts)(
            types.FunctionType(py.__code__, g, py.__name__, py.__defaults__, py.__closure__))
    return types.SimpleNamespace(**out)


#: the kernels for families whose pieces are not cached
UNCACHED = uncached_copies(globals(), [_pair_block, _pair_kernel])


def kernels_for(plan, cached, uncached):
    """``cached`` for a plan whose pieces go to Numba's cache, else ``uncached``."""
    return cached if pieces_of(plan).cache else uncached


class Launch(NamedTuple):
    """How a kernel call is laid out: species as int64, the most pairs of any atom
    (scratch size) and the number of blocks of atoms the threads share."""
    species: np.ndarray
    max_pairs: int
    n_blocks: int


class PairDescriptor:
    """Base class of every family: the public modes on top of the family's ``kernel``.
    ``n_features_max`` and ``len()`` default to ``n_features()`` (the same columns for
    every element); a family with per-element counts overrides them."""

    @property
    def n_features_max(self):
        return self.n_features()

    def __len__(self):
        return self.n_features()

    def species_indices(self, numbers):
        """Element index (0..n_elements-1) of every atom from atomic numbers."""
        return element_indices(numbers, self.elements, "descriptor")

    def launch(self, nl, species):
        """The :class:`Launch` of a kernel call on neighbour list ``nl``."""
        if nl.cutoff < self.cutoff - 1e-12:
            raise ValueError(f"neighbour list cutoff {nl.cutoff} is shorter than the "
                             f"descriptor cutoff {self.cutoff}")
        species = np.ascontiguousarray(species, dtype=np.int64)
        max_pairs = max(int(np.diff(nl.first).max(initial=0)), 1)
        n_blocks = max(1, min(len(species), 4 * get_num_threads()))
        return Launch(species, max_pairs, n_blocks)

    def kernel(self, mode, nl, launch, W, V, G, g, J):
        """Fill the output of ``mode`` from the registered per-atom pieces of the plan
        (module docstring); a family without pieces overrides this method."""
        plan = self.plan()
        kernel = kernels_for(plan, _pair_kernel, UNCACHED._pair_kernel)
        kernel(nl.first, nl.j, nl.D, nl.r, launch.species, W, V, G, g, J, launch.max_pairs,
               launch.n_blocks, plan, mode)

    def _run(self, mode, nl, species, W=NO_G, V=NO_V, G=NO_G, g=NO_V, J=NO_J):
        launch = self.launch(nl, species)
        if len(species) and len(self):
            self.kernel(mode, nl, launch, W, V, G, g, J)

    def forward(self, nl, species):
        """Descriptor values G, shape (n_atoms, n_features_max)."""
        G = np.zeros((len(species), self.n_features_max))
        self._run(FORWARD, nl, species, G=G)
        return G

    def backward(self, nl, species, dE_dG):
        """g_p = Σ_f dE/dG_{i f} ∂G_{i f}/∂D_p for every pair p = (i, j, S); shape (n_pairs, 3)."""
        W = np.ascontiguousarray(dE_dG, dtype=np.float64)
        if W.shape != (len(species), self.n_features_max):
            raise ValueError(f"dE_dG must have shape {(len(species), self.n_features_max)}, "
                             f"got {W.shape}")
        g = np.zeros((nl.n_pairs, 3))
        self._run(BACKWARD, nl, species, W=W, g=g)
        return g

    def jvp(self, nl, species, V):
        """δG_{i f} = Σ_p ∂G_{i f}/∂D_p · V_p for pair displacements V (n_pairs, 3)."""
        V = np.ascontiguousarray(V, dtype=np.float64)
        if V.shape != (nl.n_pairs, 3):
            raise ValueError(f"V must have shape {(nl.n_pairs, 3)}, got {V.shape}")
        dG = np.zeros((len(species), self.n_features_max))
        self._run(JVP, nl, species, V=V, G=dG)
        return dG

    def jacobian(self, nl, species):
        """J[p, f] = ∂G_{i_p f}/∂D_p for every pair p, shape (n_pairs, n_features_max, 3).

        The sparse form of dG/dD (only the pairs of each centre): backward is
        g_p = Σ_f dE/dG_{i_p f} J[p, f] and jvp is δG_i = Σ_{p of i} J[p]·V_p.
        Worth storing when the same structure is evaluated many times (training);
        its size is n_pairs · n_features · 24 bytes.
        """
        J = np.zeros((nl.n_pairs, self.n_features_max, 3))
        self._run(JACOBIAN, nl, species, J=J)
        return J

    def evaluate_pass(self, nl, species, jacobian=False):
        """A :class:`DescriptorPass`: G, and J when ``jacobian`` (for forces)."""
        return DescriptorPass(self.forward(nl, species),
                              self.jacobian(nl, species) if jacobian else None)

    def compute(self, atoms):
        """Descriptor values for an ASE ``Atoms`` (or anything with positions,
        cell, pbc and numbers): one row per atom, documented column order."""
        species = self.species_indices(atoms.numbers)
        nl = build(atoms.positions, np.asarray(atoms.cell), atoms.pbc, self.cutoff)
        return self.forward(nl, species)
