"""Text as ordinary covariates: numbers any Darts model can use (LightGBM, TFT, ARIMA future covariates, ...).

- :class:`StaticTextEmbedder`: string static covariates (titles, descriptions) -> numeric static covariates.
- :class:`TextEvents` + :class:`TextEventsEmbedder`: timestamped text (reviews, reports, promotion notes) -> past
  covariates on each target's time index without look-ahead, and known-in-advance text -> future covariates.
- :class:`TextNeighbours`: what the series with the most similar texts sold, step by step -> past covariates.

The covariate builders share :class:`CovariateBuilder` (``fit``, ``past_covariates``, ``future_covariates``);
:class:`CovariateTransformer` puts one into a Darts ``Pipeline``.
"""

from darts_llm.dataprocessing.builder import CovariateBuilder, CovariateTransformer
from darts_llm.dataprocessing.events import TextEvents
from darts_llm.dataprocessing.neighbours import TextNeighbours
from darts_llm.dataprocessing.projection import TextProjection
from darts_llm.dataprocessing.static_text import StaticTextEmbedder
from darts_llm.dataprocessing.text_events import TextEventsEmbedder

__all__ = [
    "CovariateBuilder",
    "CovariateTransformer",
    "StaticTextEmbedder",
    "TextEvents",
    "TextEventsEmbedder",
    "TextNeighbours",
    "TextProjection",
]
