# The demo segmenter (trained by tools/train.py configs/demo/fpn_mnv2_demo.py).
_base_ = "../demo/fpn_mnv2_demo.py"
