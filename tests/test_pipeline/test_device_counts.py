"""Counting where the label maps are (an accelerator) gives the host path's counts, and
detections gathered once per batch equal those gathered one by one."""

from types import SimpleNamespace

import numpy as np
import pytest
import torch

from adcert.certify.segmentation import ClassCounter, HitCounter
from adcert.models.forward import detections_array, detections_arrays
from adcert.pipeline.segmentation import _count_hits, _count_selection

SHAPE, CLASSES = (6, 9), 5


def _seg_batches(seed: int, sizes=(3, 3, 2)):
    rng = np.random.default_rng(seed)
    return [[SimpleNamespace(pred_sem_seg=SimpleNamespace(
        data=torch.from_numpy(rng.integers(0, CLASSES, (1, *SHAPE)))))
        for _ in range(size)] for size in sizes]


@pytest.mark.parametrize("seed", [0, 1])
def test_device_tallies_equal_host_counts(seed):
    host, device = ClassCounter(CLASSES, SHAPE), ClassCounter(CLASSES, SHAPE)
    _count_selection(_seg_batches(seed), host, on_device=False)
    _count_selection(_seg_batches(seed), device, on_device=True)
    assert np.array_equal(host.counts, device.counts) and host.total == device.total == 8
    target = host.top_class()
    table = np.array([0, 0, 1, 1, 2])
    pairs = [(HitCounter(target), HitCounter(target)),
             (HitCounter(table[target], table), HitCounter(table[target], table))]
    _count_hits(_seg_batches(seed + 5), [p[0] for p in pairs], on_device=False)
    _count_hits(_seg_batches(seed + 5), [p[1] for p in pairs], on_device=True)
    for on_host, on_dev in pairs:
        assert np.array_equal(on_host.hits, on_dev.hits) and on_dev.total == 8


def test_counts_from_elsewhere_are_checked():
    counter = ClassCounter(CLASSES, SHAPE)
    with pytest.raises(ValueError, match="sum to 4"):
        counter.add_counts(np.ones((*SHAPE, CLASSES), dtype=np.int64), 4)
    with pytest.raises(ValueError, match="shape"):
        counter.add_counts(np.ones((*SHAPE, CLASSES + 1), dtype=np.int64), CLASSES + 1)
    hits = HitCounter(np.zeros(SHAPE, dtype=np.int64))
    with pytest.raises(ValueError, match=r"\[0, 2\]"):
        hits.add_hits(np.full(SHAPE, 3), 2)
    # A label outside [0, C) lands in a neighbour's slot on the device: caught by the sums.
    bad = _seg_batches(0, (1,))
    bad[0][0].pred_sem_seg.data[0, 2, 2] = -1
    with pytest.raises(ValueError, match="sum to 1"):
        _count_selection(bad, ClassCounter(CLASSES, SHAPE), on_device=True)


def test_detections_gathered_per_batch_equal_one_by_one():
    rng = np.random.default_rng(0)
    results = [SimpleNamespace(pred_instances=SimpleNamespace(
        bboxes=torch.from_numpy(rng.uniform(0, 50, (k, 4))).float(),
        scores=torch.from_numpy(rng.uniform(0, 1, k)).float(),
        labels=torch.from_numpy(rng.integers(0, 4, k)))) for k in (3, 0, 5)]
    batch = detections_arrays(results)
    assert [len(a) for a in batch] == [3, 0, 5]
    for gathered, result in zip(batch, results, strict=True):
        assert gathered.dtype == np.float64
        assert np.array_equal(gathered, detections_array(result))
