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


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pixels", type=int, default=1024 * 2048)
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    bench_holm(args.pixels, args.repeat)


if __name__ == "__main__":
    main()
