"""A form answered with no connection and sent later, through Flask's test client: the submission
key (sent twice, stored once), the page's signed stamp, the answer time and the protocol's grace
period, and every bad input such a submission can carry. None is a 500; none stores anything."""
from __future__ import annotations

import dataclasses
import json
import re
from datetime import timedelta

import pytest

from questionnaires import INSTRUMENTS
from questionnaires.protocol import DEFAULT_OFFLINE_GRACE_HOURS, ProtocolError, load_protocol, parse_protocol
from storage.connection import open_db
from storage.db import parse_utc, utc_iso

VAS_LINE = {"version": "1.0", "mode": "line", "vas_mm": "63"}
ODI_ALL = {"version": "2.1a", **{f"odi_{n}": "2" for n in range(1, 11)}}
KEY = "0123456789abcdef0123456789abcdef"
OTHER_KEY = "fedcba9876543210fedcba9876543210"
JSON = {"Accept": "application/json"}
CHANGED = "Something on this page was changed"


@pytest.fixture
def token(trial):
    trial.enroll()
    return trial.link()


def stored(trial) -> list[dict]:
    return trial.query("SELECT participant_id, instrument, answers, submission_key, answered_at, submitted_at "
                       "FROM responses ORDER BY id")


def text(response) -> str:
    return response.get_data(as_text=True)


def ms(moment) -> str:
    return str(int(moment.timestamp() * 1000))


def page_stamp(client, token: str, instrument: str = "vas") -> str:
    """The signed stamp of a form page, as the server served it."""
    page = text(client.get(f"/f/{token}/{instrument}"))
    return re.search(r'name="stamp" value="([^"]+)"', page).group(1)


def offline_body(client, clock, token: str, instrument: str = "vas", *, answered_after=timedelta(minutes=3),
                 key: str = KEY, answers: dict = VAS_LINE) -> dict:
    """What the page's script sends: the answers, the page's stamp, a key and the answer time."""
    return {**answers, "stamp": page_stamp(client, token, instrument), "submission_key": key,
            "answered_at": ms(clock.now + answered_after)}


def closes_at(trial, timepoint: str = "baseline"):
    return parse_utc(trial.query("SELECT closes_at FROM timepoints WHERE timepoint = ?", [timepoint])[0]["closes_at"])


# --- The page ------------------------------------------------------------------------------------

def test_a_form_page_carries_its_stamp_and_what_the_worker_needs(client, token, clock):
    page = text(client.get(f"/f/{token}/vas"))
    served, signature = re.search(r'name="stamp" value="([0-9]+)\.([A-Za-z0-9_-]+)"', page).groups()
    assert int(served) == int(clock.now.timestamp() * 1000)
    assert '<input type="hidden" name="submission_key" value="">' in page
    assert '<input type="hidden" name="answered_at" value="">' in page
    assert f'data-live data-sw="/f/sw.js" data-scope="/f/{token}" data-keep="/f/{token}/vas /f/{token}/odi ' \
           f'/f/{token}/medication" data-next="/f/{token}/odi"' in page
    # The words the script shows, in the page (so they can be shown with no connection).
    assert 'data-saved="Your answers are saved on this phone. They will be sent when the connection returns.' in page


def test_the_stamp_differs_by_link_and_form(client, trial, token):
    trial.enroll("P-002")
    other = trial.link("P-002")
    stamps = {page_stamp(client, token, "vas"), page_stamp(client, token, "odi"), page_stamp(client, other, "vas")}
    assert len(stamps) == 3


def test_the_worker_is_served_under_f_with_a_policy_of_its_own(client):
    response = client.get("/f/sw.js")
    assert response.status_code == 200 and response.mimetype == "application/javascript"
    assert response.headers["Content-Security-Policy"] == "default-src 'none'; connect-src 'self'"
    assert response.headers["Cache-Control"] == "no-store"
    assert 'addEventListener("fetch"' in text(response)


def test_the_odi_page_and_its_worker_fit_the_first_round_trip(client, trial):
    trial.enroll()
    token = trial.link()
    gzip = {"Accept-Encoding": "gzip"}
    page = client.get(f"/f/{token}/odi", headers=gzip)
    worker = client.get("/f/sw.js", headers=gzip)
    assert page.headers["Content-Encoding"] == worker.headers["Content-Encoding"] == "gzip"
    assert len(page.data) + len(worker.data) <= 14 * 1024    # HTML, CSS and JS inline, plus the worker


