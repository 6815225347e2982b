r"""An ensemble inside LAMMPS: the members as n2p2 files and an include file for the spread.

``ase-nnp export --format n2p2 ensemble.nnp outdir`` writes, besides the mean as one
potential, each member k to ``outdir/member<k>/`` and ``outdir/committee.lmp``: stock
``pair_style hdnnp`` (package ML-HDNNP), no patch. The include file

* runs the K members as ``pair_style hybrid/scaled w hdnnp … w hdnnp …`` with w = 1/K,
  so forces and energy are the members' mean, Ē = (1/K) Σ_k E_k;
* reads each member's own energy with ``compute pair hdnnp k`` (the sub-style's
  unscaled energy E_k), and forms the population spread

      s = sqrt((1/K) Σ_k (E_k − Ē)²)                    (v_nnp_sigma_raw, eV)

  exactly as :mod:`ase_nnp.committee` does;
* with a calibration (:mod:`ase_nnp.uncertainty`) the calibrated σ_E of the total energy,

      σ_E = N · e^a · max(s / N, FLOOR)^b               (v_nnp_sigma, eV)

  — the energy map's committee part. The grade's factor (1 + ln max(γ, 1))^c needs the
  last hidden layers, which LAMMPS does not expose, so it is taken as 1 (an atom inside
  the active set's hull; the file says so when the calibration uses the grade); without
  a calibration σ_E = s, the raw spread;
* prints step, s and σ_E every ``nnp_every`` steps (``fix print``) and stops the run with
  ``fix halt`` (``error soft``: the run ends cleanly, the input goes on) once σ_E / N
  passes ``nnp_sigma_max`` (eV/atom).

``nnp_every`` and ``nnp_sigma_max`` are index variables: ``lmp -var nnp_every 10 -var
nnp_sigma_max 0.005`` or a ``variable`` line before the ``include`` overrides them. The
include goes after ``read_data`` (types numbered by atomic number, as
:func:`~ase_nnp.interop.lammps.pair_lines` numbers them).
"""

import os
from typing import NamedTuple

from ..atomic import atomic_path
from ..elements import ATOMIC_NUMBERS
from ..exceptions import InteropError
from ..uncertainty import FLOOR
from .n2p2 import write_n2p2

#: the default of nnp_sigma_max (eV/atom): no halt unless the user sets one
NO_LIMIT = 1e300


class CommitteeFiles(NamedTuple):
    """What :func:`write_committee` wrote: the member directories and the include file."""
    members: list
    include: str


def committee_lines(ensemble, member_dirs, every=100, sigma_max=None):
    """The lines of the include file (module docstring) for the members exported to
    ``member_dirs`` (absolute paths)."""
    K = len(member_dirs)
    by_z = sorted(ensemble.elements, key=ATOMIC_NUMBERS.get)
    cutoff = float(ensemble.cutoff)
    w = 1.0 / K
    cal = getattr(ensemble, "calibration", None)
    lines = [f"# ase-nnp committee of {K} members (pair_style hdnnp, ML-HDNNP); see "
             "ase_nnp/interop/lammps_committee.py",
             f"variable nnp_every index {int(every)}",
             f"variable nnp_sigma_max index {NO_LIMIT if sigma_max is None else sigma_max!r}",
             "pair_style hybrid/scaled " + " ".join(
                 f'{w!r} hdnnp {cutoff!r} dir "{d}" showew no showewsum 0 resetew no '
                 "maxew 100000 cflength 1.0 cfenergy 1.0" for d in member_dirs)]
    for k in range(1, K + 1):
        lines.append(f"pair_coeff * * hdnnp {k} {' '.join(by_z)}")
    for k in range(1, K + 1):
        lines.append(f"compute nnp_e{k} all pair hdnnp {k} evdwl")
    lines.append("variable nnp_mean equal (" + "+".join(f"c_nnp_e{k}" for k in range(1, K + 1))
                 + f")/{K}")
    lines.append("variable nnp_sigma_raw equal sqrt((" + "+".join(
        f"(c_nnp_e{k}-v_nnp_mean)^2" for k in range(1, K + 1)) + f")/{K})")
    if cal is None:
        lines.append("# no calibration: sigma_E is the raw spread of the members")
        lines.append("variable nnp_sigma equal v_nnp_sigma_raw")
    else:
        a, b, _ = (float(x) for x in cal.maps["energy"])
        if "committee" not in cal.signals:
            raise InteropError("the ensemble's calibration does not use the committee spread; "
                               "calibrate it with the committee (ase-nnp calibrate) to run it "
                               "in LAMMPS")
        if "grade" in cal.signals:
            lines.append("# the calibration's grade factor (1 + ln max(gamma, 1))^c is taken "
                         "as 1: LAMMPS does not expose the last hidden layers")
        s_atom, floor = "v_nnp_sigma_raw/atoms", repr(FLOOR)
        lines.append(f"variable nnp_sigma equal atoms*exp({a!r})*"
                     f"ternary({s_atom}>{floor},{s_atom},{floor})^{b!r}")
    lines += ["variable nnp_sigma_atom equal v_nnp_sigma/atoms",
              'fix nnp_print all print ${nnp_every} "nnp step $(step) sigma_E_raw '
              '$(v_nnp_sigma_raw:%.17g) sigma_E $(v_nnp_sigma:%.17g) eV"',
              "fix nnp_halt all halt ${nnp_every} v_nnp_sigma_atom > ${nnp_sigma_max} "
              "error soft message yes"]
    return lines


def write_committee(ensemble, directory, every=100, sigma_max=None):
    """Write each member's n2p2 files to ``directory/member<k>`` and the include file
    ``directory/committee.lmp`` (module docstring); returns the :class:`CommitteeFiles`."""
    members = list(ensemble.members)
    if len(members) < 2:
        raise InteropError("a committee needs an ensemble of two or more members")
    if getattr(ensemble, "reference", None) is not None:
        raise InteropError("a replica ensemble reports its reference's predictions, which "
                           "the committee file (the members' mean) would not; export the "
                           "reference alone")
    if getattr(ensemble, "partner", None) is not None:
        raise InteropError("an ensemble with a partner predicts the members mixed with the "
                           "partner, which the committee file (the members alone) would not; "
                           "export the mixture (ase-nnp export) instead")
    if any(m.repulsion is not None for m in members):
        raise InteropError("members with a ZBL repulsion cannot run in the committee file "
                           "yet (hybrid/scaled would scale the repulsion too); export the "
                           "mean (ase-nnp export) instead")
    if every < 1 or (sigma_max is not None and not sigma_max > 0):
        raise InteropError(f"every must be a positive number of steps and sigma_max a "
                           f"positive energy per atom, got {every!r} and {sigma_max!r}")
    directory = os.path.abspath(os.fspath(directory))
    dirs = []
    for k, m in enumerate(members):
        d = os.path.join(directory, f"member{k}")
        write_n2p2(m, d)
        dirs.append(d)
    include = os.path.join(directory, "committee.lmp")
    lines = committee_lines(ensemble, dirs, every, sigma_max)
    with atomic_path(include, suffix=".lmp") as tmp, open(tmp, "w") as fh:
        fh.write("\n".join(lines) + "\n")
    return CommitteeFiles(dirs, include)

