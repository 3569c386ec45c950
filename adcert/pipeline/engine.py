"""The run engine: session → sharded loop → per-frame record → metric → summary.

Guarantees (``docs/design.md``, run engine; tested in ``tests/test_pipeline``):

* every frame of the run is certified exactly once over all ranks and sessions; rank r
  takes frames r, r + W, … of the run's frame list (W ranks, no padding);
* a frame's noise depends only on (run seed, image id), so its record is the same
  whichever rank certifies it, in whichever session, with whichever world size (at the
  run's batch size: kernels may round differently at another, docs/certificates.md §8,
  and ``--resume`` refuses one);
* each finished frame is one flushed line of the rank's journal before the next frame
  starts; a run killed at any point loses at most the frames in flight, and ``--resume``
  skips every finished frame (whatever world size wrote it) and redoes a torn last line;
  a journal line that does not parse or does not match the run's frames is set aside
  with a warning (:func:`adcert.pipeline.journal.set_aside_bad_lines`) and its frame
  redone, every other line kept;
* a new run that fails before its first frame is finished leaves no run folder (a later
  ``--resume`` would pick it as the latest run);
* the metric follows mmengine's protocol: ``process`` on each rank (finished frames of an
  earlier session are replayed from the journal) and ``evaluate(size)`` gathers;
* rank 0 writes ``results.jsonl`` in frame order, then ``summary.json``, computed from the
  records and the metric, last and atomically — a run that has a summary is complete.
"""

from __future__ import annotations

import os
import shutil
import sys
import time
from dataclasses import dataclass

from adcert.pipeline import provenance, rundir
from adcert.pipeline.journal import Entry, Journal, read_run, set_aside_bad_lines
from adcert.pipeline.session import Session


class Interrupted(Exception):
    """Ctrl-C (SIGINT) during the loop; every finished frame is kept in the run folder."""

    def __init__(self, run_dir: str, done: int, total: int) -> None:
        super().__init__(f"interrupted: {done} of {total} frames finished and kept in "
                         f"{run_dir}; continue with --resume {run_dir}")
        self.run_dir, self.done, self.total = run_dir, done, total


@dataclass
class RunResult:
    """What a finished run hands back (on every rank; ``records`` only on rank 0)."""

    run_dir: str
    records: list[dict] | None
    summary: dict | None
    clean: list | None  # per record: what the drawings show beside it (rank 0)

    @property
    def results_path(self) -> str:
        return os.path.join(self.run_dir, rundir.RESULTS)

    @property
    def summary_path(self) -> str:
        return os.path.join(self.run_dir, rundir.SUMMARY)


def shard(num_items: int, rank: int, world_size: int) -> range:
    """Indices this rank certifies: every index exactly once over all ranks, no padding."""
    return range(rank, num_items, world_size)


class _Progress:
    """mmengine's progress bar on a terminal; one log line per frame when redirected."""

    def __init__(self, session: Session, todo: int) -> None:
        self.session, self.todo, self.count = session, todo, 0
        self.bar = None
        if session.rank == 0 and todo and sys.stdout.isatty():
            from mmengine.utils import ProgressBar

            self.bar = ProgressBar(todo)

    def update(self, record: dict) -> None:
        self.count += 1
        if self.bar is not None:
            self.bar.update()
        elif self.session.logger is not None and self.session.rank == 0:
            self.session.logger.info(f"frame {self.count}/{self.todo} on rank 0: "
                                     f"{record['image_id']} ({record['time_s']:.1f} s)")


def _certify_shard(session: Session, done: dict[int, Entry], metric) -> None:
    from adcert.noise import image_generator

    indices = list(shard(len(session.frames), session.rank, session.world_size))
    todo = [i for i in indices if i not in done]
    progress = _Progress(session, len(todo))
    journal = Journal(session.run_dir, session.rank)
    try:
        for index in indices:
            if index in done:
                if metric is not None:
                    metric.results.extend(done[index].state["metric"])
                continue
            frame = session.frames.frames[index]
            packed = session.frames.load(index)
            if session.noise_path == "device":
                check_device_noise_reach(packed["inputs"].numel(), session.settings)
            generator = image_generator(session.seed, frame.image_id, session.loaded.device,
                                        session.noise_path)
            result = session.task.certify(session, frame, packed, generator)
            items = []
            if metric is not None:
                if result.metric_sample is None:
                    raise ValueError(f"frame {frame.image_id} has no annotations")
                before = len(metric.results)
                metric.process(None, [result.metric_sample])
                items = metric.results[before:]
            journal.append(index, result.record, {"metric": items, "clean": result.clean})
            progress.update(result.record)
    except KeyboardInterrupt:
        finished = len(read_run(session.run_dir))
        raise Interrupted(session.run_dir, finished, len(session.frames)) from None
    finally:
        journal.close()


