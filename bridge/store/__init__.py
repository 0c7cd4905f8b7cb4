"""The SQL store. The email tables live beside models.py; importing them here puts them in
`Base.metadata` wherever the store is used (migrations, tests, the bridge)."""

from bridge.store import models_email as _models_email  # noqa: F401
