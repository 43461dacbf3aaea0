"""The standards exports: CDISC ODM 1.3.2 (validated against the ODM 1.3.2 XSD), SDTM QS (SAS
transport v5 read back with pyreadstat, and CSV), FHIR R4 (parsed by fhir.resources' R4B models);
each carries the long CSV's values, row for row, on a simulated trial with a corrected answer and
a paper-imported participant."""
from __future__ import annotations

import csv
import json
import re
from datetime import date, datetime, timezone
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from app import create_app
from questionnaires import INSTRUMENTS
from reports import export, standards
from reports.standards import fhir_questionnaires, sdtm, terminology
from storage import init_db
from storage.connection import open_db
from tests.conftest import START, Clock
from tests.sql_trace import sent
from tests.staff_support import Staff, create_staff
from tests.trial_data import populate

SCHEMA = Path(__file__).resolve().parent / "schemas" / "odm1-3-2" / "ODM1-3-2.xsd"
ODM = "{http://www.cdisc.org/ns/odm/v1.3}"
CORRECTION_REASON = "Transcription error on the paper VAS, checked against the source"
PAPER = ("study_id,arm,timepoint,vas,odi_1,odi_2,odi_3,odi_4,odi_5,odi_6,odi_7,odi_8,odi_9,odi_10,odi_score,"
         "sat_procedure,sat_results,nsaid_mg_day,mme_mg_day\n"
         "PAPER-1,B,baseline,6.2,2,2,2,2,2,2,1,,1,2,35.56,,,150,0\n"
         "PAPER-1,B,month1,3.0,1,1,1,1,1,1,1,1,1,1,,4,3,50,20\n")


def _correct_vas(db_path: Path) -> tuple[str, str]:
    """A version 2 of one VAS answer with a reason in the audit log, as a correction stores it."""
    db = open_db(db_path)
    try:
        first = db.conn.execute("SELECT r.participant_id, r.timepoint, p.study_id FROM responses r "
                                "JOIN participants p ON p.id = r.participant_id WHERE r.instrument = 'vas' "
                                "ORDER BY r.id LIMIT 1").fetchone()
        participant_id, timepoint, study_id = first
        clean = INSTRUMENTS["vas"].validate({"mode": "line", "value": 87})
        with db.conn:
            cursor = db.conn.execute(
                "INSERT INTO responses (participant_id, timepoint, instrument, instrument_version, version, answers, "
                "scores, input_mode, source, submitted_at, recorded_by) VALUES (?, ?, 'vas', ?, 2, ?, ?, 'line', "
                "'paper', '2025-07-01T09:00:00+00:00', 'investigator@site.example')",
                [participant_id, timepoint, INSTRUMENTS["vas"].version, json.dumps(clean),
                 json.dumps(INSTRUMENTS["vas"].score(clean))])
            db.conn.execute("INSERT INTO audit_log (at, actor, action, entity, entity_id, reason) VALUES "
                            "('2025-07-01T09:00:00+00:00', 'investigator@site.example', 'correct_answer', 'response', "
                            "?, ?)", [str(cursor.lastrowid), CORRECTION_REASON])
    finally:
        db.close()
    return study_id, timepoint


