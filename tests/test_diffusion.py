"""The Gaussian process, the x0 loss and the DDIM sampler, on plain tensors (no networks)."""

import math

import pytest
import torch

from diffsal.diffusion import DataScaling, DDIMSampler, GaussianDiffusion, cosine_alphas_cumprod, mean_and_std, randn


def test_cosine_schedule_matches_closed_form_and_ends_in_noise():
    T, s = 1000, 0.008
    alphas = cosine_alphas_cumprod(T, s)
    f = lambda u: math.cos((u + s) / (1 + s) * math.pi / 2) ** 2  # noqa: E731
    # Without the beta cap, alpha_bar_t = f((t + 1) / T) / f(0); the cap only acts at the very end.
    for t in (0, 10, 250, 500, 900):
        assert float(alphas[t]) == pytest.approx(f((t + 1) / T) / f(0), rel=1e-9)
    assert torch.all(alphas[1:] < alphas[:-1])
    assert alphas[0] > 0.9999 and alphas[-1] < 1e-6
    betas = 1 - alphas[1:] / alphas[:-1]
    assert betas.max() <= 0.999 + 1e-12


def test_q_sample_has_the_right_moments():
    diffusion = GaussianDiffusion.cosine(1000)
    x0 = torch.full((20_000,), 0.7, dtype=torch.float64)
    for t in (0, 300, 700, 999):
        steps = torch.full((len(x0),), t)
        noise = torch.randn(len(x0), generator=torch.Generator().manual_seed(t), dtype=torch.float64)
        x_t = diffusion.q_sample(x0, steps, noise)
        a = float(diffusion.alphas_cumprod[t])
        assert float(x_t.mean()) == pytest.approx(math.sqrt(a) * 0.7, abs=0.03)
        assert float(x_t.var()) == pytest.approx(1 - a, abs=0.03)
        assert torch.allclose(diffusion.noise_from_x0(x_t, steps, x0), noise, atol=1e-6)


def test_x0_loss_is_mse_with_configurable_reduction():
    predicted = torch.tensor([[0.0, 1.0], [2.0, 3.0]])
    target = torch.tensor([[1.0, 1.0], [0.0, 0.0]])
    assert float(GaussianDiffusion.x0_loss(predicted, target)) == pytest.approx((1 + 0 + 4 + 9) / 4)
    assert float(GaussianDiffusion.x0_loss(predicted, target, reduction="sum")) == pytest.approx(14.0)
    assert GaussianDiffusion.x0_loss(predicted, target, reduction="none").shape == (2, 2)


def test_sample_timesteps_is_uniform_and_seeded():
    diffusion = GaussianDiffusion.cosine(10)
    a = diffusion.sample_timesteps(5000, generator=torch.Generator().manual_seed(1))
    b = diffusion.sample_timesteps(5000, generator=torch.Generator().manual_seed(1))
    assert torch.equal(a, b) and a.min() == 0 and a.max() == 9
    counts = torch.bincount(a, minlength=10).float()
    assert counts.min() > 400 and counts.max() < 600


def test_ddim_timesteps_start_at_the_last_step():
    sampler = DDIMSampler(GaussianDiffusion.cosine(1000))
    assert sampler.timesteps(1) == [999]
    assert sampler.timesteps(4) == [999, 749, 499, 249]
    assert sampler.timesteps(1000) == list(range(999, -1, -1))
    with pytest.raises(ValueError):
        sampler.timesteps(0)


def test_ddim_calls_the_denoiser_from_pure_noise_at_t_max():
    sampler = DDIMSampler(GaussianDiffusion.cosine(1000))
    calls = []

    def denoise(x, t):
        calls.append((x.clone(), t.clone()))
        return torch.zeros_like(x)

    sampler.sample(denoise, (3, 1, 4, 4), steps=5, generator=torch.Generator().manual_seed(0))
    assert [int(t[0]) for _, t in calls] == sampler.timesteps(5)
    first = calls[0][0]
    expected = torch.randn((3, 1, 4, 4), generator=torch.Generator().manual_seed(0))
    assert torch.equal(first, expected)  # x_{T-1} is pure noise, nothing mixed in


