# Requirements read at a level of a class hierarchy (docs/report.md, "Requirements at a
# hierarchy level"): for segmentation runs certified with `--hierarchy cityscapes`
# (docs/certificates.md §9). `level` names a level of the run's hierarchy; a run certified
# without one is no evidence for such a requirement (not evidenced, with that reason).
title = "Hierarchical certificates: what a planner can rely on when a class is unstable"
system = "a Cityscapes segmenter, smoothed, certified with the cityscapes hierarchy"
confidence = 0.95

requirements = [
    dict(id="SEG-H1", metric="certified_acc", level="category", min=0.95,
         transform="gaussian", eps=0.1, alpha=1e-3,
         text="Nineteen pixels in twenty keep at least their Cityscapes category (vehicle, "
              "human, flat, …) under small sensor noise"),
    dict(id="SEG-H2", metric="certified_acc", level="class", min=0.8,
         transform="gaussian", eps=0.1, alpha=1e-3,
         text="Four in five pixels keep their exact class under small sensor noise"),
    dict(id="SEG-H3", metric="certified_miou", level="group", min=0.7,
         transform="gaussian", eps=0.1, alpha=1e-3,
         text="Drivable surface, static world and dynamic agents stay apart: certified "
              "mIoU over the three groups of at least 0.7"),
    dict(id="SEG-H4", metric="abstain_rate", max=0.1,
         transform="gaussian", eps=0.1, alpha=1e-3,
         text="At most a tenth of the pixels get no certified node at all"),
]
