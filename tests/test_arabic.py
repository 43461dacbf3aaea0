"""Arabic for patients: right-to-left pages in the participant's language, a language switch
remembered for the link, the VAS line's direction, Arabic dates, and every SMS text of every
shipped language within its segments."""
from __future__ import annotations

import re
from datetime import timedelta
from pathlib import Path

import pytest
from flask_babel import force_locale

from app import create_app
from scheduler.sms_text import GSM7, UCS2, count_segments
from tests.conftest import START

TRANSLATIONS = Path(__file__).resolve().parent.parent / "translations"
SHIPPED = ["en", *sorted(p.name for p in TRANSLATIONS.iterdir() if (p / "LC_MESSAGES" / "messages.po").exists())]
LINK = "https://pro.example.org/f/" + "A" * 24   # a token as issued: 24 characters


@pytest.fixture
def app(db_path, clock):
    return create_app({"TESTING": True, "DATABASE": str(db_path), "CLOCK": clock, "BASE_URL": "https://pro.example.org",
                       "LANGUAGES": SHIPPED})


def html(response) -> str:
    return response.get_data(as_text=True)


def test_arabic_is_shipped():
    assert "ar" in SHIPPED


def test_an_arabic_participant_gets_right_to_left_arabic_pages(client, trial):
    trial.enroll("P-AR", language="ar")
    token = trial.link("P-AR", "baseline")
    page = html(client.get(f"/f/{token}/vas"))
    assert '<html lang="ar" dir="rtl">' in page
    assert "الاستمارة 1 من 3" in page and "Form 1 of 3" not in page
    # The switch offers English, named in English and marked as such for screen readers.
    assert re.search(r'<button type="submit" name="language" value="en" lang="en" dir="ltr">English</button>', page)


def test_the_language_switch_is_remembered_for_that_link_only(client, trial):
    trial.enroll("P-AR", language="ar")
    baseline, day1 = trial.link("P-AR", "baseline"), trial.link("P-AR", "day1")   # day1 opens tomorrow
    response = client.post(f"/f/{baseline}/language", data={"language": "en", "back": "vas"})
    assert response.status_code == 303 and response.headers["Location"] == f"/f/{baseline}/vas"
    assert '<html lang="en" dir="ltr">' in html(client.get(f"/f/{baseline}/vas"))
    assert '<html lang="ar" dir="rtl">' in html(client.get(f"/f/{day1}"))       # another link: still Arabic
    assert trial.query("SELECT language FROM participants") == [{"language": "ar"}]


@pytest.mark.parametrize("language", ["fr", "", "ar'; DROP TABLE link_tokens; --"])
def test_a_language_not_offered_changes_nothing(client, trial, language):
    trial.enroll("P-AR", language="ar")
    token = trial.link("P-AR", "baseline")
    response = client.post(f"/f/{token}/language", data={"language": language})
    assert response.status_code == 400
    assert trial.query("SELECT language FROM link_tokens") == [{"language": None}]


def test_the_vas_line_follows_the_protocols_direction(client, trial, app, tmp_path):
    trial.enroll("P-AR", language="ar")
    token = trial.link("P-AR", "baseline")
    assert '<div class="vas" id="vas-line" dir="rtl" hidden>' in html(client.get(f"/f/{token}/vas"))
    source = Path(app.config["PROTOCOL"]).read_text(encoding="utf-8").replace("line_direction = {}",
                                                                              'line_direction = { ar = "ltr" }')
    (tmp_path / "protocol.toml").write_text(source, encoding="utf-8")
    ltr = create_app({"TESTING": True, "DATABASE": app.config["DATABASE"], "CLOCK": app.config["CLOCK"],
                      "LANGUAGES": SHIPPED, "PROTOCOL": str(tmp_path / "protocol.toml")})
    page = html(ltr.test_client().get(f"/f/{token}/vas"))
    assert '<html lang="ar" dir="rtl">' in page and '<div class="vas" id="vas-line" dir="ltr" hidden>' in page


def test_the_not_yet_open_page_gives_the_date_in_arabic(client, trial):
    trial.enroll("P-AR", language="ar", timezone="Africa/Cairo", procedure_date=(START + timedelta(days=20)).date())
    page = html(client.get(f"/f/{trial.link('P-AR', 'day1')}"))
    assert "مارس" in page and "2026" in page     # Gregorian, month named in Arabic (Babel)