def test_only_patient_pages_may_fetch_and_register_a_worker(client, token):
    patient = client.get(f"/f/{token}/vas").headers["Content-Security-Policy"]
    staff = client.get("/staff/login").headers["Content-Security-Policy"]
    assert "connect-src 'self'" in patient and "worker-src 'self'" in patient
    assert "default-src 'none'" in patient and "form-action 'self'" in patient
    assert "connect-src" not in staff and "worker-src" not in staff


# --- The submission key --------------------------------------------------------------------------

def test_a_submission_sent_twice_is_stored_once_and_the_second_is_already_received(client, trial, clock, token):
    body = offline_body(client, clock, token)
    first = client.post(f"/f/{token}/vas", data=body)
    again = client.post(f"/f/{token}/vas", data=body)
    assert first.status_code == 303 and first.headers["Location"] == f"/f/{token}/odi"
    assert again.status_code == 303 and again.headers["Location"] == f"/f/{token}/vas?received=1"
    assert "Already received" in text(client.get(again.headers["Location"]))
    rows = stored(trial)
    assert len(rows) == 1 and rows[0]["submission_key"] == KEY
    assert json.loads(rows[0]["answers"]) == {"mode": "line", "value": 63}


def test_sent_by_the_script_the_replies_are_json(client, trial, clock, token):
    body = offline_body(client, clock, token)
    first = client.post(f"/f/{token}/vas", data=body, headers=JSON)
    assert first.status_code == 200 and first.get_json() == {"status": "saved", "next": f"/f/{token}/odi"}
    again = client.post(f"/f/{token}/vas", data=body, headers=JSON)
    assert again.status_code == 200
    assert again.get_json() == {"status": "already_received", "next": f"/f/{token}/vas?received=1"}
    # The last form of the timepoint leads to the thank-you page.
    client.post(f"/f/{token}/odi", data=ODI_ALL)
    last = client.post(f"/f/{token}/medication", headers=JSON, data={
        "version": "1.0", "took_any": "no", "stamp": page_stamp(client, token, "medication"), "submission_key": OTHER_KEY})
    assert last.get_json() == {"status": "saved", "next": f"/f/{token}"}
    assert len(stored(trial)) == 3


def test_a_second_key_for_a_form_already_in_keeps_the_first_answer(client, trial, clock, token):
    first, second = offline_body(client, clock, token), offline_body(client, clock, token, key=OTHER_KEY)
    client.post(f"/f/{token}/vas", data=first)       # the same form, answered on two phones
    other = client.post(f"/f/{token}/vas", headers=JSON, data={**second, "vas_mm": "5"})
    assert other.get_json()["status"] == "already_received"
    rows = stored(trial)
    assert len(rows) == 1 and rows[0]["submission_key"] == KEY and json.loads(rows[0]["answers"])["value"] == 63


def test_a_key_already_naming_another_form_is_refused(client, trial, clock, token):
    client.post(f"/f/{token}/vas", data=offline_body(client, clock, token))
    response = client.post(f"/f/{token}/odi", data={**ODI_ALL, "submission_key": KEY})
    assert response.status_code == 400 and CHANGED in text(response)
    replied = client.post(f"/f/{token}/odi", data={**ODI_ALL, "submission_key": KEY}, headers=JSON)
    assert replied.status_code == 400 and replied.get_json()["status"] == "refused"
    assert [row["instrument"] for row in stored(trial)] == ["vas"]


def test_a_key_of_another_participants_answer_is_refused(client, trial, clock, token):
    client.post(f"/f/{token}/vas", data=offline_body(client, clock, token))
    trial.enroll("P-002")
    other = trial.link("P-002")
    response = client.post(f"/f/{other}/vas", data=offline_body(client, clock, other))   # the same KEY
    assert response.status_code == 400 and CHANGED in text(response)
    assert len(stored(trial)) == 1


@pytest.mark.parametrize("key", ["abc", "0123456789ABCDEF0123456789ABCDEF", "0" * 31, "0" * 33, KEY + "\n",
                                 "g" * 32, "' OR 1=1 --" + "0" * 21, "٠" * 32])
def test_a_malformed_key_is_refused_and_nothing_stored(client, trial, clock, token, key):
    response = client.post(f"/f/{token}/vas", data=offline_body(client, clock, token, key=key))
    assert response.status_code == 400 and CHANGED in text(response)
    replied = client.post(f"/f/{token}/vas", data=offline_body(client, clock, token, key=key), headers=JSON)
    assert replied.status_code == 400 and replied.get_json()["status"] == "refused"
    assert CHANGED in replied.get_json()["message"]
    assert stored(trial) == []


