"""Schema changes as named, ordered migrations; applying them again is a no-op."""
from __future__ import annotations

import sqlite_utils
from sqlite_utils.migrations import Migrations

MIGRATIONS = Migrations("spine_pro")


def _append_only(db: sqlite_utils.Database, table: str) -> None:
    for event in ("UPDATE", "DELETE"):
        db.execute(
            f"CREATE TRIGGER IF NOT EXISTS {table}_no_{event.lower()} BEFORE {event} ON {table} "
            f"BEGIN SELECT RAISE(ABORT, '{table} is append-only'); END"
        )


def _statements(db: sqlite_utils.Database, script: str) -> None:
    for statement in script.split(";"):
        if statement.strip():
            db.execute(statement)


@MIGRATIONS()
def m001_initial(db: sqlite_utils.Database) -> None:
    # One statement at a time: sqlite3's executescript() would COMMIT the migration's
    # transaction before running, leaving a half-applied schema on failure.
    _statements(db, """
        CREATE TABLE participants (
            id INTEGER PRIMARY KEY,
            study_id TEXT NOT NULL UNIQUE,
            arm TEXT NOT NULL,
            phone TEXT,
            timezone TEXT NOT NULL,
            language TEXT NOT NULL,
            procedure_date TEXT,
            status TEXT NOT NULL DEFAULT 'active' CHECK (status IN ('active', 'withdrawn')),
            sms_opt_out INTEGER NOT NULL DEFAULT 0 CHECK (sms_opt_out IN (0, 1)),
            enrolled_at TEXT NOT NULL,
            enrolled_by TEXT NOT NULL
        );
        CREATE TABLE timepoints (
            id INTEGER PRIMARY KEY,
            participant_id INTEGER NOT NULL REFERENCES participants(id),
            timepoint TEXT NOT NULL,
            due_date TEXT NOT NULL,
            opens_at TEXT NOT NULL,
            closes_at TEXT NOT NULL,
            completed_at TEXT,
            UNIQUE (participant_id, timepoint)
        );
        CREATE INDEX timepoints_window ON timepoints (opens_at, closes_at);
        CREATE TABLE responses (
            id INTEGER PRIMARY KEY,
            participant_id INTEGER NOT NULL REFERENCES participants(id),
            timepoint TEXT NOT NULL,
            instrument TEXT NOT NULL,
            instrument_version TEXT NOT NULL,
            version INTEGER NOT NULL CHECK (version >= 1),
            answers TEXT NOT NULL CHECK (json_valid(answers)),
            scores TEXT NOT NULL CHECK (json_valid(scores)),
            input_mode TEXT NOT NULL,
            source TEXT NOT NULL CHECK (source IN ('web', 'sms', 'paper')),
            submitted_at TEXT NOT NULL,
            recorded_by TEXT NOT NULL,
            UNIQUE (participant_id, timepoint, instrument, version)
        );
        CREATE TABLE link_tokens (
            id INTEGER PRIMARY KEY,
            token_hash TEXT NOT NULL UNIQUE,
            participant_id INTEGER NOT NULL REFERENCES participants(id),
            timepoint TEXT NOT NULL,
            created_at TEXT NOT NULL,
            expires_at TEXT NOT NULL,
            created_by TEXT NOT NULL,
            FOREIGN KEY (participant_id, timepoint) REFERENCES timepoints(participant_id, timepoint)
        );
        CREATE TABLE audit_log (
            id INTEGER PRIMARY KEY,
            at TEXT NOT NULL,
            actor TEXT NOT NULL,
            action TEXT NOT NULL,
            entity TEXT NOT NULL,
            entity_id TEXT,
            before TEXT CHECK (before IS NULL OR json_valid(before)),
            after TEXT CHECK (after IS NULL OR json_valid(after)),
            reason TEXT
        );
        CREATE INDEX audit_log_entity ON audit_log (entity, entity_id);
        """)
    _append_only(db, "responses")
    _append_only(db, "audit_log")


