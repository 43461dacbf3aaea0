"""The codebook of the standards exports: where each long-dataset column goes in ODM, SDTM QS and
FHIR, with the codes it gets and where each code comes from (CSV, or an HTML page that also
lists the QS variables and the conventions)."""
from __future__ import annotations

import html

from questionnaires.protocol import Protocol
from reports import dataset
from reports.standards import fhir_questionnaires, sdtm, terminology
from reports.standards.odm import layout

FIELDS = ("column", "label", "odm_form", "odm_item_oid", "sdtm_qscat", "sdtm_qstestcd", "sdtm_qstest",
          "cdisc_code", "loinc", "fhir_link_id", "fhir_code_system", "note")
SOURCES = (
    f"{terminology.CT_RELEASE}: QSCAT {terminology.ODI_QSCAT} ({terminology.ODI_QSCAT_CODE}), QSTESTCD "
    "ODI0101-ODI0110 (C103762-C103771, codelist C103479), QSTEST codelist C103478; QSCAT PI (C105167), "
    "QSTESTCD PI0101 (C105261, codelist C105134): the STANDARDS pain intensity questions sponsored by ACTTION.",
    "LOINC 97908-8 Oswestry Disability Index (panel; its one member is 97909-6 Oswestry disability index score "
    "ODI, so the ten sections have no LOINC code); LOINC 38214-3 Pain severity [Score] Visual analog score.",
    f"Sponsor-defined (no CDISC term exists): QSTESTCD {terminology.ODI_TOTAL_TESTCD} (the ODI total, a derived "
    f"record), QSCAT {terminology.SATISFACTION_QSCAT} with QSTESTCD "
    f"{', '.join(code for code, _ in terminology.SATISFACTION_TESTS.values())}. FHIR local codes are URNs "
    f"under {terminology.LOCAL}.",
)
CONVENTIONS = (
    "ODM 1.3.2: a Snapshot of the newest values (pseudonymized), or a Transactional file with every version of "
    "each answer and its AuditRecord (identifiable). Items are the long CSV's columns (ItemDef Name), values its "
    "values.",
    "SDTM QS: one record per answered question; a blank answer has no record. QSORRES is the answer as given (the "
    "ODI statement, the satisfaction level, the VAS in cm), QSSTRESC/QSSTRESN the long CSV's value. QSDTC is when "
    "the form was sent, in the participant's time zone, without offset; blank for paper forms. QSDY: the "
    "procedure date is day 1, the day before -1, no day 0. QSDRVFL is not among the variables: the derived "
    f"record is {terminology.ODI_TOTAL_TESTCD}.",
    "FHIR R4: a collection Bundle; linkIds are the long CSV's columns (medicine rows: the repeating group "
    "'medicine', its n-th repeat being med_n_*). The pseudonymized bundle names the participant by study ID "
    "only.",
)


def rows(protocol: Protocol) -> list[dict[str, str]]:
    coded = terminology.coded_columns(protocol)
    in_fhir = {item.column: (name, item) for name in fhir_questionnaires.INSTRUMENTS
               for item in fhir_questionnaires.items(protocol, name)}
    found = []
    for variable in dataset.codebook(protocol):
        form = layout.form_of(variable)
        if form is None:
            continue
        code = coded.get(variable.name)
        fhir = in_fhir.get(variable.name)
        system = ""
        if fhir:
            system = terminology.LOINC if code and code.loinc else terminology.NCIT if (
                code and code.cdisc and code.cdisc != terminology.SPONSOR) else fhir_questionnaires.local_system(
                protocol, "item")
        found.append({
            "column": variable.name, "label": variable.label, "odm_form": layout.FORM_NAMES[form],
            "odm_item_oid": layout.item_oid(variable.name), "sdtm_qscat": code.qscat if code else "",
            "sdtm_qstestcd": code.qstestcd if code else "", "sdtm_qstest": code.qstest if code else "",
            "cdisc_code": code.cdisc if code else "", "loinc": code.loinc if code else "",
            "fhir_link_id": f"{fhir[0]}: {fhir_questionnaires.link_id(variable.name)}" if fhir else "",
            "fhir_code_system": system, "note": code.note if code else ""})
    return found


def as_html(protocol: Protocol) -> str:
    cells = "".join("<tr>" + "".join(f"<td>{html.escape(row[f])}</td>" for f in FIELDS) + "</tr>\n"
                    for row in rows(protocol))
    head = "".join(f"<th>{f}</th>" for f in FIELDS)
    qs = "".join(f"<li><code>{v.name}</code>: {html.escape(v.label)}</li>" for v in sdtm.VARIABLES)
    sources = "".join(f"<li>{html.escape(text)}</li>" for text in SOURCES)
    conventions = "".join(f"<li>{html.escape(text)}</li>" for text in CONVENTIONS)
    return (f"<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\"><title>Standards codebook: "
            f"{html.escape(protocol.title)}</title><style>body{{font-family:system-ui,sans-serif}}"
            f"table{{border-collapse:collapse}}td,th{{border:1px solid #999;padding:.2rem .4rem;text-align:start;"
            f"vertical-align:top}}</style></head><body><h1>Standards codebook</h1><p>{html.escape(protocol.title)}: "
            f"the long dataset's columns in CDISC ODM 1.3.2, CDISC SDTM QS and FHIR R4.</p><h2>Sources of the codes"
            f"</h2><ul>{sources}</ul><h2>Conventions</h2><ul>{conventions}</ul><h2>SDTM QS variables</h2><ul>{qs}</ul>"
            f"<h2>Columns</h2><table><thead><tr>{head}</tr></thead><tbody>{cells}</tbody></table></body></html>")
