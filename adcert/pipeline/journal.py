"""Per-rank, append-only journal of finished frames: what makes a run resumable.

Each rank appends one JSON line per finished frame to ``<run>/records/rank<r>.jsonl``::

    {"index": 7, "record": {...}, "state": "<base64>"}

``record`` is the frame's certificate record exactly as ``results.jsonl`` will hold it;
``state`` is what the run needs again for its metric and drawings (the metric's processed
items, the clean prediction), pickled and restricted on reading to plain containers and
numpy arrays. The line is written with one ``write`` and flushed, so a process killed at
any point (SIGKILL included) leaves every earlier line intact and at most one torn last
line, which readers skip and :class:`Journal` cuts off before appending. ``fsync``
runs at most every ``fsync_every`` seconds and on close, which bounds what a machine crash
(not a process kill) can lose (``docs/design.md``, resume).

Any other bad line — bytes that do not parse, or a record that does not name the run's
frame at its index with the run's seed — never costs an intact one: before a run
(re)starts, :func:`set_aside_bad_lines` moves such lines to ``records/quarantine.jsonl``,
keeps every other line as it was, and warns; their frames count as not done.
"""

from __future__ import annotations

import base64
import io
import json
import os
import pickle
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Any

JOURNAL_DIR = "records"
QUARANTINE = "quarantine.jsonl"  # bad journal lines, kept for inspection; never read back
_ALLOWED_GLOBALS = {
    ("builtins", name) for name in ("list", "dict", "tuple", "set", "frozenset", "int",
                                     "float", "bool", "str", "complex", "bytes", "slice")
} | {("collections", "defaultdict"), ("collections", "OrderedDict"),
     ("numpy", "ndarray"), ("numpy", "dtype"),
     ("numpy.core.multiarray", "_reconstruct"), ("numpy.core.multiarray", "scalar"),
     ("numpy._core.multiarray", "_reconstruct"), ("numpy._core.multiarray", "scalar")}


class _StateUnpickler(pickle.Unpickler):
    """Only containers, numbers, strings and numpy arrays: a journal never runs code."""

    def find_class(self, module: str, name: str):
        if (module, name) in _ALLOWED_GLOBALS or (
                module == "numpy" and name.endswith("DType")) or (
                module == "numpy.dtypes" and name.endswith("DType")):
            return super().find_class(module, name)
        raise pickle.UnpicklingError(f"journal state may not hold {module}.{name}")


def encode_state(state: Any) -> str:
    return base64.b64encode(pickle.dumps(state, protocol=4)).decode("ascii")


def decode_state(text: str) -> Any:
    return _StateUnpickler(io.BytesIO(base64.b64decode(text))).load()


@dataclass(frozen=True)
class Entry:
    """One finished frame as read back from a journal."""

    index: int
    record: dict
    state: Any


def journal_path(run_dir: str, rank: int) -> str:
    return os.path.join(run_dir, JOURNAL_DIR, f"rank{rank}.jsonl")


def _parse(line: bytes) -> Entry | None:
    if not line.endswith(b"\n"):
        return None  # torn: the process died inside this write
    try:
        item = json.loads(line)
        return Entry(int(item["index"]), item["record"], decode_state(item["state"]))
    except (ValueError, KeyError, TypeError, pickle.UnpicklingError, EOFError):
        return None


def read_entries(path: str) -> Iterator[Entry]:
    """The complete entries of one journal file, in write order; a torn or corrupt line
    is skipped (its frame counts as not done)."""
    if not os.path.isfile(path):
        return
    with open(path, "rb") as f:
        for line in f:
            entry = _parse(line)
            if entry is not None:
                yield entry


def _journal_files(run_dir: str) -> list[str]:
    folder = os.path.join(run_dir, JOURNAL_DIR)
    if not os.path.isdir(folder):
        return []
    names = sorted(n for n in os.listdir(folder) if n.startswith("rank") and n.endswith(".jsonl"))
    return [os.path.join(folder, name) for name in names]


def read_run(run_dir: str) -> dict[int, Entry]:
    """Every finished frame of a run over all rank files (any earlier world size); the
    first entry of a frame wins when a frame was written twice."""
    done: dict[int, Entry] = {}
    for path in _journal_files(run_dir):
        for entry in read_entries(path):
            done.setdefault(entry.index, entry)
    return done


