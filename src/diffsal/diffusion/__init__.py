"""The diffusion process on maps (schedule, q_sample, x0 loss) and the DDIM sampler. Knows nothing of video."""

from diffsal.diffusion.ddim import DDIMSampler, mean_and_std
from diffsal.diffusion.gaussian import GaussianDiffusion, randn
from diffsal.diffusion.scaling import DataScaling
from diffsal.diffusion.noise_schedule import cosine_alphas_cumprod

__all__ = ["DDIMSampler", "DataScaling", "GaussianDiffusion", "cosine_alphas_cumprod", "mean_and_std", "randn"]