@MIGRATIONS()
def m002_reminders_and_messages(db: sqlite_utils.Database) -> None:
    _statements(db, """
        ALTER TABLE participants ADD COLUMN phone_problem TEXT;
        CREATE TABLE reminders (
            id INTEGER PRIMARY KEY,
            participant_id INTEGER NOT NULL REFERENCES participants(id),
            timepoint TEXT NOT NULL,
            attempt INTEGER NOT NULL CHECK (attempt >= 1),
            planned_at TEXT NOT NULL,
            due_at TEXT NOT NULL,
            status TEXT NOT NULL DEFAULT 'pending'
                CHECK (status IN ('pending', 'sending', 'sent', 'cancelled', 'failed')),
            tries INTEGER NOT NULL DEFAULT 0,
            claimed_by TEXT,
            claimed_at TEXT,
            reason TEXT,
            updated_at TEXT NOT NULL,
            UNIQUE (participant_id, timepoint, attempt),
            FOREIGN KEY (participant_id, timepoint) REFERENCES timepoints(participant_id, timepoint)
        );
        CREATE INDEX reminders_due ON reminders (status, due_at);
        CREATE TABLE messages (
            id INTEGER PRIMARY KEY,
            direction TEXT NOT NULL CHECK (direction IN ('outbound', 'inbound')),
            participant_id INTEGER REFERENCES participants(id),
            reminder_id INTEGER REFERENCES reminders(id),
            to_number TEXT,
            from_number TEXT,
            body TEXT NOT NULL,
            token_hash TEXT,
            gateway TEXT,
            sid TEXT,
            status TEXT NOT NULL,
            error_code INTEGER,
            segments INTEGER,
            encoding TEXT,
            created_at TEXT NOT NULL,
            sent_at TEXT,
            status_at TEXT
        );
        CREATE INDEX messages_in_doubt ON messages (status, created_at);
        CREATE INDEX messages_sid ON messages (sid);
        CREATE UNIQUE INDEX messages_inbound_sid ON messages (sid) WHERE direction = 'inbound';
        CREATE INDEX messages_participant ON messages (participant_id)
        """)


@MIGRATIONS()
def m003_staff_randomization_contacts(db: sqlite_utils.Database) -> None:
    _statements(db, """
        CREATE TABLE users (
            id INTEGER PRIMARY KEY,
            email TEXT NOT NULL UNIQUE COLLATE NOCASE,
            password_hash TEXT NOT NULL,
            role TEXT NOT NULL CHECK (role IN ('nurse', 'investigator', 'admin')),
            active INTEGER NOT NULL DEFAULT 1,
            created_at TEXT NOT NULL
        );
        CREATE TABLE login_attempts (
            id INTEGER PRIMARY KEY,
            email TEXT NOT NULL COLLATE NOCASE,
            ip TEXT,
            at TEXT NOT NULL,
            success INTEGER NOT NULL
        );
        CREATE INDEX login_attempts_recent ON login_attempts (email, at);
        CREATE TABLE randomization_lists (
            id INTEGER PRIMARY KEY,
            seed TEXT NOT NULL,
            per_stratum INTEGER NOT NULL,
            block_sizes TEXT NOT NULL,
            created_at TEXT NOT NULL,
            created_by TEXT NOT NULL
        );
        CREATE TABLE allocations (
            id INTEGER PRIMARY KEY,
            list_id INTEGER NOT NULL REFERENCES randomization_lists(id),
            stratum TEXT NOT NULL,
            position INTEGER NOT NULL,
            arm TEXT NOT NULL,
            block INTEGER NOT NULL,
            block_size INTEGER NOT NULL,
            participant_id INTEGER UNIQUE REFERENCES participants(id),
            allocated_at TEXT,
            UNIQUE (list_id, stratum, position)
        );
        CREATE INDEX allocations_next ON allocations (stratum, participant_id, list_id, position);
        ALTER TABLE participants ADD COLUMN punctures INTEGER;
        ALTER TABLE participants ADD COLUMN stratum TEXT;
        ALTER TABLE participants ADD COLUMN allocation TEXT NOT NULL DEFAULT 'external';
        ALTER TABLE participants ADD COLUMN allocation_reason TEXT;
        ALTER TABLE participants ADD COLUMN withdrawn_at TEXT;
        ALTER TABLE participants ADD COLUMN withdrawal_reason TEXT;
        ALTER TABLE reminders ADD COLUMN requested_by TEXT;
        CREATE TABLE contacts (
            id INTEGER PRIMARY KEY,
            participant_id INTEGER NOT NULL REFERENCES participants(id),
            at TEXT NOT NULL,
            by_user TEXT NOT NULL,
            kind TEXT NOT NULL,
            outcome TEXT NOT NULL,
            timepoint TEXT,
            note TEXT
        )
        """)
    _append_only(db, "contacts")
    # An allocation is final: once a row is used it can never change hands, and no row goes.
    db.execute("CREATE TRIGGER allocations_final BEFORE UPDATE ON allocations "
               "WHEN OLD.participant_id IS NOT NULL "
               "BEGIN SELECT RAISE(ABORT, 'an allocation is final'); END")
    db.execute("CREATE TRIGGER allocations_no_delete BEFORE DELETE ON allocations "
               "BEGIN SELECT RAISE(ABORT, 'an allocation is final'); END")


