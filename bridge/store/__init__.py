"""The SQL store. Every table module is imported here, so that `Base.metadata` (migrations,
tests) holds them all whichever model module is imported first."""

from bridge.store import models_controls as _models_controls  # noqa: F401
