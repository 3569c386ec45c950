# The demo segmenter trained with SmoothAdv (Salman et al. 2019) plus consistency: each step
# first moves every frame by 1-step ℓ2 PGD (ε = 0.5 on the [0, 1] scale, over the whole
# 256 × 512 frame) against the smoothed soft segmenter −log ḡ_y over the same 2 noisy copies
# (σ = 0.25), then trains on the moved frame's copies as fpn_mnv2_demo_consistency.py does.
# A step costs about four of the noise-trained model's; same 1200 iterations. The
# checkpoint loads into fpn_mnv2_demo.py.
_base_ = "./fpn_mnv2_demo_consistency.py"

model = dict(smoothadv=dict(eps=0.5, steps=1))
