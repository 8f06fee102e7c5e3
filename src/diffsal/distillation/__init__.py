"""Distillation: a student model learns to give a teacher's maps (a model's, or maps made elsewhere) on unlabelled
videos, in the one training loop. `distill` / `distill_recipe` are the library calls of `diffsal distill`."""
