"""``tools/certify_det.py``: median-smoothing certification of an mmdet model's test frames."""

from __future__ import annotations

from adcert.cli.common import base_parser, certify_main, run_main
from adcert.pipeline.settings import DET_BINS, DET_CORRECTIONS, DET_SORTS, DetSettings


def parse_args(argv: list[str] | None):
    parser = base_parser(__doc__)
    parser.add_argument("--eps", type=float,
                        help="attack size: ℓ2 radius on the [0, 1] scale over the resized "
                             "model input; with a camera effect, brightness |b| ≤ ε, "
                             "contrast or gamma in [e^-ε, e^ε]")
    parser.add_argument("--alpha", type=float,
                        help="failure probability per box (--correction box), per frame "
                             "(image) or per bound (none): with probability ≥ 1 − α each "
                             "certified box's bounds and label hold")
    parser.add_argument("--bin", choices=DET_BINS)
    parser.add_argument("--sort", choices=DET_SORTS)
    parser.add_argument("--grid", help="location bins: ROWSxCOLUMNS cells of the image "
                                       "for --bin location / location+label (default: the "
                                       f"config's certify grid, else {DetSettings.grid})")
    parser.add_argument("--max-per-bin", type=int, help="boxes kept per bin and sample")
    parser.add_argument("--nms-iou", type=float,
                        help="greedy per-class NMS of the smoothed boxes at this IoU, with "
                             "certified suppression (docs/certified_ap.md)")
    parser.add_argument("--score-thr", type=float, help="drop sampled boxes below this score")
    parser.add_argument("--correction", choices=DET_CORRECTIONS,
                        help="multiple-testing correction: per box (default), per image, none")
    parser.add_argument("--hierarchy", metavar="NAME|FILE",
                        help="certify each box's finest certified node of a class hierarchy "
                             "where its class is unstable (label bins then hold a level-1 "
                             "node's classes): "
                             "demo, coco, cityscapes, or a .py/.json file "
                             "(docs/certificates.md §9)")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    from adcert.pipeline.detection import TASK

    return certify_main(TASK, parse_args(argv))


def cli(argv: list[str] | None = None) -> int:
    return run_main(main, argv)
