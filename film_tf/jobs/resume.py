"""Resumable jobs: a work folder of finished pieces, checked before reuse.

A long job (`film_tf.jobs.video_job`, `film_tf.jobs.frame_jobs`) writes its output in
pieces (video chunks, PNG frames) into a hidden work folder beside the final
output, `.<output name>.film-work/`, and appends one JSON line per finished
piece to `manifest.jsonl` (file names, sizes and SHA-256s). Run again, the
same job finds the folder and keeps the pieces whose files still match the
manifest, in order, up to the first that does not; everything else in the
folder (a piece a killed run left half written, temporaries) is deleted. The
final output is published only when complete (temporary name + rename), and
the work folder is removed after that.

Pieces finished out of order by other processes (the chunks of a Beam job,
`film_tf.jobs.beam_video`) are recorded each in its own file instead,
`<piece>.record.json` (`record_piece`, written atomically after the piece):
a `WorkFolder(..., loose=True)` also keeps every such record whose files
check out, in name order, and deletes the others with their files.

`job.json` holds the job's identity (the input's size and mtime, every
setting that changes the output): a different job at the same output path
starts afresh. A lock (`flock`) keeps two runs off one work folder.

Standard library only (and `film_tf.files`' atomic writes).
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import json
import os
import shutil
from typing import Any, Iterable

from film_tf import files as files_lib

MANIFEST = "manifest.jsonl"
RECORD_SUFFIX = ".record.json"
IDENTITY = "job.json"
LOCK = "lock"


def read_identity(folder: str):
    """The identity the job of work folder `folder` was started with (its
    `IDENTITY` file), or None when there is none or it is unreadable."""
    with contextlib.suppress(OSError, ValueError):
        with open(os.path.join(folder, IDENTITY), encoding="utf-8") as f:
            return json.load(f)
    return None


def started_key(output: str) -> dict[str, Any] | None:
    """The `key` of the identity an unfinished job for `output` was started
    with, or None when there is none."""
    identity = read_identity(work_folder_for(output))
    key = identity.get("key") if isinstance(identity, dict) else None
    return key if isinstance(key, dict) else None


def work_folder_for(output: str) -> str:
    """The work folder of an output path: `.<name>.film-work` beside it."""
    output = os.path.abspath(output)
    return os.path.join(os.path.dirname(output), f".{os.path.basename(output)}.film-work")


def file_digest(path: str) -> str:
    """The SHA-256 of a file, hex."""
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def input_identity(path: str) -> dict[str, Any]:
    """What identifies an input file's content cheaply: real path, size, mtime."""
    stat = os.stat(path)
    return {"path": os.path.realpath(path), "size": stat.st_size, "mtime_ns": stat.st_mtime_ns}


