"""LightGBM with product-description embeddings as static covariates (UCI Online Retail, weekly sales).

The wiring that any Darts model can use: :class:`darts_llm.dataprocessing.StaticTextEmbedder` turns the string
static covariate ``description`` into ``description_emb_0..7`` (MiniLM embeddings reduced by a PCA fitted on the
training products only), the numeric ``price`` stays as it is, and ``LightGBMModel(use_static_covariates=True)``
reads them. The same fitted embedder then transforms the series to forecast, new products included.

Run (a small subset so that it takes about a minute on 2 CPU cores)::

    python docs/examples/lightgbm_static_text.py --data /path/to/online_retail.csv.gz
    DARTS_LLM_ONLINE_RETAIL=/path/to/online_retail.csv.gz python docs/examples/lightgbm_static_text.py

This is a wiring example, not a claim of accuracy: on this data, a 16-number description embedding gave no lift
to established products (see the benchmarks page of the documentation); the script prints both models so you can
see what it does on your subset.
"""

from __future__ import annotations

import argparse
import os
import time

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")

import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402


from darts_llm.evaluation import pooled_wape as wape  # noqa: E402  (sum |error| / sum |actual|, in %)


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--data", default=os.environ.get("DARTS_LLM_ONLINE_RETAIL"),
                        help="online_retail.csv(.gz) or .xlsx (default: $DARTS_LLM_ONLINE_RETAIL)")
    parser.add_argument("--products", type=int, default=300, help="number of products (the best sellers)")
    parser.add_argument("--horizon", type=int, default=8, help="weeks to forecast")
    parser.add_argument("--encoder", default=None, help="encoder spec (default: all-MiniLM-L6-v2)")
    args = parser.parse_args(argv)

    from darts.models import LightGBMModel

    from darts_llm.dataprocessing import StaticTextEmbedder
    from darts_llm.datasets.online_retail import load_online_retail

    t0 = time.perf_counter()
    # weekly series labelled by their Sunday; static covariates: description (str) and price (float)
    series = load_online_retail(args.data, freq="W", min_periods_sold=20, download=False)
    cutoff = pd.Timestamp("2011-10-02")  # forecast origin: the last 9 weeks are held out
    # the best sellers with at least 24 training weeks (LightGBM needs 8 lags + 8 outputs per sample)
    series = [s for s in series if s.start_time() <= cutoff - pd.Timedelta(weeks=23)]
    series = sorted(series, key=lambda s: -float(s.values().sum()))[: args.products]
    train = [s.drop_after(cutoff + pd.Timedelta(days=1)) for s in series]
    print(f"{len(series)} products, {len(train[0])} training weeks max, horizon {args.horizon} weeks "
          f"(loaded in {time.perf_counter() - t0:.0f}s)")
    print(train[0].static_covariates)

    # fit on the training series only, then transform train and forecast inputs alike
    embedder = StaticTextEmbedder(text_cols="description", n_components=8, encoder=args.encoder)
    train_text = embedder.fit_transform(train)
    print(train_text[0].static_covariates.round(3))

    results = {}
    for name, inputs in {"price only": train, "price + description": train_text}.items():
        if name == "price only":  # the same model on the numeric static covariate alone
            inputs = [s.with_static_covariates(s.static_covariates[["price"]]) for s in inputs]
        model = LightGBMModel(
            lags=8, output_chunk_length=args.horizon, use_static_covariates=True,
            random_state=0, num_threads=2, verbose=-1,
        )
        model.fit(inputs)
        forecast = model.predict(args.horizon, series=inputs)
        results[name] = wape(series, [f.map(lambda x: np.maximum(x, 0)) for f in forecast])
        print(f"{name:>22}: WAPE {results[name]:.1f}%")
    naive_fc = [f * 0 + float(s.values()[-1, 0]) for s, f in zip(train, forecast)]  # repeat the last training week
    print(f"{'naive (last week)':>22}: WAPE {wape(series, naive_fc):.1f}%")

    # a product launched after the cutoff gets its embedding from the same fitted PCA
    new = series[0].with_static_covariates(pd.DataFrame({"description": ["SET OF 3 HEART COOKIE CUTTERS NEW"],
                                                         "price": [1.25]}))
    print("new product:", embedder.transform(new).static_covariates.round(3).to_dict("records")[0])
    print(f"done in {time.perf_counter() - t0:.0f}s")


if __name__ == "__main__":
    main()
