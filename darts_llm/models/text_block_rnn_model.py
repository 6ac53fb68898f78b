"""Block RNN (LSTM/GRU) with text static covariates: :class:`TextBlockRNNModel`."""

from __future__ import annotations

from darts.models import BlockRNNModel
from darts.utils.serialization import add_safe_globals

from darts_llm.models.text_model import TextCovariatesMixin
from darts_llm.models.text_settings import text_model_doc

__all__ = ["TextBlockRNNModel"]


class TextBlockRNNModel(TextCovariatesMixin, BlockRNNModel, backbone_defaults={"model": "LSTM"}):
    __doc__ = text_model_doc(
        """Block RNN (:class:`darts.models.BlockRNNModel`, LSTM by default) that reads product text from the static
    covariates.

    Each text column is encoded by a pretrained transformer and projected to ``text_dim`` features, which the
    block RNN appends to every input step together with the numeric static covariates (passed through untouched).""",
        BlockRNNModel,
        notes="""Unlike ``BlockRNNModel`` (default ``"RNN"``), ``model`` defaults to ``"LSTM"``; ``"GRU"``,
        ``"RNN"`` or a ``CustomBlockRNNModule`` subclass work as well.""",
    )


add_safe_globals([TextBlockRNNModel])
