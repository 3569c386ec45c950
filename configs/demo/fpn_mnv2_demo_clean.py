# The demo segmenter trained on clean frames only: fpn_mnv2_demo.py without its Gaussian-
# noise augmentation, the checkpoint a user arrives with. Under σ = 0.25 noise it falls
# apart; a denoiser in front of it (certify.denoiser, adcert.models.denoiser) makes it
# certifiable without retraining. 400 iterations, a third of the noise-trained model's
# budget: clean training converges sooner.
_base_ = "./fpn_mnv2_demo.py"

train_pipeline = [
    dict(type="LoadImageFromFile"),
    dict(type="LoadAnnotations"),
    dict(type="RandomResize", scale=(512, 256), ratio_range=(0.75, 1.5), keep_ratio=True),
    dict(type="RandomCrop", crop_size=(256, 512), cat_max_ratio=0.75),
    dict(type="RandomFlip", prob=0.5),
    dict(type="PackSegInputs"),
]
train_dataloader = dict(dataset=dict(pipeline=train_pipeline))

max_iters = 400
param_scheduler = [
    dict(type="LinearLR", start_factor=1e-3, by_epoch=False, begin=0, end=100),
    dict(type="PolyLR", eta_min=1e-5, power=1.0, begin=100, end=max_iters, by_epoch=False),
]
train_cfg = dict(type="IterBasedTrainLoop", max_iters=max_iters, val_interval=400)
default_hooks = dict(checkpoint=dict(interval=200))
