"""Import path kept for :class:`~darts_llm.dataprocessing.TextNeighbours` (it lives in ``darts_llm.dataprocessing``)."""

from darts_llm.dataprocessing.neighbours import DEMAND_COMPONENTS, TextNeighbours, series_texts

__all__ = ["DEMAND_COMPONENTS", "TextNeighbours", "series_texts"]