@MIGRATIONS()
def m004_settings_and_reply_handling(db: sqlite_utils.Database) -> None:
    _statements(db, """
        CREATE TABLE trial_settings (
            key TEXT PRIMARY KEY,
            value TEXT NOT NULL,
            set_at TEXT NOT NULL,
            set_by TEXT NOT NULL
        );
        ALTER TABLE messages ADD COLUMN handled_at TEXT;
        ALTER TABLE messages ADD COLUMN handled_by TEXT;
        CREATE INDEX messages_inbox ON messages (direction, handled_at, created_at)
        """)


@MIGRATIONS()
def m005_clinician_forms_and_screening(db: sqlite_utils.Database) -> None:
    # One row per version of a clinician form: baseline characteristics and the procedure record
    # (item 0), adverse events (item 1, 2, ... per participant), eligibility at enrollment. Like the
    # answers, append-only: an edit is a new version with who and why.
    _statements(db, """
        CREATE TABLE crf_records (
            id INTEGER PRIMARY KEY,
            participant_id INTEGER NOT NULL REFERENCES participants(id),
            form TEXT NOT NULL CHECK (form IN ('baseline', 'procedure', 'adverse_event', 'eligibility')),
            item INTEGER NOT NULL DEFAULT 0 CHECK (item >= 0),
            version INTEGER NOT NULL CHECK (version >= 1),
            data TEXT NOT NULL CHECK (json_valid(data)),
            recorded_at TEXT NOT NULL,
            recorded_by TEXT NOT NULL,
            reason TEXT,
            CHECK (version = 1 OR reason IS NOT NULL),
            UNIQUE (participant_id, form, item, version)
        );
        CREATE TABLE screenings (
            id INTEGER PRIMARY KEY,
            screened_at TEXT NOT NULL,
            screened_by TEXT NOT NULL,
            answers TEXT NOT NULL CHECK (json_valid(answers)),
            failed TEXT NOT NULL CHECK (json_valid(failed)),
            outcome TEXT NOT NULL CHECK (outcome IN ('enrolled', 'not_enrolled', 'enrolled_by_override')),
            override_reason TEXT,
            CHECK (outcome != 'enrolled_by_override' OR override_reason IS NOT NULL)
        )
        """)
    _append_only(db, "crf_records")
    _append_only(db, "screenings")


@MIGRATIONS()
def m006_link_language(db: sqlite_utils.Database) -> None:
    # The language a patient chose on a link's pages; NULL: the participant's own.
    db.execute("ALTER TABLE link_tokens ADD COLUMN language TEXT")


# The scores the report reads, typed, one row per answer: the newest version of each participant's
# answer to each instrument at each timepoint. A trigger keeps it in step with the append-only
# responses whatever writes them (a form, the import, a correction), so no path can forget it, and
# readers get "the newest version" from its key instead of a MAX(version) per row. The columns are
# declared without a type so a value keeps the type it has in the scores JSON (3 stays an integer).
NEWEST_SCORES = ("vas_cm", "odi_score", "sat_procedure", "sat_results", "nsaid_mg_day", "mme_mg_day")