@pytest.fixture(scope="module")
def trial(tmp_path_factory):
    """A simulated trial of 30 (with clinician forms), one VAS answer corrected, one participant
    imported from paper; every format exported once by the CLI."""
    folder = tmp_path_factory.mktemp("standards")
    db_path = folder / "trial.sqlite3"
    init_db(db_path)
    app = create_app({"TESTING": True, "DATABASE": str(db_path), "CLOCK": Clock(START)})
    populate(db_path, app.extensions["protocol"], per_arm=15, seed=8, clinical=True)
    corrected = _correct_vas(db_path)
    (folder / "paper.csv").write_text(PAPER, encoding="utf-8")
    runner = app.test_cli_runner()
    assert runner.invoke(args=["dataset", "import", str(folder / "paper.csv")]).exit_code == 0
    files = {}
    for fmt, name, extra in [("csv", "long.csv", []), ("csv", "long-id.csv", ["--identifiable"]),
                             ("odm", "odm.xml", []), ("odm", "odm-id.xml", ["--identifiable"]),
                             ("sdtm-qs", "qs.xpt", ["--codebook", str(folder / "codebook.csv")]),
                             ("sdtm-qs-csv", "qs.csv", []), ("fhir", "fhir.json", []),
                             ("fhir", "fhir-id.json", ["--identifiable"])]:
        result = runner.invoke(args=["dataset", "export", "--format", fmt, "--output", str(folder / name), *extra])
        assert result.exit_code == 0, result.output
        files[name] = folder / name
    return {"app": app, "db_path": db_path, "files": files, "corrected": corrected, "folder": folder,
            "protocol": app.extensions["protocol"]}


def read_csv(path: Path) -> list[dict[str, str]]:
    with open(path, encoding="utf-8", newline="") as handle:
        return list(csv.DictReader(handle))


# --- ODM ------------------------------------------------------------------------------------

def parse_odm(path: Path) -> dict[tuple[str, str, str], str]:
    """(study_id, timepoint or 'ENROLMENT', item name) -> value, after applying every transaction
    in order (Insert and Update set items, IsNull clears one)."""
    from lxml import etree

    root = etree.parse(str(path)).getroot()
    state: dict[tuple[str, str, str], str] = {}
    for subject in root.iter(f"{ODM}SubjectData"):
        key = subject.get("SubjectKey")
        for event in subject.iter(f"{ODM}StudyEventData"):
            where = event.get("StudyEventOID").removeprefix("SE.")
            for item in event.iter(f"{ODM}ItemData"):
                name = item.get("ItemOID").removeprefix("IT.")
                if item.get("IsNull") == "Yes":
                    state.pop((key, where, name), None)
                else:
                    state[(key, where, name)] = item.get("Value")
    return state


@pytest.mark.parametrize("name", ["odm.xml", "odm-id.xml"])
def test_odm_is_valid_against_the_odm_1_3_2_schema(trial, name):
    from lxml import etree

    schema = etree.XMLSchema(etree.parse(str(SCHEMA)))
    document = etree.parse(str(trial["files"][name]))
    assert schema.validate(document), [error.message for error in schema.error_log][:5]
    assert document.getroot().get("ODMVersion") == "1.3.2"


def test_the_schema_check_can_fail(trial):
    from lxml import etree

    schema = etree.XMLSchema(etree.parse(str(SCHEMA)))
    document = etree.parse(str(trial["files"]["odm.xml"]))
    next(document.getroot().iter(f"{ODM}ItemData")).attrib.pop("ItemOID")
    assert not schema.validate(document)


@pytest.mark.parametrize("odm_name,csv_name", [("odm.xml", "long.csv"), ("odm-id.xml", "long-id.csv")])
def test_odm_values_equal_the_long_csv_row_for_row(trial, odm_name, csv_name):
    state = parse_odm(trial["files"][odm_name])
    rows = read_csv(trial["files"][csv_name])
    compared, in_visits = 0, _visit_columns(trial)   # any other column is the participant's, in ENROLMENT
    for row in rows:
        for column, value in row.items():
            if column in ("study_id", "timepoint"):
                continue
            where = row["timepoint"] if column in in_visits else "ENROLMENT"
            assert state.get((row["study_id"], where, column), "") == value, (row["study_id"], row["timepoint"], column)
            compared += bool(value)
    assert compared > 5000
    assert {key[0] for key in state} == {row["study_id"] for row in rows}


def _visit_columns(trial) -> set[str]:
    """The columns a timepoint's forms hold (the rest are the participant's)."""
    from reports.standards.odm import layout

    forms = layout.forms(trial["protocol"], True)
    return {v.name for key, form in forms.items() if key != layout.PARTICIPANT for v in form.items}


