"""What certifying one frame costs per noisy copy, by stage, against the model's own forward.

    .venv/bin/python benchmarks/scale.py [--task det|seg|both] [--size 1024x2048] [--n 8]
        [--batch-size 4] [--repeat 3] [--device cpu|cuda] [--noise host|device] [--amp]
        [--models demo|all] [--out FILE.md]

One demo frame, resized on disk to ``--size`` (H×W: it is also the original size that
predictions map back to, as a Cityscapes frame's), goes through the config's test pipeline
with its Resize set to (W, H). Per noisy copy: noise (a batch drawn by
``perturbed_batches`` from the frame's ``image_generator`` stream), host→device copy of a
noisy batch, forward (``_predict`` on a batch of already-noisy copies: the model's own
batched forward) and aggregation (det: ``detections_array`` + ``BoxSampleCollector.add_batch``; seg:
``label_map`` + ``HitCounter.update``, the counting of the n estimation copies). Per frame:
statistics (det: ``certify_boxes`` at every ε of ``sweep_eps``; seg: ``certify_segmentation``
+ ``certified_masks_by_tau``, Holm over all pixels) and writing (``Journal.append`` of the
certificate's record; seg also ``write_mask``). Certify is the pipeline's loop,
``perturbed_predictions`` + aggregation, on the same noisy copies as the forward column;
"its forwards" (CPU only) times the loop's own ``_predict`` calls where it makes them, so
that certify ÷ forward splits into the forward's slowdown inside the loop and what it adds;
"the other way" (CPU only) is the loop with its noise drawn in turn where it draws ahead, or
ahead where it draws in turn (``forward.cpu_prefetch``).
Per-copy figures are marginal, (t(2n) − t(n)) / n, so fixed costs drop out; forward and
certify run back to back in each repeat, the forward first in even repeats and second in
odd ones; cells are the median (min–max) over repeats.
"""

from __future__ import annotations

import argparse
import contextlib
import copy
import ctypes
import glob
import os
import shutil
import statistics
import sys
import tempfile
import time
from collections.abc import Callable

import cv2
import numpy as np
import torch

from adcert.certify import detection as det_cert
from adcert.certify import segmentation as seg_cert
from adcert.models import forward as fw
from adcert.models import loading
from adcert.noise import GaussianNoise, image_generator, perturbed_batches
from adcert.pipeline import detection as det_pipe
from adcert.pipeline import segmentation as seg_pipe
from adcert.pipeline.frames import build_frames
from adcert.pipeline.journal import Journal
from adcert.pipeline.settings import DetSettings, SegSettings

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
DEMO = {"det": ("rtmdet_mnv2_demo", "configs/demo/rtmdet_mnv2_demo.py",
                "data/demo/checkpoints/rtmdet_mnv2_demo.pth"),
        "seg": ("fpn_mnv2_demo", "configs/demo/fpn_mnv2_demo.py",
                "data/demo/checkpoints/fpn_mnv2_demo.pth")}
ZOO = {"det": ("faster-rcnn_r50_fpn (random weights)", "mmdet",
               "faster_rcnn/faster-rcnn_r50_fpn_1x_coco.py"),
       "seg": ("fcn_r50-d8 (random weights)", "mmseg",
               "fcn/fcn_r50-d8_4xb2-80k_cityscapes-512x1024.py")}
PER_COPY = ("noise", "h2d", "forward", "aggregate")
MIB = 1024 * 1024


def machine() -> str:
    """CPU model, usable cores, torch version and GPU name, in one line."""
    with open("/proc/cpuinfo") as f:
        cpu = next((line.split(":", 1)[1].strip() for line in f
                    if line.startswith("model name")), "unknown CPU")
    gpu = torch.cuda.get_device_name() if torch.cuda.is_available() else "no GPU"
    return (f"machine: {cpu}, {len(os.sched_getaffinity(0))} cores, torch {torch.__version__}, "
            f"{gpu}")


