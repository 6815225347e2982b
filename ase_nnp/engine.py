r"""The compiled energy path: descriptor, scaling, network and descriptor backward per atom.

``Potential.evaluate`` could run the three steps of ARCHITECTURE.md one after
another over all atoms (``descriptor.forward`` → networks → ``descriptor.backward``),
and does so for energies alone. For forces and stress that would compute every
per-atom intermediate (the triplets' Gaussians and cutoffs, the harmonics, the
bispectrum's Z) twice. This module runs, for one atom at a time inside one Numba kernel,

    atom_values (keeping what the derivatives read)
        → x = s_min + k ⊙ (G_i - G_0) → E_i = NN_e(x) + E⁰_e, w = ∂E_i/∂G_i   (per member)
        → atom_vjp per member, or atom_jacobian once and a contraction per member
          (from what atom_values kept, still in cache) → g_p for the pairs of i,

from the per-atom pieces that the descriptor family registered
(:mod:`ase_nnp.descriptors.base`; the kernel is compiled for the type of the family's
plan, so this module names no family) and a small MLP evaluated here. The numbers are
those of the three-step path (a test holds them to 1e-12); only the order of work
differs. The descriptor families know nothing of networks: this module composes the two.

The MLP follows :mod:`ase_nnp.network`: h_k = a_k(h_{k-1} W_k + b_k), and
backpropagation ∂E/∂h_{k-1} = (∂E/∂h_k ⊙ a_k'(z_k)) W_kᵀ.
"""

import math
from typing import NamedTuple

import numpy as np
from numba import njit, prange, typeof

from .descriptors.base import (ATOM_PIECES, atom_jacobian, atom_scratch, atom_values, atom_vjp,
                               kernels_for, shares_jacobian, uncached_copies)

_ACTIVATION_CODES = {"identity": 0, "tanh": 1, "logistic": 2, "softplus": 3,
                     "shifted_softplus": 4}
_LN2 = math.log(2.0)


class NetworkPack(NamedTuple):
    """Every element's scaling and network as flat arrays, row k for element k.

    Layer l of element k has ``sizes[k, l]`` inputs and ``sizes[k, l + 1]`` outputs,
    activation code ``acts[k, l]``, weights ``wflat[w_off[k, l]:]`` (row-major, inputs
    × outputs) and biases ``bflat[b_off[k, l]:]``; x = offset + factor ⊙ (G - shift);
    ``e0`` the element's energy offset; ``lo``/``hi`` the training range of each
    descriptor column (:func:`training_range`).
    """
    n_layers: np.ndarray
    sizes: np.ndarray
    acts: np.ndarray
    w_off: np.ndarray
    b_off: np.ndarray
    wflat: np.ndarray
    bflat: np.ndarray
    factor: np.ndarray
    shift: np.ndarray
    offset: np.ndarray
    e0: np.ndarray
    max_layers: int
    max_width: int
    lo: np.ndarray       # training range of G per row and column (-inf, inf: not checked)
    hi: np.ndarray


def pack_networks(*potentials):
    """Flat arrays of every element's scaling and network, in element order; for several
    potentials (an ensemble with one descriptor) member m's element k is row m·n_el + k."""
    rows = [(pot, e) for pot in potentials for e in pot.elements]
    n = len(rows)
    nets = [pot.networks[e] for pot, e in rows]
    max_layers = max(len(net.weights) for net in nets)
    max_width = max(max(net.layer_sizes) for net in nets)
    n_feat = potentials[0].descriptor.n_features_max
    sizes = np.zeros((n, max_layers + 1), dtype=np.int64)
    acts = np.zeros((n, max_layers), dtype=np.int64)
    w_off = np.zeros((n, max_layers), dtype=np.int64)
    b_off = np.zeros((n, max_layers), dtype=np.int64)
    n_layers = np.zeros(n, dtype=np.int64)
    factor = np.zeros((n, n_feat))
    shift = np.zeros((n, n_feat))
    offset = np.zeros(n)
    e0 = np.zeros(n)
    lo = np.full((n, n_feat), -np.inf)
    hi = np.full((n, n_feat), np.inf)
    ws, bs = [], []
    wpos = bpos = 0
    for k, (pot, e) in enumerate(rows):
        net = nets[k]
        n_layers[k] = len(net.weights)
        sizes[k, :len(net.layer_sizes)] = net.layer_sizes
        for layer, (w, b, a) in enumerate(zip(net.weights, net.biases, net.activations)):
            acts[k, layer] = _ACTIVATION_CODES[a]
            w_off[k, layer] = wpos
            b_off[k, layer] = bpos
            ws.append(w.ravel())
            bs.append(b)
            wpos += w.size
            bpos += b.size
        sc = pot.scalings[e]
        nf = sc.n_features
        factor[k, :nf] = sc.factor
        shift[k, :nf] = sc.shift
        offset[k] = sc.offset
        e0[k] = pot.energy_offsets[e]
        lo[k, :nf], hi[k, :nf] = training_range(sc)
    return NetworkPack(n_layers, sizes, acts, w_off, b_off, np.concatenate(ws),
                       np.concatenate(bs), factor, shift, offset, e0, max_layers, max_width,
                       lo, hi)


