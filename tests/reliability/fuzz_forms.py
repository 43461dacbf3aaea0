"""The forms the fuzz reaches, patient and staff: each one's address, a valid answer to it, and
the near misses its fields are broken with (tests/reliability/fuzzing.py breaks the answers,
tests/reliability/fuzz_run.py sends them). The paths and answers read the trial they are fuzzed
on (fuzz_run.State): its links, participants, adverse events and replies."""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta
from urllib.parse import quote

from questionnaires import MEDICATION
from questionnaires.crf import EVENT_TYPES, LATERALITY, OUTCOMES, RELATEDNESS, SEXES, SIDES
from questionnaires.medication import MAX_ROWS, row_fields
from services.participant_admin import CONTACT_KINDS, CONTACT_OUTCOMES
from tests.conftest import START
from tests.staff_support import INCLUSION, PASSWORD

LANGUAGES = ["en", "ar"]     # the site's: every patient page has a language form to fuzz
ROLES = ("nurse", "investigator", "admin")
OTHERS = ["nurse@hospital.example", "investigator@hospital.example"]   # accounts beside the fuzzing admin's
PASSPHRASE = "a long new passphrase for the fuzz"


@dataclass
class Form:
    """One form to fuzz: its URL rule, and how to make a valid answer to it."""
    name: str
    rule: str
    valid: Callable             # (rng, trial state) -> {field: value or [values]}
    choices: dict[str, list[str]]
    path: Callable              # (rng, trial state) -> the address to post to
    accepted: tuple[int, ...] = (303,)
    method: str = "POST"        # GET: a search form, its fields sent as the query string
    session: str | None = "admin"   # the role it is used signed in as (None: signed out); staff forms only
    then_sign_in: bool = False  # its success leads to the sign-in page (signing out, setting a password)
    multipart: bool = False     # a form with a file: sent as multipart but now and then


def _one_of(rng, values):
    return rng.choice(list(values))


# Patient forms: the month1 link asks every instrument; the language form is the link's too.
def _medication(rng, _state):
    answer = {"version": "1.0", "took_any": _one_of(rng, ("yes", "no"))}
    if answer["took_any"] == "yes":
        for index in range(1, rng.randint(1, MAX_ROWS) + 1):
            drug, strength, doses = row_fields(index)
            answer.update({drug: rng.choice(MEDICATION.drugs).id, strength: str(rng.choice([50, 100, 500, 12.5])),
                           doses: str(rng.randint(1, 4))})
    return answer


def _patient_path(instrument: str):
    def path(rng, state):
        state.last_token, state.last_instrument = state.token(instrument), instrument
        return f"/f/{state.last_token}/{instrument}"
    return path


def _patient(answer):
    """A patient form's answer, with what the page's script adds to it as often as not."""
    def valid(rng, state):
        return {**answer(rng, state), **state.offline(rng, state.last_token, state.last_instrument)}
    return valid


# The offline fields' near misses: a key of the wrong alphabet or length, times out of range.
OFFLINE = {"submission_key": ["0" * 32, "A" * 32, "g" * 32, "0" * 31, "0" * 33],
           "stamp": ["1772452800000.x", "1772452800000", ".", "9" * 14 + ".abc"],
           "answered_at": ["0", "9" * 13, "9" * 14, "1772452800000", "-1"]}

PATIENT_FORMS = [
    Form("vas", "/f/<token>/<instrument>", _patient(lambda rng, s: _one_of(rng, [
        {"version": "1.0", "mode": "line", "vas_mm": str(rng.randint(0, 100))},
        {"version": "1.0", "mode": "nrs", "nrs": str(rng.randint(0, 10))}])),
        {"version": ["1.0"], "mode": ["line", "nrs"], "vas_mm": ["0", "63", "100"], "nrs": ["0", "5", "10"], **OFFLINE},
        _patient_path("vas")),
    Form("odi", "/f/<token>/<instrument>", _patient(lambda rng, s: {
        "version": s.odi_version, **{f"odi_{n}": str(rng.randint(0, 5)) for n in range(1, 11) if rng.random() < 0.95}}),
        {"version": ["2.1a"], **{f"odi_{n}": ["0", "3", "5"] for n in range(1, 11)}, **OFFLINE}, _patient_path("odi")),
    Form("satisfaction", "/f/<token>/<instrument>", _patient(lambda rng, s: {
        "version": "1.0", "sat_procedure": str(rng.randint(1, 4)), "sat_results": str(rng.randint(1, 4))}),
        {"version": ["1.0"], "sat_procedure": ["1", "4"], "sat_results": ["1", "4"], **OFFLINE},
        _patient_path("satisfaction")),
    Form("medication", "/f/<token>/<instrument>", _patient(_medication),
         {"version": ["1.0"], "took_any": ["yes", "no"],
          **{name: values for index in range(1, MAX_ROWS + 1) for name, values in zip(
              row_fields(index), (["diclofenac", "tramadol", ""], ["50", "12.5"], ["1", "3"]))}, **OFFLINE},
         _patient_path("medication")),
    Form("language", "/f/<token>/language", lambda rng, s: {
        "language": _one_of(rng, LANGUAGES), "back": _one_of(rng, ["vas", "odi", "satisfaction", "medication", ""])},
        {"language": LANGUAGES, "back": ["vas", "odi", "/staff/", "//evil.example"]},
        lambda rng, s: f"/f/{s.token('language')}/language"),
]

