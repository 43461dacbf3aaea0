"""The patient's pages through Flask's test client: the flow, and every bad input it survives."""
from __future__ import annotations

import json
import logging
from datetime import date, timedelta

import pytest

from web.security import RedactTokens

VAS_LINE = {"version": "1.0", "mode": "line", "vas_mm": "63"}
ODI_ALL = {"version": "2.1a", **{f"odi_{n}": "2" for n in range(1, 7)}, **{f"odi_{n}": "1" for n in range(7, 11)}}
MEDS_TRAMADOL = {"version": "1.0", "took_any": "yes", "drug_1": "tramadol", "strength_1": "50", "doses_1": "2"}


@pytest.fixture
def token(trial):
    trial.enroll()
    return trial.link()


def responses(trial):
    return trial.query("SELECT instrument, version, input_mode, answers, scores FROM responses ORDER BY id")


def text(response) -> str:
    return response.get_data(as_text=True)


# --- The flow ----------------------------------------------------------------------------

def test_link_opens_the_first_form_with_progress(client, token):
    response = client.get(f"/f/{token}")
    assert response.status_code == 303
    assert response.headers["Location"] == f"/f/{token}/vas"
    page = client.get(f"/f/{token}/vas")
    assert page.status_code == 200
    assert "Form 1 of 3" in text(page)
    assert 'role="slider"' in text(page)


def test_baseline_completed_form_by_form_is_scored_and_stored(client, trial, token):
    assert client.post(f"/f/{token}/vas", data=VAS_LINE).headers["Location"] == f"/f/{token}/odi"
    odi_page = client.get(f"/f/{token}/odi")
    assert "Form 2 of 3" in text(odi_page) and f'href="/f/{token}/vas"' in text(odi_page)
    assert client.post(f"/f/{token}/odi", data=ODI_ALL).headers["Location"] == f"/f/{token}/medication"
    assert client.post(f"/f/{token}/medication", data=MEDS_TRAMADOL).headers["Location"] == f"/f/{token}"
    thanks = client.get(f"/f/{token}")
    assert thanks.status_code == 200 and "Thank you" in text(thanks)

    rows = responses(trial)
    assert [(r["instrument"], r["version"], r["input_mode"]) for r in rows] == [
        ("vas", 1, "line"), ("odi", 1, "web"), ("medication", 1, "web")]
    assert json.loads(rows[0]["scores"]) == {"vas_mm": 63, "vas_cm": 6.3, "vas_mode": "line"}
    assert json.loads(rows[1]["scores"])["odi_score"] == 32.0
    assert json.loads(rows[2]["scores"])["mme_mg_day"] == 20.0
    timepoint = trial.query("SELECT completed_at FROM timepoints WHERE timepoint = 'baseline'")[0]
    assert timepoint["completed_at"] == "2026-03-02T12:00:00+00:00"


def test_numeric_fallback_is_stored_with_its_mode(client, trial, token):
    client.post(f"/f/{token}/vas", data={"version": "1.0", "mode": "nrs", "nrs": "6"})
    row = responses(trial)[0]
    assert row["input_mode"] == "nrs"
    assert json.loads(row["answers"]) == {"mode": "nrs", "value": 6}
    assert json.loads(row["scores"])["vas_cm"] == 6.0


def test_answered_form_shows_a_read_only_review(client, token):
    client.post(f"/f/{token}/vas", data=VAS_LINE)
    client.post(f"/f/{token}/odi", data=ODI_ALL)
    review = client.get(f"/f/{token}/odi")
    assert review.status_code == 200
    assert "We have received your answers" in text(review)
    assert "The pain is moderate at the moment." in text(review)
    assert "<form" not in text(review)


