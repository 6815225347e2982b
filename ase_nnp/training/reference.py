"""Reference calculators to generate training data from (extra dependencies, imported on use)."""


def stillinger_weber_si():
    """matscipy's Stillinger–Weber calculator with the original Si parameters
    (Stillinger & Weber, PRB 31, 5262 (1985)); energies, forces, stress and
    per-atom energies. Needs ``pip install matscipy`` (in the test extra)."""
    try:
        from matscipy.calculators.manybody import Manybody
        from matscipy.calculators.manybody.explicit_forms import StillingerWeber
        from matscipy.calculators.manybody.explicit_forms.stillinger_weber import (
            Stillinger_Weber_PRB_31_5262_Si)
    except ImportError:
        raise ImportError("the Stillinger-Weber reference needs matscipy: pip install matscipy "
                          "(or pip install 'ase-nnp[test]')") from None
    return Manybody(**StillingerWeber(Stillinger_Weber_PRB_31_5262_Si))