# Staff forms.
PROCEDURE = {"procedure_date": "2026-03-02", "guidance": "fluoroscopy", "operators": "Dr Amin", "punctures": "2",
             "injected_l3": "none", "injected_l4": "left", "injected_l5": "left", "si_side": "none",
             "operative_min": "30", "dap_mgycm2": "352", "fluoro_time_s": "40", "contrast_extravasation": "no",
             "methylprednisolone_mg": "80", "rf_temperature_c": "42", "rf_frequency_hz": "2",
             "rf_pulse_width_ms": "20", "rf_duration_s": "300"}


def _participant_path(suffix: str):
    def path(rng, state):
        study_id = state.study_id(rng)
        return f"/staff/participants/{quote(study_id, safe='')}{suffix}"
    return path


def _item(rng, state, *others: int) -> int:
    """An adverse event's number in a path: the pool's event 1, or one of ``others``."""
    return 1 if state.intact else rng.choice([1, 1, 1, 1, *others])


def _answered(rng, state) -> str:
    """The timepoint and form of a pool participant's answer (it answered the VAS of the timepoint
    open now), or another that is not there."""
    if state.intact or rng.random() < 0.9:
        return f"{state.open_at.get(state.last_study_id, 'baseline')}/vas"
    return rng.choice(["baseline/odi", "month6/vas", "week1/eq5d", "nowhen/vas"])


def _upload(rng, state):
    """A paper-data CSV to check (a broken copy of tests/import_samples/answers.csv), or, now and
    then, the confirmation of the last file checked."""
    if state.staged and not state.intact and rng.random() < 0.3:
        upload_id, sha256 = state.staged
        return {"action": "import", "upload": upload_id, "sha256": sha256}
    sample = state.import_sample
    return {"kind": "answers", "file": sample if state.intact else state.fuzzer.file(sample)}


def _study_id(rng, state):
    return state.last_study_id if rng.random() < 0.95 else rng.choice(state.pool)


def _enroll(rng, state):
    external = rng.random() < 0.3
    answer = {"study_id": f"Z-{rng.randint(0, 10**6):06d}", "punctures": str(rng.randint(1, 6)),
              "phone": _one_of(rng, ["", "+201001234567", "+16175550123", "010 0123 4567"]),
              "timezone": _one_of(rng, ["UTC", "Africa/Cairo", "America/New_York", ""]),
              "language": _one_of(rng, LANGUAGES), "procedure_date": (START.date() + timedelta(
                  days=rng.randint(-40, 200))).isoformat(),
              "allocation": "external" if external else "randomize", "criteria": list(INCLUSION)}
    if rng.random() < 0.3:
        answer["confirm_date"] = "y"
    if external:
        answer.update({"external_arm": _one_of(rng, ["A", "B"]), "reason": "allocated by the sealed envelope"})
    if rng.random() < 0.05:
        answer["action"] = "not_enrolled"
    return answer


def _timepoint(rng, state):
    """A participant's timepoint: the one open now as often as not (a link or an SMS is only for that)."""
    study_id = _study_id(rng, state)
    open_now = state.open_at.get(study_id)
    return {"study_id": study_id, "timepoint": open_now if open_now and (state.intact or rng.random() < 0.5)
            else _one_of(rng, state.timepoints)}


def _opened_on(rng, state, form: str, item: int = 0) -> dict[str, str]:
    """The version a clinician form was opened on (the record's current one, now and then an older
    one) and, for a correction, its reason."""
    version = state.record_version(state.last_study_id, form, item)
    if version and rng.random() < 0.1:
        version -= 1
    return {"version": str(version), "reason": "corrected on review" if version else ""}