def test_odm_metadata_has_events_forms_and_the_code_lists(trial):
    from lxml import etree

    root = etree.parse(str(trial["files"]["odm.xml"])).getroot()
    version = next(root.iter(f"{ODM}MetaDataVersion"))
    events = [e.get("OID") for e in version.iter(f"{ODM}StudyEventDef")]
    assert events == ["SE.ENROLMENT", "SE.baseline", "SE.day1", "SE.week1", "SE.month1", "SE.month3", "SE.month6"]
    day1 = next(e for e in version.iter(f"{ODM}StudyEventDef") if e.get("OID") == "SE.day1")
    assert [ref.get("FormOID") for ref in day1.iter(f"{ODM}FormRef")] == ["F.VISIT", "F.VAS"]
    lists = {c.get("OID"): c for c in version.iter(f"{ODM}CodeList")}
    assert {"CL.arm", "CL.timepoint", "CL.SATISFACTION", *(f"CL.odi_{n}" for n in range(1, 11))} <= set(lists)
    decode = {i.get("CodedValue"): "".join(i.itertext()) for i in lists["CL.odi_1"].iter(f"{ODM}CodeListItem")}
    assert decode["0"] == "I have no pain at the moment." and len(decode) == 6
    assert [i.get("CodedValue") for i in lists["CL.SATISFACTION"].iter(f"{ODM}CodeListItem")] == ["1", "2", "3", "4"]
    odi_1 = next(i for i in version.iter(f"{ODM}ItemDef") if i.get("OID") == "IT.odi_1")
    assert {(a.get("Context"), a.get("Name")) for a in odi_1.iter(f"{ODM}Alias")} == {
        ("CDISC SDTM QSCAT/QSTESTCD", "ODI v2.1A/ODI0101"), ("nci:ExtCodeID", "C103762")}
    score_ref = next(r for r in version.iter(f"{ODM}ItemRef") if r.get("ItemOID") == "IT.odi_score")
    assert score_ref.get("MethodOID") == "MT.odi_score"


def test_identifiable_odm_carries_the_audit_trail(trial):
    from lxml import etree

    root = etree.parse(str(trial["files"]["odm-id.xml"])).getroot()
    assert root.get("FileType") == "Transactional"
    users = {u.get("OID"): next(u.iter(f"{ODM}LoginName")).text for u in root.iter(f"{ODM}User")}
    study_id, timepoint = trial["corrected"]
    subject = next(s for s in root.iter(f"{ODM}SubjectData") if s.get("SubjectKey") == study_id)
    event = next(e for e in subject.iter(f"{ODM}StudyEventData") if e.get("StudyEventOID") == f"SE.{timepoint}")
    vas = [f for f in event.iter(f"{ODM}FormData") if f.get("FormOID") == "F.VAS"]
    assert [f.get("TransactionType") for f in vas] == ["Insert", "Update"]
    first, second = (form.find(f"{ODM}AuditRecord") for form in vas)
    assert users[first.find(f"{ODM}UserRef").get("UserOID")] == "participant"
    assert first.find(f"{ODM}LocationRef").get("LocationOID") == "LOC.WEB"
    assert first.find(f"{ODM}ReasonForChange") is None
    assert users[second.find(f"{ODM}UserRef").get("UserOID")] == "investigator@site.example"
    assert second.find(f"{ODM}LocationRef").get("LocationOID") == "LOC.PAPER"
    assert second.find(f"{ODM}DateTimeStamp").text == "2025-07-01T09:00:00+00:00"
    assert second.find(f"{ODM}ReasonForChange").text == CORRECTION_REASON
    values = [{i.get("ItemOID"): i.get("Value") for i in form.iter(f"{ODM}ItemData")} for form in vas]
    assert values[1]["IT.vas"] == "8.7" and values[0]["IT.vas"] != "8.7"
    enrolled = subject.find(f"{ODM}AuditRecord")
    assert users[enrolled.find(f"{ODM}UserRef").get("UserOID")] == "simulation"


