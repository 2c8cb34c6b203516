"""The benchmarks' latency timer measures each model, not the model that ran before it."""

import pytest

import benchmarks.quantization_sst2 as timing


class FakeClock:
    """A clock that only moves when a fake model runs."""

    def __init__(self):
        self.now = 0.0
        self.last_model = None

    def perf_counter(self) -> float:
        return self.now


def fake_make(clock: FakeClock, cost_ms: dict, switch_penalty_ms: float):
    """Runners whose call costs `cost_ms[name]`, plus a penalty when the previous call was another model's."""

    def make(name, batch_size, threads):
        def run():
            penalty = switch_penalty_ms if clock.last_model not in (None, name) else 0.0
            clock.now += (cost_ms[name] * batch_size + penalty) / 1000
            clock.last_model = name

        return run

    return make


def test_switch_cost_is_not_charged_to_the_next_model(monkeypatch):
    clock = FakeClock()
    monkeypatch.setattr(timing.time, "perf_counter", clock.perf_counter)
    cost = {"teacher": 10.0, "student": 1.0}
    medians = timing.interleaved_latency(
        {"teacher": "teacher", "student": "student"}, {1: 5, 32: 3}, threads=1,
        make=fake_make(clock, cost, switch_penalty_ms=7.0),
    )  # fmt: skip
    assert medians["teacher"] == {1: pytest.approx(10.0), 32: pytest.approx(320.0)}
    assert medians["student"] == {1: pytest.approx(1.0), 32: pytest.approx(32.0)}


def test_each_timed_call_follows_the_switch_in_time_of_untimed_calls(monkeypatch):
    clock = FakeClock()
    monkeypatch.setattr(timing.time, "perf_counter", clock.perf_counter)
    make = fake_make(clock, {"a": 1.0, "b": 2.0, "c": 3.0}, switch_penalty_ms=0.0)
    calls = {"a": 0, "b": 0, "c": 0}

    def counting_make(name, batch_size, threads):
        run = make(name, batch_size, threads)
        return lambda: calls.__setitem__(name, calls[name] + 1) or run()

    medians = timing.interleaved_latency(
        {n: n for n in "abc"}, {1: 4}, threads=1, warmup=0, make=counting_make, switch_in_ms=5.5
    )
    # per repeat: >= 5.5 ms of untimed calls (6 of a, 3 of b, 2 of c), then the timed one
    assert calls == {"a": 4 * 7, "b": 4 * 4, "c": 4 * 3}
    assert {n: m[1] for n, m in medians.items()} == pytest.approx({"a": 1.0, "b": 2.0, "c": 3.0})


def test_timing_the_first_call_after_a_switch_charges_the_switch(monkeypatch):
    clock = FakeClock()
    monkeypatch.setattr(timing.time, "perf_counter", clock.perf_counter)
    medians = timing.interleaved_latency(
        {"teacher": "teacher", "student": "student"}, {1: 5}, threads=1, switch_in_ms=0,
        make=fake_make(clock, {"teacher": 10.0, "student": 1.0}, switch_penalty_ms=7.0),
    )  # fmt: skip
    assert medians["student"][1] == pytest.approx(8.0)  # 1 ms of its own + 7 ms of the switch
