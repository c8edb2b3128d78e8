from worker.summary import summarise


def scores(**values: float) -> list[dict[str, object]]:
    return [{"name": k, "score": v} for k, v in values.items()]


def test_mean_peak_and_top_by_name_not_position() -> None:
    predictions = [
        {"emotions": scores(Joy=0.8, Anger=0.1, Calmness=0.3)},
        {"emotions": list(reversed(scores(Joy=0.4, Anger=0.5, Calmness=0.2)))},
    ]
    summary = summarise(predictions)
    stats = {s.name: s for s in summary.emotions}
    assert summary.segments == 2
    assert abs(stats["Joy"].mean - 0.6) < 1e-9 and stats["Joy"].peak == 0.8
    assert abs(stats["Anger"].mean - 0.3) < 1e-9 and stats["Anger"].peak == 0.5
    assert summary.top == ["Joy", "Calmness", "Anger"] or summary.top == [
        "Joy",
        "Anger",
        "Calmness",
    ]
    assert summary.top[0] == "Joy"


def test_top_is_at_most_five() -> None:
    predictions = [{"emotions": scores(**{f"E{i}": i / 10 for i in range(8)})}]
    assert summarise(predictions).top == ["E7", "E6", "E5", "E4", "E3"]