def test_pseudonymized_odm_has_no_audit_trail_and_no_identifiers(trial):
    text = trial["files"]["odm.xml"].read_text(encoding="utf-8")
    assert 'FileType="Snapshot"' in text
    assert "<AuditRecord" not in text and "<AdminData" not in text and "TransactionType" not in text
    assert "IT.phone" not in text and "IT.procedure_date" not in text and "investigator@" not in text


# --- SDTM QS --------------------------------------------------------------------------------

def test_xpt_reads_back_within_the_transport_v5_limits(trial):
    import pyreadstat

    frame, meta = pyreadstat.read_xport(str(trial["files"]["qs.xpt"]))
    assert meta.column_names == list(sdtm.NAMES) == ["STUDYID", "DOMAIN", "USUBJID", "QSSEQ", "QSTESTCD", "QSTEST",
                                                     "QSCAT", "QSORRES", "QSSTRESC", "QSSTRESN", "VISIT", "VISITNUM",
                                                     "QSDTC", "QSDY"]
    assert meta.table_name == "QS"
    assert all(len(name) <= 8 for name in meta.column_names)
    assert all(len(label) <= 40 for label in meta.column_names_to_labels.values())
    assert meta.column_names_to_labels["QSSTRESC"] == "Character Result/Finding in Std Format"
    widths = meta.variable_storage_width
    assert all(widths[name] <= 200 for name, kind in meta.readstat_variable_types.items() if kind == "string")
    assert {name for name, kind in meta.readstat_variable_types.items() if kind == "double"} == {
        "QSSEQ", "QSSTRESN", "VISITNUM", "QSDY"}
    assert set(frame["DOMAIN"]) == {"QS"} and len(frame) == len(read_csv(trial["files"]["qs.csv"]))


def qs_values(records: list[dict]) -> dict[tuple[str, str, str], str]:
    """(study_id, timepoint, long column) -> QSSTRESC, from QS records."""
    protocol_timepoints = ["baseline", "day1", "week1", "month1", "month3", "month6"]
    column_of = {}
    for column, coded in terminology.coded_columns(_protocol()).items():
        column_of[coded.qstestcd] = column
    found = {}
    for record in records:
        study_id = record["USUBJID"].removeprefix("fluoro-vs-ct-lbp-")
        timepoint = protocol_timepoints[int(float(record["VISITNUM"])) - 1]
        key = (study_id, timepoint, column_of[record["QSTESTCD"]])
        assert key not in found, key
        found[key] = record["QSSTRESC"]
    return found


def _protocol():
    return create_app({"TESTING": True, "DATABASE": ":memory:"}).extensions["protocol"]


@pytest.mark.parametrize("name", ["qs.csv", "qs.xpt"])
def test_qs_values_equal_the_long_csv_row_for_row(trial, name):
    if name.endswith(".xpt"):
        import pyreadstat
        frame, _ = pyreadstat.read_xport(str(trial["files"][name]))
        records = frame.to_dict("records")
        for record in records:   # numbers read back as floats: equal to the character result
            assert record["QSSTRESN"] == pytest.approx(float(record["QSSTRESC"]))
    else:
        records = read_csv(trial["files"][name])
    found = qs_values(records)
    expected = {(row["study_id"], row["timepoint"], column): row[column]
                for row in read_csv(trial["files"]["long.csv"]) for column in terminology.qs_columns(trial["protocol"])
                if row[column]}
    assert found == expected and len(found) > 1000


