"""A seeded generator of hostile form posts (tests/reliability/fuzz_run.py fires them).

Each post starts from a valid answer to its form and is then broken at random: a field replaced
with random, oversized (1 MB), non-UTF-8, control, right-to-left, zero-width, emoji, injection or
boundary-number text, a field missing, a key repeated, an unknown key added; and sent as a
url-encoded form (most often), multipart, JSON, text/plain or with no content type at all. One
post in five goes unbroken, so the accepting path is fuzzed too.
"""
from __future__ import annotations

import json
import random
from urllib.parse import quote_plus

MEGABYTE = 1024 * 1024

HOSTILE = [
    "", " ", "\x00", "a\x00b", "\u200b", "\u200b\u200c\u200d\ufeff", "\u202eevil\u202c", "\u2066x\u2069", "\u200f",
    "مرحبا بالعالم", "😀🩺💉", "👨‍👩‍👧", "e\u0301" * 40, "\r\n", "\r", "\t", "\n\n", "\x1b[31mred\x1b[0m", "\x07",
    "\x7f",
    "' OR '1'='1", "1; DROP TABLE participants; --", "<script>alert(1)</script>", "\"><img src=x onerror=alert(1)>",
    "=HYPERLINK(\"http://x.example\")", "=1+1", "+1", "-1", "@SUM(1)", "../../etc/passwd", "{{7*7}}", "${jndi:x}",
    "%00", "%ff", "%", "&", "=", "None", "null", "true", "[]", "{}", "NaN", "nan", "inf", "-inf", "1e309", "1e-309",
    "0x10", "٣", "٫٥", "۷", "５", "1,5", "1.5", " 7 ", "-0", "00", "9" * 400, "-" + "9" * 30, "2026-02-30",
    "9999-12-31", "0001-01-01", "2026-13-01", "20260302", "2026-3-2", "02/03/2026", "+002026-03-02", "2026-03-02T00:00",
    "+12025550101", "+201001234567", "010 0123 4567", "+999", "+" + "1" * 40, "UTC", "Mars/Olympus", "../UTC",
    "Etc/GMT+14", "en", "ar", "xx", "EN", "yes", "no", "y", "on", "0", "1", "6", "7", "100", "101", "-5", "P-001",
    "P-001 ", "p-001", "\ufffd",
]
# Integers at the edges of the C types beneath (SQLite's INTEGER is 64-bit signed), and beyond.
BOUNDARIES = [2**31 - 1, 2**31, 2**63 - 1, 2**63, 2**64, -2**63 - 1, 10**20, -10**20]
NOT_UTF8 = [b"\xff", b"\xc3\x28", b"caf\xe9", b"\xed\xa0\x80", b"\xf0\x28\x8c\x28", b"\x00\xff\xfe", b"\x80abc",
            b"%ff%fe", b"\xe2\x82"]
ALPHABETS = [
    "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789 -_.,;:!?'\"()[]{}<>/\\|@#$%^&*+=~`",
    "0123456789.-+e ",
    "ابتثجحخدذرسشصضطظعغفقكلمنهوي٠١٢٣٤٥٦٧٨٩ \u200f\u061c",
    "\x00\x01\x08\x0b\x0c\x1b\x7f\x85\u2028\u2029\u200b\u200c\u200d\u2060\ufeff\u202a\u202b\u202d\u202e",
    "😀🩺💉🧪👍🏽🏳️‍🌈\U0001f600\U0010fffd",
]


class Upload(bytes):
    """A file's content, sent as a file part of a multipart form (elsewhere, as its bytes)."""

    filename = "upload.csv"


