"""Generate the demo's synthetic driving scenes (Cityscapes layout + COCO json).

    python tools/make_demo_data.py --out data/demo --train 400 --val 60 --test 60 \\
        --sequence 48 --seed 0 [--height 256] [--width 512] [--sequence-name demo]

Same files for the same command; see adcert.datasets.demo_data.
"""

import sys

from adcert.datasets.demo_data import main

if __name__ == "__main__":
    sys.exit(main())