def test_qs_uses_cdisc_terminology_and_sponsor_codes_where_none_exists(trial):
    records = read_csv(trial["files"]["qs.csv"])
    tests = {(r["QSCAT"], r["QSTESTCD"], r["QSTEST"]) for r in records}
    assert ("ODI v2.1A", "ODI0101", "ODI01-Pain Intensity") in tests
    assert ("ODI v2.1A", "ODI0110", "ODI01-Travelling") in tests
    assert ("ODI v2.1A", "ODITOT", "ODI Total Score (Percent)") in tests
    assert ("PI", "PI0101", "PI01-Pain Intensity") in tests
    assert ("PROCEDURE SATISFACTION", "PSAT0101", "PSAT01-Satisfied With Procedure") in tests
    assert {r["QSTESTCD"] for r in records if r["QSCAT"] == "ODI v2.1A"} == {
        *(f"ODI01{n:02d}" for n in range(1, 11)), "ODITOT"}
    odi = next(r for r in records if r["QSTESTCD"] == "ODI0101" and r["QSSTRESC"] == "0")
    assert odi["QSORRES"] == "I have no pain at the moment." and odi["QSSTRESN"] == "0"
    satisfied = next(r for r in records if r["QSTESTCD"] == "PSAT0102" and r["QSSTRESC"] == "3")
    assert satisfied["QSORRES"] == "Satisfied"
    one = [r for r in records if r["USUBJID"] == "fluoro-vs-ct-lbp-A-00000"]
    assert [int(r["QSSEQ"]) for r in one] == list(range(1, len(one) + 1))
    assert {(r["VISIT"], r["VISITNUM"]) for r in records} >= {("BEFORE THE PROCEDURE", "1"), ("1 MONTH", "4")}


def test_qs_dates_count_from_the_procedure_with_no_day_zero_and_paper_has_none(trial):
    records = read_csv(trial["files"]["qs.csv"])
    simulated = next(r for r in records if r["USUBJID"] == "fluoro-vs-ct-lbp-A-00000" and r["VISITNUM"] == "2")
    # simulated procedure 2025-06-02 (day 1); the day1 form was sent when its window opened, a day later: day 2
    assert simulated["QSDTC"] == "2025-06-03T00:00:00" and simulated["QSDY"] == "2"
    baseline = next(r for r in records if r["USUBJID"] == "fluoro-vs-ct-lbp-A-00001" and r["VISITNUM"] == "1")
    assert int(baseline["QSDY"]) < 0   # before the procedure: negative
    paper = [r for r in records if r["USUBJID"] == "fluoro-vs-ct-lbp-PAPER-1"]
    assert paper and all(r["QSDTC"] == "" and r["QSDY"] == "" for r in paper)
    assert "0" not in {r["QSDY"] for r in records}


@pytest.mark.parametrize("day,expected", [(date(2025, 6, 2), 1), (date(2025, 6, 3), 2), (date(2025, 6, 1), -1),
                                          (date(2025, 5, 3), -30)])
def test_study_day_has_no_day_zero(day, expected):
    assert sdtm.study_day(day, date(2025, 6, 2)) == expected


def test_collection_time_is_the_participants_own_clock():
    form = {"source": "web", "submitted_at": "2025-06-01T23:30:00+00:00"}
    assert sdtm._local(form, ZoneInfo("Africa/Cairo")) == datetime(2025, 6, 2, 2, 30)   # already day 1 in Cairo
    assert sdtm._local({**form, "source": "paper"}, ZoneInfo("Africa/Cairo")) is None


def test_the_standards_codebook_documents_each_code_and_its_source(trial):
    rows = {row["column"]: row for row in read_csv(trial["folder"] / "codebook.csv")}
    assert rows["odi_score"]["sdtm_qstestcd"] == "ODITOT" and rows["odi_score"]["cdisc_code"] == "sponsor-defined"
    assert "derived record" in rows["odi_score"]["note"] and rows["odi_score"]["loinc"] == "97909-6"
    assert rows["odi_1"]["cdisc_code"] == "C103762" and rows["vas"]["loinc"] == "38214-3"
    assert rows["sat_results"]["sdtm_qstestcd"] == "PSAT0102" and rows["sat_results"]["cdisc_code"] == "sponsor-defined"
    assert rows["med_1_drug"]["fhir_link_id"] == "medication: med_drug"
    html = standards.text_chunks(None, trial["protocol"], "standards-codebook-html")
    page = "".join(html)
    assert "C103525" in page and "97908-8" in page and "QSDY" in page


