"""A patient's VAS submission under gunicorn, beside a bare Flask + sqlite3 app doing the least a
submission must do.

Usage: .venv/bin/python benchmarks/submission.py [--requests 1000] [--clients 4] [--rounds 12] [--profile]

Both apps run under gunicorn with WORKERS sync workers on a real SQLite file (copies of one
prepared trial), and take the same concurrent HTTP POSTs (http.client, one TCP connection per
request: sync workers close it after each response). Every POST goes to a different participant,
so each is a real first answer that is stored with an fsync.

- app: the real app, POST /f/<token>/vas: the link resolved, the form read and validated, the
  answer scored, stored and audited, a redirect to the next form.
- floor: a bare Flask app, POST /f/<participant id>/vas: the form read, one INSERT of the same
  answer row into the same responses table (its trigger included) inside BEGIN IMMEDIATE, with the
  app's pragmas (WAL, synchronous=FULL), one connection kept per worker; a 303.
- floor, a connection per request: the same, opening and closing a connection per request (the
  earlier benchmark's floor; closing the last connection checkpoints the WAL).

A round POSTs REQUESTS to the app and the floor back to back (which goes first alternates from
round to round), then to the floor with a connection per request. The machine may be shared and
its speed drifts, so each round's ratio compares two runs a second or two apart, and the figures
printed are medians over the rounds: requests/s of each, the ratio app/floor (goal: at
least 0.8), the SQL statements of one warm in-process POST of each, counted with sqlite3's
trace callback (connection pragmas included when a request opens a connection; the repeats
SQLite reports for a trigger's subprograms left out, as tests/test_submission.py does), and the
CPU time the workers spent per POST (from /proc: steadier than requests/s on a busy machine,
but blind to time spent waiting for the write lock, which the workers take in turn).
--profile prints a cProfile of in-process POSTs through Flask's test client first.
"""
from __future__ import annotations

import argparse
import cProfile
import http.client
import json
import os
import pstats
import shutil
import socket
import sqlite3
import subprocess
import sys
import tempfile
import threading
import time
from contextlib import contextmanager
from datetime import date, datetime, timedelta, timezone
from pathlib import Path
from statistics import median

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from tests.sql_trace import sent  # noqa: E402

WORKERS = 2
BIN = Path(sys.executable).parent
# Baseline (VAS, ODI, medication) is open in the 30 days before the procedure: a week ahead, every
# link is valid now, by the real clock the served app reads.
PROCEDURE_IN_DAYS = 7
FORM = "version=1.0&mode=line&vas_mm={mm}"
SERVER_START_SECONDS = 30
BARE_DATABASE = "SUBMISSION_BARE_DATABASE"        # environment of the floor's workers
BARE_PER_REQUEST = "SUBMISSION_BARE_PER_REQUEST"


# --- the floor -----------------------------------------------------------------------------------

def _connect(path: str) -> sqlite3.Connection:
    """The app's pragmas (storage.connection.open_db), on a bare sqlite3 connection."""
    connection = sqlite3.connect(path, isolation_level=None, timeout=5)
    connection.execute("PRAGMA busy_timeout = 5000")
    connection.execute("PRAGMA foreign_keys = ON")
    connection.execute("PRAGMA synchronous = FULL")
    connection.execute("PRAGMA journal_mode = WAL")
    return connection