def test_satisfaction_and_medication_at_month1(client, trial):
    trial.enroll("P-002", procedure_date=(trial.clock() - timedelta(days=30)).date())
    token = trial.link("P-002", "month1")
    client.post(f"/f/{token}/vas", data={"version": "1.0", "mode": "nrs", "nrs": "3"})
    client.post(f"/f/{token}/odi", data=ODI_ALL)
    page = client.get(f"/f/{token}/satisfaction")
    assert "Form 3 of 4" in text(page) and "Very satisfied" in text(page)
    assert client.post(f"/f/{token}/satisfaction", data={"version": "1.0", "sat_procedure": "3",
                                                          "sat_results": "4"}).status_code == 303
    client.post(f"/f/{token}/medication", data={"version": "1.0", "took_any": "no"})
    assert [json.loads(r["scores"]) for r in responses(trial)][2:] == [
        {"sat_procedure": 3, "sat_results": 4},
        {"nsaid_mg_day": 0.0, "mme_mg_day": 0.0, "paracetamol_mg_day": 0.0}]


# --- Out-of-range or missing values ----------------------------------------------------------

@pytest.mark.parametrize("instrument,data,message", [
    ("vas", {"version": "1.0", "mode": "line", "vas_mm": ""}, "Please mark your pain on the line."),
    ("vas", {"version": "1.0", "mode": "nrs"}, "Please choose a number from 0 to 10."),
    ("vas", {"version": "1.0", "mode": "nrs", "nrs": "11"}, "Please choose a number from 0 to 10."),
    ("odi", {"version": "2.1a", "odi_1": "2", "odi_2": "2"}, "Please choose one statement."),
    ("odi", {**ODI_ALL, "odi_3": "7"}, "Please choose one statement."),
    ("medication", {"version": "1.0"}, "Please answer yes or no."),
    ("medication", {**MEDS_TRAMADOL, "strength_1": "5000"}, "Please check the strength in mg"),
    ("medication", {**MEDS_TRAMADOL, "doses_1": "40"}, "Please give how many times a day"),
    ("medication", {"version": "1.0", "took_any": "yes"}, "Please tell us which medicine you took."),
])
def test_missing_or_out_of_range_answers_are_refused_and_nothing_stored(client, trial, token, instrument, data, message):
    response = client.post(f"/f/{token}/{instrument}", data=data)
    assert response.status_code == 400
    assert message in text(response)
    assert ("Please check the questions marked below." in text(response)
            or "Please answer at least 8 of the 10 sections" in text(response))
    assert responses(trial) == []


def test_refused_odi_says_how_many_more_and_marks_only_the_sections_needed(client, token):
    data = {k: v for k, v in ODI_ALL.items() if k not in ("odi_8", "odi_9", "odi_10")}
    page = text(client.post(f"/f/{token}/odi", data=data))
    # 7 answered of the 8 needed: one more, from social life or travelling; sex life may stay blank.
    assert page.count('class="error"') == 2
    assert 'id="odi_9-error"' in page and 'id="odi_10-error"' in page
    assert 'id="odi_8-error"' not in page and 'id="odi_1-error"' not in page
    assert "Please answer at least 8 of the 10 sections: 1 more is needed, from those marked below." in page
    assert "You may leave “Sex life (if applicable)” blank." in page
    assert 'value="2" checked' in page  # what was answered is kept on the page


def test_refused_odi_with_sex_life_answered_counts_it(client, token):
    data = {k: v for k, v in ODI_ALL.items() if k not in ("odi_1", "odi_2", "odi_3", "odi_4")}
    page = text(client.post(f"/f/{token}/odi", data=data))
    assert "2 more are needed" in page
    assert page.count('class="error"') == 4 and 'id="odi_8-error"' not in page


def test_odi_without_only_sex_life_and_one_other_is_accepted(client, token):
    data = {k: v for k, v in ODI_ALL.items() if k not in ("odi_8", "odi_10")}
    response = client.post(f"/f/{token}/odi", data=data)
    assert response.status_code == 303


def test_satisfaction_item_missing_is_refused(client, trial):
    trial.enroll("P-003", procedure_date=(trial.clock() - timedelta(days=7)).date())
    token = trial.link("P-003", "week1")
    response = client.post(f"/f/{token}/satisfaction", data={"version": "1.0", "sat_procedure": "5"})
    assert response.status_code == 400
    # A value no radio button offers gets the same plain message as a missing one.
    assert text(response).count("Please choose one answer.") == 2
    assert 'id="sat_procedure-error"' in text(response) and 'id="sat_results-error"' in text(response)
    assert responses(trial) == []


