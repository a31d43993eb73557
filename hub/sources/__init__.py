"""Agency record sources: the small interface an adapter reads its agency's records through."""

from hub.sources.base import AgencySource, SourceUnavailable
from hub.sources.sqlite import SqliteSource

__all__ = ["AgencySource", "SourceUnavailable", "SqliteSource"]
