"""The published DiffSal network, re-implemented to run the authors' released checkpoints exactly."""
