"""The fuzz of tests/reliability at the issue's scale: 10,000 generated posts per patient form and
per staff form, each form on a trial of its own, through Flask's test client (in-process).

Usage: .venv/bin/python benchmarks/fuzz.py [--posts 10000] [--seed 1] [--forms vas,enroll,...]
                                           [--budget SECONDS]

Prints, per form: posts, 5xx responses, invalid rows the invariant checker found afterwards
(tests/reliability/invariants.py), the posts the form accepted, posts/s; then the totals, and
the first 5xx of each form (path, content type, the start of the body, the traceback) and its
invalid rows.
--budget stops starting new forms once that many seconds have gone (the forms not run are named).
Exit status 1 when any 5xx or invalid row was found.
"""
from __future__ import annotations

import argparse
import contextlib
import io
import sys
import tempfile
import time
import warnings

from _harness import ROOT  # noqa: F401 - puts the project on sys.path


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--posts", type=int, default=10_000)
    parser.add_argument("--seed", default="1")
    parser.add_argument("--forms", default="", help="comma-separated form names (default: every form)")
    parser.add_argument("--budget", type=float, default=float("inf"), help="seconds before no new form starts")
    args = parser.parse_args()

    from argon2 import PasswordHasher

    from services import accounts
    from tests.reliability.fuzz_forms import FORMS
    from tests.reliability.fuzz_run import report, run_form

    # Sign-ins are fuzzed too: at production cost each would take ~0.15 s of hashing (as in tests/conftest.py).
    accounts._hasher = PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1)
    warnings.simplefilter("error")       # as the test suite runs (pyproject: filterwarnings = error)
    names = [name.strip() for name in args.forms.split(",") if name.strip()] or list(FORMS)
    unknown = set(names) - set(FORMS)
    if unknown:
        parser.error(f"unknown form(s) {sorted(unknown)}; known: {', '.join(FORMS)}")

    print(f"{'form':<28} {'posts':>7} {'5xx':>5} {'invalid':>8} {'accepted':>9} {'posts/s':>8}")
    results, started, skipped = [], time.perf_counter(), []
    for name in names:
        if time.perf_counter() - started > args.budget:
            skipped.append(name)
            continue
        with tempfile.TemporaryDirectory() as workdir, contextlib.redirect_stdout(io.StringIO()):
            result = run_form(name, args.posts, workdir, seed=args.seed)   # the console SMS gateway prints
        results.append(result)
        print(f"{name:<28} {result.posts:>7,} {len(result.server_errors):>5} {len(result.invalid):>8} "
              f"{result.accepted:>9,} {result.posts / result.seconds:>8.0f}", flush=True)
    posts = sum(r.posts for r in results)
    errors = sum(len(r.server_errors) for r in results)
    invalid = sum(len(r.invalid) for r in results)
    seconds = sum(r.seconds for r in results)
    print(f"{'total':<28} {posts:>7,} {errors:>5} {invalid:>8} {sum(r.accepted for r in results):>9,} "
          f"{posts / seconds if seconds else 0:>8.0f}   ({time.perf_counter() - started:.0f} s in all)")
    if skipped:
        print(f"not run (over the budget): {', '.join(skipped)}")
    for result in results:
        if result.server_errors or result.invalid:
            print("\n" + report(result))
    return 1 if errors or invalid else 0


if __name__ == "__main__":
    sys.exit(main())
