"""Model Studio config versions (``ModelStudioConfigVersion``) as small frozen records."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import datetime
from typing import Any

import attrs

from runtrack import Actor, PayloadError
from runtrack.convert import mask_secret_fields, parse_datetime

__all__ = ["ConfigVersion", "config_version_parser"]


@attrs.frozen(kw_only=True)
class ConfigVersion:
    """One configuration version of a Model Studio. ``raw`` is the payload as received (worker config included)."""

    model_studio_rid: str
    version: int
    name: str | None = None
    trainer_id: str | None = None
    trainer_version: str | None = None
    resources: Mapping[str, str] = attrs.field(factory=dict)
    changelog: str | None = None
    created_at: datetime | None = None
    created_by: Actor | None = None
    raw: Any = None


def _str_or_none(value: Any) -> str | None:
    return None if value is None else str(value)


def config_version_parser(model_studio_rid: str) -> Callable[[Any], ConfigVersion]:
    """The mapping of one ``ModelStudioConfigVersion`` of the studio ``model_studio_rid``."""

    def parse(item: Any) -> ConfigVersion:
        if not isinstance(item, dict):
            raise PayloadError(f"expected a config version object, got {type(item).__name__}", path="$")
        version = item.get("version")
        if isinstance(version, bool) or not isinstance(version, (int, str)):
            raise PayloadError(f"expected an integer version, got {version!r}", path="$.version")
        try:
            number = int(version)
        except ValueError:
            raise PayloadError(f"expected an integer version, got {version!r}", path="$.version") from None
        trainer = item.get("trainer")
        trainer = trainer if isinstance(trainer, dict) else {}
        resources = item.get("resources")
        created_by = item.get("createdBy")
        return ConfigVersion(
            model_studio_rid=model_studio_rid,
            version=number,
            name=_str_or_none(item.get("name")),
            trainer_id=_str_or_none(item.get("trainerId") or trainer.get("trainerId")),
            trainer_version=_str_or_none(trainer.get("version")),
            resources={k: str(v) for k, v in resources.items() if v is not None} if isinstance(resources, dict) else {},
            changelog=_str_or_none(item.get("changelog")),
            created_at=parse_datetime(item.get("createdTime"), "$.createdTime"),
            created_by=Actor(id=str(created_by)) if created_by is not None else None,
            raw=mask_secret_fields(item),
        )

    return parse