class Fuzzer:
    """Seeded: the same seed gives the same posts, so a failure can be replayed."""

    def __init__(self, seed: int | str):
        self.rng = random.Random(seed)

    def text(self) -> str:
        alphabet = self.rng.choice(ALPHABETS)
        return "".join(self.rng.choice(alphabet) for _ in range(self.rng.randint(1, 60)))

    def value(self, valid: list[str]) -> str | bytes:
        roll = self.rng.random()
        if roll < 0.35:
            return self.rng.choice(HOSTILE)
        if roll < 0.55:
            return self.text()
        if roll < 0.65:
            return self.rng.choice(NOT_UTF8) + (self.rng.choice(valid).encode() if valid else b"")
        if roll < 0.80 and valid:
            return self.rng.choice(valid)
        if roll < 0.90:
            return str(self.rng.choice([self.rng.randint(-10**6, 10**6), self.rng.uniform(-1e3, 1e3), *BOUNDARIES]))
        if roll < 0.99:
            return self.rng.choice(["A", "é", "\u200b", "9", "😀"]) * self.rng.choice([1000, 10_000])
        return "A" * MEGABYTE

    def pairs(self, valid: dict[str, str | list[str]], choices: dict[str, list[str]], *,
              intact: bool = False) -> list[tuple]:
        """A valid answer (a list value: the key repeated), then (unless ``intact``) 0-3 breakages."""
        pairs = [(key, item) for key, value in valid.items()
                 for item in (value if isinstance(value, list) else [value])]
        if intact or self.rng.random() < 0.2:
            return pairs
        everything = [v for values in choices.values() for v in values]
        for _ in range(self.rng.randint(1, 3)):
            roll = self.rng.random()
            keys = [key for key, _ in pairs] or list(choices) or ["x"]
            key = self.rng.choice(keys)
            if roll < 0.5:
                pairs = [(k, v) for k, v in pairs if k != key] + [(key, self.value(choices.get(key, everything)))]
            elif roll < 0.7:
                pairs = [(k, v) for k, v in pairs if k != key]
            elif roll < 0.85:
                pairs.insert(self.rng.randint(0, len(pairs)), (key, self.value(choices.get(key, everything))))
            elif roll < 0.95:
                pairs.append((self.rng.choice([self.text(), "version", "csrf_token", "__proto__", "a" * 300]),
                              self.value(everything)))
            else:
                pairs = [(self.rng.choice([k.upper(), k + " ", f"{k}[]", f"{k}\x00"]) if k == key else k, v)
                         for k, v in pairs]
        self.rng.shuffle(pairs)
        return pairs

    def file(self, sample: bytes) -> Upload:
        """A CSV file: ``sample`` with a few cells, lines or bytes broken, or something else entirely."""
        roll = self.rng.random()
        if roll < 0.05:
            return Upload(b"")
        if roll < 0.1:
            return Upload(bytes(self.rng.getrandbits(8) for _ in range(self.rng.randint(1, 2000))))
        if roll < 0.12:
            return Upload(sample + b"A" * MEGABYTE)
        lines = sample.split(b"\n")
        for _ in range(self.rng.randint(0, 3)):
            row = self.rng.randrange(len(lines))
            cells = lines[row].split(b",")
            cell = self.rng.randrange(len(cells))
            value = self.value([])
            cells[cell] = value if isinstance(value, bytes) else value.encode("utf-8", "surrogatepass")
            lines[row] = b",".join(cells)
            if self.rng.random() < 0.2:
                lines.insert(self.rng.randrange(len(lines)), lines[row])      # a row twice
        content = b"\n".join(lines)
        if self.rng.random() < 0.1:
            content = self.rng.choice([b"\xef\xbb\xbf", b"\xff\xfe", b""]) + content.replace(b"\n", b"\r\n")
        return Upload(content)

    def encoded(self, pairs: list[tuple], *, multipart_first: bool = False,
                intact: bool = False) -> tuple[bytes, str | None, str]:
        """(body, content type, kind) in one of the ways a client, broken or hostile, sends a form;
        ``multipart_first``: a form with a file, sent as multipart but now and then (always when ``intact``)."""
        roll = self.rng.random()
        if multipart_first and (intact or roll < 0.85):
            roll = 0.85   # multipart
        elif multipart_first:
            roll = self.rng.choice([0.5, 0.9, 0.93, 0.96])
        if roll < 0.80:
            return urlencoded(pairs), "application/x-www-form-urlencoded", "urlencoded"
        if roll <= 0.87:
            boundary = f"----fuzz{self.rng.getrandbits(64):x}"
            return multipart(pairs, boundary), f"multipart/form-data; boundary={boundary}", "multipart"
        if roll < 0.92:
            return json_object(pairs), "application/json", "json"
        if roll < 0.95:
            return b"\r\n".join(as_bytes(k) + b"=" + as_bytes(v) for k, v in pairs), "text/plain", "text/plain"
        if roll < 0.97:
            return urlencoded(pairs), None, "no content type"
        if roll < 0.99:
            return urlencoded(pairs), "application/x-www-form-urlencoded; charset=latin-1", "latin-1"
        return bytes(self.rng.getrandbits(8) for _ in range(self.rng.randint(0, 400))), \
            "application/x-www-form-urlencoded", "random bytes"


def as_bytes(value) -> bytes:
    return value if isinstance(value, bytes) else str(value).encode("utf-8", "surrogatepass")


def urlencoded(pairs) -> bytes:
    return b"&".join(quote_plus(as_bytes(k)).encode() + b"=" + quote_plus(as_bytes(v)).encode() for k, v in pairs)


def multipart(pairs, boundary: str) -> bytes:
    def part(key, value) -> bytes:
        name = as_bytes(key).replace(b'"', b"%22").replace(b"\r", b"").replace(b"\n", b"")
        file = (f'; filename="{value.filename}"\r\nContent-Type: text/csv'.encode()
                if isinstance(value, Upload) else b"")
        return (b"--" + boundary.encode() + b'\r\nContent-Disposition: form-data; name="' + name + b'"' + file
                + b"\r\n\r\n" + as_bytes(value) + b"\r\n")
    return b"".join(part(k, v) for k, v in pairs) + b"--" + boundary.encode() + b"--\r\n"


def json_object(pairs) -> bytes:
    """Duplicate keys kept, as a hostile client may send them."""
    def text(value):
        return value.decode("latin-1") if isinstance(value, bytes) else value
    return ("{" + ",".join(f"{json.dumps(text(k))}:{json.dumps(text(v))}" for k, v in pairs) + "}").encode()
