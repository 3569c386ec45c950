# The MSE denoiser fine-tuned with the stability objective through the frozen clean-trained
# demo segmenter: cross-entropy of f(D(x + δ)) against f(x)'s own classes (Salman et al.
# 2020). Starts from the MSE checkpoint; whole frames, since the segmenter pads to 256×512.
_base_ = "./conv_demo_mse.py"

model = dict(objective="stability",
             task=dict(config="configs/demo/fpn_mnv2_demo_clean.py",
                       checkpoint="data/demo/checkpoints/fpn_mnv2_demo_clean.pth",
                       framework="mmseg"))
load_from = "data/demo/checkpoints/conv_denoiser_demo_mse.pth"
train_pipeline = [
    dict(type="LoadImageFromFile"),
    dict(type="RandomFlip", prob=0.5),
    dict(type="PackSegInputs"),
]
train_dataloader = dict(batch_size=8, dataset=dict(pipeline=train_pipeline))
optim_wrapper = dict(optimizer=dict(lr=5e-4))
max_iters = 300
param_scheduler = [
    dict(type="CosineAnnealingLR", eta_min=1e-5, by_epoch=False, begin=0, end=max_iters,
         T_max=max_iters),
]
train_cfg = dict(max_iters=max_iters)
default_hooks = dict(checkpoint=dict(interval=50))
