# The demo detector trained on clean frames only: rtmdet_mnv2_demo.py without its
# Gaussian-noise augmentation, the checkpoint a user arrives with. Under σ = 0.25 noise it
# loses most of its boxes; a denoiser in front of it (certify.denoiser,
# adcert.models.denoiser) makes it certifiable without retraining. Same 22-epoch schedule
# as the noise-trained model, so the two differ only in the augmentation.
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
