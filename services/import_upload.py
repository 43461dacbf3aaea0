"""Paper data imported from the browser: the command line's checks and the command line's import
(services.dataset.import_dataset, services.crf_import), with a preview and a confirm between them.

A checked file waits on disk for its confirm, never in the database: one file per upload in a
folder of the site's (the web layer's choice: beside the database, so in the instance folder by
default), named by a random id of 128 bits and readable by the app's user only. Its first line is
the upload's facts as JSON (what it holds, who uploaded it in which sign-in, when, its SHA-256, the
preview); the rest is the bytes as sent.

A confirm names the upload and the SHA-256 its preview showed. It is refused when the upload is
unknown, older than STAGING_LIFETIME, someone else's (or from before its user last signed out), or
no longer those bytes. Taking an upload for import renames its file, which only one confirm can
do, so two confirms never both import it. The import is the command line's own service, all or
nothing; if it fails for a reason that is not the file's (the database), the upload is put back to
be confirmed again. An imported upload leaves a marker, so a second confirm is told so and changes
nothing.
"""
from __future__ import annotations

import hashlib
import json
import os
import re
import secrets
import tempfile
import time
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path

from questionnaires.protocol import Protocol
from reports.importer import ImportError_
from services.import_kinds import KINDS, check
from storage import write
from storage.audit import record
from storage.db import parse_utc, utc_iso

# How long a checked file waits for its confirm: long enough to read a preview, short enough that
# trial data does not linger on disk (an upload is removed when it expires, or at the next upload).
STAGING_LIFETIME = timedelta(minutes=30)
UPLOAD_ID = re.compile(r"[A-Za-z0-9_-]{22}")     # secrets.token_urlsafe(16)
SHA256 = re.compile(r"[0-9a-f]{64}")
WAITING, TAKEN, IMPORTED = ".upload", ".taken", ".imported"

# Why a confirm (or a preview) is refused.
UNKNOWN, EXPIRED, NOT_YOURS, CHANGED, ALREADY_IMPORTED = "unknown", "expired", "not_yours", "changed", "imported"


class Refused(Exception):
    def __init__(self, reason: str):
        self.reason = reason
        super().__init__(reason)


@dataclass(frozen=True)
class Staged:
    """An upload waiting for its confirm, as its first line records it."""

    id: str
    kind: str
    filename: str
    size: int
    sha256: str
    user_id: int
    session_version: int
    created_at: str
    preview: dict

    @property
    def expires_at(self) -> datetime:
        return parse_utc(self.created_at) + STAGING_LIFETIME


# --- Waiting for the confirm ----------------------------------------------------------------------

def stage(db, folder: Path, protocol: Protocol, kind: str, data: bytes, *, filename: str, user: dict, actor: str,
          now: datetime) -> Staged:
    """Check ``data`` and keep it for its confirm; audited (who, what kind, its SHA-256, its counts).
    Raises ImportError_ with every problem, and then keeps nothing."""
    if kind not in KINDS:
        raise ValueError(f"kind must be one of {', '.join(KINDS)}")
    preview = check(db, protocol, kind, data, now=now)
    sweep(folder, now)
    staged = Staged(id=secrets.token_urlsafe(16), kind=kind, filename=filename[:200], size=len(data),
                    sha256=hashlib.sha256(data).hexdigest(), user_id=user["id"],
                    session_version=user["session_version"], created_at=utc_iso(now), preview=preview)
    path = folder / (staged.id + WAITING)
    _write(path, json.dumps(staged.__dict__).encode() + b"\n" + data)
    try:
        with write(db):
            record(db, at=now, actor=actor, action="upload_import", entity="dataset",
                   entity_id=KINDS[kind].entity_id,
                   after={"kind": kind, "sha256": staged.sha256, "bytes": staged.size, "records": preview["records"],
                          "participants": preview["participants"], "new_participants": preview["new"]})
    except BaseException:
        path.unlink(missing_ok=True)     # not in the audit log: not kept either
        raise
    return staged


def waiting(folder: Path, upload_id: str, *, user: dict, now: datetime) -> Staged:
    """The user's upload waiting for its confirm (for its preview); raises Refused."""
    return _staged(_path(folder, upload_id, WAITING), user, now)


