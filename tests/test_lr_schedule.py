import math

import pytest

from diffsal.training.lr_schedule import lr_multiplier


def test_warmup_rises_linearly_to_one():
    multiplier = lr_multiplier("constant", total_steps=100, warmup_steps=4)
    assert [multiplier(step) for step in range(6)] == pytest.approx([0.2, 0.4, 0.6, 0.8, 1.0, 1.0])


def test_step_schedule_divides_by_ten_at_half_and_three_quarters():
    multiplier = lr_multiplier("step", total_steps=100, milestones=(0.5, 0.75), gamma=0.1)
    assert multiplier(49) == 1.0
    assert multiplier(50) == pytest.approx(0.1)
    assert multiplier(74) == pytest.approx(0.1)
    assert multiplier(75) == pytest.approx(0.01)


def test_cosine_goes_from_one_to_the_floor():
    multiplier = lr_multiplier("cosine", total_steps=110, warmup_steps=10, min_ratio=0.1)
    assert multiplier(10) == pytest.approx(1.0)
    assert multiplier(60) == pytest.approx(0.1 + 0.9 * 0.5 * (1 + math.cos(math.pi * 0.5)))
    assert multiplier(110) == pytest.approx(0.1)
    assert multiplier(500) == pytest.approx(0.1)


def test_bad_arguments():
    with pytest.raises(ValueError, match="total_steps"):
        lr_multiplier("cosine", total_steps=0)
    with pytest.raises(ValueError, match="unknown schedule"):
        lr_multiplier("linear", total_steps=10)(0)
