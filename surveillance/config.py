"""The versioned configuration file: rule parameters and settings, validated on load.

A configuration file is TOML with ``version = 1`` and one table per section. Each
section is a Pydantic model owned by the stage it configures (ingest thresholds,
rule parameters, anomaly-model settings...) and registered in ``SECTIONS`` by
import path, so the platform does not import the stages it configures. A
section's model defaults are the packaged defaults; a file only states what it
changes. Unknown sections, unknown keys and bad values are refused with a message
that names the key and what is allowed.
"""

from __future__ import annotations

import hashlib
import importlib
import json
import tomllib
from collections.abc import Mapping
from pathlib import Path
from typing import Any, TypeVar

from pydantic import BaseModel, ConfigDict, ValidationError

from surveillance.errors import ConfigError

CONFIG_VERSION = 1

#: Section name -> "module:Model" of the Pydantic model that validates it.
SECTIONS: dict[str, str] = {
    # one line per section; keep sorted
    "anomaly": "models.anomaly.config:AnomalyConfig",
    "book": "surveillance.book.config:BookConfig",
    "cases": "surveillance.cases.config:CasesConfig",
    "evidence": "surveillance.evidence.config:EvidenceConfig",
    "ingest": "surveillance.ingest.config:IngestConfig",
    "rules": "models.rules.config:RulesConfig",
    "web": "surveillance.web.config:WebConfig",
}

M = TypeVar("M", bound=BaseModel)


class SectionModel(BaseModel):
    """Base of every section: unknown keys are errors, values are immutable."""

    model_config = ConfigDict(extra="forbid", frozen=True)


class Config:
    """A validated configuration: every registered section, defaults filled in.

    The sections a file states are validated when it is loaded; a section the file
    does not mention is built from its defaults on first use, so that a command
    imports only the stages it runs (the section models live beside their stages).
    """

    def __init__(
        self,
        sections: Mapping[str, BaseModel] | None = None,
        source: str = "packaged defaults",
        raw: Mapping[str, Any] | None = None,
    ) -> None:
        self._sections: dict[str, BaseModel] = dict(sections or {})
        self.source = source
        self.raw: Mapping[str, Any] = dict(raw or {})

    def _get(self, name: str) -> BaseModel:
        if name not in self._sections:
            if name not in SECTIONS:
                raise KeyError(f"no config section {name!r}; sections: {', '.join(SECTIONS)}")
            self._sections[name] = _section_model(name)()
        return self._sections[name]

    @property
    def sections(self) -> Mapping[str, BaseModel]:
        """Every registered section (imports each section's stage)."""
        return {name: self._get(name) for name in SECTIONS}

    def section(self, name: str, model: type[M]) -> M:
        """The validated section ``name``, typed as ``model``."""
        value = self._get(name)
        if not isinstance(value, model):
            raise TypeError(f"config section {name!r} is {type(value).__name__}, not {model}")
        return value

    def section_hash(self, name: str) -> str:
        """A short, stable hash of a section's effective values (recorded on alerts)."""
        return params_hash(self._get(name).model_dump(mode="json"))


def params_hash(params: Mapping[str, Any]) -> str:
    """SHA-256 (first 16 hex digits) of parameters in canonical JSON."""
    canonical = json.dumps(params, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(canonical.encode()).hexdigest()[:16]


def _section_model(name: str) -> type[BaseModel]:
    module_name, _, attr = SECTIONS[name].partition(":")
    model = getattr(importlib.import_module(module_name), attr)
    if not (isinstance(model, type) and issubclass(model, BaseModel)):
        raise TypeError(f"config section {name!r} is registered as {SECTIONS[name]}, not a model")
    return model


def load_config(path: str | Path | None = None) -> Config:
    """Load and validate a configuration file; ``None`` gives the packaged defaults.

    Raises
    ------
    ConfigError
        If the file is missing, is not TOML, has the wrong ``version``, an unknown
        section or key, or a value its section refuses.
    """
    if path is None:
        return Config()
    source = str(path)
    try:
        raw = tomllib.loads(Path(path).read_text())
    except FileNotFoundError as exc:
        raise ConfigError(f"config file {source}: not found") from exc
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"config file {source}: not valid TOML ({exc})") from exc
    return parse_config(raw, source=source)


def parse_config(raw: Mapping[str, Any], *, source: str = "<config>") -> Config:
    """Validate an already-parsed configuration mapping (see :func:`load_config`)."""
    version = raw.get("version")
    if version != CONFIG_VERSION:
        raise ConfigError(
            f"config file {source}: key 'version' must be {CONFIG_VERSION}, found {version!r}"
        )
    unknown = sorted(set(raw) - set(SECTIONS) - {"version"})
    if unknown:
        raise ConfigError(
            f"config file {source}: unknown section {unknown[0]!r}; "
            f"allowed sections are {', '.join(sorted(SECTIONS))}"
        )
    sections: dict[str, BaseModel] = {}
    for name in (n for n in SECTIONS if n in raw):
        model = _section_model(name)
        values = raw[name]
        if not isinstance(values, Mapping):
            raise ConfigError(f"config file {source}: [{name}] must be a table of keys")
        try:
            sections[name] = model.model_validate(values)
        except ValidationError as exc:
            raise ConfigError(_describe(source, name, model, exc)) from exc
    return Config(sections, source=source, raw=dict(raw))


def _describe(source: str, section: str, model: type[BaseModel], exc: ValidationError) -> str:
    first = exc.errors()[0]
    key = ".".join(str(p) for p in (section, *first["loc"]))
    if first["type"] == "extra_forbidden":
        parent, table = _nested_model(model, first["loc"][:-1]), section
        if parent is not model:
            table = ".".join(str(p) for p in (section, *first["loc"][:-1]))
        allowed = ", ".join(sorted((parent or model).model_fields))
        return f"config file {source}: unknown key {key!r}; allowed keys in [{table}]: {allowed}"
    return f"config file {source}: key {key!r} {first['msg'][:1].lower()}{first['msg'][1:]}, found {first.get('input')!r}"


def _nested_model(model: type[BaseModel], loc: tuple[Any, ...]) -> type[BaseModel] | None:
    """The sub-model a location inside ``model`` points at (for nested tables)."""
    current = model
    for part in loc:
        info = current.model_fields.get(part) if isinstance(part, str) else None
        annotation = info.annotation if info is not None else None
        if not (isinstance(annotation, type) and issubclass(annotation, BaseModel)):
            return None
        current = annotation
    return current