# --- Tampered hidden fields ----------------------------------------------------------------

@pytest.mark.parametrize("data,message", [
    ({"version": "1.0", "mode": "slider", "vas_mm": "50"}, "Something on this page was changed"),
    ({"version": "1.0", "mode": "line", "vas_mm": "150"}, "Something on this page was changed"),
    ({"version": "1.0", "mode": "line", "vas_mm": "-3"}, "Something on this page was changed"),
    ({"version": "0.9", "mode": "line", "vas_mm": "50"}, "This form has been updated"),
    ({"mode": "line", "vas_mm": "50"}, "This form has been updated"),
])
def test_tampered_hidden_fields_are_refused_and_nothing_stored(client, trial, token, data, message):
    response = client.post(f"/f/{token}/vas", data=data)
    assert response.status_code == 400
    assert message in text(response)
    assert 'name="version" value="1.0"' in text(response)  # the page offered again is current
    assert responses(trial) == []


# --- Wrong, expired and reused tokens ------------------------------------------------------

@pytest.mark.parametrize("path", [
    "/f/AAAAAAAAAAAAAAAAAAAAAAAA", "/f/short", "/f/AAAAAAAAAAAAAAAAAAAAAAAA/vas", "/f/" + "x" * 300,
    "/f/%00%ff", "/f/AAAAAAAAAAAAAAAAAAAAAAAA/../../etc/passwd",
])
def test_unknown_token_is_a_kind_404_that_leaks_nothing(client, token, path):
    response = client.get(path)
    assert response.status_code == 404
    assert "P-001" not in text(response) and "baseline" not in text(response).lower()


def test_post_with_unknown_token_stores_nothing(client, trial, token):
    response = client.post("/f/AAAAAAAAAAAAAAAAAAAAAAAA/vas", data=VAS_LINE)
    assert response.status_code == 404
    assert responses(trial) == []


def test_closed_window_is_410_and_records_nothing(client, trial, clock, token):
    clock.now += timedelta(days=1)  # baseline closes at the end of the procedure day
    assert client.get(f"/f/{token}").status_code == 410
    response = client.post(f"/f/{token}/vas", data=VAS_LINE)
    assert response.status_code == 410 and "has closed" in text(response)
    assert responses(trial) == []


def test_window_not_yet_open_is_410_with_the_local_opening_date(client, trial, clock, runner):
    trial.enroll("P-004", procedure_date=date(2026, 3, 10), timezone="Africa/Cairo")
    result = runner.invoke(args=["link", "P-004", "week1"])
    assert "opens at 2026-03-15T22:00:00+00:00" in result.output
    token = result.output.strip().splitlines()[-1].rsplit("/", 1)[1]
    response = client.get(f"/f/{token}")
    assert response.status_code == 410
    # week1 opens on 16 March in Cairo, which is 22:00 UTC on the 15th.
    assert "not open yet" in text(response) and "March 16, 2026" in text(response)
    assert client.post(f"/f/{token}/vas", data=VAS_LINE).status_code == 410
    assert responses(trial) == []


def test_withdrawn_participant_link_is_inactive(client, trial, token):
    db_rows = trial.query("SELECT id FROM participants")
    from storage.connection import open_db
    db = open_db(trial.app.config["DATABASE"])
    db.execute("UPDATE participants SET status = 'withdrawn', withdrawn_at = '2026-03-01T00:00:00+00:00', "
               "withdrawal_reason = 'test' WHERE id = ?", [db_rows[0]["id"]])
    db.close()
    response = client.post(f"/f/{token}/vas", data=VAS_LINE)
    assert response.status_code == 410 and "no longer active" in text(response)
    assert responses(trial) == []


def test_token_of_one_timepoint_cannot_answer_another_instrument(client, trial, token):
    response = client.post(f"/f/{token}/satisfaction", data={"version": "1.0", "sat_procedure": "3", "sat_results": "3"})
    assert response.status_code == 404
    assert client.get(f"/f/{token}/nonsense").status_code == 404
    assert responses(trial) == []