# --- FHIR -----------------------------------------------------------------------------------

@pytest.mark.parametrize("name", ["fhir.json", "fhir-id.json"])
def test_fhir_bundle_is_parsed_by_fhir_resources_r4b(trial, name):
    from fhir.resources.R4B.bundle import Bundle

    bundle = Bundle.model_validate_json(trial["files"][name].read_text(encoding="utf-8"))
    assert bundle.type == "collection"
    kinds = [entry.resource.__resource_type__ for entry in bundle.entry]
    assert kinds[:4] == ["Questionnaire"] * 4
    assert kinds.count("QuestionnaireResponse") == len(_forms(trial))
    assert kinds.count("Patient") == (31 if name == "fhir-id.json" else 0)


def _forms(trial) -> list[tuple]:
    db = open_db(trial["db_path"])
    try:
        return db.conn.execute("SELECT participant_id, timepoint, instrument FROM newest_answers").fetchall()
    finally:
        db.close()


def test_fhir_questionnaires_carry_the_slider_and_loinc_codes(trial):
    bundle = json.loads(trial["files"]["fhir.json"].read_text(encoding="utf-8"))
    questionnaires = {e["resource"]["id"]: e["resource"] for e in bundle["entry"][:4]}
    by_name = {q["name"]: q for q in questionnaires.values()}
    vas = by_name["Vas"]["item"][0]
    control = next(x for x in vas["extension"] if x["url"].endswith("questionnaire-itemControl"))
    assert control["valueCodeableConcept"]["coding"][0]["code"] == "slider"
    assert {"system": "http://loinc.org", "code": "38214-3",
            "display": "Pain severity [Score] Visual analog score"} in vas["code"]
    assert by_name["Odi"]["code"][0]["code"] == "97908-8"
    score = next(i for i in by_name["Odi"]["item"] if i["linkId"] == "odi_score")
    assert score["code"][0]["code"] == "97909-6" and score["readOnly"] is True
    medicine = next(i for i in by_name["Medication"]["item"] if i["linkId"] == "medicine")
    assert medicine["repeats"] and [i["linkId"] for i in medicine["item"]] == ["med_drug", "med_strength_mg",
                                                                             "med_doses_per_day"]


def fhir_values(bundle: dict) -> dict[tuple[str, str, str], object]:
    """(study_id, timepoint, long column) -> the answer's value (a number, a code or text)."""
    found = {}
    for entry in bundle["entry"]:
        resource = entry["resource"]
        if resource["resourceType"] != "QuestionnaireResponse":
            continue
        study_id, timepoint, _ = resource["identifier"]["value"].split("/")
        assert resource["subject"]["identifier"]["value"] == study_id
        medicines = 0
        for item in resource["item"]:
            if item["linkId"] == "medicine":
                medicines += 1
                for part in item["item"]:
                    found[(study_id, timepoint, part["linkId"].replace("med_", f"med_{medicines}_", 1))] = \
                        _value(part["answer"][0])
            else:
                found[(study_id, timepoint, item["linkId"])] = _value(item["answer"][0])
    return found


def _value(answer: dict):
    (kind, value), = answer.items()
    return value["code"] if kind == "valueCoding" else value


def test_fhir_values_equal_the_long_csv_row_for_row(trial):
    bundle = json.loads(trial["files"]["fhir.json"].read_text(encoding="utf-8"))
    found = fhir_values(bundle)
    kinds = {item.column: item.kind for name in fhir_questionnaires.INSTRUMENTS
             for item in fhir_questionnaires.items(trial["protocol"], name)}
    expected = {}
    for row in read_csv(trial["files"]["long.csv"]):
        for column, value in row.items():
            kind = kinds.get(re.sub(r"^med_\d+_", "med_1_", column))   # a medicine row's column: its row 1's
            if kind and value:
                expected[(row["study_id"], row["timepoint"], column)] = (
                    float(value) if kind == "decimal" else int(value) if kind == "integer" else value)
    assert found == expected and len(found) > 2000


