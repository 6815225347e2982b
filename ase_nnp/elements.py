"""Chemical symbols <-> atomic numbers, without importing ASE (engine code uses it)."""

import numpy as np

from .exceptions import UnknownElementError

_SYMBOLS = (
    "X H He Li Be B C N O F Ne Na Mg Al Si P S Cl Ar K Ca Sc Ti V Cr Mn Fe Co Ni Cu Zn "
    "Ga Ge As Se Br Kr Rb Sr Y Zr Nb Mo Tc Ru Rh Pd Ag Cd In Sn Sb Te I Xe Cs Ba La Ce "
    "Pr Nd Pm Sm Eu Gd Tb Dy Ho Er Tm Yb Lu Hf Ta W Re Os Ir Pt Au Hg Tl Pb Bi Po At Rn "
    "Fr Ra Ac Th Pa U Np Pu Am Cm Bk Cf Es Fm Md No Lr Rf Db Sg Bh Hs Mt Ds Rg Cn Nh Fl "
    "Mc Lv Ts Og").split()
ATOMIC_NUMBERS = {s: z for z, s in enumerate(_SYMBOLS) if z > 0}


def symbol(z):
    return _SYMBOLS[int(z)]


def normalize_elements(elements):
    """Validate a list of element symbols or atomic numbers; return symbols.

    Order is kept: it defines the element index used throughout a potential.
    """
    out = []
    for e in elements:
        if isinstance(e, str):
            if e not in ATOMIC_NUMBERS:
                raise ValueError(f"unknown chemical symbol {e!r}")
            out.append(e)
        else:
            z = int(e)
            if not 0 < z < len(_SYMBOLS):
                raise ValueError(f"invalid atomic number {e}")
            out.append(_SYMBOLS[z])
    if len(set(out)) != len(out):
        raise ValueError(f"elements must be unique, got {out}")
    if not out:
        raise ValueError("at least one element is required")
    return out


def element_indices(numbers, elements, owner):
    """Index into ``elements`` (symbols) of every atomic number in ``numbers``.

    Raises UnknownElementError naming the unknown elements and the known ones;
    ``owner`` ("potential", "descriptor") says who does not know them.
    """
    numbers = np.asarray(numbers, dtype=np.int64)
    lut = np.full(len(_SYMBOLS), -1, dtype=np.int64)
    for k, e in enumerate(elements):
        lut[ATOMIC_NUMBERS[e]] = k
    valid = (numbers > 0) & (numbers < len(_SYMBOLS))
    idx = np.where(valid, lut[np.where(valid, numbers, 0)], -1)
    if np.any(idx < 0):
        unknown = sorted({_SYMBOLS[z] if 0 < z < len(_SYMBOLS) else str(z)
                          for z in numbers[idx < 0].tolist()})
        raise UnknownElementError(
            f"the structure contains {unknown}, but this {owner} only knows {list(elements)}; "
            f"use a {owner} made for these elements")
    return idx
