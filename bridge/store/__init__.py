# Every model module, so that Base.metadata holds all tables wherever the store is imported
# (models.py is full; importing this from there would be an import circle).
from bridge.store import models_broadcasts as _models_broadcasts  # noqa: F401
