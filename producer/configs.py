"""The `models` object of a submit: from `--models a,b` and/or a `--config` file, validated with
hume_stream's own configs before anything is enqueued."""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import yaml

from hume_stream.errors import HumeClientException
from hume_stream.models.config import deserialize_configs, serialize_configs
from producer.errors import InputError


def load_models(names: str | None, config: Path | None) -> dict[str, dict[str, Any]]:
    """The stream-ready `models` object: the config file's entries, plus every model named
    in `names` (comma-separated) with its default config unless the file configures it.

    A config file holds model name → config object (`null` or `{}` for the defaults), either
    at the top level or under a `models` key, in YAML or JSON.
    """
    requested: dict[str, Any] = {}
    if config is not None:
        requested.update(read_config_file(config))
    for name in (names or "").split(","):
        if name.strip():
            requested.setdefault(name.strip().lower(), {})
    if names is not None and not any(n.strip() for n in names.split(",")):
        raise InputError("--models is empty: name models, e.g. --models prosody,burst")
    if not requested:
        raise InputError("no models chosen: use --models prosody,burst and/or --config FILE")
    where = f" in {config}" if config is not None else ""
    try:
        return serialize_configs(deserialize_configs(requested))
    except HumeClientException as exc:
        raise InputError(f"invalid model config{where}: {exc.message}") from None


def read_config_file(path: Path) -> Mapping[str, Any]:
    """Model name → config from a YAML or JSON file; `InputError` naming the file otherwise."""
    try:
        text = path.read_text()
    except OSError as exc:
        raise InputError(f"cannot read config file {path}: {exc.strerror or exc}") from None
    try:
        data = json.loads(text) if path.suffix.lower() == ".json" else yaml.safe_load(text)
    except json.JSONDecodeError as exc:
        raise InputError(
            f"config file {path} is not valid JSON: {exc.msg} (line {exc.lineno}, "
            f"column {exc.colno})"
        ) from None
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        at = f" (line {mark.line + 1}, column {mark.column + 1})" if mark is not None else ""
        problem = getattr(exc, "problem", None) or str(exc)
        raise InputError(f"config file {path} is not valid YAML: {problem}{at}") from None
    if isinstance(data, Mapping) and set(data) == {"models"}:
        data = data["models"]
    if not isinstance(data, Mapping) or not data:
        raise InputError(
            f"config file {path} must map model names to config objects, "
            f"e.g. {{prosody: {{}}, language: {{granularity: word}}}}"
        )
    return {str(k).lower(): v for k, v in data.items()}
