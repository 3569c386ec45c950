"""Draw a finished certify run's boxes / label maps over its frames (adcert.cli.visualize).

    python tools/visualize.py RESULTS_JSONL --out-dir DIR [--img-dir DIR] [--panel]
        [--video OUT.mp4] [--fps 10] [--summary SUMMARY_JSON] [--classes a,b,c]

Class names and colours come from the run's summary.json beside RESULTS_JSONL. Installed
as the console command ``adcert-visualize``.
"""

import sys

from adcert.cli.visualize import cli

if __name__ == "__main__":
    sys.exit(cli())
