"""The local anomaly detection model: no band until trained, a narrow band on a flat metric, a robust
spread, daily seasonality once two days of history show it, excluded ranges left out of training."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from sluiceway.backends.local import _cw_anomaly_model as model

HOUR = 3_600_000
MINUTE = 60_000
START = int(datetime(2026, 3, 2, tzinfo=UTC).timestamp() * 1000)  # a Monday, midnight UTC


def minutes(first: int, count: int, value: float) -> list[tuple[int, float]]:
    return [(first + i * MINUTE, value) for i in range(count)]


def test_too_little_history_has_no_band() -> None:
    history = minutes(START, model.MIN_TRAINING_POINTS - 1, 10.0)
    assert model.bands(history, [START + HOUR], 60, 2.0, model.Training()) == {}
    assert model.train(model.History.of(history), START + HOUR, 60, model.Training()) is None
    assert model.train(model.History.of(minutes(START, model.MIN_TRAINING_POINTS, 10.0)), START + HOUR, 60, model.Training()) is not None


def test_a_flat_metric_gets_a_narrow_band_around_its_value() -> None:
    history = minutes(START, 120, 10.0)
    [band] = model.bands(history, [START + 2 * HOUR + 5 * MINUTE], 60, 2.0, model.Training()).values()
    assert band.expected == 10.0
    assert band.lower == pytest.approx(10.0 - 2 * 0.1) and band.upper == pytest.approx(10.0 + 2 * 0.1)


def test_the_width_scales_the_band_and_periods_of_one_hour_share_a_training() -> None:
    history = [(ts, 10.0 + (i % 2)) for i, (ts, _) in enumerate(minutes(START, 120, 0.0))]
    target = [START + 2 * HOUR + m * MINUTE for m in range(3)]
    narrow = model.bands(history, target, 60, 1.0, model.Training())
    wide = model.bands(history, target, 60, 3.0, model.Training())
    assert len({(b.lower, b.upper) for b in narrow.values()}) == 1
    first = target[0]
    assert wide[first].upper - wide[first].expected == pytest.approx(3 * (narrow[first].upper - narrow[first].expected))


def test_a_past_spike_does_not_widen_the_band() -> None:
    history = minutes(START, 120, 10.0)
    history[60] = (history[60][0], 1000.0)
    [band] = model.bands(history, [START + 2 * HOUR], 60, 2.0, model.Training()).values()
    assert band.upper < 11.0


def test_the_hour_being_evaluated_is_not_in_its_own_training() -> None:
    # Two hours flat, then a jump within the third hour: the third hour's points keep the old band.
    history = [*minutes(START, 120, 10.0), *minutes(START + 2 * HOUR, 30, 50.0)]
    [band] = model.bands(history, [START + 2 * HOUR + 31 * MINUTE], 60, 2.0, model.Training()).values()
    assert band.expected == 10.0


def daily(days: int) -> list[tuple[int, float]]:
    """Hourly values for ``days`` days: 100 from 09:00 to 17:00 UTC, 10 otherwise."""
    return [(START + h * HOUR, 100.0 if 9 <= h % 24 < 17 else 10.0) for h in range(days * 24)]


def test_daily_seasonality_once_two_days_show_it() -> None:
    history = daily(3)
    noon, night = START + (3 * 24 + 12) * HOUR, START + (3 * 24 + 3) * HOUR
    found = model.bands(history, [noon, night], 3600, 2.0, model.Training())
    assert found[noon].expected == 100.0 and found[night].expected == 10.0
    assert found[noon].lower > 90.0 and found[night].upper < 11.0


def test_without_two_days_there_is_no_seasonality() -> None:
    history = daily(1)[:20]
    noon = START + 20 * HOUR
    [band] = model.bands(history, [noon], 3600, 2.0, model.Training()).values()
    assert band.expected == 10.0  # the median of the day so far, not noon's season
    assert band.upper - band.lower > 100.0  # the spread covers both levels


def test_seasons_follow_the_metric_time_zone() -> None:
    # 100 from 09:00 to 17:00 in New York (UTC-5 in March before the 8th): 14:00 to 22:00 UTC.
    history = [(START + h * HOUR, 100.0 if 14 <= h % 24 < 22 else 10.0) for h in range(72)]
    at = START + (72 + 15) * HOUR  # 10:00 in New York
    in_utc = model.bands(history, [at], 3600, 2.0, model.Training())[at]
    in_new_york = model.bands(history, [at], 3600, 2.0, model.Training(zone=model.time_zone("America/New_York")))[at]
    assert in_utc.expected == in_new_york.expected == 100.0  # the same hours, however they are named
    with pytest.raises(ValueError, match="unknown time zone"):
        model.time_zone("Mars/Olympus_Mons")


def test_excluded_ranges_are_left_out_of_training() -> None:
    noisy = [(START + i * MINUTE, 0.0 if i % 2 else 20.0) for i in range(60)]
    history = [*noisy, *minutes(START + HOUR, 60, 10.0)]
    target = [START + 2 * HOUR]
    kept = model.bands(history, target, 60, 2.0, model.Training())[target[0]]
    excluded = model.bands(history, target, 60, 2.0, model.Training(excluded=[(START, START + HOUR - 1)]))[target[0]]
    assert kept.upper - kept.lower > 10 * (excluded.upper - excluded.lower)
    assert excluded.lower < 10.0 < excluded.upper


def test_a_long_range_is_trained_less_often_so_a_request_trains_a_bounded_number_of_models() -> None:
    two_days = [START + HOUR * h + 5 * MINUTE for h in range(48)]
    assert len(set(model.training_ends(two_days).values())) == 48  # hourly
    for hours in (49, 7 * 24, 14 * 24, 455 * 24):
        stamps = list(range(START, START + hours * HOUR, 5 * MINUTE))
        ends = model.training_ends(stamps)
        assert 0 < len(set(ends.values())) <= model.MAX_TRAININGS
        assert all(end <= ts for ts, end in ends.items())


@pytest.mark.parametrize("period", [60, 300, 3600, 86400])
def test_a_period_is_never_judged_by_a_model_trained_on_its_own_data(period: int) -> None:
    # History on the epoch grid of its period; the judged period starts at 10:31, off that grid,
    # so the history's period holding it started before its training end.
    judged = START + 16 * 24 * HOUR + 10 * HOUR + 31 * MINUTE
    grid = period * 1000
    history = [(ts, 10.0 + (ts // grid) % 3) for ts in range(judged - 15 * 24 * HOUR - judged % grid, judged + grid, grid)]
    spiked = [(ts, 1e6 if ts + grid > judged - judged % HOUR else v) for ts, v in history]
    calm = model.bands(history, [judged], period, 2.0, model.Training())
    assert calm and calm == model.bands(spiked, [judged], period, 2.0, model.Training())


def test_periods_under_twenty_seconds_train_on_fewer_days() -> None:
    assert model.window_ms(60) == model.window_ms(20) == model.TRAINING_MS
    assert model.window_ms(10) == model.MAX_TRAINING_VALUES * 10_000 < model.TRAINING_MS
