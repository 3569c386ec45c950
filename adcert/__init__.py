"""adcert: randomized-smoothing certificates for camera perception.

The package mirrors the pipeline: ``stats`` → ``noise`` → ``certify`` → ``models`` →
``evaluation`` → ``vis`` → ``report``. Importing ``adcert`` loads neither torch nor any
OpenMMLab package; each subpackage imports what it needs.
"""

__version__ = "0.1.0"

# Abstention, as a class index: the smoothed model declines to answer.
ABSTAIN = -1
