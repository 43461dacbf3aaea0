"""CDISC ODM 1.3.2 XML: the study's metadata and every participant's clinical data, built with
odmlib (its ODM 1.3.2 model), written a participant at a time.

odmlib builds a document as a tree of Python objects, about 2 ms per participant; a trial of
20,000 held whole would be millions of objects. So the document head (Study, AdminData) is built
and serialised by odmlib once, then each SubjectData is built, serialised and dropped in turn
inside the ClinicalData element: memory stays flat, and every element is odmlib's.
"""
from __future__ import annotations

import xml.etree.ElementTree as ElementTree
from datetime import datetime
from pathlib import Path

from questionnaires.protocol import Protocol
from reports.standards import source
from reports.standards.odm import layout
from storage import answer_history
from storage.db import utc_iso

ODM_VERSION = "1.3.2"
ORIGINATOR = "spine-pro"


def write(db, protocol: Protocol, path: Path, *, now: datetime, identifiable: bool = False) -> int:
    """Write the ODM file; returns the subjects written. Pseudonymized: a Snapshot of the newest
    values. Identifiable: a Transactional file with the identifying columns and the audit trail."""
    import odmlib.odm_1_3_2.model as odm  # loaded only for an ODM export

    from reports.standards.odm import metadata, subjects
    forms = layout.forms(protocol, identifiable)
    stamp = utc_iso(now)
    root = odm.ODM(FileType="Transactional" if identifiable else "Snapshot", Granularity="All",
                   FileOID=f"{protocol.id}.{now:%Y%m%dT%H%M%S}", CreationDateTime=stamp, AsOfDateTime=stamp,
                   ODMVersion=ODM_VERSION, Originator=ORIGINATOR, SourceSystem=ORIGINATOR,
                   Description=f"{protocol.title}: "
                               f"{'identifiable, with the audit trail' if identifiable else 'pseudonymized'}")
    root.Study.append(metadata.study(protocol, forms))
    users = None
    if identifiable:
        actors = answer_history.actors(db)
        users = {name: f"USR.{n}" for n, name in enumerate(actors, 1)}
        root.AdminData.append(metadata.admin(protocol, actors, users, now))
    root.ClinicalData.append(odm.ClinicalData(StudyOID=metadata.study_oid(protocol),
                                              MetaDataVersionOID=metadata.version_oid(protocol)))
    head, clinical_open = _split_at_clinical_data(root.to_xml_string(xml_declaration=True))
    timepoints = [tp.id for tp in protocol.timepoints]
    count = 0
    with open(path, "w", encoding="utf-8") as out:
        out.write(head)
        out.write(clinical_open)
        for participant in source.stream(db, protocol, identifiable, history=identifiable):
            element = subjects.subject(participant, forms, timepoints, users).to_xml()
            out.write(ElementTree.tostring(element, encoding="unicode"))
            out.write("\n")
            count += 1
        out.write("</ClinicalData></ODM>\n")
    return count


def _split_at_clinical_data(document: str) -> tuple[str, str]:
    """(everything before the empty ClinicalData element, that element as an opening tag)."""
    start = document.rindex("<ClinicalData ")
    element = document[start:].removesuffix("</ODM>").rstrip()
    if not element.endswith("/>"):
        raise ValueError("odmlib wrote ClinicalData with content where an empty element was expected")
    return document[:start], element[:-2].rstrip() + ">\n"
