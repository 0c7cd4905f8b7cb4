"""The outbox's handlers: each performs one kind of work (bridge/domain/work.py) against the
chat or the carrier, and is safe to run twice. `registry.job_handlers` maps kinds to them."""
