# A small denoiser for the demo frames, trained with MSE on mmengine's runner
# (tools/train_denoiser.py). It goes in front of any frozen demo model:
#   tools/certify_seg.py CONFIG CKPT --denoiser configs/denoiser/conv_demo_mse.py DENOISER.pth
# σ must be the smoothing σ the model is certified at (the noise the denoiser learns to
# remove). The same checkpoint is the starting point of the stability objective
# (conv_demo_stab_seg.py, conv_demo_stab_det.py).
default_scope = "mmseg"
custom_imports = dict(imports=["adcert.models.denoiser_training"], allow_failed_imports=False)

sigma = 0.25
denoiser = dict(type="ConvDenoiser", channels=32, fold=4, depth=4)
model = dict(type="DenoiserTrainer", denoiser=denoiser, sigma=sigma, objective="mse")

data_root = "data/demo/"
crop_size = (128, 256)  # (height, width): the denoiser is fully convolutional
train_pipeline = [
    dict(type="LoadImageFromFile"),
    dict(type="RandomCrop", crop_size=crop_size),
    dict(type="RandomFlip", prob=0.5),
    dict(type="PackSegInputs"),
]
train_dataloader = dict(
    batch_size=8,
    num_workers=2,
    persistent_workers=True,
    sampler=dict(type="InfiniteSampler", shuffle=True),
    dataset=dict(type="CityscapesDataset", data_root=data_root,
                 data_prefix=dict(img_path="leftImg8bit/train", seg_map_path="gtFine/train"),
                 pipeline=train_pipeline),
)

optim_wrapper = dict(type="OptimWrapper", optimizer=dict(type="AdamW", lr=2e-3,
                                                         weight_decay=1e-4))
max_iters = 2000
param_scheduler = [
    dict(type="LinearLR", start_factor=1e-2, by_epoch=False, begin=0, end=50),
    dict(type="CosineAnnealingLR", eta_min=1e-5, by_epoch=False, begin=50, end=max_iters,
         T_max=max_iters - 50),
]
train_cfg = dict(type="IterBasedTrainLoop", max_iters=max_iters)
default_hooks = dict(
    timer=dict(type="IterTimerHook"),
    logger=dict(type="LoggerHook", interval=25, log_metric_by_epoch=False),
    param_scheduler=dict(type="ParamSchedulerHook"),
    checkpoint=dict(type="CheckpointHook", by_epoch=False, interval=200, max_keep_ckpts=1),
    sampler_seed=dict(type="DistSamplerSeedHook"),
)
log_processor = dict(by_epoch=False)
env_cfg = dict(cudnn_benchmark=False, dist_cfg=dict(backend="gloo"))
log_level = "INFO"
load_from = None
resume = False