class WorkFolder:
    """The work folder of one job; a context manager holding its lock.

    Args:
      output: the final output path (file or folder).
      identity: JSON-able description of the job; a folder made for another
        identity is emptied first.
      loose: also keep the verified `<piece>.record.json` records (`record_piece`).

    Attributes:
      path: the folder.
      records: the verified records of finished pieces, in order (after
        entering).
      resumed: whether any finished piece was found.
      cleaned: names deleted as leftovers (a killed run's partial pieces).
    """

    def __init__(self, output: str, identity: dict[str, Any], loose: bool = False):
        self.path = work_folder_for(output)
        self.loose = loose
        self.identity = json.loads(json.dumps(identity))  # normalized, as read back
        self.records: list[dict[str, Any]] = []
        self.resumed = False
        self.cleaned: list[str] = []
        self._lock = None

    def file(self, name: str) -> str:
        return os.path.join(self.path, name)

    def __enter__(self) -> WorkFolder:
        os.makedirs(self.path, exist_ok=True)
        self._lock = open(self.file(LOCK), "a")
        try:
            fcntl.flock(self._lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            self._lock.close()
            raise ValueError(
                f"Another run is writing this output (its work folder '{self.path}' is locked)."
            ) from None
        if read_identity(self.path) != self.identity:
            self._empty()
            with open(self.file(IDENTITY), "w", encoding="utf-8") as f:
                json.dump(self.identity, f)
        self.records = self._verified_records()
        self.resumed = bool(self.records)
        return self

    def __exit__(self, *exc) -> None:
        if self._lock is not None:
            self._lock.close()
            self._lock = None

    def _empty(self) -> None:
        for name in os.listdir(self.path):
            if name != LOCK:
                self._remove(name)

    def _remove(self, name: str) -> None:
        path = self.file(name)
        if os.path.isdir(path) and not os.path.islink(path):
            shutil.rmtree(path, ignore_errors=True)
        else:
            with contextlib.suppress(FileNotFoundError):
                os.remove(path)

    def _verified_records(self) -> list[dict[str, Any]]:
        records: list[dict[str, Any]] = []
        with contextlib.suppress(FileNotFoundError):
            with open(self.file(MANIFEST), encoding="utf-8") as f:
                for line in f:
                    try:
                        record = json.loads(line)
                    except ValueError:
                        break  # the last line of a killed run
                    if not all(self._matches(entry) for entry in record["files"]):
                        break
                    records.append(record)
        if self.loose:
            records += self.loose_records()
        keep = {IDENTITY, LOCK, MANIFEST} | {e["name"] for r in records for e in r["files"]}
        keep |= {r["files"][0]["name"] + RECORD_SUFFIX for r in records if "loose" in r}
        for name in sorted(os.listdir(self.path)):
            if name not in keep:
                self._remove(name)
                self.cleaned.append(name)
        # Rewrite the manifest to the verified records (drops a torn last line).
        with open(self.file(MANIFEST), "w", encoding="utf-8") as f:
            f.writelines(json.dumps(r) + "\n" for r in records if "loose" not in r)
        return records

    def loose_records(self, pieces: Iterable[str] | None = None) -> list[dict[str, Any]]:
        """The `<piece>.record.json` records in the folder (of `pieces` only,
        if given) whose files check out (size and SHA-256), in name order,
        each marked `"loose": True`."""
        found = []
        if pieces is None:
            names = [name for name in os.listdir(self.path) if name.endswith(RECORD_SUFFIX)]
        else:
            names = [piece + RECORD_SUFFIX for piece in pieces]
        for name in sorted(names):
            try:
                with open(self.file(name), encoding="utf-8") as f:
                    record = json.load(f)
                files = record["files"]
            except (OSError, ValueError, KeyError, TypeError):
                continue  # deleted below, with any piece it named
            if files and files[0]["name"] + RECORD_SUFFIX == name and all(map(self._matches, files)):
                found.append({**record, "loose": True})
        return found

    def _matches(self, entry: dict[str, Any]) -> bool:
        """Whether a record's file entry (name, size, sha256) matches the file in the folder."""
        path = self.file(entry["name"])
        return (
            os.path.isfile(path)
            and os.path.getsize(path) == entry["size"]
            and file_digest(path) == entry["sha256"]
        )

    def add(self, names: list[str], **fields: Any) -> dict[str, Any]:
        """Records finished pieces (files already complete in the folder), durably."""
        files = [
            {"name": n, "size": os.path.getsize(self.file(n)), "sha256": file_digest(self.file(n))}
            for n in names
        ]
        record = {**fields, "files": files}
        for name in names:
            _fsync(self.file(name))
        with open(self.file(MANIFEST), "a", encoding="utf-8") as f:
            f.write(json.dumps(record) + "\n")
            f.flush()
            os.fsync(f.fileno())
        self.records.append(record)
        return record

    def remove(self) -> None:
        """Deletes the folder (after the output is published)."""
        shutil.rmtree(self.path, ignore_errors=True)


def record_piece(folder: str, names: list[str], **fields: Any) -> dict[str, Any]:
    """Records finished pieces `names` (complete files in work folder `folder`)
    in `<names[0]>.record.json`, durably and atomically, from any process:
    the record of a `WorkFolder(..., loose=True)`."""
    files = []
    for name in names:
        path = os.path.join(folder, name)
        _fsync(path)
        files.append({"name": name, "size": os.path.getsize(path), "sha256": file_digest(path)})
    record = {**fields, "files": files}
    with files_lib.atomic_path(os.path.join(folder, names[0] + RECORD_SUFFIX)) as tmp:
        with open(tmp, "w", encoding="utf-8") as f:
            json.dump(record, f)
            f.flush()
            os.fsync(f.fileno())
    return record


def _fsync(path: str) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def remove_stale_temporaries(output: str) -> list[str]:
    """Deletes the hidden temporaries a killed run left beside `output`
    (`film_tf.files.atomic_path`'s `.<base>.<random>.tmp<ext>` and
    `atomic_folder`'s `.<name>.<random>.tmp`); returns their names. Call it
    only while holding the output's `WorkFolder` lock."""
    output = os.path.abspath(output)
    parent, name = os.path.dirname(output), os.path.basename(output)
    base, ext = os.path.splitext(name)
    removed = []
    with contextlib.suppress(FileNotFoundError):
        for entry in os.listdir(parent):
            file_tmp = entry.startswith(f".{base}.") and entry.endswith(f".tmp{ext}")
            folder_tmp = entry.startswith(f".{name}.") and entry.endswith(".tmp")
            if file_tmp or folder_tmp:
                path = os.path.join(parent, entry)
                if os.path.isdir(path):
                    shutil.rmtree(path, ignore_errors=True)
                else:
                    os.remove(path)
                removed.append(entry)
    return removed
