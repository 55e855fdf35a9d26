"""Where a run reads and writes: the four common settings of every command and DAG.

``shared/design/cli.md`` fixes them: landing root, lake root, case-store URL and
configuration file, each from an option, else an environment variable, else a
default. The CLI, the DAGs and tests all resolve them here so they agree.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from surveillance.storage import Lake, Landing, filesystem, normalise_uri

DEFAULT_LANDING = "./mmsurv-data/landing"
DEFAULT_LAKE = "./mmsurv-data/lake"
DB_FILE_NAME = "mmsurv.db"

ENV_LANDING = "MMSURV_LANDING"
ENV_LAKE = "MMSURV_LAKE"
ENV_DB_URL = "MMSURV_DB_URL"
ENV_CONFIG = "MMSURV_CONFIG"


@dataclass(frozen=True)
class Settings:
    """The resolved settings of one run."""

    landing_uri: str
    lake_uri: str
    db_url: str
    config_path: str | None

    @property
    def landing(self) -> Landing:
        return Landing(self.landing_uri)

    @property
    def lake(self) -> Lake:
        return Lake(self.lake_uri)


def default_db_url(lake_uri: str) -> str:
    """SQLite file beside the lake: ``<lake's parent>/mmsurv.db``.

    A lake on object storage has no local parent, so the database then lives in
    the working directory; production deployments set ``MMSURV_DB_URL``.
    """
    if "://" in lake_uri and not lake_uri.startswith("file://"):
        return f"sqlite:///{Path.cwd() / DB_FILE_NAME}"
    _, path = filesystem(lake_uri)
    return f"sqlite:///{Path(path).parent / DB_FILE_NAME}"


def resolve(
    landing: str | None = None,
    lake: str | None = None,
    db_url: str | None = None,
    config: str | None = None,
) -> Settings:
    """Settings from explicit values, else the environment, else the defaults."""
    landing_uri = normalise_uri(landing or os.environ.get(ENV_LANDING) or DEFAULT_LANDING)
    lake_uri = normalise_uri(lake or os.environ.get(ENV_LAKE) or DEFAULT_LAKE)
    url = db_url or os.environ.get(ENV_DB_URL) or default_db_url(lake_uri)
    config_path = config or os.environ.get(ENV_CONFIG) or None
    return Settings(landing_uri, lake_uri, url, config_path)
