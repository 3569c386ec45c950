"""Benchmarks whose figures go into notes and the README, measured in one run.

    python tools/benchmark.py [--pixels 2097152] [--repeat 5]

Prints each timing with the ratio that makes it comparable across machines.
"""

from __future__ import annotations

import argparse
import time

import numpy as np


def best_of(repeat: int, fn) -> float:
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return min(times)


def bench_holm(pixels: int, repeat: int) -> None:
    from adcert.stats import holm

    rng = np.random.default_rng(0)
    pvalues = np.concatenate([rng.uniform(0, 1e-9, pixels // 2), rng.uniform(0, 1, pixels // 2)])
    holm_s = best_of(repeat, lambda: holm(pvalues, 1e-4))
    sort_s = best_of(repeat, lambda: np.sort(pvalues))
    print(f"holm on {pixels} p-values: {holm_s * 1e3:.1f} ms "
          f"= {holm_s / sort_s:.2f} × one np.sort of the same array")


def bench_noise(shape: tuple[int, ...], repeat: int) -> None:
    """One noisy copy as certification draws it (float64 ziggurat, one rounding) against
    torch's float32 randn of the same shape (which misses the Gaussian's far tails)."""
    import torch

    from adcert.noise import GaussianNoise, image_generator

    x = torch.rand(shape)
    stream = image_generator(0, "bench.png")
    noise = GaussianNoise(0.25)
    ours = best_of(repeat, lambda: noise(x, stream))
    plain = best_of(repeat, lambda: x + 0.25 * torch.randn(shape))
    print(f"noise for one {'×'.join(map(str, shape))} copy: {ours * 1e3:.1f} ms "
          f"= {ours / plain:.2f} × x + σ·torch.randn")


def bench_certify(n: int, repeat: int) -> None:
    """Certifying one demo frame against n noisy forwards of the detector, batched as the
    run does (8 copies): the overhead of noise, sort-and-bin and bounds."""
    import torch

    from adcert.models.data import load_frame
    from adcert.models.forward import _predict, frame_tensor
    from adcert.noise import image_generator
    from adcert.pipeline.api import load_model
    from adcert.pipeline.detection import certify_frame
    from adcert.pipeline.frames import build_frames
    from adcert.pipeline.settings import DetSettings

    loaded = load_model("configs/demo/rtmdet_mnv2_demo.py",
                        "data/demo/checkpoints/rtmdet_mnv2_demo.pth", "detection", "cpu")
    frames = build_frames(loaded.cfg, None, 1)
    packed = load_frame(frames.dataset, 0)
    settings = DetSettings(n=n, eps=0.1, seed=0)
    x = frame_tensor(packed, loaded.device)[None].repeat(8, 1, 1, 1)

    def forwards() -> None:
        with torch.no_grad():
            for _ in range(n // 8):
                _predict(loaded.model, x, packed["data_samples"], False)

    certify_s = best_of(repeat, lambda: certify_frame(
        loaded.model, packed, settings, image_generator(0, "bench.png"), num_classes=4))
    forward_s = best_of(repeat, forwards)
    print(f"certify one demo frame, n = {n}: {certify_s:.2f} s "
          f"= {certify_s / forward_s:.2f} × {n // 8} batched forwards of 8 clean copies")


def bench_denoiser(repeat: int, config: str = "configs/denoiser/conv_demo_mse.py") -> None:
    """The denoiser's cost per noisy copy against each demo model's own forward, both on
    batches of 8 copies of a 256×512 frame as certification runs them (the goal: ≤ 25 %)."""
    import torch

    from adcert.models.data import load_frame
    from adcert.models.denoiser import build_denoiser, denoiser_spec
    from adcert.models.forward import _predict, frame_tensor
    from adcert.pipeline.api import load_model
    from adcert.pipeline.frames import build_frames

    torch.manual_seed(0)  # the cost does not depend on the weights
    denoiser = build_denoiser(denoiser_spec(config)).eval()
    for task, name in (("detection", "rtmdet_mnv2_demo"), ("segmentation", "fpn_mnv2_demo")):
        loaded = load_model(f"configs/demo/{name}.py", f"data/demo/checkpoints/{name}.pth",
                            task, "cpu")
        packed = load_frame(build_frames(loaded.cfg, None, 1).dataset, 0)
        x = frame_tensor(packed, loaded.device)[None].repeat(8, 1, 1, 1)
        with torch.no_grad():
            model_s = best_of(repeat, lambda m=loaded.model, x=x, p=packed: _predict(
                m, x, p["data_samples"], False))
            denoise_s = best_of(repeat, lambda x=x: denoiser(x))
        print(f"{config} before the demo {task} model: {denoise_s / 8 * 1e3:.1f} ms per "
              f"copy = {denoise_s / model_s:.2f} × the model's forward "
              f"({model_s / 8 * 1e3:.1f} ms per copy, batches of 8)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pixels", type=int, default=1024 * 2048)
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--n", type=int, default=96, help="noisy copies for bench_certify")
    args = parser.parse_args()
    bench_holm(args.pixels, args.repeat)
    for shape in ((3, 256, 512), (3, 1024, 2048)):
        bench_noise(shape, args.repeat)
    bench_certify(args.n, max(1, args.repeat // 2))
    bench_denoiser(args.repeat)


if __name__ == "__main__":
    main()