def rss_peak_mib(reset: bool = False) -> float:
    """The process's peak RSS (VmHWM) since the last reset; ``reset`` first hands the heap
    that earlier passes freed back to the system (glibc's ``malloc_trim``), so that the new
    peak starts from what is live rather than from what the allocator kept, then starts a new
    peak (where /proc/self/clear_refs is not writable the peak runs from process start)."""
    if reset:
        with contextlib.suppress(OSError, AttributeError):
            ctypes.CDLL("libc.so.6").malloc_trim(0)
        try:
            with open("/proc/self/clear_refs", "w") as f:
                f.write("5")
        except OSError:
            pass
    with open("/proc/self/status") as f:
        return next(int(line.split()[1]) for line in f if line.startswith("VmHWM")) / 1024


def load(framework: str, config: str, checkpoint: str | None, size: tuple[int, int],
         device: str) -> tuple[torch.nn.Module, object]:
    """The model and its config with the test Resize set to (W, H); random weights without
    a checkpoint (pretrained backbones stripped first, so nothing downloads)."""
    cfg = loading.load_config(config)
    for step in cfg.test_dataloader.dataset.pipeline:
        if step["type"].endswith("Resize"):
            step.update(scale=(size[1], size[0]), keep_ratio=False)
    if checkpoint is not None:
        return loading.load_model(cfg, checkpoint, framework, device).model, cfg
    loading.register_framework(framework)
    loading._strip_pretrained(cfg.model)
    from mmengine.registry import MODELS

    torch.manual_seed(0)
    model = MODELS.build(copy.deepcopy(cfg.model))
    loading.check_model_task(model, framework)
    return model.to(device).eval(), cfg


class Stages:
    """Aggregation, statistics and record writing of one task, with the pipeline's code."""

    def __init__(self, task: str, model: torch.nn.Module, cfg, packed: dict, amp: bool) -> None:
        self.task, self.size = task, packed["data_samples"].ori_shape[:2]
        clean = fw.clean_predictions(model, packed, amp)[0]
        if task == "det":
            self.s, self.classes = DetSettings(), det_pipe.model_num_classes(cfg.model)
            self.clean = fw.detections_array(clean)
        else:
            self.s, self.clean = SegSettings(), fw.label_map(clean)
            self.classes = model.decode_head.num_classes
        self.reset()

    def reset(self) -> None:
        s = self.s
        self.counter = (det_cert.BoxSampleCollector(self.size, s.bin, s.sort, s.max_per_bin,
                                                    s.score_thr, self.classes, s.grid_shape)
                        if self.task == "det" else seg_cert.HitCounter(self.clean))

    def add(self, batch: list) -> None:
        if self.task == "det":
            self.counter.add_batch([fw.detections_array(r) for r in batch])
        else:
            self.counter.update(np.stack([fw.label_map(r) for r in batch]))

    def certify(self, n: int) -> tuple[dict, np.ndarray | None]:
        s = self.s
        if self.task == "det":
            sweep = [det_cert.certify_boxes(self.counter, n, eps, s.sigma, s.alpha, s.correction,
                                            transform=s.transform)
                     for eps in det_pipe.sweep_eps(s)]
            record = next(c for c in sweep if c.eps == s.eps).to_record()
            return record | {"eps_sweep": [det_pipe.sweep_record(c) for c in sweep]}, None
        hits = self.counter.hits
        cert = seg_cert.certify_segmentation(self.clean, hits, n, s.sigma, s.tau, s.alpha,
                                             s.correction, n0=s.n0, transform=s.transform)
        seg_cert.certified_masks_by_tau(hits[None], n, seg_pipe.SWEEP_TAUS, s.alpha, s.correction)
        return cert.to_record(), cert.labels

    def write(self, found: tuple[dict, np.ndarray | None], journal: Journal, run_dir: str) -> None:
        record, labels = found
        if labels is not None:
            seg_pipe.write_mask(run_dir, seg_pipe.mask_name("bench.png", "certified"), labels)
        journal.append(0, record, self.clean if labels is None
                       else {"certified": labels, "clean": self.clean})