#: values this close to the training range (relative to the column's magnitude) are inside
ROUNDING = 1e-10


def training_range(scaling):
    """(lo, hi) per descriptor column: the training minimum and maximum (widened by
    :data:`ROUNDING` of the column's magnitude), or (-inf, inf)
    where the column never varied (the network does not use it, scaling factor 0) or the
    scaling holds no statistics (an untrained potential)."""
    lo, hi = scaling.gmin.copy(), scaling.gmax.copy()
    unused = ~(hi > lo)
    # rounding is not extrapolation: the training structures themselves, evaluated with
    # another summation order, may land an ulp outside their own range
    pad = ROUNDING * np.maximum(np.maximum(np.abs(lo), np.abs(hi)), hi - lo)
    lo, hi = lo - pad, hi + pad
    lo[unused] = -np.inf
    hi[unused] = np.inf
    return lo, hi


@njit(cache=True, inline="always", error_model="numpy")
def _outside(Gi, row, nets, X, i):
    """X[i] = max(X[i], (number of columns of G_i outside the training range of ``row``,
    the largest distance outside it in units of the column's range))."""
    lo, hi = nets.lo, nets.hi
    count = 0
    excess = 0.0
    for a in range(lo.shape[1]):
        if Gi[a] < lo[row, a]:
            count += 1
            excess = max(excess, (lo[row, a] - Gi[a]) / (hi[row, a] - lo[row, a]))
        elif Gi[a] > hi[row, a]:
            count += 1
            excess = max(excess, (Gi[a] - hi[row, a]) / (hi[row, a] - lo[row, a]))
    X[i, 0] = max(X[i, 0], count)
    X[i, 1] = max(X[i, 1], excess)


@njit(cache=True, inline="always", error_model="numpy")
def _activate(code, z):
    if code == 1:
        a = math.tanh(z)
        return a, 1.0 - a * a
    if code == 0:
        return z, 1.0
    # logistic and the softplus family share the logistic function
    if z >= 0.0:
        ez = math.exp(-z)
        sig = 1.0 / (1.0 + ez)
        sp = z + math.log1p(ez)
    else:
        ez = math.exp(z)
        sig = ez / (1.0 + ez)
        sp = math.log1p(ez)
    if code == 2:
        return sig, sig * (1.0 - sig)
    if code == 3:
        return sp, sig
    return sp - _LN2, sig