@MIGRATIONS()
def m007_newest_answers(db: sqlite_utils.Database) -> None:
    columns = ", ".join(NEWEST_SCORES)
    extracted = ", ".join(f"json_extract({{row}}.scores, '$.{name}')" for name in NEWEST_SCORES)
    updates = ", ".join(f"{name} = excluded.{name}" for name in ("response_id", "version", *NEWEST_SCORES))
    _statements(db, f"""
        CREATE TABLE newest_answers (
            participant_id INTEGER NOT NULL REFERENCES participants(id),
            timepoint TEXT NOT NULL,
            instrument TEXT NOT NULL,
            response_id INTEGER NOT NULL UNIQUE REFERENCES responses(id),
            version INTEGER NOT NULL,
            {", ".join(NEWEST_SCORES)},
            PRIMARY KEY (participant_id, timepoint, instrument)
        ) WITHOUT ROWID;
        INSERT INTO newest_answers (participant_id, timepoint, instrument, response_id, version, {columns})
            SELECT r.participant_id, r.timepoint, r.instrument, r.id, r.version, {extracted.format(row="r")}
            FROM responses r
            WHERE r.version = (SELECT MAX(v.version) FROM responses v WHERE v.participant_id = r.participant_id
                               AND v.timepoint = r.timepoint AND v.instrument = r.instrument)
        """)
    # One statement (its body holds semicolons): _statements would split it.
    db.execute(f"""
        CREATE TRIGGER responses_newest AFTER INSERT ON responses BEGIN
            INSERT INTO newest_answers (participant_id, timepoint, instrument, response_id, version, {columns})
                VALUES (NEW.participant_id, NEW.timepoint, NEW.instrument, NEW.id, NEW.version,
                        {extracted.format(row="NEW")})
                ON CONFLICT (participant_id, timepoint, instrument) DO UPDATE SET {updates}
                WHERE excluded.version > newest_answers.version;
        END""")


@MIGRATIONS()
def m008_session_version(db: sqlite_utils.Database) -> None:
    # A staff session carries its user's session_version; signing out (or anything that must end
    # every session of that user) raises it, and a cookie with an older one no longer signs in.
    db.execute("ALTER TABLE users ADD COLUMN session_version INTEGER NOT NULL DEFAULT 1")


@MIGRATIONS()
def m009_number_opt_outs(db: sqlite_utils.Database) -> None:
    # A STOP belongs to the number as well as to its participants: Twilio blocks the number, and a
    # participant enrolled onto it later (or moved to it) must get no SMS until START comes from it.
    db.execute("CREATE TABLE number_opt_outs (phone TEXT PRIMARY KEY, opted_out_at TEXT NOT NULL, "
               "reason TEXT NOT NULL) WITHOUT ROWID")


# A participant is active with no withdrawal time or reason, or withdrawn with both: the rule the
# forms keep, kept by the database too, whatever writes the row. An UPDATE is checked when it
# touches the withdrawal state, so a row from before this rule can still have its phone changed.
_WITHDRAWAL_STATE = ("((NEW.status = 'withdrawn' AND NEW.withdrawn_at IS NOT NULL AND NEW.withdrawal_reason IS NOT NULL "
                     "AND length(trim(NEW.withdrawal_reason)) > 0) OR (NEW.status = 'active' AND NEW.withdrawn_at IS NULL "
                     "AND NEW.withdrawal_reason IS NULL))")
_WITHDRAWAL_ERROR = "SELECT RAISE(ABORT, 'a participant is active, or withdrawn with a time and a reason')"


@MIGRATIONS()
def m010_withdrawal_state(db: sqlite_utils.Database) -> None:
    db.execute(f"CREATE TRIGGER participants_withdrawal_state_insert BEFORE INSERT ON participants "
               f"WHEN NOT {_WITHDRAWAL_STATE} BEGIN {_WITHDRAWAL_ERROR}; END")
    db.execute(f"CREATE TRIGGER participants_withdrawal_state_update BEFORE UPDATE ON participants "
               f"WHEN (NEW.status IS NOT OLD.status OR NEW.withdrawn_at IS NOT OLD.withdrawn_at "
               f"OR NEW.withdrawal_reason IS NOT OLD.withdrawal_reason) AND NOT {_WITHDRAWAL_STATE} "
               f"BEGIN {_WITHDRAWAL_ERROR}; END")