def confirm(db, folder: Path, protocol: Protocol, upload_id: str, sha256: str, *, user: dict, actor: str,
            now: datetime) -> tuple[str, dict]:
    """Import the user's waiting upload with the command line's own service, all or nothing, once:
    (its kind, the import's counts). Raises Refused, or ImportError_ (from the import: then the
    upload is gone, and a corrected file is uploaded again)."""
    path = _path(folder, upload_id, WAITING)
    staged = _staged(path, user, now)
    if not SHA256.fullmatch(sha256 or "") or sha256 != staged.sha256:
        raise Refused(CHANGED)
    taken = path.with_suffix(TAKEN)
    try:
        os.rename(path, taken)        # atomic: a second confirm finds nothing left to take
    except FileNotFoundError:
        raise Refused(ALREADY_IMPORTED) from None
    try:
        data = taken.read_bytes().split(b"\n", 1)[1]
        if hashlib.sha256(data).hexdigest() != staged.sha256:
            raise Refused(CHANGED)       # the file was altered on disk since its check
        counts = KINDS[staged.kind].run(db, protocol, data, actor, now)
    except (ImportError_, Refused):
        taken.unlink(missing_ok=True)
        raise
    except BaseException:
        _put_back(taken, path)        # not the file's fault: it may be confirmed again
        raise
    _write(path.with_suffix(IMPORTED), json.dumps({"user_id": user["id"], "kind": staged.kind, "counts": counts,
                                                   "created_at": utc_iso(now)}).encode())
    taken.unlink(missing_ok=True)
    return staged.kind, counts


def sweep(folder: Path, now: datetime) -> int:
    """Remove uploads (and the markers of imported ones) older than STAGING_LIFETIME; the number removed."""
    removed = 0
    for path in folder.glob("*"):
        if path.suffix in (WAITING, TAKEN, IMPORTED):
            created = _created_at(path)
            stale = created is None or now - created > STAGING_LIFETIME
        else:   # a file left half-written by a process that died (by the file's own clock)
            try:
                stale = time.time() - path.stat().st_mtime > STAGING_LIFETIME.total_seconds()
            except FileNotFoundError:   # renamed or removed by another request meanwhile
                continue
        if stale:
            path.unlink(missing_ok=True)
            removed += 1
    return removed


def _path(folder: Path, upload_id: str, suffix: str) -> Path:
    if not UPLOAD_ID.fullmatch(upload_id or ""):
        raise Refused(UNKNOWN)
    return folder / (upload_id + suffix)


def _put_back(taken: Path, path: Path) -> None:
    try:
        os.rename(taken, path)
    except FileNotFoundError:   # swept meanwhile, long expired: there is nothing to confirm again
        pass


def _staged(path: Path, user: dict, now: datetime) -> Staged:
    """The waiting upload at ``path``, if it is this user's, in this sign-in, and not expired."""
    try:
        with path.open("rb") as handle:
            staged = Staged(**json.loads(handle.readline()))
    except FileNotFoundError:
        raise Refused(_gone(path, user)) from None
    if (staged.user_id, staged.session_version) != (user["id"], user["session_version"]):
        raise Refused(NOT_YOURS)
    if now > staged.expires_at:
        path.unlink(missing_ok=True)
        raise Refused(EXPIRED)
    return staged


def _gone(path: Path, user: dict) -> str:
    """Why no upload waits at ``path``: being imported or imported (the user's), or unknown."""
    if path.with_suffix(TAKEN).exists():
        return ALREADY_IMPORTED
    try:
        imported = json.loads(path.with_suffix(IMPORTED).read_bytes())
    except FileNotFoundError:
        return UNKNOWN
    return ALREADY_IMPORTED if imported["user_id"] == user["id"] else NOT_YOURS


def _created_at(path: Path) -> datetime | None:
    try:
        with path.open("rb") as handle:
            return parse_utc(json.loads(handle.readline())["created_at"])
    except (OSError, ValueError, KeyError, TypeError):
        return None


def _write(path: Path, content: bytes) -> None:
    """Written whole or not at all (a temporary file renamed), readable by this user only."""
    path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    descriptor, partial = tempfile.mkstemp(dir=path.parent, prefix=".", suffix=".partial")   # mode 0600
    try:
        with os.fdopen(descriptor, "wb") as handle:
            handle.write(content)
        os.replace(partial, path)
    except BaseException:
        Path(partial).unlink(missing_ok=True)
        raise
