"""The LAMMPS lines that run an exported potential (``units metal``).

The networks go through n2p2's files and LAMMPS' ``pair_style hdnnp`` (package
ML-HDNNP). A ZBL repulsion (:mod:`ase_nnp.repulsion`) is LAMMPS' own ``pair_style
zbl`` — the same function and the same switching — overlaid on it::

    pair_style hybrid/overlay hdnnp <r_c> dir "<dir>" ... zbl <r_1> <r_c,zbl>
    pair_coeff * * hdnnp Si O
    pair_coeff 1 1 zbl 14.0 14.0
    pair_coeff 1 2 zbl 14.0 8.0          (types numbered by atomic number)

An ensemble with a partner (:class:`ase_nnp.Ensemble`: (1 - w) times the networks' mean
plus w times a SNAP model) is LAMMPS' ``hybrid/scaled`` of the two, both stock::

    pair_style hybrid/scaled <1 - w> hdnnp <r_c> dir "<dir>" ... <w> snap
    pair_coeff * * hdnnp Si
    pair_coeff * * snap <dir>/partner.snapcoeff <dir>/partner.snapparam Si

LAMMPS' zbl has one inner and outer distance per sub-style, so element pairs
with different distances get one ``zbl`` sub-style each (``zbl 1``, ``zbl 2``, …
in their pair_coeff lines).
"""

import math

from ..elements import ATOMIC_NUMBERS


def pair_lines(potential, directory, hdnnp_options="showew no showewsum 1000 resetew no "
               "maxew 100000", units=None):
    """[pair_style, pair_coeff, ...] for ``potential`` exported (networks) to ``directory``;
    LAMMPS types 1, 2, … are the elements by atomic number.

    ``units``: the :class:`~ase_nnp.interop.n2p2.Units` the files were written in (None:
    Å and eV). LAMMPS (``units metal``) multiplies its lengths by ``cflength`` and
    divides n2p2's energies by ``cfenergy``, so the line carries cflength = 1/L and
    cfenergy = 1/U (Bohr and Hartree: 1.88972612584 and 0.0367493224750)."""
    by_z = sorted(potential.elements, key=ATOMIC_NUMBERS.get)
    # repr: the shortest text of the exact cutoff; a rounded-down one stops LAMMPS
    # ("Inconsistent cutoff radius")
    cutoff = float(potential.cutoff)
    if units is None or units.identity:
        conversion = "cflength 1.0 cfenergy 1.0"
    else:
        cfl, cfe = 1.0 / units.length, 1.0 / units.energy
        conversion = f"cflength {cfl!r} cfenergy {cfe!r}"
        # n2p2 compares its largest cutoff (the file's number / cflength) with this one:
        # never let rounding put ours below
        in_file = float(repr(cutoff / units.length))
        cutoff = math.nextafter(max(cutoff, in_file / cfl), math.inf)
    hdnnp = f'hdnnp {cutoff!r} dir "{directory}" {hdnnp_options} {conversion}'
    return overlay_lines(potential, hdnnp, " ".join(by_z))


def overlay_lines(potential, style, coeff):
    """[pair_style, pair_coeff, ...] of the pair style ``style`` (its pair_coeff arguments
    after ``* *``: ``coeff``), with ``potential``'s ZBL repulsion overlaid when it has
    one (module docstring); LAMMPS types are the elements by atomic number."""
    by_z = sorted(potential.elements, key=ATOMIC_NUMBERS.get)
    name = style.split()[0]
    rep = potential.repulsion
    if rep is None:
        return [f"pair_style {style}", f"pair_coeff * * {coeff}"]
    styles = rep.lammps_styles()
    subs = " ".join(f"zbl {r1!r} {rc!r}" for r1, rc, _ in styles)
    lines = [f"pair_style hybrid/overlay {style} {subs}", f"pair_coeff * * {name} {coeff}"]
    for k, (_, _, pairs) in enumerate(styles, start=1):
        tag = "zbl" if len(styles) == 1 else f"zbl {k}"
        for a, b in pairs:
            ea, eb = rep.elements[a], rep.elements[b]
            ta, tb = by_z.index(ea) + 1, by_z.index(eb) + 1
            if ta > tb:
                ta, tb, ea, eb = tb, ta, eb, ea
            lines.append(f"pair_coeff {ta} {tb} {tag} {float(ATOMIC_NUMBERS[ea])!r} "
                         f"{float(ATOMIC_NUMBERS[eb])!r}")
    return lines


def mixture_lines(networks_lines, snap_lines, weight):
    """The ``hybrid/scaled`` lines of a mixture (module docstring) from the lines of its
    two parts (each a pair_style line and one ``pair_coeff * *`` line, no repulsion) and
    the partner's weight w."""
    (style_n, coeff_n), (style_p, coeff_p) = networks_lines, snap_lines
    head = "pair_style "
    return [f"pair_style hybrid/scaled {1.0 - weight!r} {style_n[len(head):]} {weight!r} "
            f"{style_p[len(head):]}",
            coeff_n.replace("pair_coeff * * ", "pair_coeff * * hdnnp ", 1),
            coeff_p.replace("pair_coeff * * ", "pair_coeff * * snap ", 1)]
