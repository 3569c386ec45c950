# Faster R-CNN R50-FPN on COCO val2017, exactly as MMDetection's own config; put COCO under
# data/coco/ and pass the model-zoo checkpoint (it needs --unsafe-load: zoo checkpoints
# pickle more than tensors). Chiang et al.'s COCO settings: σ = 0.25, ε = 0.36, n = 2000.
_base_ = "mmdet::faster_rcnn/faster-rcnn_r50_fpn_1x_coco.py"

certify = dict(sigma=0.25, eps=0.36, n=2000, alpha=1e-3, bin="label", sort="center",
               correction="box", batch_size=8)