def test_a_form_without_the_new_fields_is_taken_as_always(client, trial, token):
    """A page opened before this existed, or sent with no JavaScript: no key, the time it arrives."""
    assert client.post(f"/f/{token}/vas", data=VAS_LINE).status_code == 303
    assert client.post(f"/f/{token}/odi", data={**ODI_ALL, "stamp": page_stamp(client, token, "odi")}).status_code == 303
    assert [(row["submission_key"], row["answered_at"]) for row in stored(trial)] == [(None, None), (None, None)]


# --- The stamp -----------------------------------------------------------------------------------

def _forged(stamp: str) -> list[str]:
    served, signature = stamp.split(".", 1)
    return [f"{served}.{'A' * len(signature)}", f"{int(served) - 60_000}.{signature}", f"{served}.", served,
            f".{signature}", "not-a-stamp", f"{'9' * 40}.{signature}", f"{served}.{signature}!", "💥"]


def test_a_forged_stamp_is_refused_and_nothing_stored(client, trial, clock, token):
    for forged in _forged(page_stamp(client, token)):
        body = {**offline_body(client, clock, token), "stamp": forged}
        response = client.post(f"/f/{token}/vas", data=body)
        assert response.status_code == 400 and CHANGED in text(response), forged
        replied = client.post(f"/f/{token}/vas", data=body, headers=JSON)
        assert replied.status_code == 400 and replied.get_json()["status"] == "refused", forged
    assert stored(trial) == []


def test_a_stamp_from_another_links_page_is_refused(client, trial, clock, token):
    trial.enroll("P-002")
    other = trial.link("P-002")
    body = offline_body(client, clock, other)           # answered on P-002's page ...
    response = client.post(f"/f/{token}/vas", data=body)  # ... sent to P-001's link
    assert response.status_code == 400 and CHANGED in text(response)
    assert stored(trial) == []


def test_a_stamp_from_another_form_is_refused(client, trial, clock, token):
    body = {**offline_body(client, clock, token, "odi", answers=ODI_ALL)}
    response = client.post(f"/f/{token}/vas", data={**VAS_LINE, **{k: body[k] for k in ("stamp", "answered_at")}})
    assert response.status_code == 400 and CHANGED in text(response)
    assert stored(trial) == []


def test_a_stamp_signed_with_another_secret_is_refused(client, trial, clock, token, app):
    body = offline_body(client, clock, token)
    app.config["SECRET_KEY"] = "another server's secret"
    assert client.post(f"/f/{token}/vas", data=body).status_code == 400
    assert stored(trial) == []


# --- The answer time -----------------------------------------------------------------------------

@pytest.mark.parametrize("answered", [
    timedelta(minutes=-6),          # before the page was served (more than the clock slack)
    timedelta(days=-3),
    timedelta(minutes=6),           # in the future (the request arrives at clock.now)
    timedelta(days=400),
])
def test_an_answer_time_outside_the_page_and_now_is_refused(client, trial, clock, token, answered):
    body = offline_body(client, clock, token, answered_after=answered)
    response = client.post(f"/f/{token}/vas", data=body)
    assert response.status_code == 400 and CHANGED in text(response)
    assert client.post(f"/f/{token}/vas", data=body, headers=JSON).get_json()["status"] == "refused"
    assert stored(trial) == []


@pytest.mark.parametrize("answered_at", ["soon", "-5", "1e12", "1772452800000.5", "99999999999999", " 1772452800000",
                                         "١٧٧٢٤٥٢٨٠٠٠٠٠"])
def test_a_malformed_answer_time_is_refused(client, trial, clock, token, answered_at):
    body = {**offline_body(client, clock, token), "answered_at": answered_at}
    response = client.post(f"/f/{token}/vas", data=body)
    assert response.status_code == 400 and CHANGED in text(response)
    assert stored(trial) == []


def test_an_answer_time_without_a_stamp_is_refused(client, trial, clock, token):
    body = {**VAS_LINE, "submission_key": KEY, "answered_at": ms(clock.now)}
    assert client.post(f"/f/{token}/vas", data=body).status_code == 400
    assert stored(trial) == []


def test_a_phone_clock_a_little_off_is_clamped_to_the_page_and_now(client, trial, clock, token):
    body = offline_body(client, clock, token, answered_after=timedelta(minutes=-2))
    assert client.post(f"/f/{token}/vas", data=body).status_code == 303
    row = stored(trial)[0]
    assert row["answered_at"] == row["submitted_at"] == utc_iso(clock.now)


# --- The window, judged by the answer time, within the grace period ----------------------------------