@pytest.mark.parametrize("eta", [0.0, 1.0])
@pytest.mark.parametrize("steps", [1, 3, 50])
def test_ddim_returns_the_clean_sample_of_a_perfect_denoiser(steps, eta):
    sampler = DDIMSampler(GaussianDiffusion.cosine(1000))
    clean = torch.linspace(-1, 1, 16).view(1, 1, 4, 4)
    result = sampler.sample(lambda x, t: clean.expand_as(x), (2, 1, 4, 4), steps=steps, eta=eta,
                            generator=torch.Generator().manual_seed(3))
    assert torch.allclose(result, clean.expand(2, 1, 4, 4), atol=1e-5)


@pytest.mark.parametrize("eta", [0.0, 1.0])
def test_ddim_samples_a_gaussian_data_distribution(eta):
    """With the exact posterior mean E[x0 | x_t] of 1-D Gaussian data, DDIM must reproduce the data law."""
    diffusion = GaussianDiffusion.cosine(1000)
    sampler = DDIMSampler(diffusion)
    mu, sd = 0.3, 0.5

    def denoise(x, t):
        a = diffusion.alphas_cumprod.to(x.dtype)[t].view(-1, 1)
        gain = a.sqrt() * sd**2 / (a * sd**2 + 1 - a)
        return mu + gain * (x - a.sqrt() * mu)

    samples = sampler.sample(denoise, (20_000, 1), steps=100, eta=eta, generator=torch.Generator().manual_seed(5),
                             dtype=torch.float64)
    assert float(samples.mean()) == pytest.approx(mu, abs=0.02)
    assert float(samples.std()) == pytest.approx(sd, rel=0.05)


def test_ddim_is_seeded_and_eta_adds_noise():
    sampler = DDIMSampler(GaussianDiffusion.cosine(1000))
    calls = []

    def denoise(x, t):
        calls.append(x.clone())
        return 0.5 * torch.tanh(x)

    run = lambda seed, eta: sampler.sample(denoise, (2, 8), steps=4, eta=eta,  # noqa: E731
                                           generator=torch.Generator().manual_seed(seed))
    assert torch.equal(run(0, 0.0), run(0, 0.0))
    assert not torch.allclose(run(0, 0.0), run(1, 0.0))
    calls.clear()
    run(0, 0.0)
    deterministic = [c.clone() for c in calls]
    calls.clear()
    run(0, 1.0)
    assert torch.equal(calls[0], deterministic[0]) and not torch.allclose(calls[1], deterministic[1])


def test_mean_and_std_over_samples():
    samples = torch.tensor([[1.0, 2.0], [3.0, 6.0]])
    mean, std = mean_and_std(samples)
    assert torch.equal(mean, torch.tensor([2.0, 4.0]))
    assert torch.allclose(std, torch.tensor([math.sqrt(2.0), math.sqrt(8.0)]))
    assert mean_and_std(samples[:1])[1] is None


@pytest.mark.parametrize("map_range,scale,low,high", [("symmetric", 2.0, -2.0, 2.0), ("unit", 1.5, 0.0, 1.5)])
def test_data_scaling_round_trip(map_range, scale, low, high):
    scaling = DataScaling(map_range, scale)
    data = torch.tensor([0.0, 0.25, 1.0])
    encoded = scaling.encode(data)
    assert float(encoded[0]) == low and float(encoded[-1]) == high
    assert torch.allclose(scaling.decode(encoded), data)
    assert scaling.decode(torch.tensor([10.0, -10.0])).tolist() == [1.0, 0.0]
    with pytest.raises(ValueError):
        DataScaling("percent", 1.0)


def test_randn_uses_the_generator_device():
    a = randn((3,), generator=torch.Generator().manual_seed(4))
    b = torch.randn(3, generator=torch.Generator().manual_seed(4))
    assert torch.equal(a, b)