def _event(rng, state, item: int = 0):
    event = _one_of(rng, EVENT_TYPES)
    return {"event": event, "description": "swelling at the site" if event == "other" or rng.random() < 0.5 else "",
            # The pool was enrolled on the test clock's day: an earlier onset is refused.
            "onset_date": START.date().isoformat(), "grade": str(rng.randint(1, 5)),
            "serious": _one_of(rng, ("no", "yes")), "related": _one_of(rng, RELATEDNESS),
            "outcome": _one_of(rng, OUTCOMES), **_opened_on(rng, state, "adverse_event", item)}


def _staged_import(rng, state):
    """A confirm of a paper file checked and waiting (as its preview page leaves it), the fuzzing
    admin's: a new participant's day-1 pain each time, so that each import stores something."""
    from services import import_upload
    from storage import users
    from storage.connection import open_db
    from web.staff.uploads import staging_folder

    data = f"study_id,arm,timepoint,vas\nPAPER-{rng.randrange(10**9)},A,day1,{rng.randint(0, 100) / 10}\n".encode()
    db = open_db(state.app.config["DATABASE"])
    try:
        with state.app.app_context():
            staged = import_upload.stage(db, staging_folder(), state.protocol, "answers", data, filename="fuzz.csv",
                                         user=users.by_email(db, "admin@hospital.example"), actor="fuzz",
                                         now=state.clock())
    finally:
        db.close()
    return {"action": "import", "upload": staged.id, "sha256": staged.sha256}


