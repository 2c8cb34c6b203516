"""Pruning schedules: the sparsity (or FLOPs-reduction fraction) to reach at a given optimizer step."""


def is_pruning_step(step: int, schedule: str, start_step: int, end_step: int, frequency: int) -> bool:
    """
    Whether a pruning event happens once `step` optimizer steps are done.

    Args:
        step (`int`): number of completed optimizer steps (`TrainerState.global_step`).
        schedule (`str`): `"oneshot"`, `"iterative"` or `"cubic"`.
        start_step (`int`) / end_step (`int`): first and last pruning steps.
        frequency (`int`): steps between two events of the gradual schedules.
    """
    if schedule == "oneshot":
        return step == start_step
    if step < start_step or step > end_step:
        return False
    return step == end_step or (step - start_step) % frequency == 0


def target_at(
    step: int,
    schedule: str,
    start_step: int,
    end_step: int,
    frequency: int,
    initial: float,
    final: float,
) -> float:
    """
    The amount (sparsity or FLOPs fraction) the schedule asks for after `step` completed optimizer steps.

    `"oneshot"` jumps to `final` at `start_step`. `"iterative"` goes up in equal increments at every event between
    `start_step` and `end_step`. `"cubic"` follows Zhu & Gupta (2017):
    `s_t = s_f + (s_i - s_f) * (1 - (t - t_0) / (t_n - t_0)) ** 3`, evaluated at the last event not after `step`.

    Args:
        step (`int`): completed optimizer steps.
        schedule (`str`): `"oneshot"`, `"iterative"` or `"cubic"`.
        start_step (`int`) / end_step (`int`): where the ramp starts and reaches `final`.
        frequency (`int`): steps between events.
        initial (`float`) / final (`float`): amounts at `start_step` and from `end_step` on.

    Returns:
        `float`: the amount; 0 before `start_step`.
    """
    if step < start_step:
        return 0.0
    if schedule == "oneshot" or step >= end_step or end_step == start_step:
        return final
    # snap to the last event at or before `step`
    event = start_step + ((step - start_step) // frequency) * frequency
    progress = (event - start_step) / (end_step - start_step)
    if schedule == "iterative":
        return initial + (final - initial) * progress
    if schedule == "cubic":
        return final + (initial - final) * (1.0 - progress) ** 3
    raise ValueError(f"schedule={schedule!r} is not supported; allowed values: ['oneshot', 'iterative', 'cubic'].")