def bare_app(path: str | None = None, per_request: bool | None = None):
    """The floor: read the form, insert the answer in one transaction, redirect."""
    from flask import Flask, redirect, request

    path = path or os.environ[BARE_DATABASE]
    per_request = bool(os.environ.get(BARE_PER_REQUEST)) if per_request is None else per_request
    app = Flask("floor")
    kept: dict[int, sqlite3.Connection] = {}     # by process id: never used across a fork

    @app.post("/f/<int:participant_id>/vas")
    def vas(participant_id: int):
        mm = int(request.form["vas_mm"])
        if not 0 <= mm <= 100 or request.form["version"] != "1.0":
            return "bad", 400
        if per_request:
            connection = _connect(path)
        else:
            if os.getpid() not in kept:
                kept[os.getpid()] = _connect(path)
            connection = kept[os.getpid()]
        now = datetime.now(timezone.utc).isoformat(timespec="seconds")
        connection.execute("BEGIN IMMEDIATE")
        connection.execute(
            "INSERT OR IGNORE INTO responses (participant_id, timepoint, instrument, instrument_version, version, "
            "answers, scores, input_mode, source, submitted_at, recorded_by) VALUES (?, 'baseline', 'vas', '1.0', 1, "
            "?, ?, 'line', 'web', ?, 'participant')",
            [participant_id, json.dumps({"mode": "line", "value": mm}, sort_keys=True),
             json.dumps({"vas_cm": mm / 10, "vas_mm": mm, "vas_mode": "line"}, sort_keys=True), now])
        connection.execute("COMMIT")
        if per_request:
            connection.close()
        return redirect(f"/f/{participant_id}/odi", 303)

    return app


# --- the trial -----------------------------------------------------------------------------------

def prepare(path: Path, count: int) -> tuple[list[str], list[int]]:
    """``count`` participants enrolled through the app's services, each with a baseline link:
    (tokens, participant ids), in the same order."""
    from app import create_app
    from services import enrollment, links
    from storage import init_db
    from storage.connection import open_db

    init_db(path)
    app = create_app({"DATABASE": str(path), "SECRET_KEY": "benchmark"})
    protocol = app.extensions["protocol"]
    now = datetime.now(timezone.utc)
    db = open_db(path)
    db.execute("PRAGMA synchronous = OFF")   # setting up is not what is measured
    tokens, ids = [], []
    try:
        for n in range(count):
            clean = enrollment.validate_enrollment(
                protocol, ["en"], study_id=f"S-{n:06d}", arm="AB"[n % 2], phone=None, timezone="UTC",
                language="en", procedure_date=date.today() + timedelta(days=PROCEDURE_IN_DAYS))
            ids.append(enrollment.enroll(db, protocol, clean, actor="benchmark", now=now)["id"])
            tokens.append(links.issue_link(db, clean.study_id, "baseline", actor="benchmark", now=now)[0])
    finally:
        db.close()   # the last connection: the WAL is checkpointed, the file can be copied alone
    return tokens, ids


# --- in process: statements and profile -----------------------------------------------------------



class Statements:
    """Counts the statements of every connection opened while it is installed, while counting."""

    def __init__(self):
        self.seen: list[str] | None = None

    @contextmanager
    def installed(self):
        connect = sqlite3.connect

        def traced(*args, **kwargs):
            connection = connect(*args, **kwargs)
            connection.set_trace_callback(self._report)
            return connection

        sqlite3.connect = traced
        try:
            yield self
        finally:
            sqlite3.connect = connect

    def _report(self, statement: str) -> None:
        if self.seen is not None:
            self.seen.append(statement)

    def of_post(self, client, paths: list[str]) -> list[str]:
        """The statements of the second of two POSTs (the first warms the worker: its connection)."""
        client.post(paths[0], data=FORM.format(mm=10), content_type="application/x-www-form-urlencoded")
        self.seen = []
        try:
            response = client.post(paths[1], data=FORM.format(mm=20), content_type="application/x-www-form-urlencoded")
        finally:
            seen, self.seen = self.seen, None
        assert response.status_code == 303, response.status_code
        return sent(seen)