def test_numbers_in_arabic_indic_digits_are_stored_as_numbers(client, trial):
    trial.enroll("P-AR", language="ar")
    token = trial.link("P-AR", "baseline")
    client.post(f"/f/{token}/vas", data={"version": "1.0", "mode": "nrs", "nrs": "7"})
    client.post(f"/f/{token}/odi", data={"version": "2.1a", **{f"odi_{n}": "1" for n in range(1, 11)}})
    response = client.post(f"/f/{token}/medication", data={"version": "1.0", "took_any": "yes", "drug_1": "diclofenac",
                                                           "strength_1": "٥٠", "doses_1": "٢"})
    assert response.status_code == 303
    assert '"strength_mg": 50.0' in trial.query("SELECT answers FROM responses WHERE instrument = 'medication'")[0][
        "answers"]


def _sms_texts(app, language: str) -> dict[str, str]:
    from web.reminders import compose_body
    with app.test_request_context(), force_locale(language):
        from flask_babel import gettext as _
        return {
            "reminder": compose_body({"language": language}, LINK),
            "help": _("These messages are reminders of questionnaires from your care team. "
                      "To stop them, reply STOP. For anything else, please call your care team."),
        }


@pytest.mark.parametrize("language", SHIPPED)
def test_every_sms_of_every_language_fits_its_segments(app, language):
    texts = _sms_texts(app, language)
    reminder = count_segments(texts["reminder"])
    assert LINK in texts["reminder"]
    if language == "en":
        assert (reminder.encoding, reminder.count) == (GSM7, 1)
    else:   # any Arabic letter makes the whole SMS UCS-2: 70 units in one segment, 67 each after
        assert reminder.encoding == UCS2 and reminder.count <= 2, reminder
    assert count_segments(texts["help"]).count <= 3


def test_an_arabic_stop_reply_is_answered_in_nothing_and_honoured(app, trial):
    """Twilio confirms an English STOP itself; an Arabic one is the app's: it opts out, quietly."""
    from services import messaging
    from storage.connection import open_db
    trial.enroll("P-AR", language="ar", phone="+201001234567")
    db = open_db(app.config["DATABASE"])
    try:
        reply = messaging.receive_reply(db, sender="+201001234567", body="إيقاف", sid="SM1", now=START)
    finally:
        db.close()
    assert (reply.keyword, reply.language) == ("stop", "ar")
    assert trial.query("SELECT sms_opt_out FROM participants") == [{"sms_opt_out": 1}]


def test_an_arabic_percent_sign_is_refused_with_a_message_in_arabic(client, trial):
    trial.enroll("P-AR", language="ar")
    token = trial.link("P-AR", "baseline")
    client.post(f"/f/{token}/vas", data={"version": "1.0", "mode": "nrs", "nrs": "7"})
    client.post(f"/f/{token}/odi", data={"version": "2.1a", **{f"odi_{n}": "1" for n in range(1, 11)}})
    response = client.post(f"/f/{token}/medication", data={"version": "1.0", "took_any": "yes",
                                                           "drug_1": "diclofenac", "strength_1": "٥٠٪", "doses_1": "١2"})
    assert response.status_code == 400
    page = html(response)
    assert 'id="strength_1-error"' in page and 'id="doses_1-error"' not in page   # "١2" reads as 12
    error = re.search(r'id="strength_1-error">([^<]+)<', page).group(1)
    assert re.search(r"[\u0600-\u06FF]", error) and "Please" not in error
    assert trial.query("SELECT COUNT(*) AS n FROM responses WHERE instrument = 'medication'") == [{"n": 0}]


def test_help_from_an_arabic_participant_is_answered_in_arabic(db_path, clock, trial):
    from twilio.request_validator import RequestValidator

    token, url = "test-auth-token", "https://pro.example.org/twilio/inbound"
    app = create_app({"TESTING": True, "DATABASE": str(db_path), "CLOCK": clock, "LANGUAGES": SHIPPED,
                      "BASE_URL": "https://pro.example.org", "TWILIO_AUTH_TOKEN": token})
    trial.enroll("P-AR", language="ar", phone="+201001234567")
    params = {"From": "+201001234567", "Body": "مساعدة", "MessageSid": "SMhelp"}
    response = app.test_client().post(url, data=params, headers={
        "X-Twilio-Signature": RequestValidator(token).compute_signature(url, params)})
    reply = re.search(r"<Message>(.*)</Message>", html(response), re.S).group(1)
    assert re.search(r"[\u0600-\u06FF]", reply) and "reminders" not in reply and "STOP" in reply
