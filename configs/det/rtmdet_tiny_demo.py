# The demo detector (trained by tools/train.py configs/demo/rtmdet_tiny_demo.py).
_base_ = "../demo/rtmdet_tiny_demo.py"
