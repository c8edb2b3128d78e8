"""Model configs of a submit: --models and --config, validated before anything is enqueued."""

from __future__ import annotations

from pathlib import Path

import pytest

from producer.configs import load_models
from producer.errors import InputError


def write(tmp_path: Path, name: str, text: str) -> Path:
    path = tmp_path / name
    path.write_text(text)
    return path


def test_models_option_gives_default_configs() -> None:
    assert load_models("prosody, Burst", None) == {"prosody": {}, "burst": {}}


def test_yaml_and_json_files_and_their_union_with_models(tmp_path: Path) -> None:
    yaml_file = write(
        tmp_path,
        "configs.yaml",
        "language:\n  granularity: word\n  sentiment: {}\nface:\n  fps_pred: 3\nburst:\n",
    )
    assert load_models(None, yaml_file) == {
        "language": {"granularity": "word", "sentiment": {}},
        "face": {"fps_pred": 3.0},
        "burst": {},
    }
    json_file = write(tmp_path, "c.json", '{"models": {"face": {"prob_threshold": 0.5}}}')
    assert load_models("prosody,face", json_file) == {
        "face": {"prob_threshold": 0.5},
        "prosody": {},
    }


@pytest.mark.parametrize(
    ("models", "config", "message"),
    [
        ("prosody,sentiment", None, "Unknown model type 'sentiment'"),
        ("ner", None, "NerConfig is not supported by the streaming API"),
        (None, "ner:\n  identify_speakers: true\n", "NerConfig is not supported by the streaming"),
        (None, "prosody:\n  granularity: word\n", "ProsodyConfig.granularity is only available"),
        (None, "face:\n  fps_pred: -1\n", "FaceConfig.fps_pred: Input should be greater"),
        (None, "language:\n  bogus: 1\n", "LanguageConfig.bogus: Extra inputs are not permitted"),
        (None, "language:\n  granularity: conversational_turn\n", "conversational_turn"),
        (None, "burst: 3\n", "Config for model 'burst' must be an object"),
        (None, "- prosody\n- burst\n", "must map model names to config objects"),
        (None, "", "must map model names to config objects"),
        (None, "prosody: {granularity: [\n", "is not valid YAML"),
        (None, "\tprosody: {}\n", "is not valid YAML"),
        (None, None, "no models chosen"),
        (",", None, "--models is empty"),
    ],
)
def test_bad_configs_are_refused_naming_the_problem(
    tmp_path: Path, models: str | None, config: str | None, message: str
) -> None:
    path = write(tmp_path, "configs.yaml", config) if config is not None else None
    with pytest.raises(InputError, match=message) as info:
        load_models(models, path)
    assert info.value.exit_code == 2
    if path is not None and "YAML" in message:
        assert "line " in str(info.value) and str(path) in str(info.value)


def test_json_syntax_error_names_file_line_and_column(tmp_path: Path) -> None:
    path = write(tmp_path, "c.json", '{"prosody": {},\n "burst": }')
    with pytest.raises(InputError, match=r"c\.json is not valid JSON: .* \(line 2, column"):
        load_models(None, path)


def test_missing_config_file(tmp_path: Path) -> None:
    with pytest.raises(InputError, match=r"cannot read config file .*nope\.yaml"):
        load_models(None, tmp_path / "nope.yaml")