def test_reused_token_after_completion_says_thank_you_and_changes_nothing(client, trial, token):
    for instrument, data in (("vas", VAS_LINE), ("odi", ODI_ALL), ("medication", MEDS_TRAMADOL)):
        client.post(f"/f/{token}/{instrument}", data=data)
    before = responses(trial)
    assert "Thank you" in text(client.get(f"/f/{token}"))
    again = client.post(f"/f/{token}/vas", data={**VAS_LINE, "vas_mm": "5"}, follow_redirects=True)
    assert again.status_code == 200 and "Already received" in text(again)
    assert responses(trial) == before


# --- Double submit, size limit, encoding -----------------------------------------------------

def test_double_submit_keeps_the_first_answer(client, trial, token):
    first = client.post(f"/f/{token}/vas", data=VAS_LINE)
    second = client.post(f"/f/{token}/vas", data={**VAS_LINE, "vas_mm": "10"})
    assert first.status_code == 303 and second.status_code == 303
    assert second.headers["Location"] == f"/f/{token}/vas?received=1"
    assert "Already received" in text(client.get(second.headers["Location"]))
    rows = responses(trial)
    assert len(rows) == 1 and json.loads(rows[0]["answers"])["value"] == 63


def test_body_over_the_limit_is_413_and_nothing_stored(client, trial, token):
    response = client.post(f"/f/{token}/vas", data={**VAS_LINE, "padding": "x" * 20_000})
    assert response.status_code == 413
    assert "larger than this form allows" in text(response)
    assert responses(trial) == []


@pytest.mark.parametrize("body", [
    b"version=1.0&mode=nrs&nrs=6%FF",
    b"version=1.0&mode=nrs&nrs=6&\xff\xfe=1",
    "version=1.0&mode=nrs&nrs=6&x=caf\u00e9".encode("latin-1"),
])
def test_non_utf8_body_is_refused_clearly(client, trial, token, body):
    response = client.post(f"/f/{token}/vas", data=body, content_type="application/x-www-form-urlencoded")
    assert response.status_code == 400
    assert "could not read" in text(response)
    assert responses(trial) == []


def test_json_body_is_treated_as_missing_answers(client, trial, token):
    response = client.post(f"/f/{token}/vas", json={"mode": "line", "vas_mm": 50})
    assert response.status_code == 400
    assert responses(trial) == []


# --- Headers and logs ---------------------------------------------------------------------------

def test_patient_pages_send_strict_headers(client, token):
    response = client.get(f"/f/{token}/vas")
    csp = response.headers["Content-Security-Policy"]
    assert "default-src 'none'" in csp and "script-src 'self' 'sha256-" in csp
    assert response.headers["Referrer-Policy"] == "no-referrer"
    assert response.headers["Cache-Control"] == "no-store"
    assert "http" not in text(response).replace("http-equiv", "").split("</head>")[0].replace(
        'xmlns="http://www.w3.org/2000/svg"', "")  # no third-party resource in the head


def test_access_log_lines_do_not_hold_tokens(token):
    record = logging.LogRecord("werkzeug", logging.INFO, __file__, 1, '"%s" %s %s',
                               (f"GET /f/{token}/vas HTTP/1.1", "200", "-"), None)
    RedactTokens().filter(record)
    assert token not in record.getMessage()
    assert "/f/<token>/vas" in record.getMessage()


def test_pages_are_gzipped_for_browsers_that_accept_it(client, token):
    import gzip as gzip_module
    plain = client.get(f"/f/{token}/odi")
    packed = client.get(f"/f/{token}/odi", headers={"Accept-Encoding": "gzip, deflate"})
    assert "Content-Encoding" not in plain.headers
    assert packed.headers["Content-Encoding"] == "gzip"
    assert gzip_module.decompress(packed.data) == plain.data
    assert len(packed.data) < 14 * 1024  # the whole ODI page in the first round trip