def check_device_noise_reach(values: int, settings) -> None:
    """Refuse a frame on which the device noise path's cut tail (2⁻⁶⁵ of Gaussian mass per
    pair, :func:`adcert.noise.philox.cut_mass`) could add more than α/1000 to the
    certificate's failure probability (docs/noise.md, "The device path")."""
    from adcert.noise.philox import cut_mass

    copies = settings.n + getattr(settings, "n0", 0)
    if cut_mass(values, copies) > settings.alpha / 1000:
        raise ValueError(f"{copies} copies of {values} values exceed the device noise path's "
                         f"reach at alpha {settings.alpha:g}; use --noise host")


def _evaluate(metric, total: int) -> dict:
    """mmengine's ``evaluate(size)`` (gathers over ranks), metric names without prefix."""
    metrics = metric.evaluate(total)
    prefix = f"{metric.prefix}/" if metric.prefix else ""
    return {key.removeprefix(prefix): value for key, value in metrics.items()}


def _summary(session: Session, records: list[dict], metrics: dict) -> dict:
    times = [r["time_s"] for r in records]
    s = session.settings
    summary = {
        "schema_version": provenance.SCHEMA_VERSION,
        "task": session.task.name,
        "settings": {**s.to_dict(), "seed": session.seed},
        "frames": len(records),
        "classes": session.classes,
        "model": records[0]["model"] if records else None,
        "guarantee": records[0].get("guarantee") if records else None,
        "guarantee_text": records[0].get("guarantee_text") if records else None,
        "seconds_per_frame": sum(times) / len(times) if times else None,
        "provenance": {**session.record_provenance,
                       "versions": session.manifest.get("versions"),
                       "config_sha256": session.manifest.get("config_sha256"),
                       "checkpoint_sha256": session.manifest.get("checkpoint_sha256")},
        **metrics,
        **session.task.summarize(records),
    }
    meta = getattr(session.frames.dataset, "metainfo", {}) or {}
    palette = meta.get("palette") or session.loaded.dataset_meta.get("palette")
    if palette:
        summary["palette"] = [list(colour) for colour in palette]
    if session.hierarchy is not None:  # the tree the records' node ids refer to (§9)
        summary["hierarchy"] = session.hierarchy.to_record()
    ranges = {r["certified_range"]["text"] for r in records if "certified_range" in r}
    if len(ranges) == 1:
        summary["certified_range"] = ranges.pop()
    return summary


def _merge(session: Session) -> tuple[list[dict], list]:
    """Rank 0: every frame's record in frame order, from all ranks' journals."""
    entries = read_run(session.run_dir)
    missing = [i for i in range(len(session.frames)) if i not in entries]
    if missing:
        raise RuntimeError(f"{len(missing)} frames have no record (first: {missing[0]})")
    ordered = [entries[i] for i in range(len(session.frames))]
    return [e.record for e in ordered], [e.state.get("clean") for e in ordered]


def _warn(session: Session, warning: str) -> None:
    print(f"warning: {warning}", file=sys.stderr)
    session.logger.warning(warning)


def run(session: Session) -> RunResult:
    """Certify the session's frames (see the module doc); returns the merged records and
    the summary on rank 0. Raises :class:`Interrupted` on Ctrl-C."""
    try:
        return _run(session)
    except Interrupted:
        raise  # its message points at the run folder: keep it
    except Exception:
        if session.rank == 0 and not session.options.resume and not read_run(session.run_dir):
            shutil.rmtree(session.run_dir, ignore_errors=True)  # nothing certified
        raise


def _run(session: Session) -> RunResult:
    started = time.perf_counter()
    if session.rank == 0:  # before any rank reads the journals
        for warning in set_aside_bad_lines(session.run_dir, session.frames.describe(),
                                           session.seed):
            _warn(session, warning)
    _barrier(session)
    done = read_run(session.run_dir)
    if session.rank == 0 and not done:
        warning = session.task.preflight(session.settings, session.frames.load(0),
                                         len(session.classes))
        if warning:
            _warn(session, warning)
    metric = (session.task.make_metric(session.classes, session.hierarchy)
              if session.frames.annotated else None)
    if metric is not None:
        metric.collect_dir = os.path.join(session.run_dir, ".collect")
    _certify_shard(session, done, metric)
    _barrier(session)
    metrics = _evaluate(metric, len(session.frames)) if metric is not None else {}
    if session.rank != 0:
        return RunResult(session.run_dir, None, None, None)
    records, clean = _merge(session)
    lines = "".join(rundir.dumps(record) + "\n" for record in records)
    rundir.write_atomic(os.path.join(session.run_dir, rundir.RESULTS), lines)
    summary = _summary(session, records, metrics)
    summary["wall_s"] = round(time.perf_counter() - started, 3)
    rundir.write_json(os.path.join(session.run_dir, rundir.SUMMARY), summary)
    return RunResult(session.run_dir, records, summary, clean)


def _barrier(session: Session) -> None:
    if session.world_size > 1:
        from mmengine.dist import barrier

        barrier()