STAFF_FORMS = [
    Form("login", "/staff/login", lambda rng, s: {
        "email": _one_of(rng, ["nurse@hospital.example", "investigator@hospital.example",
                                f"someone{rng.randrange(10**6)}@hospital.example"]),
        "password": _one_of(rng, [PASSWORD, "wrong password", ""])},
        {"email": ["nurse@hospital.example", "a@b.c"], "password": [PASSWORD]}, lambda rng, s: "/staff/login",
        session=None),
    # Fuzzed on a nurse's session: signing out ends every session of that user.
    Form("logout", "/staff/logout", lambda rng, s: {}, {}, lambda rng, s: "/staff/logout", session="nurse",
         then_sign_in=True),
    Form("set password", "/staff/password/<token>", lambda rng, s: {
        "password": PASSPHRASE, "confirm": PASSPHRASE if s.intact or rng.random() < 0.8 else PASSPHRASE + "!"},
        {"password": [PASSPHRASE, "short"], "confirm": [PASSPHRASE]},
        lambda rng, s: f"/staff/password/{s.password_token() if s.intact or rng.random() < 0.95 else 'x' * 43}",
        session=None, then_sign_in=True),
    # The accounts of others: the fuzzing admin's own never appears, so it keeps its role and session.
    Form("create account", "/staff/accounts", lambda rng, s: {
        "email": f"staff{rng.randrange(10**6)}@hospital.example", "role": _one_of(rng, ROLES),
        "reason": "joins the trial"},
        {"email": ["nurse@hospital.example", "x@y"], "role": [*ROLES, "root"], "reason": ["joins"]},
        lambda rng, s: "/staff/accounts"),
    Form("account active", "/staff/accounts/active", lambda rng, s: {
        "email": _one_of(rng, OTHERS), "active": _one_of(rng, ["no", "yes"]), "reason": "left the trial"},
        {"email": OTHERS, "active": ["yes", "no", "maybe"], "reason": ["left"]},
        lambda rng, s: "/staff/accounts/active"),
    Form("account role", "/staff/accounts/role", lambda rng, s: {
        "email": _one_of(rng, OTHERS), "role": _one_of(rng, ("nurse", "investigator")), "reason": "new duties"},
        {"email": OTHERS, "role": [*ROLES, "root"], "reason": ["duties"]}, lambda rng, s: "/staff/accounts/role"),
    Form("password link", "/staff/accounts/password-link", lambda rng, s: {
        "email": _one_of(rng, OTHERS), "reason": "forgot the password"},
        {"email": OTHERS, "reason": ["forgot"]}, lambda rng, s: "/staff/accounts/password-link"),
    # Uploading a file needs a multipart body the fuzz does not make: it fuzzes the confirm, and the
    # check without a file.
    Form("import upload", "/staff/dataset/import", _staged_import,
         {"action": ["import", "check"], "kind": ["answers", "records", "events", "photos"],
          "upload": ["A" * 22, "../../fuzz.sqlite3"], "sha256": ["0" * 64]}, lambda rng, s: "/staff/dataset/import"),
    Form("enroll", "/staff/enroll", _enroll,
         {"study_id": ["P-001", "Z-1"], "punctures": ["1", "6"], "phone": ["+201001234567"],
          "timezone": ["UTC", "Africa/Cairo"], "language": LANGUAGES, "procedure_date": ["2026-03-10"],
          "confirm_date": ["y"], "allocation": ["randomize", "external"], "external_arm": ["A", "B"],
          "reason": ["envelope"], "criteria": INCLUSION + ["progressive_motor"], "override_reason": ["judgement"],
          "action": ["not_enrolled"]}, lambda rng, s: "/staff/enroll"),
    Form("inbox handled", "/staff/inbox/<int:message_id>/handled", lambda rng, s: {
        "back": _one_of(rng, ["", "/staff/participants/P-000", "//evil.example", "/staff/inbox"])},
        {"back": ["/staff/", "https://evil.example"]},
        lambda rng, s: f"/staff/inbox/{s.replies[0] if s.intact else rng.choice(s.replies + [0, 10**12, -1])}/handled"),
    Form("resend", "/staff/participants/<study_id>/resend", _timepoint, {"timepoint": ["baseline", "day1", "month6"]},
         _participant_path("/resend")),
    Form("show link", "/staff/participants/<study_id>/link", _timepoint, {"timepoint": ["baseline", "week1"]},
         _participant_path("/link"), accepted=(200,)),
    Form("contact details", "/staff/participants/<study_id>/contact-details", lambda rng, s: {
        "study_id": _study_id(rng, s), "phone": _one_of(rng, ["", "+201001234567", "+16175550123", "010 0123 4567"]),
        "timezone": _one_of(rng, ["UTC", "Africa/Cairo", "Asia/Kolkata"]), "language": _one_of(rng, LANGUAGES)},
        {"phone": ["+201001234567"], "timezone": ["UTC"], "language": LANGUAGES},
        _participant_path("/contact-details")),
    Form("sms preference", "/staff/participants/<study_id>/sms", lambda rng, s: {
        "study_id": _study_id(rng, s), "opted_out": _one_of(rng, ["out", "in"]), "confirm": "y"},
        {"opted_out": ["out", "in"], "confirm": ["y"]}, _participant_path("/sms")),
    Form("sms answers", "/staff/participants/<study_id>/sms-answers", lambda rng, s: {
        "study_id": _study_id(rng, s), "answers_by_sms": _one_of(rng, ["on", "off"]),
        "sms_reason": _one_of(rng, ["has no data plan", "asked for links again"])},
        {"answers_by_sms": ["on", "off"], "sms_reason": ["no data plan"]}, _participant_path("/sms-answers")),
    Form("channel", "/staff/participants/<study_id>/channel", lambda rng, s: {
        "study_id": _study_id(rng, s), "channel": _one_of(rng, ["whatsapp", "sms"]),
        **({"whatsapp_opt_in": "y"} if rng.random() < 0.5 else {})},
        {"channel": ["sms", "whatsapp", "email"], "whatsapp_opt_in": ["y"]}, _participant_path("/channel")),
    Form("answer correction", "/staff/participants/<study_id>/answers/<timepoint>/<instrument>", lambda rng, s: {
        "mode": _one_of(rng, ["line", "nrs"]), "value": str(rng.randint(0, 10)), "reason": "paper form misread",
        "version": str(s.answer_version(s.last_study_id) - (not s.intact and rng.random() < 0.1))},
        {"mode": ["line", "nrs", "slider"], "value": ["0", "10", "100", "101"], "version": ["1", "2"],
         "reason": ["misread"]},
        lambda rng, s: f"{_participant_path('')(rng, s)}/answers/{_answered(rng, s)}"),
    Form("dataset import", "/staff/dataset/import", _upload,
         {"kind": ["answers", "records", "events", "eq5d"], "action": ["import", "check"],
          "upload": ["0" * 32, "../x"], "sha256": ["0" * 64]}, lambda rng, s: "/staff/dataset/import",
         multipart=True),
    Form("withdraw", "/staff/participants/<study_id>/withdraw", lambda rng, s: {
        "study_id": _study_id(rng, s), "reason": _one_of(rng, ["moved away", "no longer wishes to take part"]),
        "confirm": "y"}, {"reason": ["moved away"], "confirm": ["y"]}, _participant_path("/withdraw")),
    Form("log contact", "/staff/participants/<study_id>/contacts", lambda rng, s: {
        "study_id": _study_id(rng, s), "kind": _one_of(rng, CONTACT_KINDS), "outcome": _one_of(rng, CONTACT_OUTCOMES),
        "timepoint": _one_of(rng, ["", *s.timepoints]), "note": _one_of(rng, ["", "will answer tonight"])},
        {"kind": list(CONTACT_KINDS), "outcome": list(CONTACT_OUTCOMES), "timepoint": ["", "month1"],
         "note": ["called"]}, _participant_path("/contacts")),
    Form("baseline record", "/staff/participants/<study_id>/baseline", lambda rng, s: {
        "age": str(rng.randint(18, 90)), "sex": _one_of(rng, SEXES), "root_l3": _one_of(rng, LATERALITY),
        "root_l4": _one_of(rng, LATERALITY), "root_l5": _one_of(rng, LATERALITY),
        "mri_finding": _one_of(rng, ["", "L4-L5 disc bulge"]), **_opened_on(rng, s, "baseline")},
        {"age": ["51"], "date_of_birth": ["1970-01-01"], "sex": list(SEXES), "root_l3": list(LATERALITY),
         "version": ["0", "1"], "reason": ["typo"]}, _participant_path("/baseline")),
    Form("procedure record", "/staff/participants/<study_id>/procedure", lambda rng, s: {
        **PROCEDURE, "si_side": _one_of(rng, SIDES), "punctures": str(rng.randint(1, 6)),
        **_opened_on(rng, s, "procedure")},
        {**{k: [v] for k, v in PROCEDURE.items()}, "guidance": ["fluoroscopy", "ct"], "ctdivol_mgy": ["9.5"],
         "dlp_mgycm": ["347.5"], "version": ["0", "1"], "reason": ["typo"], "deviation_reason": ["asked"]},
        _participant_path("/procedure")),
    Form("new adverse event", "/staff/participants/<study_id>/events/new",
         lambda rng, s: {**_event(rng, s), "version": "0", "reason": ""},
         {"event": list(EVENT_TYPES), "grade": ["1", "5"], "serious": ["yes"], "related": list(RELATEDNESS),
          "version": ["0"], "onset_date": ["2026-03-02"]}, _participant_path("/events/new")),
    Form("adverse event correction", "/staff/participants/<study_id>/events/<int:item>",
         lambda rng, s: _event(rng, s, item=1),
         {"event": list(EVENT_TYPES), "grade": ["1", "5"], "version": ["1", "2"], "reason": ["typo"]},
         lambda rng, s: _participant_path(f"/events/{_item(rng, s, 2, 99)}")(rng, s)),
    Form("acknowledge adverse event", "/staff/participants/<study_id>/events/<int:item>/acknowledge",
         lambda rng, s: {"back": _one_of(rng, ["", "/staff/", "//evil.example"])}, {"back": ["/staff/"]},
         lambda rng, s: _participant_path(f"/events/{_item(rng, s, 2, 99)}/acknowledge")(rng, s)),
]
# The staff pages' search forms (GET, no CSRF token): their fields as the query string.
STAFF_FORMS += [
    Form("audit filter", "/staff/audit", lambda rng, s: {
        "actor": _one_of(rng, ["", "admin@hospital.example", "cli"]),
        "action": _one_of(rng, ["", "withdraw", "enroll"]),
        "entity_id": _one_of(rng, ["", *s.pool]), "since": _one_of(rng, ["", "2026-03-01"]),
        "until": _one_of(rng, ["", "2026-03-02"]), "page": _one_of(rng, ["1", "2"])},
        {"since": ["2026-01-01", "9999-12-31", "0001-01-01"], "until": ["2026-12-31", "9999-12-31", "0001-01-01"],
         "page": ["1", "3", "0", "-1", str(2**63)]},
        lambda rng, s: "/staff/audit", accepted=(200,), method="GET"),
    Form("board filter", "/staff/", lambda rng, s: {"filter": _one_of(rng, ["", "overdue", "due", "missed"])},
         {"filter": ["overdue"]}, lambda rng, s: "/staff/", accepted=(200,), method="GET"),
]
FORMS = {form.name: form for form in PATIENT_FORMS + STAFF_FORMS}
