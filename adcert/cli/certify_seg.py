"""``tools/certify_seg.py``: τ-abstain certification of an mmseg model's test frames."""

from __future__ import annotations

from adcert.cli.common import base_parser, certify_main, run_main
from adcert.pipeline.settings import SEG_CORRECTIONS


def parse_args(argv: list[str] | None):
    parser = base_parser(__doc__)
    parser.add_argument("--tau", type=float, help="per-pixel threshold τ in (0.5, 1)")
    parser.add_argument("--n0", type=int, help="selection samples per frame")
    parser.add_argument("--alpha", type=float,
                        help="failure probability per frame: with probability ≥ 1 − α every "
                             "certified pixel of the frame keeps its class (Holm or "
                             "Bonferroni over all pixels)")
    parser.add_argument("--correction", choices=SEG_CORRECTIONS)
    parser.add_argument("--hierarchy", metavar="NAME|FILE",
                        help="certify each pixel's finest certified node of a class hierarchy "
                             "instead of abstaining: cityscapes, coco, demo, or a .py/.json "
                             "file (docs/certificates.md §9)")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    from adcert.pipeline.segmentation import TASK

    return certify_main(TASK, parse_args(argv))


def cli(argv: list[str] | None = None) -> int:
    return run_main(main, argv)
