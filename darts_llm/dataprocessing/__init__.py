"""Text as ordinary covariates: Darts-style transformers that turn text into numbers any Darts model can use.

- :class:`StaticTextEmbedder`: string static covariates (titles, descriptions) -> numeric static covariates.
- :class:`TextEventsEmbedder`: timestamped text (reviews, reports, promotion notes) -> past covariates on each
  target's time index without look-ahead, and known-in-advance text -> future covariates.
"""

from darts_llm.dataprocessing.projection import TextProjection
from darts_llm.dataprocessing.static_text import StaticTextEmbedder
from darts_llm.dataprocessing.text_events import TextEventsEmbedder

__all__ = ["StaticTextEmbedder", "TextEventsEmbedder", "TextProjection"]
