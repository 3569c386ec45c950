"""Plot certified fraction vs certified range from certify_seg results.

    python tools/plot_certified.py RESULTS.jsonl [RESULTS.jsonl ...] --out curve.png
"""

import argparse
import os
import sys

from adcert.cli.common import run_main
from adcert.report.plots import plot_certified_fraction
from adcert.vis.render import load_records


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("results", nargs="+")
    parser.add_argument("--out", required=True, help="PNG to write")
    args = parser.parse_args(argv)
    runs = {}
    for path in args.results:
        records = load_records(path)
        if not records:
            raise ValueError(f"{path} holds no records")
        runs[os.path.basename(os.path.dirname(os.path.dirname(os.path.abspath(path))))
             or path] = records
    print(plot_certified_fraction(runs, args.out))
    return 0


if __name__ == "__main__":
    sys.exit(run_main(main))
