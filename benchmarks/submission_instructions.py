"""Machine instructions per VAS submission, the app's beside the bare app's: a figure that does not
move with the load of a shared machine, as requests/s do (benchmarks/submission.py).

Usage: .venv/bin/python benchmarks/submission_instructions.py [--posts 100 600]
Needs valgrind (apt-get install valgrind).

Both apps of benchmarks/submission.py (the real app's POST /f/<token>/vas, and the bare Flask +
sqlite3 floor) take POSTs in-process, through their WSGI callable with the environ gunicorn would
hand them, each to a different participant of one prepared trial (a real first answer, stored with
its fsync). valgrind's cachegrind counts the instructions of a run of K1 POSTs and of K2 POSTs,
each after the same 20 warm-up POSTs, in a process of its own; (K2 - K1) / (K2 - K1 POSTs) is the
cost of one POST, start-up and warm-up cancelled out. Printed: instructions per POST of each, and
their ratio (app / floor). Instructions are not time (a cache miss or an fsync costs more than
one), but they count the CPU work a change adds or saves, to within a fraction of a percent.
"""
from __future__ import annotations

import argparse
import io
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
WARM = 20
FORM = "version=1.0&mode=line&vas_mm={mm}"


def environ(path: str, body: bytes) -> dict:
    """What gunicorn's sync worker hands the app for a phone's POST."""
    return {"REQUEST_METHOD": "POST", "SCRIPT_NAME": "", "PATH_INFO": path, "QUERY_STRING": "",
            "SERVER_NAME": "127.0.0.1", "SERVER_PORT": "8000", "SERVER_PROTOCOL": "HTTP/1.1",
            "CONTENT_TYPE": "application/x-www-form-urlencoded", "CONTENT_LENGTH": str(len(body)),
            "HTTP_HOST": "127.0.0.1:8000", "HTTP_CONNECTION": "close", "HTTP_ACCEPT_ENCODING": "identity",
            "HTTP_USER_AGENT": "Mozilla/5.0 (Linux; Android 8.0)", "REMOTE_ADDR": "127.0.0.1",
            "REMOTE_PORT": "5555", "wsgi.input": io.BytesIO(body), "wsgi.url_scheme": "http",
            "wsgi.errors": sys.stderr, "wsgi.multithread": False, "wsgi.multiprocess": True,
            "wsgi.run_once": False, "wsgi.version": (1, 0)}


def post_all(wsgi, paths: list[str], first: int) -> None:
    statuses: list[str] = []
    for number, path in enumerate(paths, first):
        body = wsgi(environ(path, FORM.format(mm=number % 101).encode()), lambda status, *_: statuses.append(status))
        b"".join(body)
        if hasattr(body, "close"):
            body.close()
    if not all(status.startswith("303") for status in statuses):
        raise SystemExit(f"a POST was not stored: {sorted(set(statuses))}")


def child(which: str, posts: int, prepared: Path, folder: Path) -> None:
    """One run under valgrind: WARM POSTs, then ``posts`` more, on a copy of the prepared trial."""
    sys.path[:0] = [str(ROOT), str(ROOT / "benchmarks")]
    import submission

    from app import create_app

    database = folder / f"{which}-{posts}.sqlite3"
    shutil.copyfile(prepared, database)
    data = json.loads((folder / "participants.json").read_text())
    if which == "app":
        app = create_app({"DATABASE": str(database), "SECRET_KEY": "benchmark",
                          "SMS_OUTBOX": str(folder / f"outbox-{posts}.jsonl")})
        paths = [f"/f/{token}/vas" for token in data["tokens"]]
    else:
        app = submission.bare_app(str(database), False)
        paths = [f"/f/{participant}/vas" for participant in data["ids"]]
    post_all(app.wsgi_app, paths[:WARM], 0)
    post_all(app.wsgi_app, paths[WARM:WARM + posts], WARM)


def instructions(which: str, posts: int, prepared: Path, folder: Path) -> int:
    env = {**os.environ, "PYTHONHASHSEED": "0", "OPENBLAS_NUM_THREADS": "1", "OMP_NUM_THREADS": "1"}
    run = subprocess.run(["valgrind", "--tool=cachegrind", "--cache-sim=no", "--cachegrind-out-file=/dev/null",
                          sys.executable, __file__, "--child", which, str(posts), str(prepared), str(folder)],
                         capture_output=True, text=True, env=env, check=True)
    found = re.search(r"I\s+refs:\s+([\d,]+)", run.stderr)
    if not found:
        raise SystemExit(f"valgrind printed no instruction count:\n{run.stderr[-2000:]}")
    return int(found.group(1).replace(",", ""))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--posts", type=int, nargs=2, default=[100, 600], metavar=("K1", "K2"))
    parser.add_argument("--child", nargs=4, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        which, posts, prepared, folder = args.child
        child(which, int(posts), Path(prepared), Path(folder))
        return
    if shutil.which("valgrind") is None:
        raise SystemExit("valgrind is not installed: apt-get install valgrind")
    first, last = sorted(args.posts)
    sys.path[:0] = [str(ROOT), str(ROOT / "benchmarks")]
    import submission

    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        prepared = folder / "prepared.sqlite3"
        tokens, ids = submission.prepare(prepared, WARM + last)
        (folder / "participants.json").write_text(json.dumps({"tokens": tokens, "ids": ids}))
        per_post = {}
        for which in ("app", "floor"):
            counts = [instructions(which, posts, prepared, folder) for posts in (first, last)]
            per_post[which] = (counts[1] - counts[0]) / (last - first)
    print(f"instructions per POST ({last} - {first} POSTs, after {WARM} warm-up ones), valgrind cachegrind")
    print(f"{'app':<8} {per_post['app']:>12,.0f}")
    print(f"{'floor':<8} {per_post['floor']:>12,.0f}")
    print(f"ratio app/floor: {per_post['app'] / per_post['floor']:.2f} (instructions; the goal of 0.8 of the "
          "floor's requests/s is benchmarks/submission.py's)")


if __name__ == "__main__":
    main()
