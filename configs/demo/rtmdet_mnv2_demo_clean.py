# The demo detector trained on clean frames only: rtmdet_mnv2_demo.py without its
# Gaussian-noise augmentation, the checkpoint a user arrives with. Under σ = 0.25 noise it
# loses most of its boxes; a denoiser in front of it (certify.denoiser,
# adcert.models.denoiser) makes it certifiable without retraining. 8 epochs against the
# noise-trained model's 22: clean training converges sooner.
_base_ = "./rtmdet_mnv2_demo.py"

img_scale = (512, 256)
train_pipeline = [
    dict(type="LoadImageFromFile"),
    dict(type="LoadAnnotations", with_bbox=True),
    dict(type="RandomResize", scale=img_scale, ratio_range=(0.8, 1.25), keep_ratio=True),
    dict(type="RandomCrop", crop_size=img_scale, allow_negative_crop=False),  # (w, h)
    dict(type="RandomFlip", prob=0.5),
    dict(type="Pad", size=img_scale, pad_val=dict(img=(114, 114, 114))),
    dict(type="PackDetInputs"),
]
train_dataloader = dict(dataset=dict(pipeline=train_pipeline))

max_epochs = 8
base_lr = 0.004
train_cfg = dict(max_epochs=max_epochs, val_interval=4)
param_scheduler = [
    dict(type="LinearLR", start_factor=1e-3, by_epoch=False, begin=0, end=150),
    dict(type="CosineAnnealingLR", eta_min=base_lr * 0.05, begin=max_epochs // 2,
         end=max_epochs, T_max=max_epochs // 2, by_epoch=True, convert_to_iter_based=True),
]
default_hooks = dict(checkpoint=dict(interval=4, max_keep_ckpts=1, save_best="auto"))
