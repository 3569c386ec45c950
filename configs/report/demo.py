# Requirements of the embedded demo's safety case (tools/report.py --requirements).
# Each requirement names a figure, a threshold, the attack set it must hold against
# (transform + eps) and the largest per-box / per-frame failure probability accepted.
# Every verdict, and the top goal over all of them, is met only when the failure bound
# summed over every certificate family it rests on is ≤ 1 − confidence (0.95 unless
# given); it is then met on a wrong certificate with probability ≤ 1 − confidence
# (docs/report.md). The demo certifies its detection runs at α = 1e-5 per box
# (adcert/demo.py) so that, over its frames, those sums stay well below 0.05.
title = "adcert demo: robustness of camera perception on generated driving scenes"
system = "the demo RTMDet (MobileNetV2) detector and Semantic FPN segmenter, smoothed"
confidence = 0.95  # the top goal: every requirement at once

requirements = [
    dict(id="DET-1", metric="certified_ap50", cls="car", min=0.3,
         transform="gaussian", eps=0.1, alpha=1e-5,
         text="Cars stay detected and localised under small sensor noise"),
    dict(id="DET-2", metric="certified_ap50", min=0.25,
         transform="gaussian", eps=0.36, alpha=1e-5,
         text="Every class keeps a certified AP@50 of 0.25 at Chiang et al.'s ε = 0.36"),
    dict(id="DET-3", metric="may_vanish_rate", max=0.5,
         transform="gaussian", eps=0.1, alpha=1e-5,
         text="At most half of the detected objects may be made to vanish"),
    dict(id="SEG-1", metric="certified_acc", min=0.8,
         transform="gaussian", eps=0.1, alpha=1e-3,
         text="Four in five pixels keep their correct class under small sensor noise"),
    dict(id="SEG-2", metric="abstain_rate", max=0.2,
         transform="gaussian", eps=0.1, alpha=1e-3,
         text="The certificate leaves at most a fifth of the pixels uncertified, so an "
              "attack can change the class of at most a fifth"),
    dict(id="SEG-3", metric="certified_acc", min=0.6,
         transform="brightness", eps=0.1, alpha=1e-3,
         text="Pixels keep their class when the frame brightens or darkens by 0.1"),
    dict(id="DET-4", metric="certified_ap50", cls="car", min=0.3,
         transform="gamma", eps=0.1, alpha=1e-5,
         text="Cars stay detected under a gamma change of the camera curve within e^±0.1"),
]
