"""`diffsal demo`: the whole path on the synthetic benchmark — data, training, scores, a predicted video, a report."""

from diffsal.demo.pipeline import DemoSettings, run_demo

__all__ = ["DemoSettings", "run_demo"]