def in_process(folder: Path, prepared: Path, tokens: list[str], ids: list[int], profile: int,
               show: bool) -> tuple[int, int, int]:
    from app import create_app

    shutil.copyfile(prepared, folder / "inproc-app.sqlite3")
    shutil.copyfile(prepared, folder / "inproc-bare.sqlite3")
    app = create_app({"DATABASE": str(folder / "inproc-app.sqlite3"), "SECRET_KEY": "benchmark",
                      "SMS_OUTBOX": str(folder / "outbox.jsonl")})
    with Statements().installed() as statements:
        app_statements = statements.of_post(app.test_client(), [f"/f/{t}/vas" for t in tokens[:2]])
        bare = statements.of_post(bare_app(str(folder / "inproc-bare.sqlite3"), False).test_client(),
                                  [f"/f/{i}/vas" for i in ids[:2]])
        per_request = statements.of_post(bare_app(str(folder / "inproc-bare.sqlite3"), True).test_client(),
                                         [f"/f/{i}/vas" for i in ids[2:4]])
    if show:
        print("statements of one app POST:")
        for statement in app_statements:
            print("   ", statement[:110])
    if profile:
        client = app.test_client()
        profiler = cProfile.Profile()
        started = time.perf_counter()
        profiler.enable()
        for n, token in enumerate(tokens[4:4 + profile]):
            client.post(f"/f/{token}/vas", data=FORM.format(mm=n % 101),
                        content_type="application/x-www-form-urlencoded")
        profiler.disable()
        print(f"in process, profiled: {(time.perf_counter() - started) / profile * 1000:.2f} ms per POST")
        stats = pstats.Stats(profiler)
        stats.sort_stats("cumulative").print_stats(30)
        stats.sort_stats("tottime").print_stats(15)
    return len(app_statements), len(bare), len(per_request)


# --- under gunicorn ------------------------------------------------------------------------------

def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


class Server:
    """gunicorn with WORKERS sync workers serving ``target`` on a free local port."""

    def __init__(self, target: str, env: dict[str, str], pythonpath: Path = ROOT):
        self.port = _free_port()
        self.process = subprocess.Popen(
            [str(BIN / "gunicorn"), "--workers", str(WORKERS), "--worker-class", "sync",
             "--bind", f"127.0.0.1:{self.port}", "--pythonpath", str(pythonpath), "--log-level", "warning", target],
            cwd=ROOT, env={**os.environ, **env})
        deadline = time.monotonic() + SERVER_START_SECONDS
        while True:
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=1).close()
                break
            except OSError:
                if self.process.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError(f"gunicorn for {target} did not start") from None
                time.sleep(0.1)

    def cpu_seconds(self) -> float:
        """User and system CPU its workers have used so far (Linux /proc; NaN elsewhere)."""
        master = self.process.pid
        try:
            workers = Path(f"/proc/{master}/task/{master}/children").read_text().split()
            ticks = sum(int(field) for pid in workers
                        for field in Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[11:13])
        except OSError:
            return float("nan")
        return ticks / os.sysconf("SC_CLK_TCK")

    def stop(self) -> None:
        self.process.terminate()
        self.process.wait(timeout=30)


def post(port: int, path: str, mm: int) -> int:
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    try:
        connection.request("POST", path, FORM.format(mm=mm), {"Content-Type": "application/x-www-form-urlencoded"})
        response = connection.getresponse()
        response.read()
        return response.status
    finally:
        connection.close()


def load(port: int, paths: list[str], clients: int) -> float:
    """Requests per second for ``paths``, POSTed by ``clients`` threads at once; every one must be a 303."""
    failures: list[int] = []

    def client(share: list[str]) -> None:
        for n, path in enumerate(share):
            status = post(port, path, n % 101)
            if status != 303:
                failures.append(status)

    threads = [threading.Thread(target=client, args=(paths[n::clients],)) for n in range(clients)]
    started = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    took = time.perf_counter() - started
    if failures:
        raise RuntimeError(f"{len(failures)} POSTs failed, e.g. status {failures[0]}")
    return len(paths) / took


