# Faster R-CNN R50-FPN on Cityscapes val (8 thing classes), as MMDetection's own config;
# Cityscapes under data/cityscapes/ with mmdet's converted instance annotations.
_base_ = "mmdet::cityscapes/faster-rcnn_r50_fpn_1x_cityscapes.py"

certify = dict(sigma=0.25, eps=0.36, n=2000, alpha=1e-3, bin="label", sort="center",
               correction="box", batch_size=4)
