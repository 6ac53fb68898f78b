"""How much of a text model's forecast comes from the text, and which known products it finds similar.

:func:`explain_text` answers two questions for each forecast of a fitted text model
(:class:`~darts_llm.models.TextTiDEModel` and its siblings):

- the **text contribution** per horizon step: the forecast with the series' own text minus the forecast of the
  same series (same history, numeric static covariates and covariates) with a neutral *reference text* in the
  text columns (default: the empty string ``""``). It is exactly zero when the text equals the reference;
- the **nearest known products** by text: cosine similarity of the model's own (standardised) text embeddings —
  the frozen embedding table of the model, or the encoder for ``"lora"``/``"full"`` models — between the
  forecast series' text and the texts of the training series passed as ``train_series``, with what those
  series sold (number of observed steps, mean, last value).

:func:`plot_text_explanation` draws the forecast with and without the text, and the neighbour list (matplotlib,
safe under the ``Agg`` backend: it never uses ``pyplot``).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
from darts import TimeSeries
from darts.logging import raise_log

from darts_llm.encoders.base import clean_texts

__all__ = ["TextExplanation", "explain_text", "plot_text_explanation"]

#: Columns of :attr:`TextExplanation.neighbours`.
NEIGHBOUR_COLUMNS = ("rank", "index", "name", "text", "similarity", "n_observed", "mean", "last", "start", "end")


@dataclass
class TextExplanation:
    """The explanation of one forecast (see :func:`explain_text`).

    Attributes
    ----------
    series
        The input series that was forecast (its history; all NaN for a product without history).
    forecast
        The forecast with the series' own text.
    without_text
        The forecast with ``reference`` in the text columns (everything else unchanged).
    contribution
        ``forecast - without_text`` per horizon step and component (means over samples for probabilistic
        forecasts, which share their random state).
    texts
        The series' text per replaced text column.
    reference
        The reference text.
    neighbours
        The nearest known products by text, most similar first: ``rank, index`` (position in ``train_series``),
        ``name`` (see ``name_key``), ``text``, ``similarity`` (cosine, in [-1, 1]),
        ``n_observed``, ``mean``, ``last`` (of the first component's observed values, in the series' units),
        ``start``, ``end``. Empty without ``train_series``.
    """

    series: TimeSeries
    forecast: TimeSeries
    without_text: TimeSeries
    contribution: TimeSeries
    texts: dict[str, str]
    reference: str
    neighbours: pd.DataFrame = field(default_factory=lambda: pd.DataFrame(columns=list(NEIGHBOUR_COLUMNS)))

    def to_frame(self) -> pd.DataFrame:
        """Per horizon step (rows) and component: ``forecast``, ``without_text`` and ``contribution`` columns
        (sample means), with a ``(quantity, component)`` column index."""
        parts = {
            "forecast": _mean_values(self.forecast),
            "without_text": _mean_values(self.without_text),
            "contribution": self.contribution.values(copy=False),
        }
        components = list(self.forecast.components)
        frame = pd.concat(
            {k: pd.DataFrame(v, index=self.forecast.time_index, columns=components) for k, v in parts.items()},
            axis=1,
        )
        frame.index.name = "time"
        return frame

    @property
    def share(self) -> float:
        """Sum of absolute contributions over the sum of absolute forecasts: the part of the forecast that
        the text moved (0 when the text does not matter)."""
        total = np.abs(_mean_values(self.forecast)).sum()
        return float(np.abs(self.contribution.values(copy=False)).sum() / max(total, 1e-12))

    def plot(self, ax=None, n_neighbours: int = 5):
        """See :func:`plot_text_explanation`."""
        return plot_text_explanation(self, ax=ax, n_neighbours=n_neighbours)


def _mean_values(ts: TimeSeries) -> np.ndarray:
    return ts.all_values(copy=False).mean(axis=2)


def _with_texts(series: TimeSeries, columns: Sequence[str], text: str) -> TimeSeries:
    static = series.static_covariates.copy()
    for col in columns:
        static[col] = text
    return series.with_static_covariates(static)


def _unit_rows(vectors: np.ndarray) -> np.ndarray:
    vectors = np.asarray(vectors, dtype=np.float64)
    return vectors / np.maximum(np.linalg.norm(vectors, axis=1, keepdims=True), 1e-12)


def text_vectors(model, texts: Sequence[str]) -> np.ndarray:
    """The model's standardised text embeddings of ``texts`` (rows of unit norm).

    Frozen models read their own embedding table (unseen texts are encoded and added to the vocabulary, as at
    prediction); ``"lora"``/``"full"`` models embed with the encoder's pretrained weights through the cache.
    """
    texts = clean_texts(list(texts), name="texts")
    return _unit_rows(model.text_vocabulary.similarity_rows(texts, model.text_encoder))


def _neighbour_table(model, query: str, train_series, train_texts, train_vectors, k, exclude_same_text, name_key):
    sims = train_vectors @ text_vectors(model, [query])[0]
    if exclude_same_text:
        sims = np.where(np.asarray(train_texts) == query, -np.inf, sims)
    order = [i for i in np.argsort(-sims, kind="stable") if np.isfinite(sims[i])][:k]
    rows = []
    for rank, i in enumerate(order, start=1):
        ts = train_series[i]
        values = ts.all_values(copy=False)[:, 0, :].mean(axis=1)
        observed = ~np.isnan(values)
        kept = values[observed]
        times = ts.time_index[observed]
        metadata = getattr(ts, "metadata", None) or {}
        rows.append({
            "rank": rank,
            "index": int(i),
            "name": str(metadata.get(name_key, i)) if name_key is not None else str(i),
            "text": train_texts[i],
            "similarity": float(sims[i]),
            "n_observed": int(observed.sum()),
            "mean": float(kept.mean()) if len(kept) else np.nan,
            "last": float(kept[-1]) if len(kept) else np.nan,
            "start": times[0] if len(times) else None,
            "end": times[-1] if len(times) else None,
        })
    return pd.DataFrame(rows, columns=list(NEIGHBOUR_COLUMNS))


def explain_text(
    model,
    series: TimeSeries | Sequence[TimeSeries],
    n: int,
    reference_text: str = "",
    train_series: Sequence[TimeSeries] | None = None,
    k: int = 5,
    text_cols: str | Sequence[str] | None = None,
    num_samples: int = 1,
    random_state: int = 0,
    past_covariates: TimeSeries | Sequence[TimeSeries] | None = None,
    future_covariates: TimeSeries | Sequence[TimeSeries] | None = None,
    exclude_same_text: bool = True,
    name_key: str | None = None,
    **predict_kwargs,
) -> TextExplanation | list[TextExplanation]:
    """Explain the forecasts of a fitted text model: text contribution per step and nearest known products.

    Parameters
    ----------
    model
        A fitted text model (``TextTiDEModel``, ``TextTFTModel``, ``TextTSMixerModel``, ``TextBlockRNNModel``).
    series
        The series to forecast, as for ``model.predict`` (short or empty histories too for a model with
        ``min_input_chunk_length``; ``model.new_product_series(...)`` builds those of products without history).
    n
        Forecast horizon.
    reference_text
        The neutral text that replaces the series' text in the forecast "without text". Default: ``""`` (the
        empty text, encoded like any other text). The contribution is exactly zero for a series whose text is
        the reference.
    train_series
        Known series (typically the training series) among which to look for the nearest products by text;
        ``None``: no neighbours.
    k
        Number of neighbours per forecast.
    text_cols
        Text columns to replace by the reference (default: all of the model's text columns). Neighbours use
        the first of them.
    num_samples, random_state
        Samples of probabilistic forecasts; both forecasts use the same ``random_state``, so the contribution
        does not mix sampling noise in.
    past_covariates, future_covariates, **predict_kwargs
        Passed to ``model.predict`` for both forecasts.
    exclude_same_text
        Leave out neighbours whose text equals the query's (the product itself when it is a training series).
    name_key
        The key of ``TimeSeries.metadata`` whose value names each training series in the neighbours' ``name``
        column (e.g. the product code a loader stored there). Default: ``None`` (the series' position).

    Returns
    -------
    TextExplanation or list[TextExplanation]
        One explanation per series (a single one for a single series).
    """
    if getattr(model, "model", None) is None or model.text_columns is None:
        raise_log(ValueError("`model` must be a fitted text model (call `fit()` first)."))
    single = isinstance(series, TimeSeries)
    series = [series] if single else list(series)
    if not series:
        raise_log(ValueError("`series` is empty; pass the series to forecast."))
    if not isinstance(reference_text, str):
        raise_log(ValueError(f"`reference_text` must be a string, got {type(reference_text).__name__}."))
    if not isinstance(k, int) or k < 1:
        raise_log(ValueError(f"`k` must be a positive integer, got {k!r}."))
    columns = model.text_columns if text_cols is None else ([text_cols] if isinstance(text_cols, str) else list(text_cols))
    unknown = [c for c in columns if c not in model.text_columns]
    if unknown:
        raise_log(ValueError(f"`text_cols` {unknown} are not text columns of the model ({model.text_columns})."))

    kwargs = dict(
        past_covariates=past_covariates,
        future_covariates=future_covariates,
        num_samples=num_samples,
        random_state=random_state,
        **predict_kwargs,
    )
    forecasts = model.predict(n, series=series, **kwargs)
    references = [_with_texts(s, columns, reference_text) for s in series]
    baselines = model.predict(n, series=references, **kwargs)

    train_texts = train_vectors = None
    if train_series is not None:
        train_series = [train_series] if isinstance(train_series, TimeSeries) else list(train_series)
        train_texts = clean_texts(
            [s.static_covariates[columns[0]].iloc[0] for s in train_series], name=f"{columns[0]} of train_series"
        )
        train_vectors = text_vectors(model, train_texts)

    out = []
    for s, fc, base in zip(series, forecasts, baselines):
        texts = {c: clean_texts([s.static_covariates[c].iloc[0]], name=c)[0] for c in columns}
        contribution = TimeSeries.from_times_and_values(
            fc.time_index, _mean_values(fc) - _mean_values(base), columns=list(fc.components)
        )
        explanation = TextExplanation(
            series=s, forecast=fc, without_text=base, contribution=contribution, texts=texts,
            reference=reference_text,
        )
        if train_series is not None:
            explanation.neighbours = _neighbour_table(
                model, texts[columns[0]], train_series, train_texts, train_vectors, k, exclude_same_text, name_key
            )
        out.append(explanation)
    return out[0] if single else out


def plot_text_explanation(explanation: TextExplanation, ax=None, n_neighbours: int = 5):
    """Plot a forecast with and without its text, the history, and the nearest known products.

    Parameters
    ----------
    explanation
        A :class:`TextExplanation`.
    ax
        A matplotlib ``Axes`` for the forecast; ``None`` creates a figure with a second panel listing the
        neighbours.
    n_neighbours
        Number of neighbours listed.

    Returns
    -------
    matplotlib.figure.Figure
        The figure (built without ``pyplot``: save it with ``fig.savefig(path)``).
    """
    from matplotlib.figure import Figure

    text_ax = None
    if ax is None:
        fig = Figure(figsize=(11, 4), layout="constrained")
        ax, text_ax = fig.subplots(1, 2, gridspec_kw={"width_ratios": [3, 2]})
    else:
        fig = ax.figure
    e = explanation
    history = e.series.all_values(copy=False)[:, 0, :].mean(axis=1)
    seen = ~np.isnan(history)
    if seen.any():
        ax.plot(e.series.time_index[seen], history[seen], "o-", color="black", lw=1.2, ms=3, label="history")
    fc = e.forecast.all_values(copy=False)[:, 0, :]
    base = e.without_text.all_values(copy=False)[:, 0, :]
    times = e.forecast.time_index
    ax.plot(times, fc.mean(axis=1), "-", color="tab:blue", lw=2, label="forecast (with text)")
    if fc.shape[1] > 1:
        ax.fill_between(times, np.quantile(fc, 0.1, axis=1), np.quantile(fc, 0.9, axis=1), color="tab:blue",
                        alpha=0.2, label="10-90% (with text)")
    ax.plot(times, base.mean(axis=1), "--", color="tab:orange", lw=1.5,
            label=f"reference text {e.reference!r}" if e.reference else "without text (empty text)")
    title = next(iter(e.texts.values()), "")
    ax.set_title(f"{title[:60]}  (text share {100 * e.share:.0f}%)", fontsize=10)
    ax.legend(fontsize=8, loc="best")
    ax.tick_params(labelsize=8)
    if text_ax is not None:
        text_ax.axis("off")
        lines = ["Nearest known products (similarity, mean, last):"]
        for row in e.neighbours.head(n_neighbours).itertuples():
            lines.append(f"{row.similarity:+.2f}  {row.mean:8.1f} {row.last:8.1f}  {str(row.text)[:34]}")
        if len(lines) == 1:
            lines.append("(pass train_series to explain_text)")
        text_ax.text(0.0, 1.0, "\n".join(lines), va="top", ha="left", family="monospace", fontsize=8,
                     transform=text_ax.transAxes)
    return fig
