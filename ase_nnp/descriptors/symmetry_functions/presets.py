"""Published symmetry-function sets, ready to use."""

from .spec import SymmetryFunctions

#: The Si setup of Yoo et al. (2019): 8 radial functions with r_s = 0 ...
SI_RADIAL_ETAS = (0.003214, 0.035711, 0.071421, 0.124987, 0.214264, 0.357106, 0.714213, 1.428426)
#: ... and 18 narrow angular functions, η x ζ x λ
SI_ANGULAR_ETAS = (0.000357, 0.028569, 0.089277)
SI_ZETAS = (1, 2, 4)
SI_LAMBDAS = (-1, 1)


def reference_si_descriptor(cutoff=6.5):
    """The 26-function Si set of Yoo et al., Phys. Rev. Materials 3, 093802 (2019) (cosine cutoff, r_c = 6.5 Å):
    columns 0-7 radial (η ascending), 8-25 narrow angular in the order
    η (outer), ζ, λ (inner)."""
    sf = SymmetryFunctions(["Si"], cutoff=cutoff, cutoff_function="cos")
    for eta in SI_RADIAL_ETAS:
        sf.add_radial(eta)
    for eta in SI_ANGULAR_ETAS:
        for zeta in SI_ZETAS:
            for lam in SI_LAMBDAS:
                sf.add_angular(eta, zeta, lam, kind="narrow")
    return sf


#: ``[descriptor] preset`` names -> (the elements it is for, the descriptor builder)
PRESETS = {"si-yoo2019": (["Si"], reference_si_descriptor)}
