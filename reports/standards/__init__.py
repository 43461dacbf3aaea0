"""The scored dataset in data-exchange standards: CDISC ODM 1.3.2 XML, CDISC SDTM QS (SAS
transport v5 or CSV) and a FHIR R4 Bundle, and the codebook of their codes.

Every format reads the long CSV's rows (reports.standards.source), so its values are the long
file's. The heavy libraries (odmlib, pandas, pyreadstat) load only when their format is written.
"""
from __future__ import annotations

import io
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path

from questionnaires.protocol import Protocol
from reports.export import Format

FORMAT_TABLE = (
    Format("odm", "odm.xml", "application/xml", "CDISC ODM 1.3.2 XML: the study's metadata and clinical data"),
    Format("sdtm-qs", "qs.xpt", "application/x-sas-xport", "CDISC SDTM QS domain, SAS transport v5 (.xpt)"),
    Format("sdtm-qs-csv", "qs.csv", "text/csv", "CDISC SDTM QS domain, CSV", text=True),
    Format("fhir", "fhir.json", "application/fhir+json",
           "FHIR R4 Bundle: a Questionnaire per instrument, a QuestionnaireResponse per form"),
    Format("standards-codebook-csv", "standards-codebook.csv", "text/csv", "Standards codebook, CSV", codebook=True,
           text=True),
    Format("standards-codebook-html", "standards-codebook.html", "text/html", "Standards codebook, a web page",
           codebook=True, text=True),
)
DOWNLOADS = {f.id: f for f in FORMAT_TABLE}
FORMATS = tuple(f.id for f in FORMAT_TABLE if not f.codebook)
# The formats with an identifiable form: ODM adds the identifying columns and the audit trail,
# FHIR a Patient per participant. SDTM QS has none (USUBJID is the study ID either way).
IDENTIFIABLE = ("odm", "fhir")
# What a format's count counts, for a message.
COUNTED = {"odm": "participants", "sdtm-qs": "records", "sdtm-qs-csv": "records", "fhir": "questionnaire responses"}


def check(fmt: str, identifiable: bool) -> None:
    """Raise ValueError, naming what is allowed, for an unknown format or one with no identifiable form."""
    if fmt not in DOWNLOADS:
        raise ValueError(f"format must be one of {', '.join(DOWNLOADS)}")
    if identifiable and fmt not in IDENTIFIABLE:
        raise ValueError(f"{fmt} has no identifiable form (only {' and '.join(IDENTIFIABLE)} have one): "
                         "export it without --identifiable")


def write_file(db, protocol: Protocol, fmt: str, path: Path, *, now: datetime,
               identifiable: bool = False) -> int | None:
    """Write one standards format to ``path``; returns what COUNTED names (None for a codebook).
    The file is written beside ``path`` and renamed into place whole: a failure leaves no half file."""
    check(fmt, identifiable)
    partial = path.with_name(path.name + ".partial")
    try:
        count = _write(db, protocol, fmt, partial, now=now, identifiable=identifiable)
        partial.replace(path)
    finally:
        partial.unlink(missing_ok=True)
    return count


def _write(db, protocol: Protocol, fmt: str, path: Path, *, now: datetime, identifiable: bool) -> int | None:
    if fmt == "odm":
        from reports.standards import odm
        return odm.write(db, protocol, path, now=now, identifiable=identifiable)
    if fmt == "fhir":
        from reports.standards import fhir
        return fhir.write(db, protocol, path, now=now, identifiable=identifiable)
    from reports.standards import sdtm
    if fmt == "sdtm-qs":
        return sdtm.write_xpt(db, protocol, path)
    if fmt == "sdtm-qs-csv":
        return sdtm.write_csv(db, protocol, path)
    path.write_text("".join(text_chunks(db, protocol, fmt)), encoding="utf-8")
    return None


def text_chunks(db, protocol: Protocol, fmt: str) -> Iterator[str]:
    """A text format (the QS CSV, a standards codebook) as chunks, for a streamed download."""
    from reports import export
    from reports.standards import codebook, sdtm

    if fmt == "standards-codebook-html":
        yield codebook.as_html(protocol)
    elif fmt == "standards-codebook-csv":
        out = io.StringIO()
        export.write_csv(codebook.rows(protocol), codebook.FIELDS, out)
        yield out.getvalue()
    elif fmt == "sdtm-qs-csv":
        yield from export.csv_chunks(sdtm.text_records(db, protocol), sdtm.NAMES)
    else:
        raise ValueError(f"{fmt!r} is not a text format")