def _problem(line: bytes, frame_ids: Sequence[str], seed: int) -> str | None:
    """Why a complete journal line cannot stand for its frame, None when it can."""
    entry = _parse(line)
    if entry is None:
        return "it does not parse"
    if not 0 <= entry.index < len(frame_ids):
        return f"its index {entry.index} is not one of the run's {len(frame_ids)} frames"
    record = entry.record if isinstance(entry.record, dict) else {}
    if record.get("image_id") != frame_ids[entry.index]:
        return (f"its record names {record.get('image_id')!r}, which does not match frame "
                f"{entry.index} of run.json ({frame_ids[entry.index]!r})")
    if record.get("seed") != seed:
        return f"its record's seed {record.get('seed')!r} does not match the run's {seed}"
    return None


def _write_durably(path: str, data: bytes, mode: str) -> None:
    with open(path, mode) as f:
        f.write(data)
        f.flush()
        os.fsync(f.fileno())


def set_aside_bad_lines(run_dir: str, frame_ids: Sequence[str], seed: int) -> list[str]:
    """Check every complete line of every journal of the run against the run's frames
    (``frame_ids``, run.json's ``frames``) and seed; move the lines that fail to
    ``records/quarantine.jsonl`` and keep the others byte for byte. Returns one warning
    per journal changed. A torn last line is left to :class:`Journal` (a kill's normal
    trace). The quarantine is written and synced before the journal is replaced, so a
    crash in between loses nothing."""
    warnings = []
    for path in _journal_files(run_dir):
        with open(path, "rb") as f:
            parts = f.read().split(b"\n")  # lines end at b"\n" only, as they are written
        lines = [part + b"\n" for part in parts[:-1]] + ([parts[-1]] if parts[-1] else [])
        kept, bad, first = [], [], None
        for number, line in enumerate(lines, start=1):
            problem = _problem(line, frame_ids, seed) if line.endswith(b"\n") else None
            if problem is None:
                kept.append(line)
            else:
                bad.append(line)
                first = first or f"line {number}: {problem}"
        if not bad:
            continue
        _write_durably(os.path.join(run_dir, JOURNAL_DIR, QUARANTINE), b"".join(bad), "ab")
        _write_durably(f"{path}.partial", b"".join(kept), "wb")
        os.replace(f"{path}.partial", path)
        name = os.path.relpath(path, run_dir)
        warnings.append(f"{name}: {len(bad)} journal line(s) set aside in {JOURNAL_DIR}/"
                        f"{QUARANTINE} ({first}); every other line is kept and those "
                        "frames are certified again")
    return warnings


class Journal:
    """This rank's journal file, opened for appending after cutting off a torn tail."""

    def __init__(self, run_dir: str, rank: int, fsync_every: float = 10.0) -> None:
        self.path = journal_path(run_dir, rank)
        os.makedirs(os.path.dirname(self.path), exist_ok=True)
        self._cut_torn_tail()
        self._file = open(self.path, "ab")
        self._fsync_every = fsync_every
        self._last_sync = time.monotonic()

    def _cut_torn_tail(self) -> None:
        """Cut a last line that has no newline (the process died inside its write);
        complete lines are never cut (bad ones are :func:`set_aside_bad_lines`'s)."""
        if not os.path.isfile(self.path) or os.path.getsize(self.path) == 0:
            return
        with open(self.path, "r+b") as f:
            data = f.read()
            if not data.endswith(b"\n"):
                f.truncate(data.rfind(b"\n") + 1)

    def append(self, index: int, record: dict, state: Any) -> None:
        """Write one finished frame as one line; flushed now, fsynced at the cadence."""
        line = json.dumps({"index": int(index), "record": record,
                           "state": encode_state(state)}, allow_nan=False)
        self._file.write(line.encode("utf-8") + b"\n")
        self._file.flush()
        if time.monotonic() - self._last_sync >= self._fsync_every:
            self.sync()

    def sync(self) -> None:
        os.fsync(self._file.fileno())
        self._last_sync = time.monotonic()

    def close(self) -> None:
        if not self._file.closed:
            self._file.flush()
            self.sync()
            self._file.close()