def measure(task: str, model: torch.nn.Module, cfg, packed: dict, image_id: str,
            args: argparse.Namespace, stream: Callable) -> dict:
    """Per repeat, at n and then 2n copies: the staged pass, then the certify loop."""
    device = next(model.parameters()).device
    cuda = device.type == "cuda"
    x, sample, noise = fw.frame_tensor(packed, device), packed["data_samples"], GaussianNoise(0.25)
    stages = Stages(task, model, cfg, packed, args.amp)
    run_dir = tempfile.mkdtemp(prefix="adcert-scale-")
    journal = Journal(run_dir, 0)

    def timed(key: str, times: dict, fn: Callable, *fn_args):
        if cuda:
            torch.cuda.synchronize()
        start = time.perf_counter()
        out = fn(*fn_args)
        if cuda:
            torch.cuda.synchronize()
        times[key] = times.get(key, 0.0) + time.perf_counter() - start
        return out

    def draw(k: int, st) -> torch.Tensor:  # one batch, drawn as the certify loop draws it
        return next(iter(perturbed_batches(x, k, k, noise, st)))

    def staged(m: int) -> dict:
        times: dict = {}
        stages.reset()
        st = stream(args.seed, image_id, device)
        for first in range(0, m, args.batch_size):
            copies = timed("noise", times, draw, min(args.batch_size, m - first), st)
            timed("h2d", times, copies.cpu().to, device)  # .cpu() is a no-op on the CPU
            out = timed("forward", times, fw._predict, model, copies, sample, args.amp)
            timed("aggregate", times, stages.add, out)
        found = timed("stats", times, stages.certify, m)
        timed("write", times, stages.write, found, journal, run_dir)
        return times

    def reset_memory() -> None:  # start a pass's peaks afresh
        if cuda:
            torch.cuda.reset_peak_memory_stats()
        rss_peak_mib(reset=True)

    def memory() -> tuple[float, float | None]:  # peak host and device MiB since the reset
        return rss_peak_mib(), torch.cuda.max_memory_allocated() / MIB if cuda else None

    def certify(m: int, prefetch: bool | None = None) -> tuple[float, float | None]:
        """The loop's time, and on a CPU the time its forwards took inside it (on a GPU,
        timing them would synchronize the device inside the loop and change what it costs);
        ``prefetch`` None: noise drawn ahead or in turn as the pipeline decides."""
        stages.reset()
        st, times = stream(args.seed, image_id, device), {}
        predict = fw._predict

        def timed_predict(*predict_args):  # the loop's own forwards, timed where they run
            return timed("inside", times, predict, *predict_args)
        default, fw.CPU_PREFETCH = fw.CPU_PREFETCH, prefetch  # CPU: ahead or in turn
        if not cuda:
            fw._predict = timed_predict
        try:
            timed("certify", times, lambda: [stages.add(b) for b in fw.perturbed_predictions(
                model, packed, noise, m, args.batch_size, st, args.amp)])
        finally:
            fw.CPU_PREFETCH, fw._predict = default, predict
        return times["certify"], times.get("inside")

    n = args.n
    out: dict = {key: [] for key in (*PER_COPY, "stats", "write", "certify", "ratio",
                                     "ratio_inside", "ratio_other")}
    with torch.no_grad():
        staged(args.batch_size), certify(args.batch_size)  # warm-up: allocator, kernels
        for repeat in range(args.repeat):
            times, cert, other = {}, {}, {}
            for m in (n, 2 * n):
                reset_memory()
                if repeat % 2:  # alternate which pass runs first, so order effects cancel
                    cert[m] = certify(m)
                    times[m] = staged(m)
                else:
                    times[m], cert[m] = staged(m), certify(m)
                other[m] = certify(m, prefetch=not fw.cpu_prefetch()) if not cuda else None
                if repeat == 0:
                    out[m] = memory()
            for key in PER_COPY:
                out[key].append((times[2 * n][key] - times[n][key]) / n)
            out["stats"].append(times[2 * n]["stats"])
            out["write"].append(times[2 * n]["write"])
            out["certify"].append((cert[2 * n][0] - cert[n][0]) / n)
            out["ratio"].append(out["certify"][-1] / out["forward"][-1])
            if not cuda:
                out["ratio_inside"].append((cert[2 * n][1] - cert[n][1]) / n
                                           / out["forward"][-1])
                out["ratio_other"].append((other[2 * n][0] - other[n][0]) / n
                                          / out["forward"][-1])
        # Memory, untimed, once the allocator has settled: the first batches of a run raise
        # the peak while glibc's arenas grow, so flatness is read from certify passes at 2n
        # and 4n after the repeats.
        for m in (2 * n, 4 * n):
            reset_memory()
            certify(m)
            out["settled", m] = memory()
    if task == "seg":  # the n0 selection copies' counting, for a note under the table
        selection = seg_cert.ClassCounter(stages.classes, stages.clean.shape)
        maps = np.stack([stages.clean] * args.batch_size)
        start = time.perf_counter()
        selection.update(maps)
        out["select"] = (time.perf_counter() - start) / args.batch_size
    journal.close()
    shutil.rmtree(run_dir)
    return out


