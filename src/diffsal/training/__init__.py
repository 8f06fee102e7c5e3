"""Training: the recipe, the loop, checkpoints, the data stream and the distributed setup."""
