"""Evaluation protocols: which frames each metric scores, and how, named in every report.

``stavis`` is the literal behaviour of the STAViS MATLAB evaluation (``eval_<db>.m`` calling the MIT
saliency-benchmark functions), so that numbers are comparable with published tables:

- every frame that has a prediction file is scored by every metric; a metric that is undefined on it
  (NaN in MATLAB) drops it from that metric only. A frame without fixations therefore drops out of
  CC (its map is black), NSS, the AUCs and IG, but scores SIM = 0 and KLD = 0 (``similarity.m`` and
  ``KLdiv.m`` leave an all-zero map as it is);
- ``postprocessMap.m`` clips the prediction to [0, 1] (``255 * P`` clipped to [0, 255]) and divides
  it by its maximum before the min-max (a prediction that is <= 0 everywhere becomes NaN);
- KLD is the real part of MATLAB's complex result where the bicubic resize leaves slightly negative
  values: ``G * log|eps + G / (P + eps)|``;
- AUC-Borji is NaN on frames with at most one fixated pixel (``sum(fixationMap(:) > 0) <= 1``);
- the sAUC other map is the video's fixation union minus the pixels where the frame's fixation map
  equals 1 (``shufMap1(eyeMap == 1) = 0``), so fixations stored as other values stay in it;
- a database's score is the mean of its per-video means; a video whose frames all drop out of a
  metric makes that metric NaN for the database (MATLAB's ``mean`` of a NaN).

``strict`` scores only frames that have fixations, with every metric defined on them: frames without
fixations drop out of every metric, no clipping of the prediction, KLD on the prediction clipped at
0 (a log of a negative number cannot occur), AUC-Borji on any frame with a fixation, every fixated
pixel removed from the sAUC other map, and videos without a score left out of the database mean.

``challenge`` is the scoring script of the AIM 2024 / NTIRE 2026 saliency challenges (``bench.py``) on a
challenge root: its own reading, resizing and metric formulas (CC, SIM, NSS, AUC-Judd), frames paired with the
fixation lists as it pairs them, the mean per video and then over the part's videos (`diffsal.evaluation.challenge`,
`diffsal.metrics.challenge`). Its rule fields below say how it treats what the other two disagree on.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass


@dataclass(frozen=True)
class Protocol:
    name: str
    score_frames_without_fixations: bool  # False: such frames drop out of every metric
    clip_prediction: bool  # postprocessMap's clip to [0, 1] and division by the maximum
    kld_clip_negative: bool  # clip the post-processed prediction at 0 for KLD (else MATLAB's real part)
    auc_borji_min_fixations: int  # fewer fixated pixels: AUC-Borji is NaN
    other_map_removes_only_ones: bool  # sAUC: remove pixels whose fixation value is 1 (else every fixated one)
    database_mean_propagates_nan: bool  # a video without a score makes the database's score NaN
    reproduces: str = "the STAViS MATLAB evaluation"  # what the numbers are comparable with

    def rules(self) -> dict:
        return asdict(self)

    def departures(self, reference: Protocol | None = None) -> list[str]:
        """The rules in which this protocol differs from `reference` (default: stavis), in words; none for a
        protocol that reproduces another evaluation than STAViS's."""
        reference = reference or STAVIS
        if self.reproduces != reference.reproduces:
            return []
        return [RULE_WORDS[rule][getattr(self, rule)] for rule in RULE_WORDS
                if getattr(self, rule) != getattr(reference, rule)]


RULE_WORDS = {
    "score_frames_without_fixations": {True: "frames without fixations scored (SIM, KLD)",
                                       False: "frames without fixations dropped from every metric"},
    "clip_prediction": {True: "prediction clipped to [0, 1]", False: "prediction not clipped to [0, 1]"},
    "kld_clip_negative": {True: "KLD on the prediction clipped at 0",
                          False: "KLD: real part of the log of negative values"},
    "auc_borji_min_fixations": {1: "AUC-Borji scored on frames with one fixation",
                                2: "AUC-Borji NaN on frames with one fixation"},
    "other_map_removes_only_ones": {True: "sAUC other map keeps fixations not stored as 1",
                                    False: "sAUC other map without any of the frame's fixations"},
    "database_mean_propagates_nan": {True: "a video without a score makes the database NaN",
                                     False: "videos without a score left out of the database mean"},
}

STAVIS = Protocol("stavis", score_frames_without_fixations=True, clip_prediction=True, kld_clip_negative=False,
                  auc_borji_min_fixations=2, other_map_removes_only_ones=True, database_mean_propagates_nan=True)
STRICT = Protocol("strict", score_frames_without_fixations=False, clip_prediction=False, kld_clip_negative=True,
                  auc_borji_min_fixations=1, other_map_removes_only_ones=False, database_mean_propagates_nan=False)
CHALLENGE = Protocol("challenge", score_frames_without_fixations=False, clip_prediction=False,
                     kld_clip_negative=True, auc_borji_min_fixations=1, other_map_removes_only_ones=False,
                     database_mean_propagates_nan=True,
                     reproduces="the AIM 2024 / NTIRE 2026 challenges' bench.py")
PROTOCOLS = {protocol.name: protocol for protocol in (STAVIS, STRICT, CHALLENGE)}

