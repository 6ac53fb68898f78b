"""Evaluation helpers shared by the demo, the benchmarks and text ablations.

- :func:`pooled_wape` / :func:`pooled_mae` / :func:`pooled_wql`: errors pooled over every series and step, computed with
  :mod:`darts.metrics`.
- :func:`replace_texts` / :func:`replace_static_text`: the shuffled and constant text ablations, with the one
  constant text :data:`CONSTANT_TEXT`.
- :func:`markdown_table`: a result table (``pandas.DataFrame``) as Markdown.
- :func:`compare_text`: does the text help? One model backtested with real, shuffled, constant and no text, over
  several seeds; :func:`describe_comparison` and :func:`plot_text_comparison` report it.
"""

from darts_llm.evaluation.compare import TEXT_VARIANTS, compare_text, describe_comparison, plot_text_comparison
from darts_llm.evaluation.ablation import ABLATION_MODES, CONSTANT_TEXT, replace_static_text, replace_texts
from darts_llm.evaluation.metrics import pooled_mae, pooled_wape, pooled_wql
from darts_llm.evaluation.tables import format_value, markdown_table

__all__ = [
    "ABLATION_MODES",
    "TEXT_VARIANTS",
    "compare_text",
    "describe_comparison",
    "plot_text_comparison",
    "CONSTANT_TEXT",
    "format_value",
    "markdown_table",
    "pooled_mae",
    "pooled_wape",
    "pooled_wql",
    "replace_static_text",
    "replace_texts",
]
