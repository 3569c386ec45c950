"""Certify an mmdet model with median smoothing + sort-and-bin (see adcert.cli.certify_det).

    python tools/certify_det.py CONFIG CHECKPOINT [--sigma S] [--eps E] [--n N] [--alpha A]
        [--bin location+label] [--grid 1x8] [--sort score] [--correction box|image|none]
        [--work-dir DIR] ...
"""

import sys

from adcert.cli.certify_det import cli

if __name__ == "__main__":
    sys.exit(cli())
