"""Per-rank, append-only journal of finished frames: what makes a run resumable.

Each rank appends one JSON line per finished frame to ``<run>/records/rank<r>.jsonl``::

    {"index": 7, "record": {...}, "state": "<base64>"}

``record`` is the frame's certificate record exactly as ``results.jsonl`` will hold it;
``state`` is what the run needs again for its metric and drawings (the metric's processed
items, the clean prediction), pickled and restricted on reading to plain containers and
numpy arrays. The line is written with one ``write`` and flushed, so a process killed at
any point (SIGKILL included) leaves every earlier line intact and at most one torn last
line, which readers skip and :meth:`Journal.open` cuts off before appending. ``fsync``
runs at most every ``fsync_every`` seconds and on close, which bounds what a machine crash
(not a process kill) can lose (``docs/design.md``, resume).
"""

from __future__ import annotations

import base64
import io
import json
import os
import pickle
import time
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

JOURNAL_DIR = "records"
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


def read_run(run_dir: str) -> dict[int, Entry]:
    """Every finished frame of a run over all rank files (any earlier world size); the
    first entry of a frame wins when a frame was written twice."""
    folder = os.path.join(run_dir, JOURNAL_DIR)
    done: dict[int, Entry] = {}
    if not os.path.isdir(folder):
        return done
    names = sorted(n for n in os.listdir(folder) if n.startswith("rank") and n.endswith(".jsonl"))
    for name in names:
        for entry in read_entries(os.path.join(folder, name)):
            done.setdefault(entry.index, entry)
    return done


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
        if not os.path.isfile(self.path):
            return
        good = 0
        with open(self.path, "rb") as f:
            for line in f:
                if _parse(line) is None:
                    break
                good += len(line)
        if good != os.path.getsize(self.path):
            with open(self.path, "r+b") as f:
                f.truncate(good)

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
