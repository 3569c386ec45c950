# The demo detector trained with consistency regularization (Jeong & Shin 2020) instead of
# plain noise augmentation: rtmdet_mnv2_demo.py's model wrapped in adcert's
# SmoothingTrainer, which draws σ = 0.25 noise on the [0, 1] scale (as certification does)
# for 2 independent copies of each frame, a fifth of the frames left clean as the
# noise-trained model saw them (without, the consistency segmenter's clean mIoU fell 18
# points), and adds, per anchor point of RTMDet's dense head, λ·KL(ḡ ‖ p_i) of the
# per-class (sigmoid) scores and an L1 pull of each copy's box distances to the copies'
# mean. No entropy term (η = 0): quality focal loss trains the scores towards the box's
# IoU, not towards 0 or 1. On the noise-trained model λ = 20 and 0.05 make the two terms
# about as large as loss_cls and half of loss_bbox. Same 22 epochs, so the same number of
# iterations; each costs about two of the noise-trained model's. The checkpoint (EMA
# weights, as before) loads into rtmdet_mnv2_demo.py (certify with that config);
# meta.adcert_training names the recipe.
_base_ = "./rtmdet_mnv2_demo.py"

custom_imports = dict(
    imports=["adcert.noise.transforms", "adcert.models.pretrained",
             "adcert.models.smoothing_training"],
    allow_failed_imports=False)

model = dict(_delete_=True, type="SmoothingTrainer", model=_base_.model, sigma=0.25, copies=2,
             clean_prob=0.2, consistency=dict(weight=20.0, entropy=0.0, box=0.05))
custom_hooks = [*_base_.custom_hooks, dict(type="SmoothingRecipeHook")]

# The trainer draws the noise (RandomGaussianNoise goes), and the data preprocessor, not
# the pipeline, pads (to a multiple of 32, with the mean colour instead of grey 114), so
# that the noise covers each frame's content only, as RandomGaussianNoise before Pad did
# and as certification does.
train_pipeline = [step for step in _base_.train_pipeline
                  if step.type not in ("RandomGaussianNoise", "Pad")]
train_dataloader = dict(dataset=dict(pipeline=train_pipeline))
