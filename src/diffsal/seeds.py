"""The random streams diffsal derives from a user's seed, each by a named rule.

The values are part of the results (a changed rule changes every trained model and every map), so they are
fixed here, in one place, rather than spelled as numbers where they are used.
"""

# Training: the diffusion timesteps and noise of step s come from `_seed(train.seed, TRAINING_NOISE_STREAM, s)`
# (`diffsal.training.trainer`); the other streams of `_seed` are (seed, rank, ...) with non-negative parts.
TRAINING_NOISE_STREAM = -1
# The DataLoader of epoch e shuffles with `train.seed * EPOCH_ORDER_FACTOR + e` (a prime: the epochs of two
# seeds do not share generators).
EPOCH_ORDER_FACTOR = 100_003
# `predict` with eta > 0: the per-step noise of a batch comes from `clip_seed(seed + STEP_NOISE_OFFSET, frame)`,
# a stream apart from the starting noise `clip_seed(seed, frame)`.
STEP_NOISE_OFFSET = 1
# The synthetic benchmark's split permutation: `SeedSequence([seed, SPLIT_STREAM])`, apart from the streams that
# draw the videos (`SeedSequence([seed, video index])`).
SPLIT_STREAM = 2**31 - 1