def stored(path: Path) -> int:
    connection = sqlite3.connect(path)
    try:
        return connection.execute("SELECT COUNT(*) FROM responses").fetchone()[0]
    finally:
        connection.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--requests", type=int, default=1000, help="POSTs per round and server")
    parser.add_argument("--clients", type=int, default=4, help="client threads posting at once")
    parser.add_argument("--rounds", type=int, default=12)
    parser.add_argument("--warm", type=int, default=50, help="POSTs to each server before timing")
    parser.add_argument("--profile", type=int, nargs="?", const=1000, default=0, metavar="POSTS",
                        help="print a cProfile of this many in-process POSTs")
    parser.add_argument("--show-statements", action="store_true")
    args = parser.parse_args()
    per_server = args.warm + args.rounds * args.requests
    with tempfile.TemporaryDirectory(prefix="submission-") as tmp:
        folder = Path(tmp)
        prepared = folder / "prepared.sqlite3"
        local = 4 + args.profile
        started = time.perf_counter()
        tokens, ids = prepare(prepared, local + per_server)   # each server has its own copy
        print(f"{len(tokens):,} participants with a baseline link, prepared in {time.perf_counter() - started:.0f} s")
        app_statements, bare_statements, per_request_statements = in_process(
            folder, prepared, tokens[:local], ids[:local], args.profile, args.show_statements)
        tokens, ids = tokens[local:], ids[local:]

        servers = {}
        for name in ("app", "floor", "floor, a connection per request"):
            database = folder / f"{name.split(',')[0]}-{len(servers)}.sqlite3"
            shutil.copyfile(prepared, database)
            if name == "app":
                server = Server("app:create_app()", {"FLASK_DATABASE": str(database), "FLASK_SECRET_KEY": "benchmark",
                                                     "FLASK_SMS_OUTBOX": str(folder / "outbox.jsonl")})
                paths = [f"/f/{token}/vas" for token in tokens]
            else:
                server = Server("submission:bare_app()", {BARE_DATABASE: str(database),
                                                          BARE_PER_REQUEST: "1" if "per request" in name else ""},
                                pythonpath=ROOT / "benchmarks")
                paths = [f"/f/{pid}/vas" for pid in ids]
            servers[name] = (server, database, paths)
        rates: dict[str, list[float]] = {name: [] for name in servers}
        cpu: dict[str, list[float]] = {name: [] for name in servers}   # worker CPU ms per POST
        try:
            for name, (server, _, paths) in servers.items():
                load(server.port, paths[:args.warm], args.clients)
            for round_ in range(args.rounds):
                # The two compared back to back, in turns first; then the connection-per-request floor.
                pair = ["app", "floor"] if round_ % 2 == 0 else ["floor", "app"]
                for name in [*pair, "floor, a connection per request"]:
                    server, _, paths = servers[name]
                    start = args.warm + round_ * args.requests
                    used = server.cpu_seconds()
                    rates[name].append(load(server.port, paths[start:start + args.requests], args.clients))
                    cpu[name].append((server.cpu_seconds() - used) * 1000 / args.requests)
        finally:
            for server, _, _ in servers.values():
                server.stop()
        for name, (_, database, paths) in servers.items():
            assert stored(database) == len(paths), (name, stored(database), len(paths))

        print(f"\n{WORKERS} sync gunicorn workers, {args.clients} clients, {args.requests:,} POSTs a round, "
              f"{args.rounds} rounds, medians; {os.cpu_count()} CPUs")
        print(f"{'server':<34} {'requests/s':>10} {'min':>6} {'max':>6} {'vs floor':>9} {'SQL/POST':>9} "
              f"{'CPU ms/POST':>12}")
        for name, statements in (("app", app_statements), ("floor", bare_statements),
                                 ("floor, a connection per request", per_request_statements)):
            ratio = median(mine / floor for mine, floor in zip(rates[name], rates["floor"]))
            print(f"{name:<34} {median(rates[name]):>10.0f} {min(rates[name]):>6.0f} {max(rates[name]):>6.0f} "
                  f"{ratio:>9.2f} {statements:>9} {median(cpu[name]):>12.2f}")
        ratios = [app / floor for app, floor in zip(rates["app"], rates["floor"])]
        print(f"\nratio app/floor: {median(ratios):.2f} (goal >= 0.80; rounds: {' '.join(f'{r:.2f}' for r in ratios)}); "
              f"app/floor with a connection per request: "
              f"{median(a / f for a, f in zip(rates['app'], rates['floor, a connection per request'])):.2f}")
        print(f"worker CPU per POST, floor/app: {median(f / a for a, f in zip(cpu['app'], cpu['floor'])):.2f} "
              "(steadier on a shared machine; blind to the time workers wait for the write lock)")

if __name__ == "__main__":
    main()
