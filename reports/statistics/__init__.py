"""Statistics for the trial report, computed the way SPSS prints them.

The trial paper (Bessar et al., fluoroscopy- vs CT-guided injections) was analysed in
IBM SPSS Statistics 20: median (IQR), Kolmogorov-Smirnov normality with the Lilliefors
correction, Student t-test or Mann-Whitney U between arms, Friedman with Dunn-Bonferroni
pairwise comparisons within an arm, and Pearson chi-square for categorical variables.
Each function here reproduces one of those numbers and documents its formula in
"Notes", with the sources it follows in "References".

This package is pure: it imports numpy, scipy, statsmodels and the standard library only,
never a web, database, SMS or scheduler library and never another project module.

Conventions shared by every function
------------------------------------
* Arm A is group 1 (fluoroscopy-guided), arm B is group 2 (CT-guided). Effect sizes are
  oriented B - A: a positive Hodges-Lehmann shift or rank-biserial correlation means the
  CT arm tends to score higher. Test statistics follow SPSS instead: Mann-Whitney's z is
  computed from the smaller U (so it is never positive) and Student's t is A - B.
* Inputs are validated first: values must be finite real numbers (``int`` or ``float``,
  not ``bool``, ``None``, ``nan`` or strings) and a wrong type or shape raises
  ``ValueError`` naming what is allowed. Data that are merely too few or all tied never
  raise: the statistic is ``None`` and a ``"note"`` says in plain words why.
* Every number returned is a plain Python ``float`` or ``int`` (never a numpy scalar),
  and never ``nan`` or ``inf``, so every result passes
  ``json.dumps(result, allow_nan=False)``.

References
----------
.. [1] IBM SPSS Statistics Algorithms (EXAMINE: percentiles, HAVERAGE; NPAR TESTS:
       Mann-Whitney, Friedman; CROSSTABS: chi-square; nonparametric tests: pairwise
       comparisons after Friedman). IBM Corp.
.. [2] Hyndman, R. J. and Fan, Y. (1996). Sample quantiles in statistical packages.
       The American Statistician 50(4), 361-365 (definition 6 = SPSS HAVERAGE).
.. [3] Lilliefors, H. W. (1967). On the Kolmogorov-Smirnov test for normality with mean
       and variance unknown. JASA 62, 399-402.
.. [4] Dallal, G. E. and Wilkinson, L. (1986). An analytic approximation to the
       distribution of Lilliefors's test statistic for normality. The American
       Statistician 40(4), 294-296.
.. [5] Hollander, M. and Wolfe, D. A. (1999). Nonparametric Statistical Methods, 2nd ed.
       Wiley (Mann-Whitney with ties; Hodges-Lehmann shift and Moses interval).
.. [6] SAS Institute. SAS/STAT User's Guide, The NPAR1WAY Procedure, "Hodges-Lehmann
       Estimation of Location Shift" and Example "Hodges-Lehmann Estimation".
.. [7] Kerby, D. S. (2014). The simple difference formula: an approach to teaching
       nonparametric correlation. Comprehensive Psychology 3, 11.IT.3.1.
.. [8] Siegel, S. and Castellan, N. J. (1988). Nonparametric Statistics for the
       Behavioral Sciences, 2nd ed. McGraw-Hill (Friedman with ties; multiple
       comparisons after Friedman).
.. [9] Freeman, G. H. and Halton, J. H. (1951). Note on an exact treatment of contingency,
       goodness of fit and other problems of significance. Biometrika 38, 141-149.
.. [10] Cochran, W. G. (1954). Some methods for strengthening the common chi-square
        tests. Biometrics 10, 417-451.
"""
from __future__ import annotations

from reports.statistics._shared import _u_statistics
from reports.statistics.between_arms import hodges_lehmann, mann_whitney, rank_biserial, student_t, two_arms
from reports.statistics.categorical import (
                                            FISHER_MAX_TABLES,
                                            FISHER_RELATIVE_TOLERANCE,
                                            MIN_EXPECTED_COUNT,
                                            SMALL_EXPECTED_COUNT,
                                            SMALL_EXPECTED_MAX_FRACTION,
                                            chi_square,
                                            fisher_freeman_halton,
)
from reports.statistics.descriptive import PERCENTILE_METHOD, describe
from reports.statistics.normality import (
                                            LILLIEFORS_MIN_N,
                                            LILLIEFORS_P_LOWER_BOUND,
                                            NORMALITY_ALPHA,
                                            choose_test,
                                            lilliefors_test,
                                            normality,
)
from reports.statistics.within_arm import friedman, friedman_pairwise

__all__ = [
    "describe", "mann_whitney", "student_t", "normality", "lilliefors_test", "choose_test",
    "hodges_lehmann", "rank_biserial", "two_arms", "friedman", "friedman_pairwise", "chi_square",
    "fisher_freeman_halton",
    "PERCENTILE_METHOD", "NORMALITY_ALPHA", "LILLIEFORS_MIN_N", "LILLIEFORS_P_LOWER_BOUND",
    "SMALL_EXPECTED_COUNT", "SMALL_EXPECTED_MAX_FRACTION", "MIN_EXPECTED_COUNT",
    "FISHER_RELATIVE_TOLERANCE", "FISHER_MAX_TABLES", "_u_statistics",
]