@MIGRATIONS()
def m011_sms_answers(db: sqlite_utils.Database) -> None:
    # A participant a nurse marked "SMS answers" gets the day1 and week1 pain question as an SMS to
    # reply to, not a link. Such an SMS carries a short random reference instead of a link token
    # (the reference is what crash recovery looks for at the provider: scheduler.recovery), and a
    # question answered ambiguously gets one clarifying SMS, recorded here so it is sent once. The
    # few answers that came by SMS are indexed for the nurses' board.
    _statements(db, """
        ALTER TABLE participants ADD COLUMN answers_by_sms INTEGER NOT NULL DEFAULT 0
            CHECK (answers_by_sms IN (0, 1));
        ALTER TABLE messages ADD COLUMN reference TEXT;
        CREATE TABLE sms_clarifications (
            participant_id INTEGER NOT NULL REFERENCES participants(id),
            timepoint TEXT NOT NULL,
            message_id INTEGER NOT NULL REFERENCES messages(id),
            clarified_at TEXT NOT NULL,
            PRIMARY KEY (participant_id, timepoint),
            FOREIGN KEY (participant_id, timepoint) REFERENCES timepoints(participant_id, timepoint)
        ) WITHOUT ROWID;
        CREATE INDEX responses_by_sms ON responses (participant_id) WHERE source = 'sms'
        """)


@MIGRATIONS()
def m012_submission_keys(db: sqlite_utils.Database) -> None:
    # A patient's phone names each submission with a random key (and, when it was kept on the phone
    # while the connection was down, the time it was answered): the same submission sent twice is
    # the same answer, however often it arrives. Unique, so no key can name two answers.
    _statements(db, """
        ALTER TABLE responses ADD COLUMN submission_key TEXT;
        ALTER TABLE responses ADD COLUMN answered_at TEXT;
        CREATE UNIQUE INDEX responses_submission_key ON responses (submission_key) WHERE submission_key IS NOT NULL
        """)


@MIGRATIONS()
def m013_password_resets(db: sqlite_utils.Database) -> None:
    # A one-time link to set a staff password (a new account's first one, or a reset): only the
    # token's hash is kept, as for patient links. A link ends used or voided (a newer link for the
    # same user, or the user deactivated), and an ended link never opens again, whatever writes.
    _statements(db, """
        CREATE TABLE password_resets (
            id INTEGER PRIMARY KEY,
            user_id INTEGER NOT NULL REFERENCES users(id),
            token_hash TEXT NOT NULL UNIQUE,
            created_at TEXT NOT NULL,
            expires_at TEXT NOT NULL,
            created_by TEXT NOT NULL,
            used_at TEXT,
            voided_at TEXT,
            CHECK (used_at IS NULL OR voided_at IS NULL)
        );
        CREATE INDEX password_resets_open ON password_resets (user_id) WHERE used_at IS NULL AND voided_at IS NULL
        """)
    db.execute("CREATE TRIGGER password_resets_final BEFORE UPDATE ON password_resets "
               "WHEN OLD.used_at IS NOT NULL OR OLD.voided_at IS NOT NULL "
               "BEGIN SELECT RAISE(ABORT, 'a used or voided password link is final'); END")
    db.execute("CREATE TRIGGER password_resets_no_delete BEFORE DELETE ON password_resets "
               "BEGIN SELECT RAISE(ABORT, 'password links are kept'); END")


# A participant's opt-in to WhatsApp is the time, the source and the wording's version together, or
# none of them (never part of one), whatever writes the row.
_OPT_IN_STATE = ("((NEW.whatsapp_opt_in_at IS NULL AND NEW.whatsapp_opt_in_source IS NULL "
                 "AND NEW.whatsapp_opt_in_version IS NULL) OR (NEW.whatsapp_opt_in_at IS NOT NULL "
                 "AND NEW.whatsapp_opt_in_source IN ('clinic', 'patient_message') "
                 "AND NEW.whatsapp_opt_in_version IS NOT NULL))")
