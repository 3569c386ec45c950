"""adcert: randomized-smoothing certificates for camera perception.

The package mirrors the pipeline (docs/design.md): ``stats`` → ``noise`` → ``certify`` →
``models`` → ``pipeline`` → ``evaluation`` → ``vis`` → ``report``. Importing ``adcert``
loads neither torch nor any OpenMMLab package; each subpackage imports what it needs.
``adcert.datasets`` (the demo's synthetic scenes) is used by the demo tools and the tests
only. The mathematics behind every certificate is in docs/certificates.md.
"""

__version__ = "0.1.0"

# The one place where abstention is spelled. A smoothed classifier that declines to
# answer returns the class index ABSTAIN; a certified label map (uint8, as mmseg writes
# and scores maps) marks the pixels that abstain with ABSTAIN_PIXEL, mmseg's and
# Cityscapes' ignore index, so that abstentions drop out of the usual metrics.
ABSTAIN = -1
ABSTAIN_PIXEL = 255
