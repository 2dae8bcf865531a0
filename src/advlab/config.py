"""Typed run configuration: dataclass defaults, YAML presets and `--set key=value` overrides.

A run's configuration is resolved once, in this order (later wins): the dataclass defaults, a YAML
file or a packaged preset (`--config`), the command's own flags, then `--set key=value` pairs. The
resolved configuration is checked before anything trains and saved as `config.yaml` in the run folder.
"""

from __future__ import annotations

import dataclasses
import types
import typing
from importlib import resources
from pathlib import Path
from typing import Any, TypeVar

import yaml

from advlab.errors import UserError

ConfigT = TypeVar("ConfigT")


def preset_names() -> list[str]:
    """Names of the YAML presets packaged with advlab (without the .yaml suffix)."""
    folder = resources.files("advlab") / "presets"
    return sorted(entry.name[: -len(".yaml")] for entry in folder.iterdir() if entry.name.endswith(".yaml"))


def read_yaml_mapping(path_or_preset: str | Path) -> dict[str, Any]:
    """Read a YAML mapping from a file path or from a packaged preset name."""
    path = Path(path_or_preset)
    if path.suffix in {".yaml", ".yml"} or path.exists():
        if not path.is_file():
            raise UserError(f"config file {path} not found: give an existing YAML file or one of the presets {preset_names()}")
        text = path.read_text()
        origin = str(path)
    else:
        name = str(path_or_preset)
        if name not in preset_names():
            raise UserError(f"unknown preset {name!r}: use a YAML file path or one of {preset_names()}")
        text = (resources.files("advlab") / "presets" / f"{name}.yaml").read_text()
        origin = f"preset {name}"
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as error:
        first_line = str(error).splitlines()[0]
        raise UserError(f"{origin} is not valid YAML ({first_line}): fix the file") from None
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise UserError(f"{origin} must be a YAML mapping of option names to values, not {type(data).__name__}")
    return data


def parse_set_items(items: list[str] | None) -> dict[str, Any]:
    """Parse `key=value` strings; values are read as YAML scalars or lists (`lr=1e-3`, `kernels=[1,2]`)."""
    overrides: dict[str, Any] = {}
    for item in items or []:
        key, sep, raw = item.partition("=")
        key = key.strip()
        if not sep or not key:
            raise UserError(f"invalid --set {item!r}: write it as key=value, for example --set steps=500")
        try:
            overrides[key] = yaml.safe_load(raw) if raw.strip() else ""
        except yaml.YAMLError:
            overrides[key] = raw
    return overrides


def _coerce(name: str, value: Any, annotation: Any) -> Any:
    """Convert `value` to the field's annotated type or raise a UserError naming the option."""
    origin = typing.get_origin(annotation)
    if origin in (typing.Union, types.UnionType):
        options = typing.get_args(annotation)
        if value is None and type(None) in options:
            return None
        if isinstance(value, str) and value.lower() in {"none", "null"} and type(None) in options:
            return None
        for option in options:
            if option is type(None):
                continue
            try:
                return _coerce(name, value, option)
            except UserError:
                continue
        raise UserError(f"invalid value {value!r} for {name}: expected {annotation}")
    if origin is typing.Literal:
        choices = typing.get_args(annotation)
        if value not in choices:
            raise UserError(f"invalid value {value!r} for {name}: choose one of {list(choices)}")
        return value
    if origin in (list, tuple):
        (item_type, *_) = typing.get_args(annotation) or (Any,)
        if not isinstance(value, (list, tuple)):
            value = [value]
        return [_coerce(name, item, item_type) for item in value]
    if annotation is bool:
        if isinstance(value, bool):
            return value
        if isinstance(value, str) and value.lower() in {"true", "yes", "1", "on", "false", "no", "0", "off"}:
            return value.lower() in {"true", "yes", "1", "on"}
        raise UserError(f"invalid value {value!r} for {name}: expected true or false")
    if annotation is int:
        if isinstance(value, bool) or not isinstance(value, (int, float, str)):
            raise UserError(f"invalid value {value!r} for {name}: expected an integer")
        try:
            number = float(value)
        except ValueError:
            raise UserError(f"invalid value {value!r} for {name}: expected an integer") from None
        if not number.is_integer():
            raise UserError(f"invalid value {value!r} for {name}: expected an integer")
        return int(number)
    if annotation is float:
        if isinstance(value, bool):
            raise UserError(f"invalid value {value!r} for {name}: expected a number")
        try:
            return float(value)
        except (TypeError, ValueError):
            raise UserError(f"invalid value {value!r} for {name}: expected a number") from None
    if annotation is str:
        if isinstance(value, (dict, list)):
            raise UserError(f"invalid value {value!r} for {name}: expected a string")
        return str(value)
    return value


def build_config(cls: type[ConfigT], *layers: dict[str, Any] | None) -> ConfigT:
    """Build a dataclass config from its defaults and mappings applied in order; reject unknown keys."""
    hints = typing.get_type_hints(cls)
    fields = {field.name: field for field in dataclasses.fields(cls)}
    values: dict[str, Any] = {}
    for layer in layers:
        for key, value in (layer or {}).items():
            expected_kind = fields["kind"].default if "kind" in fields else None
            if key == "kind" and value != expected_kind:
                raise UserError(
                    f"this is a {value!r} run or config, but the command needs a {expected_kind!r} one: "
                    f"give a {expected_kind} run folder or config file"
                )
            if key not in fields:
                known = ", ".join(sorted(fields))
                raise UserError(f"unknown option {key!r}: known options are {known}")
            values[key] = _coerce(key, value, hints[key])
    config = cls(**values)
    validate = getattr(config, "validate", None)
    if validate is not None:
        validate()
    return config


def config_to_dict(config: Any) -> dict[str, Any]:
    return dataclasses.asdict(config)


def dump_yaml(config: Any) -> str:
    return yaml.safe_dump(config_to_dict(config), sort_keys=False)


def require(condition: bool, message: str) -> None:
    """Raise a UserError with `message` unless `condition` is true (a check of user input, unlike assert)."""
    if not condition:
        raise UserError(message)

