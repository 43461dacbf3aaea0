"""The Arabic patient pages against the English ones: bytes (raw and gzip, within the 14 KB of the
first round trip), render time, and the segments of every SMS in every shipped language.

Usage: .venv/bin/python benchmarks/arabic_pages.py [--runs 200]

The English page is the floor for the Arabic one: the same template, the same instrument, only
the catalogue differs, so the ratio is what Arabic costs (UTF-8 Arabic letters are two bytes).
"""
from __future__ import annotations

import argparse
import gzip
import statistics
import sys
import tempfile
import time
from datetime import datetime, timezone
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from flask_babel import force_locale  # noqa: E402
from flask_babel import gettext as _  # noqa: E402

from app import create_app  # noqa: E402
from scheduler.sms_text import count_segments  # noqa: E402
from services import enrollment, links  # noqa: E402
from storage import init_db  # noqa: E402
from storage.connection import open_db  # noqa: E402
from web.reminders import compose_body  # noqa: E402

NOW = datetime(2026, 3, 2, 12, 0, tzinfo=timezone.utc)
FIRST_ROUND_TRIP_BYTES = 14 * 1024
LINK = "https://pro.example.org/f/" + "A" * 24
LANGUAGES = ["en", "ar"]


def token_for(app, study_id: str, language: str) -> str:
    protocol = app.extensions["protocol"]
    clean = enrollment.validate_enrollment(protocol, LANGUAGES, study_id=study_id, arm="A", phone=None,
                                           timezone="Africa/Cairo", language=language, procedure_date=NOW.date())
    db = open_db(app.config["DATABASE"])
    try:
        enrollment.enroll(db, protocol, clean, actor="bench", now=NOW)
        return links.issue_link(db, study_id, "baseline", actor="bench", now=NOW)[0]
    finally:
        db.close()


def median_ms(fn, runs: int) -> float:
    samples = []
    for _run in range(runs):
        start = time.perf_counter()
        fn()
        samples.append((time.perf_counter() - start) * 1000)
    return statistics.median(samples)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--runs", type=int, default=200)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "bench.sqlite3"
        init_db(path)
        app = create_app({"DATABASE": str(path), "CLOCK": lambda: NOW, "TESTING": True, "LANGUAGES": LANGUAGES,
                          "BASE_URL": "https://pro.example.org"})
        client = app.test_client()
        tokens = {language: token_for(app, f"P-{language}", language) for language in LANGUAGES}
        print(f"{'page':<18} {'en raw':>8} {'ar raw':>8} {'en gzip':>8} {'ar gzip':>8} {'ar/en gzip':>10} "
              f"{'<14KB':>6} {'en ms':>7} {'ar ms':>7} {'ratio':>6}")
        for instrument in ("vas", "odi", "medication"):
            bodies, times = {}, {}
            for language, token in tokens.items():
                url = f"/f/{token}/{instrument}"
                bodies[language] = client.get(url).data
                times[language] = median_ms(lambda u=url: client.get(u), args.runs)
            packed = {language: len(gzip.compress(body, compresslevel=6)) for language, body in bodies.items()}
            print(f"{instrument:<18} {len(bodies['en']):>8,} {len(bodies['ar']):>8,} {packed['en']:>8,} "
                  f"{packed['ar']:>8,} {packed['ar'] / packed['en']:>9.2f}x "
                  f"{'yes' if packed['ar'] < FIRST_ROUND_TRIP_BYTES else 'NO':>6} {times['en']:>7.2f} "
                  f"{times['ar']:>7.2f} {times['ar'] / times['en']:>5.2f}x")
        print(f"\n{'SMS':<10} {'language':<9} {'encoding':<8} {'units':>6} {'segments':>9}")
        with app.test_request_context():
            for language in LANGUAGES:
                with force_locale(language):
                    texts = {"reminder": compose_body({"language": language}, LINK),
                             "help": _("These messages are reminders of questionnaires from your care team. "
                                       "To stop them, reply STOP. For anything else, please call your care team.")}
                for name, text in texts.items():
                    segments = count_segments(text)
                    print(f"{name:<10} {language:<9} {segments.encoding:<8} {segments.units:>6} {segments.count:>9}")


if __name__ == "__main__":
    main()
