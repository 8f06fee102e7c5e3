"""Metrics against hand-computed values on a 3x4 map, literal reference loops, and their properties.

The 3x4 example: P holds 0..11 row by row, fixations at the pixels valued 9 and 11, G is 1 there.
mean P = 5.5, std P (N-1) = sqrt(143 / 11) = sqrt(13).
"""

import math

import numpy as np
import pytest
import torch

from diffsal.errors import InputError
from diffsal.metrics import (EPS, auc_borji, auc_judd, auc_shuffled, cc, information_gain, kld, nss, score_frame,
                             sim)

P = np.arange(12.0).reshape(3, 4)
F = np.isin(P, [9, 11])
G = F.astype(np.float64)


def test_nss_by_hand():
    assert nss(P, F) == pytest.approx((10 - 5.5) / math.sqrt(13), rel=1e-12)


def test_cc_by_hand():
    # sum (x - 5.5) y = 3.5 + 5.5 = 9; sum (y - 1/6)^2 = 2 - 12/36 = 5/3; sum (x - 5.5)^2 = 143
    assert cc(P, G) == pytest.approx(9 / math.sqrt(143 * 5 / 3), rel=1e-12)


def test_sim_by_hand():
    # P -> P / 11 -> / 6 = i / 66;  G -> y / 2;  sum of minima = (9 + 11) / 66
    assert sim(P, G) == pytest.approx(20 / 66, rel=1e-12)


def test_kld_by_hand():
    # G / sum = 1/2 at 9 and 11; P / sum = i / 66
    expected = 0.5 * math.log(0.5 / (9 / 66)) + 0.5 * math.log(0.5 / (11 / 66))
    assert kld(P, G) == pytest.approx(expected, rel=1e-9)


def test_auc_judd_by_hand():
    # thresholds 11/11, 9/11: (tp, fp) = (0.5, 0), (1, 1/10); area = 0.1 * 1.5 / 2 + 0.9 = 0.975
    assert auc_judd(P, F, jitter=False) == pytest.approx(0.975, abs=1e-12)
    assert auc_judd(P, F) == pytest.approx(0.975, abs=1e-6)  # jitter is far below the spacing


def test_auc_shuffled_by_hand():
    # Other map = pixels 0 and 10, as many as fixations: every split takes both (values 0 and 10/11).
    # Curve (fp, tp): (0, .5) at t=1, (.5, .5) at .9, (.5, 1) at .8 ... .1, (1, 1) at 0 -> area .25 + .5
    other = np.isin(P, [0, 10])
    assert auc_shuffled(P, F, other, rng=3) == pytest.approx(0.75, abs=1e-12)


def test_auc_borji_expectation_by_hand():
    # The area is linear in fp, so its mean is the area at the expected fp: the fraction of the 12
    # pixels at or above t = 1, .9, ..., .1, 0 is (1, 2, 3, ..., 10, 12) / 12, tp is (.5, .5, 1, ...).
    expected = (1 / 12) * 0.5 / 2 + (1 / 12) * 1.0 / 2 + (1 / 12) * 1.5 / 2 + 9 / 12
    assert expected == pytest.approx(0.875)
    assert auc_borji(P, F, n_splits=20000, rng=1) == pytest.approx(expected, abs=0.004)


def test_information_gain_by_hand():
    baseline = np.ones((3, 4))
    baseline[0, 0] = 0  # min-max keeps it; each other pixel gets 1/11
    expected = (math.log2(9 / 66 * 11) + math.log2(11 / 66 * 11)) / 2
    assert information_gain(P, F, baseline) == pytest.approx(expected, rel=1e-9)
    assert information_gain(P, F, 3 * P + 7) == pytest.approx(0.0, abs=1e-12)


def _maps(seed=0, shape=(30, 40), n_fixations=25):
    rng = np.random.default_rng(seed)
    fixations = np.zeros(shape, dtype=bool)
    fixations.flat[rng.choice(fixations.size, n_fixations, replace=False)] = True
    from scipy.ndimage import gaussian_filter
    saliency = gaussian_filter(fixations.astype(float), 3)
    prediction = gaussian_filter(rng.random(shape), 2) + saliency
    return prediction, saliency, fixations