def test_pseudonymized_fhir_names_the_participant_by_study_id_only(trial):
    text = trial["files"]["fhir.json"].read_text(encoding="utf-8")
    assert '"Patient"' in text   # only as the subject's type
    assert '"resourceType": "Patient"' not in text and "telecom" not in text and "+1" not in text
    identified = json.loads(trial["files"]["fhir-id.json"].read_text(encoding="utf-8"))
    patients = [e["resource"] for e in identified["entry"] if e["resource"]["resourceType"] == "Patient"]
    paper = next(p for p in patients if p["identifier"][0]["value"] == "PAPER-1")
    assert "telecom" not in paper   # imported from paper: no phone
    response = next(e["resource"] for e in identified["entry"]
                    if e["resource"]["resourceType"] == "QuestionnaireResponse")
    assert response["subject"]["reference"].startswith("urn:uuid:")


# --- Bad input, auditing, queries, downloads --------------------------------------------------

def test_an_unknown_format_is_refused_with_the_list(trial, tmp_path):
    result = trial["app"].test_cli_runner().invoke(
        args=["dataset", "export", "--format", "cdisc", "--output", str(tmp_path / "x")])
    assert result.exit_code == 2
    assert "'cdisc' is not one of" in result.output and "'odm'" in result.output and "'sdtm-qs'" in result.output
    assert not (tmp_path / "x").exists()


def test_sdtm_qs_has_no_identifiable_form_and_nothing_is_written_or_audited(trial, tmp_path):
    before = _audited(trial)
    result = trial["app"].test_cli_runner().invoke(
        args=["dataset", "export", "--format", "sdtm-qs", "--output", str(tmp_path / "qs.xpt"), "--identifiable"])
    assert result.exit_code == 1
    assert "sdtm-qs has no identifiable form (only odm and fhir have one)" in result.output
    assert "Nothing was written" in result.output
    assert not (tmp_path / "qs.xpt").exists() and not list(tmp_path.iterdir())
    assert _audited(trial) == before


def _audited(trial) -> list[tuple]:
    db = open_db(trial["db_path"])
    try:
        return db.conn.execute("SELECT action, entity_id, after FROM audit_log WHERE entity = 'dataset' "
                               "ORDER BY id").fetchall()
    finally:
        db.close()


def test_every_standards_export_is_audited(trial):
    audited = [(action, fmt, json.loads(after)) for action, fmt, after in _audited(trial)]
    assert ("export_identifiable", "odm", {"format": "odm", "rows": 31, "identifiable": True}) in audited
    assert ("export", "fhir", {"format": "fhir", "rows": len(_forms(trial)), "identifiable": False}) in audited
    assert [fmt for action, fmt, _ in audited if action == "export"].count("sdtm-qs") == 1


def _statements(db_path: Path, protocol, fmt: str, identifiable: bool, target: Path) -> list[str]:
    """The SELECTs an export sends (sqlite-utils wraps a query in a savepoint: nothing else may be sent)."""
    db = open_db(db_path)
    traced: list[str] = []
    db.conn.set_trace_callback(traced.append)
    try:
        if fmt == "csv":
            export.write_file(db, protocol, fmt, target, identifiable)
        else:
            standards.write_file(db, protocol, fmt, target, now=datetime(2026, 1, 1, tzinfo=timezone.utc),
                                 identifiable=identifiable)
    finally:
        db.conn.set_trace_callback(None)
        db.close()
    statements = sent(traced)
    assert all(statement.startswith(("SELECT", "SAVEPOINT", "RELEASE")) for statement in statements), statements
    return [statement for statement in statements if statement.startswith("SELECT")]


