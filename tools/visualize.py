"""Draw certified boxes / label maps from a results.jsonl (see adcert.cli.visualize).

    python tools/visualize.py RESULTS_JSONL --out-dir DIR [--img-dir DIR] [--classes a,b,c]
        [--video OUT.mp4] [--fps 10] [--panel]
"""

import sys

from adcert.cli.visualize import cli

if __name__ == "__main__":
    sys.exit(cli())