def test_perfect_prediction():
    _, saliency, _ = _maps()
    assert cc(saliency, saliency) == pytest.approx(1.0)
    assert sim(saliency, saliency) == pytest.approx(1.0)
    assert kld(saliency, saliency) == pytest.approx(0.0, abs=1e-9)


def test_constant_prediction():
    rng = np.random.default_rng(5)
    fixations = rng.random((200, 200)) < 0.5
    constant = np.full((200, 200), 0.3)
    # The jitter orders a constant map at random: AUC-Judd is 0.5 up to the sampling spread (~0.002).
    assert auc_judd(constant, fixations, rng=2) == pytest.approx(0.5, abs=0.01)
    assert math.isnan(auc_judd(constant, fixations, jitter=False))  # 0 / 0 in min-max, as in MATLAB
    assert math.isnan(nss(constant, fixations))  # std 0: the definition divides 0 by 0
    assert math.isnan(cc(constant, fixations.astype(float)))
    assert math.isnan(sim(constant, fixations.astype(float)))
    assert math.isnan(auc_borji(constant, fixations))


def test_affine_rescaling():
    prediction, saliency, fixations = _maps(1)
    rescaled = 3.5 * prediction + 2.0
    assert cc(rescaled, saliency) == pytest.approx(cc(prediction, saliency), rel=1e-10)
    assert nss(rescaled, fixations) == pytest.approx(nss(prediction, fixations), rel=1e-10)
    # KLD divides by the sum, so a shift changes it; SIM min-max normalises first (as the MIT
    # benchmark code does), so an increasing affine map leaves it alone but a non-linear one does not.
    assert kld(rescaled, saliency) != pytest.approx(kld(prediction, saliency), rel=1e-3)
    assert sim(rescaled, saliency) == pytest.approx(sim(prediction, saliency), rel=1e-10)
    assert sim(prediction ** 3, saliency) != pytest.approx(sim(prediction, saliency), rel=1e-3)
    assert kld(3.5 * prediction, saliency) == pytest.approx(kld(prediction, saliency), rel=1e-10)
    assert auc_judd(prediction ** 3, fixations, jitter=False) == pytest.approx(
        auc_judd(prediction, fixations, jitter=False))


def _reference_auc_judd(saliency_map, fixation_map):
    """The MATLAB AUC_Judd loop without jitter, line by line."""
    s = (saliency_map - saliency_map.min()) / (saliency_map.max() - saliency_map.min())
    s = s.ravel()
    f = fixation_map.ravel()
    thresholds = np.sort(s[f > 0])[::-1]
    n_fix, n_pix = len(thresholds), len(s)
    tp = [0.0]
    fp = [0.0]
    for i, threshold in enumerate(thresholds, start=1):
        above = int(np.sum(s >= threshold))
        tp.append(i / n_fix)
        fp.append((above - i) / (n_pix - n_fix))
    tp.append(1.0)
    fp.append(1.0)
    return sum((fp[k + 1] - fp[k]) * (tp[k + 1] + tp[k]) / 2 for k in range(len(tp) - 1))


def test_auc_judd_matches_the_reference_loop_with_ties():
    rng = np.random.default_rng(7)
    tied = rng.integers(0, 5, size=(12, 15)).astype(float)  # many ties, also at fixations
    fixations = rng.random((12, 15)) < 0.2
    assert auc_judd(tied, fixations, jitter=False) == pytest.approx(_reference_auc_judd(tied, fixations), abs=1e-12)


def _reference_split_auc(s, positives, negatives, step=0.1):
    """One split of the MATLAB AUC_Borji / AUC_shuffled loop."""
    top = max(positives.max(), negatives.max())
    thresholds = np.arange(0, top + 1e-12, step)[::-1]
    tp = [0.0] + [np.mean(positives >= t) for t in thresholds] + [1.0]
    fp = [0.0] + [np.mean(negatives >= t) for t in thresholds] + [1.0]
    return sum((fp[k + 1] - fp[k]) * (tp[k + 1] + tp[k]) / 2 for k in range(len(tp) - 1))