@pytest.mark.parametrize("fmt,identifiable,extra", [("odm", False, 2), ("odm", True, 4), ("sdtm-qs", False, 2),
                                                    ("fhir", False, 2)])
def test_exports_read_the_long_csvs_queries_and_a_few_more_whatever_the_size(trial, tmp_path, fmt, identifiable,
                                                                            extra):
    """The long CSV's own row source, plus the participants and the newest answers (each form's
    time and source), plus, for the audit trail, every version and the users: set-based, so the
    same statements for 4 participants as for 31."""
    small = tmp_path / "small.sqlite3"
    init_db(small)
    populate(small, trial["protocol"], per_arm=2, seed=3, clinical=True)
    long_csv = _statements(trial["db_path"], trial["protocol"], "csv", identifiable, tmp_path / "long.csv")
    few = _statements(small, trial["protocol"], fmt, identifiable, tmp_path / "small.out")
    many = _statements(trial["db_path"], trial["protocol"], fmt, identifiable, tmp_path / "many.out")
    assert few == many and len(many) == len(long_csv) + extra, many


def test_staff_download_the_standards_exports(trial):
    app = trial["app"]
    clock = Clock(START)
    create_staff(app, clock)
    client = app.test_client()
    staff = Staff(client)
    staff.login("investigator")
    page = client.get("/staff/dataset").get_data(as_text=True)
    assert "format=odm" in page and "format=sdtm-qs-csv" in page and "FHIR R4 Bundle" in page
    for fmt, start in [("odm", b"<?xml"), ("sdtm-qs", b"HEADER RECORD"), ("fhir", b'{"resourceType": "Bundle"'),
                       ("sdtm-qs-csv", b"STUDYID,DOMAIN"), ("standards-codebook-html", b"<!doctype html>")]:
        response = client.get(f"/staff/dataset/download?format={fmt}")
        assert response.status_code == 200, fmt
        assert response.headers["Content-Disposition"].startswith("attachment") and response.data.startswith(start)
        response.close()
    assert client.get("/staff/dataset/download?format=odm&identifiable=1").status_code == 403
    staff.post("/staff/logout", {})
    staff.login("admin")
    assert "format=odm&amp;identifiable=1" in client.get("/staff/dataset").get_data(as_text=True)
    identifiable = client.get("/staff/dataset/download?format=odm&identifiable=1")
    assert b'FileType="Transactional"' in identifiable.data
    identifiable.close()
    assert client.get("/staff/dataset/download?format=sdtm-qs&identifiable=1").status_code == 404


def test_an_output_that_cannot_be_written_is_a_clear_error_and_is_not_audited(trial, tmp_path):
    before = _audited(trial)
    target = tmp_path / "no-such-folder" / "odm.xml"
    result = trial["app"].test_cli_runner().invoke(
        args=["dataset", "export", "--format", "odm", "--output", str(target)])
    assert result.exit_code == 1 and "cannot write" in result.output and "No such file or directory" in result.output
    assert "Traceback" not in result.output and not target.parent.exists()
    assert _audited(trial) == before


def test_text_over_the_transport_v5_limit_is_refused_and_no_file_is_left(trial, tmp_path, monkeypatch):
    db = open_db(trial["db_path"])
    try:
        record = next(sdtm.records(db, trial["protocol"]))
    finally:
        db.close()
    monkeypatch.setattr(sdtm, "records", lambda db, protocol: iter([{**record, "QSORRES": "x" * 201}]))
    target = tmp_path / "qs.xpt"
    with pytest.raises(ValueError, match="QSORRES: 'x+'... is over the 200 bytes of SAS transport v5"):
        standards.write_file(None, trial["protocol"], "sdtm-qs", target, now=datetime(2026, 1, 1, tzinfo=timezone.utc))
    assert list(tmp_path.iterdir()) == []
