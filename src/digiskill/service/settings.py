"""Settings of one service instance: one frozen pydantic model, passed to the app factory (and, for several uvicorn
workers, through the environment variable ``DIGISKILL_SERVICE_SETTINGS`` as JSON).

The adaptive test's configuration travels inside the settings (``cat_config``, the parsed file of ``digiskill serve
--config``), not as a file name: every worker gets the very configuration the starting process read and checked, even
if the file changes or is removed while the service runs."""

from __future__ import annotations

import os
from pathlib import Path

from pydantic import Field, model_validator

from ..bank.frozen import FrozenModel
from ..cat.config import CatConfig

SETTINGS_ENV = "DIGISKILL_SERVICE_SETTINGS"
DEFAULT_DATABASE_URL = "sqlite:///digiskill.db"
DEFAULT_MAX_ITEMS_PER_AREA = 10


class Limits(FrozenModel):
    """Request size and rate limits (per client address, per worker process)."""

    max_body_bytes: int = Field(64 * 1024, ge=1024, description="largest request body accepted (413 above)")
    code_failures_per_minute: int = Field(
        10, ge=1, description="unknown invitation codes tried per client address per minute before 429"
    )
    public_per_minute: int = Field(
        120,
        ge=1,
        description="requests to public endpoints (verify, status list, controller document) per address/minute",
    )


class Settings(FrozenModel):
    """Everything an instance needs; the app keeps no other state, so workers and hosts can share one database."""

    database_url: str = Field(
        DEFAULT_DATABASE_URL, description="SQLAlchemy URL: sqlite:///file or postgresql+psycopg://"
    )
    issuer_key: Path | None = Field(None, description="issuer private key (PEM); None: the demo issuer")
    issuer_profile: Path | None = Field(None, description="issuer profile JSON (with issuer_key)")
    public_url: str = Field("http://127.0.0.1:8000", description="base of the links given with invitations")
    retention_days: int | None = Field(
        None, ge=1, description="response logs are deleted this many days after a session's last activity"
    )
    migrate: bool = Field(True, description="apply the database migrations when the app starts")
    limits: Limits = Field(default_factory=Limits)
    max_items_per_area: int | None = Field(
        None,
        ge=1,
        le=50,
        description=f"stopping rule of the default test: most items per area (None: {DEFAULT_MAX_ITEMS_PER_AREA}); "
        "not with cat_config, whose stopping rules say it",
    )
    cat_config: CatConfig | None = Field(
        None,
        description="the adaptive test of new invitations (e.g. a multidimensional one); None: the default test "
        "(SE ≤ 0.45, 4 to max_items_per_area items per area)",
    )

    @model_validator(mode="after")
    def _one_test(self) -> Settings:
        if self.cat_config is not None and self.max_items_per_area is not None:
            raise ValueError(
                "max_items_per_area sets the default test; with cat_config the configuration's own "
                "stopping.max_items_per_area applies: set it there"
            )
        return self

    @property
    def default_max_items_per_area(self) -> int:
        """The default test's most items per area (:attr:`max_items_per_area` or its default)."""
        return self.max_items_per_area or DEFAULT_MAX_ITEMS_PER_AREA

    def to_env(self) -> dict[str, str]:
        return {SETTINGS_ENV: self.model_dump_json()}

    @classmethod
    def from_env(cls) -> Settings:
        text = os.environ.get(SETTINGS_ENV)
        return cls() if text is None else cls.model_validate_json(text)
