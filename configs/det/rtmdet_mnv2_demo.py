# The demo detector (trained by tools/train.py configs/demo/rtmdet_mnv2_demo.py).
_base_ = "../demo/rtmdet_mnv2_demo.py"