@njit(cache=True, inline="always", error_model="numpy")
def _atom_network(c, Gi, w, nets, H, S, grad, gin):
    """E_i = NN_c(x) + E⁰_c with x = offset + k ⊙ (G_i - G_0); writes w = ∂E_i/∂G_i."""
    n_layers, sizes, acts, w_off, b_off = (nets.n_layers, nets.sizes, nets.acts, nets.w_off,
                                           nets.b_off)
    wflat, bflat, factor, shift, offset, e0 = (nets.wflat, nets.bflat, nets.factor, nets.shift,
                                               nets.offset, nets.e0)
    L = n_layers[c]
    n0 = sizes[c, 0]
    for a in range(n0):
        H[0, a] = offset[c] + factor[c, a] * (Gi[a] - shift[c, a])
    for k in range(L):
        n_in = sizes[c, k]
        n_out = sizes[c, k + 1]
        wo = w_off[c, k]
        bo = b_off[c, k]
        for o in range(n_out):
            H[k + 1, o] = bflat[bo + o]
        for a in range(n_in):
            x = H[k, a]
            base = wo + a * n_out
            for o in range(n_out):
                H[k + 1, o] += x * wflat[base + o]
        code = acts[c, k]
        for o in range(n_out):
            H[k + 1, o], S[k, o] = _activate(code, H[k + 1, o])
    energy = H[L, 0] + e0[c]
    grad[0] = S[L - 1, 0]
    for k in range(L - 1, -1, -1):
        n_in = sizes[c, k]
        n_out = sizes[c, k + 1]
        wo = w_off[c, k]
        for a in range(n_in):
            base = wo + a * n_out
            s = 0.0
            for o in range(n_out):
                s += wflat[base + o] * grad[o]
            gin[a] = s * S[k - 1, a] if k > 0 else s
        for a in range(n_in):
            grad[a] = gin[a]
    for a in range(w.shape[0]):
        w[a] = grad[a] * factor[c, a] if a < n0 else 0.0
    return energy


@njit(cache=True, error_model="numpy")
def _network_scratch(n_feat, nets):
    """Per-worker arrays of one atom's pass: G_i, w = ∂E_i/∂G_i, layer values, slopes."""
    max_layers = nets.max_layers
    max_width = nets.max_width
    return (np.empty(n_feat), np.empty(n_feat), np.empty((max_layers + 1, max_width)),
            np.empty((max_layers, max_width)), np.empty(max_width), np.empty(max_width))


@njit(cache=True, inline="always", error_model="numpy")
def _contract(Jl, nq, w, g, p0):
    """g[p0 + q] = Σ_f w_f Jl[q, f] for the nq pairs of one atom."""
    nf = Jl.shape[1]
    for q in range(nq):
        g0 = 0.0
        g1 = 0.0
        g2 = 0.0
        for f in range(nf):
            wf = w[f]
            g0 += wf * Jl[q, f, 0]
            g1 += wf * Jl[q, f, 1]
            g2 += wf * Jl[q, f, 2]
        g[p0 + q, 0] = g0
        g[p0 + q, 1] = g1
        g[p0 + q, 2] = g2


@njit(cache=True, error_model="numpy")
def _energy_block(blk, n_blocks, first, jn, D, r, species, E, g, X, Phi, max_pairs, n_feat,
                  plan, nets):
    """One block of atoms (every n_blocks-th from blk) for K = E.shape[0] potentials that
    share the descriptor: the atom's values once (the per-atom pieces of the plan's
    family, :mod:`ase_nnp.descriptors.base`), each member's network (rows k·n_el +
    element of ``nets``), then the members' backward passes into g[k]: K vector–Jacobian
    products, or, where the family shares the Jacobian and K > 1, the atom's
    J[q, f] = ∂G_if/∂D_{first[i]+q} once and g[k, p] = Σ_f W[k, f] J[p, f] per member.
    Where ``Phi`` has rows (Phi.shape[1] > 0), Phi[k, i, :width] keeps member k's last
    hidden layer h_{L-1} of atom i (the features of the extrapolation grade).
    A function of its own, not the prange body, for the reason given in
    :mod:`ase_nnp.descriptors.base`."""
    scr = atom_scratch(max_pairs, plan, True)
    Gi, w, H, S, grad, gin = _network_scratch(n_feat, nets)
    n_members = E.shape[0]
    nel = nets.e0.shape[0] // n_members
    share = n_members > 1 and shares_jacobian(plan)
    W = np.empty((n_members, n_feat))
    Jl = np.empty((max_pairs if share else 0, n_feat, 3))
    for i in range(blk, first.shape[0] - 1, n_blocks):
        Gi[:] = 0.0
        state = atom_values(i, first, jn, D, r, species, plan, scr, Gi, True)
        for k in range(n_members):
            row = k * nel + species[i]
            _outside(Gi, row, nets, X, i)
            E[k, i] = _atom_network(row, Gi, W[k], nets, H, S, grad, gin)
            if Phi.shape[1]:
                L = nets.n_layers[row]
                for a in range(nets.sizes[row, L - 1]):
                    Phi[k, i, a] = H[L - 1, a]
        if not share:
            for k in range(n_members):
                atom_vjp(i, first, jn, D, r, species, plan, scr, state, W[k], g[k])
            continue
        p0 = first[i]
        nq = first[i + 1] - p0
        Jl[:nq] = 0.0
        atom_jacobian(i, first, jn, D, r, species, plan, scr, state, Jl, p0)
        for k in range(n_members):
            _contract(Jl, nq, W[k], g[k], p0)


