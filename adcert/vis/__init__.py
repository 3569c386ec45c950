"""Drawing certificates over driving scenes: boxes, label maps, captions, panels, video.

``render`` draws a whole run (its records, over their frames); ``boxes``, ``masks``,
``nodes`` (a hierarchical run's certified node maps) and ``caption`` draw one frame;
``labels`` lays box labels out so that none overlaps another and sizes text and lines to
the frame; ``video`` finds, reads and writes frame and video
files; ``palette`` holds the colours. Every drawing shows what the *smoothed* model is certified
to do (median-smoothed boxes, τ-abstain label maps); the base model's clean predictions,
when drawn, carry no certificate. Needs numpy and OpenCV only (no torch, mmdet or
mmseg). All output is deterministic: the same inputs give byte-identical arrays.
"""

from adcert import ABSTAIN_PIXEL
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
from adcert.vis.labels import (
    FrameStyle,
    Label,
    LabelLayout,
    draw_labels,
    frame_style,
    layout_labels,
)
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
from adcert.vis.nodes import (
    colourize_nodes,
    draw_node_record,
    node_colours,
    overlay_nodes,
)
from adcert.vis.palette import (
    ABSTAIN_BASE,
    ABSTAIN_STRIPE,
    DETECTION_PALETTE,
    NodeHatch,
    class_colour,
    generated_colour,
    palette_from_meta,
)
from adcert.vis.render import load_records, load_summary, record_kind, render_records
from adcert.vis.video import (
    IMAGE_SUFFIXES,
    VIDEO_SUFFIXES,
    extract_video_frames,
    image_paths,
    is_video,
    read_frame,
    read_video_frames,
    stamp_status,
    write_video,
)

__all__ = [
    "ABSTAIN_BASE",
    "ABSTAIN_PIXEL",
    "ABSTAIN_STRIPE",
    "DETECTION_PALETTE",
    "FrameStyle",
    "GUARANTEE_LINE",
    "IMAGE_SUFFIXES",
    "Label",
    "LabelLayout",
    "NodeHatch",
    "VIDEO_SUFFIXES",
    "abstain_rate",
    "add_caption",
    "caption_bar",
    "certified_object_count",
    "class_colour",
    "colourize_labels",
    "colourize_nodes",
    "detection_caption",
    "draw_certified_boxes",
    "draw_clean_detections",
    "draw_clean_mask",
    "draw_dashed_line",
    "draw_detection_record",
    "draw_labels",
    "draw_node_record",
    "draw_dotted_line",
    "draw_segmentation_record",
    "extract_video_frames",
    "frame_style",
    "generated_colour",
    "image_paths",
    "is_video",
    "layout_labels",
    "load_label_map",
    "load_records",
    "load_summary",
    "node_colours",
    "overlay_labels",
    "overlay_nodes",
    "palette_from_meta",
    "parse_boxes",
    "read_frame",
    "read_video_frames",
    "record_abstain_rate",
    "record_kind",
    "render_records",
    "segmentation_caption",
    "side_by_side",
    "stamp_status",
    "write_video",
]
