import pytest

from hf_compress.pruning.schedules import is_pruning_step, target_at


def test_cubic_follows_zhu_gupta_at_events():
    kwargs = dict(schedule="cubic", start_step=10, end_step=50, frequency=10, initial=0.0, final=0.8)
    assert target_at(5, **kwargs) == 0.0
    assert target_at(10, **kwargs) == pytest.approx(0.0)
    assert target_at(30, **kwargs) == pytest.approx(0.8 * (1 - 0.5**3))
    assert target_at(35, **kwargs) == pytest.approx(0.8 * (1 - 0.5**3))  # held until the next event
    assert target_at(50, **kwargs) == pytest.approx(0.8)
    assert target_at(99, **kwargs) == pytest.approx(0.8)
    values = [target_at(s, **kwargs) for s in range(0, 60)]
    assert values == sorted(values)


def test_iterative_is_linear_and_oneshot_jumps():
    iterative = dict(schedule="iterative", start_step=0, end_step=40, frequency=10, initial=0.2, final=0.6)
    assert [target_at(s, **iterative) for s in (0, 10, 20, 30, 40)] == pytest.approx([0.2, 0.3, 0.4, 0.5, 0.6])
    oneshot = dict(schedule="oneshot", start_step=7, end_step=40, frequency=10, initial=0.0, final=0.6)
    assert target_at(6, **oneshot) == 0.0 and target_at(7, **oneshot) == 0.6


def test_event_steps():
    events = [s for s in range(0, 60) if is_pruning_step(s, "cubic", 5, 32, 10)]
    assert events == [5, 15, 25, 32]
    assert [s for s in range(60) if is_pruning_step(s, "oneshot", 3, 40, 10)] == [3]