@njit(cache=True, parallel=True, error_model="numpy")
def _energy_kernel(first, jn, D, r, species, E, g, X, Phi, max_pairs, n_blocks, n_feat, plan,
                   nets):
    for blk in prange(n_blocks):
        _energy_block(blk, n_blocks, first, jn, D, r, species, E, g, X, Phi, max_pairs, n_feat,
                      plan, nets)


#: the fused kernel for families whose pieces are not cached (AtomPieces.cache)
_UNCACHED = uncached_copies(globals(), [_energy_block, _energy_kernel])


_announced = set()


def _announce_compilation(kind, plan):
    """One line on stderr when the fused kernel is about to be compiled for the plan's
    type (Numba's cache holds no entry with it yet): the first call then takes about a
    minute."""
    if kind in _announced or not ATOM_PIECES[kind].cache:
        return
    _announced.add(kind)
    try:
        plan_type = typeof(plan)
        index = _energy_kernel._cache._cache_file._load_index()
        cold = not any(plan_type in key[0] for key in index)
    except Exception:           # Numba's cache internals changed: say nothing
        return
    if cold:
        import sys
        print(f"ase-nnp: compiling the {kind} kernels once (about a minute); later runs "
              "load them from Numba's cache", file=sys.stderr, flush=True)


def has_fused_kernel(descriptor):
    """Whether the descriptor's family registered per-atom pieces (and so runs here)."""
    return descriptor.kind in ATOM_PIECES


class MembersPass(NamedTuple):
    """One fused pass for K potentials: E[k, i] (eV), g[k, p] = ∂E_k/∂D_p (eV/Å), and per
    atom the number of descriptor columns outside the training range and the largest
    excess in units of the range (the largest over the members); with ``features``,
    H[k, i, :width] the last hidden layer of member k's network for atom i (zero-padded
    to the widest), else None."""
    E: np.ndarray
    g: np.ndarray
    outside: np.ndarray
    excess: np.ndarray
    features: np.ndarray = None


def members_energies_and_pair_gradients(potentials, nl, species, nets=None, features=False):
    """The :class:`MembersPass` of K potentials with one descriptor specification in one
    compiled pass: the descriptor runs once per atom, the networks and backward passes
    once per member (KeyError for a family without a fused kernel). ``nets``:
    ``pack_networks(*potentials)`` when the caller keeps it; ``features``: keep each
    atom's last hidden layer (:class:`MembersPass`)."""
    desc = potentials[0].descriptor
    if desc.kind not in ATOM_PIECES:
        raise KeyError(f"descriptor family {desc.kind!r} has no per-atom pieces")
    plan = desc.plan()
    launch = desc.launch(nl, species)
    E = np.zeros((len(potentials), len(launch.species)))
    g = np.zeros((len(potentials), nl.n_pairs, 3))
    X = np.zeros((len(launch.species), 2))
    nets = pack_networks(*potentials) if nets is None else nets
    Phi = np.zeros((len(potentials), len(launch.species) if features else 0, nets.max_width))
    if E.shape[1]:
        _announce_compilation(desc.kind, plan)
        kernel = kernels_for(plan, _energy_kernel, _UNCACHED._energy_kernel)
        kernel(nl.first, nl.j, nl.D, nl.r, launch.species, E, g, X, Phi, launch.max_pairs,
               launch.n_blocks, desc.n_features_max, plan, nets)
    return MembersPass(E, g, X[:, 0].astype(np.int64), X[:, 1], Phi if features else None)


def energies_and_pair_gradients(potential, nl, species):
    """(E_i for every atom, g_p = ∂E/∂D_p for every pair) in one compiled pass of the
    descriptor family's fused kernel (KeyError for a family without one)."""
    res = members_energies_and_pair_gradients([potential], nl, species)
    return res.E[0], res.g[0]
