"""Model configs: what goes on the wire, what the stream refuses, round trips."""

from __future__ import annotations

import pytest

from hume_stream import HumeClientException
from hume_stream.models.config import (
    BurstConfig,
    FaceConfig,
    FacemeshConfig,
    LanguageConfig,
    ModelType,
    NerConfig,
    ProsodyConfig,
    WindowConfig,
    config_from_model_type,
    deserialize_configs,
    serialize_configs,
)


def test_defaults_serialise_to_empty_objects() -> None:
    configs = [BurstConfig(), ProsodyConfig(), FaceConfig(), FacemeshConfig(), LanguageConfig()]
    assert serialize_configs(configs) == {
        "burst": {},
        "prosody": {},
        "face": {},
        "facemesh": {},
        "language": {},
    }


def test_set_fields_are_sent_and_none_fields_are_not() -> None:
    face = FaceConfig(identify_faces=True, facs={}, descriptions={}, prob_threshold=0.5)
    language = LanguageConfig(granularity="sentence", sentiment={}, toxicity={})
    assert serialize_configs([face, language]) == {
        "face": {"prob_threshold": 0.5, "identify_faces": True, "facs": {}, "descriptions": {}},
        "language": {"granularity": "sentence", "sentiment": {}, "toxicity": {}},
    }


def test_last_config_of_a_model_type_wins() -> None:
    models = serialize_configs(
        [LanguageConfig(granularity="word"), BurstConfig(), LanguageConfig(granularity="passage")]
    )
    assert models == {"language": {"granularity": "passage"}, "burst": {}}


def test_ner_is_refused_on_the_stream() -> None:
    with pytest.raises(HumeClientException, match="NerConfig is not supported by the streaming"):
        serialize_configs([NerConfig()])


@pytest.mark.parametrize(
    ("config", "field"),
    [
        (ProsodyConfig(granularity="utterance"), "ProsodyConfig.granularity"),
        (ProsodyConfig(window=WindowConfig(length=4, step=1)), "ProsodyConfig.window"),
        (ProsodyConfig(identify_speakers=True), "ProsodyConfig.identify_speakers"),
        (FaceConfig(save_faces=True), "FaceConfig.save_faces"),
        (LanguageConfig(identify_speakers=True), "LanguageConfig.identify_speakers"),
    ],
)
def test_batch_only_fields_are_refused_naming_the_field(config: object, field: str) -> None:
    with pytest.raises(HumeClientException, match=f"{field} is only available in the batch API"):
        serialize_configs([config])  # type: ignore[list-item]


def test_conversational_turn_granularity_is_batch_only() -> None:
    with pytest.raises(HumeClientException, match="conversational_turn"):
        serialize_configs([LanguageConfig(granularity="conversational_turn")])


def test_round_trip_through_wire_dicts() -> None:
    configs = [FaceConfig(fps_pred=3, facs={}), LanguageConfig(granularity="word"), BurstConfig()]
    assert deserialize_configs(serialize_configs(configs)) == configs


def test_deserialise_names_unknown_models_and_bad_fields() -> None:
    with pytest.raises(HumeClientException, match="Unknown model type 'smell'"):
        deserialize_configs({"smell": {}})
    with pytest.raises(HumeClientException, match=r"FaceConfig\.prob_threshold"):
        deserialize_configs({"face": {"prob_threshold": 2}})
    with pytest.raises(HumeClientException, match=r"FaceConfig\.colour"):
        deserialize_configs({"face": {"colour": "red"}})


def test_model_types_map_to_their_config_classes() -> None:
    for model_type in ModelType:
        assert config_from_model_type(model_type).get_model_type() is model_type
