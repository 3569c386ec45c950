# The MSE denoiser fine-tuned with the stability objective through the frozen clean-trained
# demo detector: the detector's training loss on D(x + δ) with its own clean boxes (score
# ≥ 0.3) as ground truth (Salman et al. 2020, as Chiang et al. 2020 did for detection).
_base_ = "./conv_demo_stab_seg.py"

model = dict(task=dict(config="configs/demo/rtmdet_mnv2_demo_clean.py",
                       checkpoint="data/demo/checkpoints/rtmdet_mnv2_demo_clean.pth",
                       framework="mmdet"),
             pseudo_score_thr=0.3)
max_iters = 1000
param_scheduler = [
    dict(type="CosineAnnealingLR", eta_min=1e-5, by_epoch=False, begin=0, end=max_iters,
         T_max=max_iters),
]
train_cfg = dict(max_iters=max_iters)
default_hooks = dict(checkpoint=dict(interval=100, max_keep_ckpts=2))
