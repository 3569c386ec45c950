# FCN R50-D8 on Cityscapes val, as MMSegmentation's own config; Cityscapes under
# data/cityscapes/ (leftImg8bit + gtFine *_labelTrainIds.png). SegCertify's defaults.
_base_ = "mmseg::fcn/fcn_r50-d8_4xb2-80k_cityscapes-512x1024.py"

certify = dict(sigma=0.25, tau=0.75, n0=100, n=1000, alpha=1e-4, correction="holm",
               batch_size=4)