def test_borji_and_shuffled_agree_with_literal_sampling():
    prediction, _, fixations = _maps(3, shape=(20, 30), n_fixations=15)
    rng = np.random.default_rng(11)
    other = rng.random((20, 30)) < 0.1
    s = ((prediction - prediction.min()) / (prediction.max() - prediction.min())).ravel()
    positives = s[fixations.ravel()]
    splits = 3000
    borji = np.mean([_reference_split_auc(s, positives, s[rng.integers(0, s.size, positives.size)])
                     for _ in range(splits)])
    pool = np.flatnonzero(other)
    shuffled = np.mean([_reference_split_auc(s, positives, s[rng.permutation(pool)[:min(positives.size, pool.size)]])
                        for _ in range(splits)])
    assert auc_borji(prediction, fixations, n_splits=splits, rng=1) == pytest.approx(borji, abs=0.006)
    assert auc_shuffled(prediction, fixations, other, n_splits=splits, rng=1) == pytest.approx(shuffled, abs=0.006)


def test_seeded_and_deterministic():
    prediction, _, fixations = _maps(4)
    other = np.roll(fixations, 5, axis=1)
    assert auc_borji(prediction, fixations, rng=9) == auc_borji(prediction, fixations, rng=9)
    assert auc_shuffled(prediction, fixations, other, rng=9) == auc_shuffled(prediction, fixations, other, rng=9)
    assert auc_borji(prediction, fixations, rng=9) != auc_borji(prediction, fixations, rng=10)


def test_no_fixations_give_nan():
    empty = np.zeros((3, 4), dtype=bool)
    for score in (nss(P, empty), auc_judd(P, empty), auc_borji(P, empty), auc_shuffled(P, empty, F),
                  information_gain(P, empty, P + 1)):
        assert math.isnan(score)


def test_empty_other_map_gives_nan():
    assert math.isnan(auc_shuffled(P, F, np.zeros((3, 4))))


def test_torch_tensors_are_accepted():
    assert cc(torch.tensor(P, dtype=torch.float32)[None], torch.tensor(G)) == pytest.approx(cc(P, G), rel=1e-6)
    assert nss(torch.tensor(P), torch.tensor(F)) == pytest.approx(nss(P, F))
    assert auc_judd(torch.tensor(P, dtype=torch.bfloat16), torch.tensor(F), jitter=False) == pytest.approx(0.975)


@pytest.mark.parametrize("metric", [cc, sim, kld])
def test_shape_mismatch_is_an_input_error(metric):
    with pytest.raises(InputError, match="shape mismatch.*resize"):
        metric(np.ones((3, 5)), G)


def test_nan_or_inf_in_prediction_is_an_input_error():
    bad = P.copy()
    bad[1, 1] = np.nan
    with pytest.raises(InputError, match="NaN or inf"):
        nss(bad, F)
    bad[1, 1] = np.inf
    with pytest.raises(InputError, match="NaN or inf"):
        score_frame(bad, G, F, metrics=("CC",))


def test_non_2d_input_is_an_input_error():
    with pytest.raises(InputError, match="2-D"):
        cc(np.ones((2, 3, 4)), np.ones((2, 3, 4)))


def test_score_frame_matches_the_single_metrics():
    prediction, saliency, fixations = _maps(6)
    other = np.roll(fixations, 7, axis=0)
    baseline = np.ones_like(prediction) + np.linspace(0, 1, prediction.shape[1])[None, :]
    scores = score_frame(prediction, saliency, fixations, other_map=other, baseline=baseline, rng=4)
    assert list(scores) == ["CC", "NSS", "SIM", "KLD", "AUC-J", "AUC-B", "sAUC", "IG"]
    assert scores["CC"] == cc(prediction, saliency)
    assert scores["NSS"] == nss(prediction, fixations)
    assert scores["SIM"] == sim(prediction, saliency)
    assert scores["KLD"] == kld(prediction, saliency)
    assert scores["IG"] == information_gain(prediction, fixations, baseline)
    assert scores["AUC-J"] == pytest.approx(auc_judd(prediction, fixations, jitter=False), abs=1e-4)
    assert 0.5 < scores["sAUC"] < 1 and 0.5 < scores["AUC-B"] < 1
    with pytest.raises(InputError, match="unknown metric"):
        score_frame(prediction, saliency, fixations, metrics=("CC", "EMD"))
    with pytest.raises(InputError, match="other map"):
        score_frame(prediction, saliency, fixations, metrics=("sAUC",))


