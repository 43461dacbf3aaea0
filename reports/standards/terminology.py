"""The codes the standards exports give each answer: CDISC controlled terminology for SDTM QS,
LOINC where it has the instrument, NCI Thesaurus codes for CDISC terms, local codes otherwise.
Pure data and one function that lays it out per column of the long dataset.

Sources (each checked against the published text, cited in the standards codebook):

- CDISC QS controlled terminology, NCI EVS release 2014-06-27 ("QS-FT Terminology", ODM form):
  QSCAT "ODI v2.1A" = C103525 (codelist C100129, Category of Questionnaire); QSTESTCD
  ODI0101-ODI0110 = C103762-C103771 (codelist C103479), QSTEST "ODI01-Pain Intensity" ...
  "ODI01-Travelling" (codelist C103478). Pain intensity: QSCAT "PI" = C105167, "The Pain
  Intensity (PI) questions were created by STANDARDS ... sponsored by ACTTION"; QSTESTCD
  PI0101 = C105261, QSTEST "PI01-Pain Intensity" (codelists C105134, C105133).
- LOINC: 97908-8 "Oswestry Disability Index" (panel), 97909-6 "Oswestry disability index score
  ODI" (its only member; the ten sections have no LOINC codes), 38214-3 "Pain severity [Score]
  Visual analog score" (IHE PCC Pain Score Observation: "a pain score made using a visual analog
  scale").
- No CDISC or LOINC code exists for the two procedure-satisfaction items, the ODI total, or the
  medication form: they get sponsor-defined (SDTM) and local (FHIR) codes, marked as such.
"""
from __future__ import annotations

from dataclasses import dataclass

from questionnaires.odi import SECTIONS
from questionnaires.protocol import Protocol
from reports.variables import Variable

CT_RELEASE = "CDISC QS controlled terminology, NCI EVS 2014-06-27"
LOINC = "http://loinc.org"
NCIT = "http://ncicb.nci.nih.gov/xml/owl/EVS/Thesaurus.owl"
# Local code systems: URNs under one prefix, named here once.
LOCAL = "urn:spine-pro:"

ODI_CDISC_VERSION = "2.1a"     # the only ODI version CDISC has terminology for
ODI_QSCAT = "ODI v2.1A"
ODI_QSCAT_CODE = "C103525"
# QSTEST of each section, by section number (codelist C103478), and the NCIt code of the term.
ODI_QSTEST = {1: "ODI01-Pain Intensity", 2: "ODI01-Personal Care", 3: "ODI01-Lifting", 4: "ODI01-Walking",
              5: "ODI01-Sitting", 6: "ODI01-Standing", 7: "ODI01-Sleeping", 8: "ODI01-Sex Life",
              9: "ODI01-Social Life", 10: "ODI01-Travelling"}
ODI_TERM_CODE = {n: f"C{103761 + n}" for n in range(1, 11)}   # C103762 ... C103771
ODI_LOINC_PANEL = ("97908-8", "Oswestry Disability Index")
ODI_LOINC_SCORE = ("97909-6", "Oswestry disability index score ODI")
VAS_LOINC = ("38214-3", "Pain severity [Score] Visual analog score")
PI_QSCAT, PI_QSCAT_CODE = "PI", "C105167"
PI_TESTCD, PI_TEST, PI_TERM_CODE = "PI0101", "PI01-Pain Intensity", "C105261"
# Sponsor-defined (no CDISC term exists): named so they cannot be mistaken for CDISC codes.
ODI_TOTAL_TESTCD, ODI_TOTAL_TEST = "ODITOT", "ODI Total Score (Percent)"
SATISFACTION_QSCAT = "PROCEDURE SATISFACTION"
SATISFACTION_TESTS = {"sat_procedure": ("PSAT0101", "PSAT01-Satisfied With Procedure"),
                      "sat_results": ("PSAT0102", "PSAT01-Satisfied With Results")}
SPONSOR = "sponsor-defined"


@dataclass(frozen=True)
class Coded:
    """How one column of the long dataset is coded in the standards exports."""

    column: str
    qscat: str = ""           # SDTM QS; blank when the column is not in QS
    qstestcd: str = ""
    qstest: str = ""
    cdisc: str = ""           # NCIt code of the CDISC term, or "sponsor-defined"
    loinc: str = ""
    loinc_display: str = ""
    derived: bool = False     # a derived record (the ODI total), not an answer
    note: str = ""


def odi_cdisc(protocol: Protocol) -> bool:
    """CDISC's ODI terms describe version 2.1a; another version's sections get sponsor codes."""
    return protocol.instruments["odi"].version == ODI_CDISC_VERSION


def coded_columns(protocol: Protocol) -> dict[str, Coded]:
    """The coding of every long-dataset column that SDTM QS or FHIR codes, by column."""
    odi = protocol.instruments["odi"]
    cdisc = odi_cdisc(protocol)
    qscat = ODI_QSCAT if cdisc else f"ODI {odi.version}"
    coded = {"vas": Coded("vas", PI_QSCAT, PI_TESTCD, PI_TEST, PI_TERM_CODE, *VAS_LOINC,
                          note="QSCAT PI (C105167), the STANDARDS/ACTTION pain intensity questions; the 100 mm "
                               "line in cm, or the 0-10 numeric fallback (vas_mode nrs)")}
    for section in SECTIONS:
        if section not in odi.sections:
            continue
        if cdisc:
            coded[section.field] = Coded(section.field, qscat, f"ODI01{section.number:02d}",
                                         ODI_QSTEST[section.number], ODI_TERM_CODE[section.number])
        else:
            coded[section.field] = Coded(section.field, qscat, f"SPODI{section.number:02d}",
                                         f"SPODI-{section.title}"[:40], SPONSOR,
                                         note=f"ODI version {odi.version} has no CDISC terminology")
    coded["odi_score"] = Coded("odi_score", qscat, ODI_TOTAL_TESTCD, ODI_TOTAL_TEST, SPONSOR, *ODI_LOINC_SCORE,
                               derived=True, note="derived record: CDISC defines no ODI total test code")
    for field, (testcd, test) in SATISFACTION_TESTS.items():
        coded[field] = Coded(field, SATISFACTION_QSCAT, testcd, test, SPONSOR,
                             note="no CDISC or LOINC term for satisfaction with a procedure")
    return coded


def qs_columns(protocol: Protocol) -> list[str]:
    """The long-dataset columns that become SDTM QS records, in the order a visit lists them."""
    return list(coded_columns(protocol))


def is_derived(variable: Variable) -> bool:
    """A value the app computes from the answers (an ODM MethodDef, a read-only FHIR item), not
    an answer as given: a variable with a derivation, other than the ODI sections (whose
    derivation text says how the answer is scored)."""
    return bool(variable.derivation) and not (variable.name.startswith("odi_") and variable.name[4:].isdigit())
