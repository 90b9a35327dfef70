import time

from seaweed_apt.timing import timed_passes


def _work(seconds_per_pass: list[float]):
    calls = []

    def work():
        time.sleep(seconds_per_pass[min(len(calls), len(seconds_per_pass) - 1)])
        calls.append(1)
        return len(calls)
    return work, calls


def test_a_long_pass_is_timed_once():
    work, calls = _work([0.05])
    result, seconds = timed_passes(work, min_total_s=0.01)
    assert result == 1 and len(calls) == 1 and seconds >= 0.05


def test_short_passes_repeat_and_a_stray_slow_one_does_not_count():
    work, calls = _work([0.2, 0.01])  # the first pass stalls, the rest do not
    result, seconds = timed_passes(work, min_total_s=0.3)
    assert result == 1  # the first pass's result is the one returned
    assert len(calls) >= 3
    assert seconds < 0.1  # the median ignores the stall


def test_interleaved_rounds_warm_up_each_work_then_alternate():
    from seaweed_apt.timing import interleaved_rounds

    order = []
    works = {"slow": lambda: (order.append("slow"), time.sleep(0.02)),
             "fast": lambda: order.append("fast")}
    seconds = interleaved_rounds(works, rounds=3)
    assert order == ["slow", "fast"] * 4  # one untimed warm-up each, then three rounds in turn
    assert len(seconds["slow"]) == len(seconds["fast"]) == 3
    assert min(seconds["slow"]) >= 0.02 > max(seconds["fast"])


def test_interleaved_rounds_refuse_zero_rounds():
    import pytest

    from seaweed_apt.timing import interleaved_rounds

    with pytest.raises(ValueError, match="rounds must be at least 1"):
        interleaved_rounds({"a": lambda: None}, rounds=0)