def test_eps_is_matlabs():
    assert EPS == 2.0**-52 == 2.220446049250313e-16  # MATLAB's eps, not the rounded 2.2204e-16


# ---------------------------------------------------------------------- the MATLAB rules of each metric
def _overshooting_prediction() -> tuple[np.ndarray, np.ndarray]:
    """(P, G): a sharp block resized up bicubically dips below 0 next to its edges, where G > 0."""
    from diffsal.metrics import resize_bicubic

    small = np.zeros((6, 8))
    small[2:4, 3:5] = 1.0
    prediction = resize_bicubic(small, (24, 32))
    rows, columns = np.mgrid[0:24, 0:32]
    saliency = np.exp(-((rows - 12) ** 2 + (columns - 16) ** 2) / 80.0)
    return prediction, saliency


def test_kld_of_a_bicubic_overshoot_is_the_real_part_of_matlabs_complex_log():
    prediction, saliency = _overshooting_prediction()
    assert prediction.min() < -1e-3 and (saliency[prediction < 0] > 0).all()
    p, g = prediction / prediction.sum(), saliency / saliency.sum()
    matlab = float(np.real(np.sum(g * np.log(EPS + g / (p + EPS) + 0j))))  # what KLdiv.m returns, real part
    assert math.isfinite(matlab)
    assert kld(prediction, saliency) == pytest.approx(matlab, rel=1e-12)
    clipped = np.maximum(prediction, 0)
    p_clipped = clipped / clipped.sum()
    assert kld(prediction, saliency, clip_negative=True) == pytest.approx(
        float(np.sum(g * np.log(EPS + g / (p_clipped + EPS)))), rel=1e-12)
    assert kld(prediction, saliency, clip_negative=True) != pytest.approx(kld(prediction, saliency), rel=1e-6)
    frame = score_frame(prediction, saliency, saliency > 0.5, metrics=("KLD",))
    assert frame["KLD"] == pytest.approx(matlab, rel=1e-12)


def test_auc_borji_needs_two_fixated_pixels_as_matlab():
    rng = np.random.default_rng(4)
    prediction = rng.random((20, 30))
    one = np.zeros((20, 30), bool)
    one[5, 7] = True
    assert math.isnan(auc_borji(prediction, one, rng=0))
    assert math.isnan(score_frame(prediction, prediction, one, metrics=("AUC-B",), rng=0)["AUC-B"])
    assert 0 <= auc_borji(prediction, one, rng=0, min_fixations=1) <= 1
    two = one.copy()
    two[9, 20] = True
    assert 0 <= auc_borji(prediction, two, rng=0) <= 1
    # AUC-Judd and the other metrics score a single fixation as MATLAB does.
    assert 0 <= auc_judd(prediction, one, rng=0) <= 1
    assert math.isfinite(nss(prediction, one))


def test_sim_and_kld_of_a_frame_without_fixations_are_zero_and_cc_is_undefined():
    prediction = np.random.default_rng(5).random((10, 12))
    black = np.zeros((10, 12))
    assert sim(prediction, black) == 0.0
    assert kld(prediction, black) == 0.0
    assert math.isnan(cc(prediction, black))
    assert math.isnan(nss(prediction, black > 0))


def test_a_random_metric_does_not_depend_on_which_other_metrics_are_scored():
    rng = np.random.default_rng(6)
    prediction, saliency = rng.random((20, 30)), rng.random((20, 30))
    fixations, other = rng.random((20, 30)) > 0.9, rng.random((20, 30)) > 0.7
    everything = score_frame(prediction, saliency, fixations, other_map=other, baseline=saliency, rng=3)
    for name in ("AUC-J", "AUC-B", "sAUC"):
        alone = score_frame(prediction, saliency, fixations, metrics=(name,), other_map=other, rng=3)
        assert alone[name] == everything[name]
