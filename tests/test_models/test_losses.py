"""The class-weighted loss is Σ w_y·ℓ / Σ w_y over labelled pixels, ignore label included."""

import pytest
import torch

from adcert.models.losses import ClassWeightedCrossEntropyLoss


def test_weighted_mean_over_labelled_pixels_only():
    generator = torch.Generator().manual_seed(0)
    scores = torch.randn(2, 3, 4, 5, generator=generator)
    labels = torch.randint(0, 3, (2, 4, 5), generator=generator)
    labels[0, 0, :] = 255  # unlabelled pixels, as crops and padding leave them
    weights = [0.5, 2.0, 1.0]
    loss = ClassWeightedCrossEntropyLoss(weights, loss_weight=2.0)(scores, labels)

    log_probs = torch.log_softmax(scores, dim=1)
    total = norm = 0.0
    for n, i, j in torch.nonzero(labels != 255).tolist():
        y = int(labels[n, i, j])
        total += -weights[y] * float(log_probs[n, y, i, j])
        norm += weights[y]
    assert float(loss) == pytest.approx(2.0 * total / norm, rel=1e-5)


def test_wrong_number_of_weights_is_refused():
    loss = ClassWeightedCrossEntropyLoss([1.0, 1.0])
    with pytest.raises(ValueError, match="2 class weights for 3 classes"):
        loss(torch.zeros(1, 3, 2, 2), torch.zeros(1, 2, 2, dtype=torch.long))