def spread(values: list[float], scale: float = 1e3, digits: int = 1) -> str:
    """The median (min–max) of ``values`` × ``scale``."""
    v = [x * scale for x in values]
    low, mid, high = min(v), statistics.median(v), max(v)
    return f"{mid:.{digits}f} ({low:.{digits}f}–{high:.{digits}f})" if len(v) > 1 \
        else f"{mid:.{digits}f}"


def flat(at_2n: float, at_4n: float) -> str:
    """yes when the peak at 4n is within max(32 MiB, 5 %) of the peak at 2n."""
    grown = at_4n - at_2n > max(32.0, 0.05 * at_2n)
    return f"{'no' if grown else 'yes'} ({at_2n:.0f}→{at_4n:.0f} MiB)"


def row(cells: list[str], found: dict, n: int) -> str:
    """One table row: ``cells`` (task … noise path), then the figures of ``found``."""
    (rss_n, dev_n), (rss_2n, dev_2n) = found[n], found[2 * n]
    (rss_s2n, dev_s2n), (rss_4n, dev_4n) = found["settled", 2 * n], found["settled", 4 * n]
    cells = [*cells, *(spread(found[k]) for k in (*PER_COPY, "stats", "write", "certify")),
             spread(found["ratio"], 1, 2),
             *(spread(found[k], 1, 2) if found[k] else "–" for k in ("ratio_inside",
                                                                       "ratio_other")),
             f"{max(rss_n, rss_2n, rss_s2n, rss_4n):.0f} MiB",
             f"{max(dev_n, dev_2n, dev_s2n, dev_4n):.0f} MiB" if dev_n is not None else "–",
             f"RSS {flat(rss_s2n, rss_4n)}"
             + (f"; device {flat(dev_s2n, dev_4n)}" if dev_n is not None else "")]
    return "| " + " | ".join(cells) + " |"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--task", choices=("det", "seg", "both"), default="both")
    parser.add_argument("--size", default="1024x2048", help="H×W of the model input")
    parser.add_argument("--n", type=int, default=8, help="noisy copies; measured at n and 2n")
    parser.add_argument("--batch-size", type=int, default=4)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--device", choices=("cpu", "cuda"),
                        default="cuda" if torch.cuda.is_available() else "cpu")
    parser.add_argument("--noise", choices=("host", "device"), default="host")
    parser.add_argument("--amp", action="store_true")
    parser.add_argument("--models", choices=("demo", "all"), default="demo")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", help="also write the table to this Markdown file")
    args = parser.parse_args()
    height, width = (int(v) for v in args.size.lower().split("x"))
    out_path = os.path.abspath(args.out) if args.out else None
    if args.n % args.batch_size:
        print("--n is not a multiple of --batch-size: the n and 2n passes run batches of "
              "other sizes, and memory may not look flat in n", file=sys.stderr)
    os.chdir(ROOT)  # the configs' data roots are relative to the repository
    path = args.noise

    def stream(seed: int, image_id: str, device) -> object:
        return image_generator(seed, image_id, device, path=args.noise)
    source = sorted(glob.glob("data/demo/leftImg8bit/test/*/*.png"))[0]
    frame = os.path.join(tempfile.mkdtemp(prefix="adcert-scale-"), os.path.basename(source))
    cv2.imwrite(frame, cv2.resize(cv2.imread(source), (width, height)))
    ahead = fw.cpu_prefetch()
    ways = {True: "ahead, in a thread beside the forward", False: "in turn, between forwards"}
    lines = [machine(), "",
             f"n = {args.n} and {2 * args.n} copies of {source} resized, batches of "
             f"{args.batch_size}, {args.repeat} repeats{', AMP' if args.amp else ''}: ms per "
             "copy, marginal (t(2n) − t(n)) / n, median (min–max); stats and write in ms per "
             "frame at 2n.",
             f"On a CPU the loop draws the next batch's noise {ways[ahead]} "
             f"({len(os.sched_getaffinity(0))} cores, torch {torch.get_num_threads()} threads); "
             f"the other way ÷ forward: the loop with the noise drawn {ways[not ahead]}.", "",
             "| task | model | size | device | noise path | noise | h→d | forward | aggregate "
             "| stats (ms/frame) | write (ms/frame) | certify | certify ÷ forward "
             "| its forwards ÷ forward | the other way ÷ forward | peak RSS | peak device mem "
             "| memory flat in n (2n→4n) |",
             "|" + "---|" * 18]
    notes = []
    for task in ("det", "seg") if args.task == "both" else (args.task,):
        models = [DEMO[task]]
        if args.models == "all":
            name, package, relative = ZOO[task]
            root = os.path.dirname(__import__(package).__file__)
            models.append((name, os.path.join(root, ".mim", "configs", relative), None))
        for name, config, checkpoint in models:
            framework = "mmdet" if task == "det" else "mmseg"
            model, cfg = load(framework, config, checkpoint, (height, width), args.device)
            frames = build_frames(cfg, frame, 1)
            packed = frames.load(0)
            size = "×".join(str(v) for v in packed["inputs"].shape[-2:])
            print(f"{task} {name} at {size} …", file=sys.stderr, flush=True)
            found = measure(task, model, cfg, packed, frames.frames[0].image_id, args, stream)
            lines.append(row([task, name, size, args.device, path], found, args.n))
            if "select" in found:
                notes.append(f"{name}: ClassCounter.update (the n0 selection copies' "
                             f"counting) {found['select'] * 1e3:.1f} ms per copy.")
            del model
            if args.device == "cuda":
                torch.cuda.empty_cache()
    lines += ["", *notes, "Peak RSS: the process's VmHWM over the n and 2n passes of the "
              "first repeat and over two untimed certify passes at 2n and 4n after the last "
              "(freed heap trimmed and the peak reset before each); device memory: "
              "torch.cuda.max_memory_allocated. Memory is flat when the 4n certify pass peaks "
              "within max(32 MiB, 5 %) of the 2n one."]
    shutil.rmtree(os.path.dirname(frame))
    print("\n".join(lines))
    if out_path:
        os.makedirs(os.path.dirname(out_path), exist_ok=True)
        with open(out_path, "w") as f:
            f.write("\n".join(lines) + "\n")


if __name__ == "__main__":
    main()