def test_answered_in_the_window_and_arriving_within_the_grace_period_is_recorded(client, trial, clock, token):
    close = closes_at(trial)
    clock.now = close - timedelta(hours=1)
    body = offline_body(client, clock, token, answered_after=timedelta(minutes=30))
    clock.now = close + timedelta(hours=DEFAULT_OFFLINE_GRACE_HOURS) - timedelta(minutes=1)
    response = client.post(f"/f/{token}/vas", data=body, headers=JSON)
    assert response.get_json() == {"status": "saved", "next": f"/f/{token}/odi"}
    row = stored(trial)[0]
    assert row["answered_at"] == utc_iso(close - timedelta(minutes=30))
    assert row["submitted_at"] == utc_iso(clock.now)
    entry = trial.query("SELECT after FROM audit_log WHERE action = 'submit'")[0]
    assert json.loads(entry["after"])["answered_at"] == utc_iso(close - timedelta(minutes=30))
    # The link itself stays closed for anything answered now.
    assert client.get(f"/f/{token}/odi").status_code == 410


def test_past_the_grace_period_it_is_refused_with_a_clear_message(client, trial, clock, token):
    close = closes_at(trial)
    clock.now = close - timedelta(hours=1)
    body = offline_body(client, clock, token, answered_after=timedelta(minutes=30))
    clock.now = close + timedelta(hours=DEFAULT_OFFLINE_GRACE_HOURS)
    response = client.post(f"/f/{token}/vas", data=body)
    assert response.status_code == 410
    assert "arrived too late" in text(response) and "more than 24 hours after this questionnaire closed" in text(response)
    replied = client.post(f"/f/{token}/vas", data=body, headers=JSON)
    assert replied.status_code == 410 and replied.get_json()["status"] == "refused"
    assert replied.get_json()["title"] == "Your answers arrived too late"
    assert stored(trial) == []


def test_answered_after_the_window_closed_is_refused_whenever_it_arrives(client, trial, clock, token):
    close = closes_at(trial)
    clock.now = close - timedelta(minutes=1)
    stamp = page_stamp(client, token)
    clock.now = close + timedelta(minutes=2)
    body = {**VAS_LINE, "stamp": stamp, "submission_key": KEY, "answered_at": ms(close + timedelta(minutes=1))}
    response = client.post(f"/f/{token}/vas", data=body)
    assert response.status_code == 410 and "has closed" in text(response)
    assert stored(trial) == []


def test_after_the_close_without_an_answer_time_it_is_closed_as_today(client, trial, clock, token):
    close = closes_at(trial)
    stamp = page_stamp(client, token)
    clock.now = close + timedelta(minutes=1)
    response = client.post(f"/f/{token}/vas", data={**VAS_LINE, "stamp": stamp, "submission_key": KEY})
    assert response.status_code == 410 and "has closed" in text(response)
    assert stored(trial) == []


def test_the_grace_period_is_the_protocols(app, client, trial, clock, token):
    app.extensions["protocol"] = dataclasses.replace(app.extensions["protocol"], offline_grace_hours=2)
    close = closes_at(trial)
    clock.now = close - timedelta(hours=1)
    body = offline_body(client, clock, token)
    clock.now = close + timedelta(hours=2)
    response = client.post(f"/f/{token}/vas", data=body)
    assert response.status_code == 410 and "more than 2 hours after" in text(response)
    clock.now = close + timedelta(hours=1)
    assert client.post(f"/f/{token}/vas", data=body).status_code == 303
    assert len(stored(trial)) == 1


def test_the_protocol_sets_the_grace_period_and_checks_it(tmp_path):
    from questionnaires.protocol import DEFAULT_PROTOCOL_PATH

    default = load_protocol(DEFAULT_PROTOCOL_PATH, INSTRUMENTS)
    assert default.offline_grace_hours == 24 and default.offline_grace == timedelta(hours=24)
    source = DEFAULT_PROTOCOL_PATH.read_text(encoding="utf-8")
    without = source.replace("[offline]\ngrace_hours = 24\n", "")
    assert without != source
    path = tmp_path / "protocol.toml"
    path.write_text(without, encoding="utf-8")
    assert load_protocol(path, INSTRUMENTS).offline_grace_hours == DEFAULT_OFFLINE_GRACE_HOURS
    path.write_text(source.replace("grace_hours = 24", "grace_hours = 0"), encoding="utf-8")
    assert load_protocol(path, INSTRUMENTS).offline_grace == timedelta(0)


