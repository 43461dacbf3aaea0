"""Counting the SQL a piece of work sends, from sqlite3's trace callback (tests and benchmarks)."""
from __future__ import annotations

WRITES = ("INSERT", "UPDATE", "DELETE", "REPLACE")


def sent(traced: list[str]) -> list[str]:
    """The statements sent, from what the trace callback saw. SQLite reports each trigger
    subprogram of a write as well, and Python's callback passes the write's own SQL for it: a
    write seen again right after itself is its trigger, not a statement of its own."""
    statements: list[str] = []
    for statement in traced:
        repeat = statements and statement == statements[-1] and statement.startswith(WRITES)
        if not repeat and not statement.startswith("--"):
            statements.append(statement)
    return statements
