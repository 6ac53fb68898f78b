"""TFT with timestamped report text as past covariates (one Time-MMD domain).

:class:`darts_llm.dataprocessing.TextEventsEmbedder` turns Time-MMD's reports (each about a period
``[start, end]``) into covariates on the target's own weekly or monthly index: the mean MiniLM embedding of the
reports that became visible at the step (PCA to 8, fitted on the training reports), the report count and the
steps since the last report, with a half-life of 2 steps. A report is visible only from the first step whose label
is >= its ``end`` (labels are period starts here, so from the next step): no look-ahead. TFT reads them as past
covariates and forecasts the step-to-step changes of the target (integrated back to levels); the calendar comes
from Darts' own encoders as future covariates.

Run (tiny model, 3 epochs; about 1.5 minutes on 2 CPU cores)::

    python docs/examples/tft_text_events.py --root /path/to/time_mmd --domain Energy
    DARTS_LLM_TIME_MMD=/path/to/time_mmd python docs/examples/tft_text_events.py

It prints the covariates of a few steps next to the reports that produced them, then the MAE of TFT with and
without the text on the last 20% of the series (rolling origin). With 3 epochs this shows the wiring, not the
accuracy: see ``benchmarks/time_mmd.py`` for the measured effect of the text.
"""

from __future__ import annotations

import argparse
import logging
import os
import time
import warnings
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")

import numpy as np  # noqa: E402

DEFAULT_ROOT = Path(__file__).resolve().parents[3] / "shared" / "data" / "time_mmd"


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--root", default=os.environ.get("DARTS_LLM_TIME_MMD", str(DEFAULT_ROOT)),
                        help="Time-MMD folder with numerical/ and textual/ (default: $DARTS_LLM_TIME_MMD)")
    parser.add_argument("--domain", default="Energy", help="Agriculture, Climate, Economy, Energy or Traffic")
    parser.add_argument("--epochs", type=int, default=3)
    parser.add_argument("--encoder", default=None, help="encoder spec (default: all-MiniLM-L6-v2)")
    args = parser.parse_args(argv)

    import torch
    from darts import TimeSeries
    from darts.dataprocessing.transformers import Scaler
    from darts.metrics import mae
    from darts.models import TFTModel

    from darts_llm.dataprocessing import TextEvents, TextEventsEmbedder
    from darts_llm.datasets.time_mmd import load_time_mmd

    torch.set_num_threads(2)
    warnings.filterwarnings("ignore")  # Lightning's CPU/dataloader notices
    for name in ("pytorch_lightning", "lightning", "lightning.pytorch", "darts"):
        logging.getLogger(name).setLevel(logging.ERROR)
    t0 = time.perf_counter()
    full, events = load_time_mmd(args.domain, root=args.root, text="report")
    series = full[int(full.time_index.searchsorted(events["start"].min())) :]  # from the first report on
    weekly = series.freq_str.startswith("W")
    horizon, input_len = (4, 26) if weekly else (3, 24)
    start = int(0.8 * len(series))
    train = series[:start]
    print(f"{args.domain}: {len(series)} steps ({series.freq_str}, labels = period starts), {len(events)} reports; "
          f"train {len(train)}, test {len(series) - start}, horizon {horizon}")

    # fit on the training part (PCA on the reports visible by its end), transform the full series alike
    reports = TextEvents(events, text_col="text", start_col="start", end_col="end")
    embedder = TextEventsEmbedder(reports, n_components=8, decay=2.0, max_steps_since=12, encoder=args.encoder)
    text_train = embedder.fit(train).past_covariates(train)
    text_full = embedder.past_covariates(series)
    covs = text_full.to_dataframe().iloc[start:]
    window = covs[covs["text_count"] > 0].iloc[:3]  # the first test steps where a report became visible
    print(window[["text_emb_0", "text_emb_1", "text_count", "text_steps_since"]].round(3))
    for t in window.index:  # the reports behind those steps: all ended at or before the step's label
        shown = events[(events["end"] <= t) & (events["end"] > t - series.freq)]
        for _, row in shown.iterrows():
            print(f"  {t:%Y-%m-%d} <- [{row['start']:%Y-%m-%d}, {row['end']:%Y-%m-%d}] {row['text'][:80]}...")

    # these series wander like random walks: model the step-to-step changes, scaled on the training part only
    target_scaler, cov_scaler = Scaler(), Scaler()
    train_s = target_scaler.fit_transform(train.diff())
    series_s = target_scaler.transform(series.diff())
    cov_train_s = cov_scaler.fit_transform(text_train)
    cov_full_s = cov_scaler.transform(text_full)

    def to_levels(diff_forecast):
        """Unscale a forecast of changes and add it up from the last observed level."""
        changes = target_scaler.inverse_transform(diff_forecast).values()[:, 0]
        last = series.drop_after(diff_forecast.start_time()).values()[-1, 0]
        return TimeSeries.from_times_and_values(diff_forecast.time_index, last + np.cumsum(changes))

    def make_tft():
        return TFTModel(
            input_chunk_length=input_len,
            output_chunk_length=horizon,
            hidden_size=16,
            lstm_layers=1,
            num_attention_heads=2,
            dropout=0.1,
            batch_size=32,
            n_epochs=args.epochs,
            optimizer_kwargs={"lr": 3e-3},
            add_encoders={"cyclic": {"future": ["weekofyear" if weekly else "month"]}},
            random_state=0,
            pl_trainer_kwargs={"accelerator": "cpu", "enable_progress_bar": False,
                               "enable_model_summary": False, "logger": False},
        )

    for name, (cov_train, cov_full) in {"TFT": (None, None), "TFT + report text": (cov_train_s, cov_full_s)}.items():
        t1 = time.perf_counter()
        model = make_tft()
        model.fit(train_s, past_covariates=cov_train, verbose=False)
        forecasts = model.historical_forecasts(
            series_s, past_covariates=cov_full, start=series.time_index[start], forecast_horizon=horizon,
            stride=horizon, retrain=False, last_points_only=False, verbose=False,
        )
        forecasts = [to_levels(f) for f in forecasts]
        score = np.mean([mae(series.slice_intersect(f), f) for f in forecasts])
        print(f"{name:>18}: MAE {score:.4g} over {len(forecasts)} forecasts ({time.perf_counter() - t1:.0f}s)")
    naive = np.mean([
        np.abs(series.values()[o : o + horizon, 0] - series.values()[o - 1, 0]).mean()
        for o in range(start, len(series) - horizon + 1, horizon)
    ])
    print(f"{'naive (last value)':>18}: MAE {naive:.4g}")
    print(f"done in {time.perf_counter() - t0:.0f}s")


if __name__ == "__main__":
    main()