@pytest.mark.parametrize("offline", [{"grace_hours": -1}, {"grace_hours": 169}, {"grace_hours": "24"},
                                     {"grace_hours": True}, {"grace_hours": 1.5}, "24"])
def test_a_bad_grace_period_stops_the_protocol(offline):
    import tomllib

    from questionnaires.protocol import DEFAULT_PROTOCOL_PATH

    data = tomllib.loads(DEFAULT_PROTOCOL_PATH.read_text(encoding="utf-8"))
    data["offline"] = offline
    with pytest.raises(ProtocolError) as error:
        parse_protocol(data, INSTRUMENTS)
    assert [p for p in error.value.problems if p.startswith("offline")] != []


# --- A link that ended, or a participant who withdrew ----------------------------------------------

def _set(trial, sql: str, params) -> None:
    db = open_db(trial.app.config["DATABASE"])
    try:
        db.execute(sql, params)
    finally:
        db.close()


def test_a_link_revoked_since_refuses_what_was_queued_and_says_why(client, trial, clock, token):
    body = offline_body(client, clock, token)
    # Revoked: the link ends before its window does (here, ten minutes after the answer).
    _set(trial, "UPDATE link_tokens SET expires_at = ?", [utc_iso(clock.now + timedelta(minutes=10))])
    clock.now += timedelta(minutes=20)
    response = client.post(f"/f/{token}/vas", data=body)
    assert response.status_code == 410 and "no longer active" in text(response)
    replied = client.post(f"/f/{token}/vas", data=body, headers=JSON).get_json()
    assert replied["status"] == "refused" and replied["title"] == "This link is no longer active"
    assert replied["message"] == "Nothing more can be recorded with this link. Thank you."
    assert stored(trial) == []


def test_a_withdrawn_participant_refuses_what_was_queued_and_says_why(client, trial, clock, token):
    body = offline_body(client, clock, token)
    _set(trial, "UPDATE participants SET status = 'withdrawn', withdrawn_at = ?, withdrawal_reason = 'test'",
         [utc_iso(clock.now)])
    response = client.post(f"/f/{token}/vas", data=body)
    assert response.status_code == 410 and "no longer active" in text(response)
    replied = client.post(f"/f/{token}/vas", data=body, headers=JSON)
    assert replied.status_code == 410 and replied.get_json()["title"] == "This link is no longer active"
    assert stored(trial) == []


def test_an_unknown_link_or_form_replies_in_json_too(client, trial, clock, token):
    body = offline_body(client, clock, token)
    unknown = client.post(f"/f/{'A' * 24}/vas", data=body, headers=JSON)
    assert unknown.status_code == 404 and unknown.get_json()["title"] == "Link not recognised"
    other_form = client.post(f"/f/{token}/satisfaction", data=body, headers=JSON)
    assert other_form.status_code == 404 and other_form.get_json()["status"] == "refused"
    assert stored(trial) == []


def test_invalid_answers_sent_by_the_script_are_invalid_and_nothing_stored(client, trial, clock, token):
    body = {**offline_body(client, clock, token), "vas_mm": ""}
    replied = client.post(f"/f/{token}/vas", data=body, headers=JSON)
    assert replied.status_code == 400 and replied.get_json() == {"status": "invalid"}
    unreadable = client.post(f"/f/{token}/vas", data=b"version=1.0&mode=nrs&nrs=6%FF", headers=JSON,
                             content_type="application/x-www-form-urlencoded")
    assert unreadable.status_code == 400 and unreadable.get_json()["title"] == "Your answers could not be read"
    assert stored(trial) == []


def test_an_arabic_page_says_it_all_in_arabic(client, trial, clock):
    """The words the script shows are in the page, translated; so is a refusal."""
    trial.app.config["LANGUAGES"] = ["en", "ar"]
    trial.enroll(language="ar")
    token = trial.link()
    page = text(client.get(f"/f/{token}/vas"))
    assert 'data-saved="حُفظت إجاباتك على هذا الهاتف، وستُرسل عند عودة الاتصال.' in page
    assert 'data-sent="أُرسلت: وصلتنا إجاباتك. شكرًا لك."' in page
    close = closes_at(trial)
    clock.now = close - timedelta(hours=1)
    body = offline_body(client, clock, token)
    clock.now = close + timedelta(days=2)
    replied = client.post(f"/f/{token}/vas", data=body, headers=JSON).get_json()
    assert replied["title"] == "وصلت إجاباتك متأخرة"
    assert "بأكثر من 24 ساعة، لذلك تعذّر تسجيلها" in replied["message"]
    assert stored(trial) == []
