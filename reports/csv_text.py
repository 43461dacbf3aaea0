"""CSV as every export writes it: csv.writer's text ("\\n" line ends, minimal quoting), a chunk of
rows at a time, with each cell a spreadsheet would run as a formula neutralised.

OWASP's rule against CSV injection: a cell a spreadsheet would run as a formula (it starts with
= + - @, a tab or a carriage return) gets a leading apostrophe, so it opens as text. A number
("-12.5") stays a number. A carriage return inside free text becomes a line feed: with "\\n" line
ends, Python's csv quotes a cell holding "\\n" but not one holding only "\\r", which would break
the row for a reader.

A chunk is written first and its text searched: in the usual chunk nothing needs neutralising, and
a few of str's own searches over text the writer made anyway say so, with no Python call per row
or per cell (joining the cells to search them cost an export a sixth of its time). Only a chunk
the search cannot clear is written again, each row neutralised.
"""
from __future__ import annotations

import csv
import io
import re
from collections.abc import Iterable, Iterator, Sequence
from itertools import islice

_RISKY_START = "=+-@\t\r"
_RISKY_CELL = re.compile(r"(?:^|\x1f)[=+\-@\t]|\r")
_NUMBER = re.compile(r"[+-]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?")
SCREENED_ROWS = 256
# What comes just before a cell's first character in the writer's text (besides the text's start):
# the delimiter, the end of the row before, or the quote that opens a quoted cell.
_BEFORE_CELL = (",", "\n", '"')


def _safe(cell: str) -> str:
    lines = cell.replace("\r\n", "\n").replace("\r", "\n")
    return "'" + lines if cell[:1] and cell[0] in _RISKY_START and not _NUMBER.fullmatch(cell) else lines


def neutralised(cells: Sequence[str]) -> Sequence[str]:
    """One row, each formula-like cell neutralised (the row itself when none is: one search)."""
    if not _RISKY_CELL.search("\x1f".join(cells)):
        return cells
    return tuple(_safe(cell) for cell in cells)


def clean(text: str) -> bool:
    """Whether no cell of ``text`` (whole rows as csv.writer writes them, "\\n" line ends, minimal
    quoting) needs neutralising: it holds no \\r, no cell starts with = @ or a tab, and each cell
    starting with + or - is wholly a number.

    Every cell starts at the text's start or just after a comma, a line end or an opening quote,
    so the searches look there. They may see more than cells (a line end or quote inside a quoted
    cell): then the answer is False, and the rows are neutralised one by one, which changes only
    what needs it. An unquoted cell holds no comma, line end or quote, so one starting with a sign
    runs to the next comma or line end. Each search is one of str's own over the text, and a pair
    is looked for only when its character is there at all (a one-character search is the C
    library's memchr)."""
    if not text:
        return True
    if "\r" in text:
        return False
    for char in "=@\t":
        if char in text and (text[0] == char or any(before + char in text for before in _BEFORE_CELL)):
            return False
    for sign in "-+":
        if sign not in text:
            continue
        if '"' + sign in text or (text[0] == sign and not _is_number(text, 0)):
            return False
        for before in ",\n":
            at = text.find(before + sign)
            while at >= 0:
                if not _is_number(text, at + 1):
                    return False
                at = text.find(before + sign, at + 2)
    return True


def _is_number(text: str, start: int) -> bool:
    """Whether the unquoted cell starting at ``start`` is wholly a number."""
    end = text.find("\n", start)
    comma = text.find(",", start, len(text) if end < 0 else end)
    end = comma if comma >= 0 else (len(text) if end < 0 else end)
    return _NUMBER.fullmatch(text, start, end) is not None


def chunks(rows: Iterable[Sequence[str]], fieldnames: Iterable[str]) -> Iterator[tuple[str, int]]:
    """The CSV text of the header row, then of each SCREENED_ROWS rows (lists of cells in the
    columns' order), every formula-like cell neutralised; each with the number of data rows it
    holds (the header's: 0)."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(list(fieldnames))
    yield buffer.getvalue(), 0
    rows = iter(rows)
    while chunk := list(islice(rows, SCREENED_ROWS)):
        buffer.seek(0)
        buffer.truncate()
        writer.writerows(chunk)
        text = buffer.getvalue()
        if not clean(text):
            buffer.seek(0)
            buffer.truncate()
            writer.writerows(map(neutralised, chunk))
            text = buffer.getvalue()
        yield text, len(chunk)
