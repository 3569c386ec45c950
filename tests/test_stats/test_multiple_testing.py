import numpy as np
import pytest

from adcert.stats import bonferroni, holm


def holm_step_down(pvalues, alpha):
    """Holm's procedure written as the textbook loop, to check the vectorized one."""
    order = np.argsort(pvalues, kind="stable")
    m = len(pvalues)
    reject = np.zeros(m, dtype=bool)
    for rank, index in enumerate(order):
        if pvalues[index] > alpha / (m - rank):
            break
        reject[index] = True
    return reject


@pytest.mark.parametrize("seed", range(20))
def test_holm_matches_the_step_down_loop(seed):
    rng = np.random.default_rng(seed)
    m = int(rng.integers(1, 300))
    # Mix tiny p-values, uniform ones and ties.
    p = np.concatenate([rng.uniform(0, 1e-3, m // 3), rng.uniform(0, 1, m - m // 3)])
    p[rng.integers(0, m, m // 5)] = p[0]
    np.testing.assert_array_equal(holm(p, 0.05), holm_step_down(p, 0.05))


def test_holm_rejects_at_least_what_bonferroni_rejects():
    p = np.random.default_rng(1).uniform(0, 0.002, 1000)
    assert np.all(holm(p, 0.5) >= bonferroni(p, 0.5))
    assert holm(p, 0.5).sum() > bonferroni(p, 0.5).sum()


def test_holm_keeps_shape_and_handles_empty():
    p = np.full((4, 5), 1e-9)
    assert holm(p, 0.01).shape == (4, 5) and holm(p, 0.01).all()
    assert holm(np.array([]), 0.01).shape == (0,)
    assert not holm(np.array([0.5, 0.9]), 0.01).any()


def test_family_wise_error_under_true_nulls():
    rng = np.random.default_rng(2)
    alpha, reps, m = 0.1, 4000, 50
    any_rejection = [holm(rng.uniform(size=m), alpha).any() for _ in range(reps)]
    assert np.mean(any_rejection) <= alpha + 3 * np.sqrt(alpha * (1 - alpha) / reps)


def test_nan_pvalues_are_refused():
    with pytest.raises(ValueError, match="pvalues"):
        holm(np.array([0.1, np.nan]), 0.05)
