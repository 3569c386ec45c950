"""Drawing certificates over driving scenes: boxes, label maps, captions, panels, video.

Every drawing shows what the *smoothed* model is certified to do (median-smoothed boxes,
τ-abstain label maps); the base model's clean predictions, when drawn, carry no
certificate. Needs numpy and OpenCV only (no torch, mmdet or mmseg). All output is
deterministic: the same inputs give byte-identical arrays.
"""

from adcert.vis.boxes import (
    certified_object_count,
    detection_caption,
    draw_certified_boxes,
    draw_clean_detections,
    draw_dashed_line,
    draw_detection_record,
    draw_dotted_line,
    parse_boxes,
)
from adcert.vis.caption import GUARANTEE_LINE, add_caption, caption_bar, side_by_side
from adcert.vis.masks import (
    abstain_rate,
    colourize_labels,
    draw_clean_mask,
    draw_segmentation_record,
    load_label_map,
    overlay_labels,
    record_abstain_rate,
    segmentation_caption,
)
from adcert.vis.palette import (
    ABSTAIN_BASE,
    ABSTAIN_PIXEL,
    ABSTAIN_STRIPE,
    CITYSCAPES_PALETTE,
    DETECTION_PALETTE,
    class_colour,
    generated_colour,
    segmentation_palette,
)
from adcert.vis.video import read_video_frames, stamp_status, write_video

__all__ = [
    "ABSTAIN_BASE",
    "ABSTAIN_PIXEL",
    "ABSTAIN_STRIPE",
    "CITYSCAPES_PALETTE",
    "DETECTION_PALETTE",
    "GUARANTEE_LINE",
    "abstain_rate",
    "add_caption",
    "caption_bar",
    "certified_object_count",
    "class_colour",
    "colourize_labels",
    "detection_caption",
    "draw_certified_boxes",
    "draw_clean_detections",
    "draw_clean_mask",
    "draw_dashed_line",
    "draw_detection_record",
    "draw_dotted_line",
    "draw_segmentation_record",
    "generated_colour",
    "load_label_map",
    "overlay_labels",
    "parse_boxes",
    "read_video_frames",
    "record_abstain_rate",
    "segmentation_caption",
    "segmentation_palette",
    "side_by_side",
    "stamp_status",
    "write_video",
]