_OPT_IN_ERROR = "SELECT RAISE(ABORT, 'a WhatsApp opt-in has a time, a source and a wording version, or none')"


@MIGRATIONS()
def m014_whatsapp(db: sqlite_utils.Database) -> None:
    # WhatsApp as a second channel (issue 18). A participant's channel (sms, the default, or
    # whatsapp) and their opt-in to WhatsApp; a number WhatsApp does not know is flagged apart from
    # the phone's own problem (SMS may still reach it). A reminder may be forced onto a channel: the
    # one SMS that replaces a failed WhatsApp reminder, made in the transaction that records the
    # failure, at most once per failed reminder (the unique index). Messages keep their channel, the
    # template they used, when they were delivered and read, and an inbound message's media. The
    # 24-hour window is read from the newest inbound WhatsApp message of a number (the partial
    # index). A status callback that arrives before its message's SID is recorded waits in
    # early_statuses, and is applied when the SID is.
    _statements(db, """
        ALTER TABLE participants ADD COLUMN channel TEXT NOT NULL DEFAULT 'sms' CHECK (channel IN ('sms', 'whatsapp'));
        ALTER TABLE participants ADD COLUMN whatsapp_opt_in_at TEXT;
        ALTER TABLE participants ADD COLUMN whatsapp_opt_in_source TEXT;
        ALTER TABLE participants ADD COLUMN whatsapp_opt_in_version TEXT;
        ALTER TABLE participants ADD COLUMN whatsapp_problem TEXT;
        ALTER TABLE reminders ADD COLUMN channel TEXT CHECK (channel IS NULL OR channel IN ('sms', 'whatsapp'));
        ALTER TABLE reminders ADD COLUMN fallback_of INTEGER REFERENCES reminders(id);
        CREATE UNIQUE INDEX reminders_fallback_once ON reminders (fallback_of) WHERE fallback_of IS NOT NULL;
        ALTER TABLE messages ADD COLUMN channel TEXT NOT NULL DEFAULT 'sms' CHECK (channel IN ('sms', 'whatsapp'));
        ALTER TABLE messages ADD COLUMN content_sid TEXT;
        ALTER TABLE messages ADD COLUMN delivered_at TEXT;
        ALTER TABLE messages ADD COLUMN read_at TEXT;
        ALTER TABLE messages ADD COLUMN media TEXT CHECK (media IS NULL OR json_valid(media));
        CREATE INDEX messages_whatsapp_inbound ON messages (from_number, created_at)
            WHERE direction = 'inbound' AND channel = 'whatsapp';
        CREATE INDEX messages_reminder ON messages (reminder_id) WHERE reminder_id IS NOT NULL;
        CREATE TABLE early_statuses (
            sid TEXT NOT NULL,
            status TEXT NOT NULL,
            error_code INTEGER,
            at TEXT NOT NULL,
            PRIMARY KEY (sid, status)
        ) WITHOUT ROWID
        """)
    for event in ("INSERT", "UPDATE"):
        db.execute(f"CREATE TRIGGER participants_whatsapp_opt_in_{event.lower()} BEFORE {event} ON participants "
                   f"WHEN NOT {_OPT_IN_STATE} BEGIN {_OPT_IN_ERROR}; END")


@MIGRATIONS()
def m015_audit_reasons_index(db: sqlite_utils.Database) -> None:
    # The audit log's index answers one question: the reason given on an entity (an answer's
    # corrections, storage.responses and storage.answer_history). Only entries with a reason are in
    # it: most entries have none (each answer a patient sends, each link a reminder pass issues), and
    # are stored without an index to keep in step. Readers ask "reason IS NOT NULL", which lets
    # SQLite use the partial index (tests/test_storage.py checks their plans).
    _statements(db, """
        DROP INDEX audit_log_entity;
        CREATE INDEX audit_log_reasons ON audit_log (entity, entity_id) WHERE reason IS NOT NULL
        """)
