"""A backup of an N-participant database while submissions continue, beside a floor.

Usage: .venv/bin/python benchmarks/backup.py [--participants 20000] [--rounds 3] [--clients 2]

- backup: services.backup.take_backup, what `flask --app app backup FILE` runs: SQLite's backup
  API in steps inside one read snapshot, then the copy's integrity_check and row counts, fsync,
  rename and directory fsync. Meanwhile the real app under gunicorn (2 sync workers, as in
  benchmarks/submission.py) takes VAS submissions from CLIENTS threads without pause, each a
  first answer stored with an fsync.
- floor: the plain sqlite3 backup API, ``src.backup(dst)``, of the same file: no app code, no
  verification, no load.

The trial is the simulated one of benchmarks/_harness.py (cached in /tmp/pro-benchmarks),
migrated to the current schema, with participants enrolled through the app's services to take
the submissions (their links open now). Prints medians over the rounds: seconds of the backup,
of the floor, their ratio, the submissions completed while each backup ran (every one must get
its redirect), and, to show where the time goes, the copy's verification alone with no load.
"""
from __future__ import annotations

import argparse
import os
import shutil
import sqlite3
import tempfile
import threading
import time
from pathlib import Path
from statistics import median

from _harness import trial_database
from submission import Server, post, prepare

WARM_SUBMISSIONS = 20     # completed before a backup starts: the load is running
WAIT_SECONDS = 60
ALONE_SECONDS = 1         # the submissions' rate with no backup running, for comparison


class Load:
    """CLIENTS threads POSTing VAS answers, one link each, until stopped; when each completed."""

    def __init__(self, port: int, tokens: list[str], clients: int):
        self.port, self.tokens, self.clients = port, iter(tokens), clients
        self.lock = threading.Lock()
        self.done: list[float] = []
        self.failed: list[int] = []
        self.exhausted = False
        self.stop = threading.Event()
        self.threads: list[threading.Thread] = []

    def _next(self) -> str | None:
        with self.lock:
            token = next(self.tokens, None)
            self.exhausted = self.exhausted or token is None
            return token

    def _client(self) -> None:
        while not self.stop.is_set() and (token := self._next()) is not None:
            status = post(self.port, f"/f/{token}/vas", len(self.done) % 101)
            with self.lock:
                (self.done.append(time.perf_counter()) if status == 303 else self.failed.append(status))

    def __enter__(self) -> Load:
        self.stop.clear()
        self.threads = [threading.Thread(target=self._client) for _ in range(self.clients)]
        for thread in self.threads:
            thread.start()
        deadline = time.monotonic() + WAIT_SECONDS
        start = len(self.done)
        while len(self.done) < start + WARM_SUBMISSIONS:
            if time.monotonic() > deadline or not any(t.is_alive() for t in self.threads):
                raise RuntimeError("the submissions did not start")
            time.sleep(0.01)
        return self

    def __exit__(self, *_exc) -> None:
        self.stop.set()
        for thread in self.threads:
            thread.join()

    def between(self, start: float, end: float) -> int:
        with self.lock:
            return sum(1 for moment in self.done if start <= moment <= end)


def floor(source: Path, target: Path) -> float:
    target.unlink(missing_ok=True)
    started = time.perf_counter()
    src, dst = sqlite3.connect(source), sqlite3.connect(target)
    src.backup(dst)
    src.close()
    dst.close()
    took = time.perf_counter() - started
    target.unlink()
    return took


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--participants", type=int, default=20_000)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--clients", type=int, default=2, help="client threads posting at once")
    parser.add_argument("--links", type=int, default=None,
                        help="participants enrolled to take the submissions (default: a quarter as many, at least 1,500)")
    args = parser.parse_args()
    args.links = args.links or max(1_500, args.participants // 4)

    from services import backup
    from storage import backup as database_files

    with tempfile.TemporaryDirectory(prefix="backup-bench-") as tmp:
        folder = Path(tmp)
        database = folder / "spine-pro.sqlite3"
        shutil.copyfile(trial_database(args.participants), database)
        started = time.perf_counter()
        tokens, _ = prepare(database, args.links)      # migrates too (init_db)
        print(f"{args.participants:,} simulated participants and {len(tokens):,} with a baseline link, "
              f"prepared in {time.perf_counter() - started:.0f} s; {database.stat().st_size / 1e6:.0f} MB")
        floor(database, folder / "floor.sqlite3")     # the file in the page cache for both

        server = Server("app:create_app()", {"FLASK_DATABASE": str(database), "FLASK_SECRET_KEY": "benchmark",
                                             "FLASK_SMS_OUTBOX": str(folder / "outbox.jsonl")})
        load = Load(server.port, tokens, args.clients)
        took, during, rates = [], [], []
        try:
            with load:
                start = time.perf_counter()
                time.sleep(ALONE_SECONDS)
                alone = load.between(start, time.perf_counter()) / ALONE_SECONDS
            for round_ in range(args.rounds):
                target = folder / f"spine-pro-20260302-{round_:04d}.sqlite3"
                with load:
                    start = time.perf_counter()
                    written = backup.take_backup(database, target)
                    end = time.perf_counter()
                took.append(end - start)
                during.append(load.between(start, end))
                rates.append(during[-1] / took[-1])
                participants = written.summary.rows["participants"]
                target.unlink()
        finally:
            server.stop()
        if load.exhausted:
            raise RuntimeError("the submissions ran out of links during a backup: raise --links")
        if load.failed:
            raise RuntimeError(f"{len(load.failed)} submissions failed during the backups, e.g. {load.failed[0]}")

        floors = [floor(database, folder / "floor.sqlite3") for _ in range(args.rounds)]
        shutil.copyfile(database, folder / "copy.sqlite3")
        started = time.perf_counter()
        database_files.verify(folder / "copy.sqlite3")
        verify = time.perf_counter() - started

    backup_s = median(took)
    print(f"\n{args.participants:,} simulated participants ({participants:,} in the last copy, with those enrolled "
          f"for the submissions), {args.rounds} rounds, medians; {os.cpu_count()} CPUs; {args.clients} clients posting "
          f"to 2 gunicorn workers during each backup")
    print(f"{'backup s':>9} {'floor s':>8} {'ratio':>6} {'submissions during':>19} {'per s':>6} "
          f"{'per s, no backup':>17} {'verify alone s':>15}")
    print(f"{backup_s:>9.2f} {median(floors):>8.2f} {backup_s / median(floors):>6.1f} {median(during):>19,.0f} "
          f"{median(rates):>6.0f} {alone:>17.0f} {verify:>15.2f}")
    print(f"rounds: backup {' '.join(f'{t:.2f}' for t in took)}; floor {' '.join(f'{t:.2f}' for t in floors)}; "
          f"submissions {' '.join(str(n) for n in during)}; 0 failed")


if __name__ == "__main__":
    main()
