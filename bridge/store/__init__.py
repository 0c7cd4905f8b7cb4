"""The SQL store. Importing any part of it loads every model module, so that `Base.metadata`
holds all the tables (the model modules beside models.py import it, not the reverse: no
import circle)."""

from bridge.store import models_broadcasts as _models_broadcasts  # noqa: F401
from bridge.store import models_controls as _models_controls  # noqa: F401
from bridge.store import models_email as _models_email  # noqa: F401
from bridge.store import models_media as _models_media  # noqa: F401
