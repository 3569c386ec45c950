"""Certify an mmseg model with τ-abstain randomized smoothing (see adcert.cli.certify_seg).

    python tools/certify_seg.py CONFIG CHECKPOINT [--sigma S] [--tau T] [--n0 N0] [--n N]
        [--alpha A] [--correction holm|bonferroni] [--work-dir DIR] [--launcher ...]
"""

import sys

from adcert.cli.certify_seg import cli

if __name__ == "__main__":
    sys.exit(cli())
