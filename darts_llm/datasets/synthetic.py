"""A SYNTHETIC gift-shop catalogue whose product descriptions determine demand.

Nothing here is real data. :func:`make_synthetic_catalog` invents products in the style of the UCI
Online Retail catalogue ("RED CHRISTMAS TREE CANDLE HOLDER", "SET OF 6 GARDEN PLANT POT", ...) and
simulates weekly sales from their words, so that a text-aware model has something real to learn:

* the **theme word** sets the seasonal profile: Christmas words (CHRISTMAS, XMAS, REINDEER,
  SNOWFLAKE) peak in November and collapse after Christmas; garden/summer words peak in June-July;
  Easter/spring words peak in late March-April; Halloween words peak in October; everyday words
  (KITCHEN, PARTY, VINTAGE, HOME) are flat;
* the **item words** set the price and the typical level (cheap paper goods sell in bulk, a parasol
  sells a few a week); a "SET OF n" pack costs more and sells less;
* colours carry no signal (noise words, as in real descriptions);
* a product-level factor that the text does not explain (log-normal, sigma 0.35), a launch ramp and
  negative-binomial noise keep the task honest.

A fraction of products launches late, so their histories are short: the cold-start cases in which
only the text says whether a product launched in September will sell at Christmas.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from darts import TimeSeries

__all__ = ["SYNTHETIC_THEMES", "make_synthetic_catalog"]

#: Theme -> (words that name it, (peak day of year, spread in days) or None for a flat profile).
SYNTHETIC_THEMES: dict[str, tuple[tuple[str, ...], tuple[float, float] | None]] = {
    "christmas": (("CHRISTMAS", "XMAS", "REINDEER", "SNOWFLAKE"), (325.0, 28.0)),
    "garden": (("GARDEN", "SUMMER", "PICNIC"), (185.0, 40.0)),
    "easter": (("EASTER", "SPRING"), (100.0, 18.0)),
    "halloween": (("HALLOWEEN", "SPOOKY"), (295.0, 14.0)),
    "everyday": (("KITCHEN", "PARTY", "VINTAGE", "HOME"), None),
}

# Item -> (unit price in GBP, mean weekly units at the seasonal average). Grouped by theme so that
# descriptions stay plausible; the same item can appear under several themes.
_ITEMS: dict[str, dict[str, tuple[float, float]]] = {
    "christmas": {
        "TREE DECORATION": (0.85, 60.0),
        "CANDLE HOLDER": (2.95, 25.0),
        "BAUBLE SET": (3.75, 18.0),
        "STOCKING": (4.95, 10.0),
        "WREATH": (8.50, 5.0),
        "PAPER NAPKINS": (0.85, 70.0),
    },
    "garden": {
        "PLANT POT": (1.65, 35.0),
        "WATERING CAN": (4.25, 12.0),
        "BIRD FEEDER": (3.75, 15.0),
        "PARASOL": (12.50, 3.0),
        "PAPER NAPKINS": (0.85, 70.0),
        "CANDLE HOLDER": (2.95, 25.0),
    },
    "easter": {
        "EGG DECORATION": (0.65, 50.0),
        "BUNNY": (1.95, 20.0),
        "CHICK GARLAND": (2.55, 15.0),
        "PAPER NAPKINS": (0.85, 70.0),
    },
    "halloween": {
        "LANTERN": (3.25, 12.0),
        "PAPER CUPS": (0.65, 60.0),
        "GARLAND": (2.10, 20.0),
    },
    "everyday": {
        "MUG": (1.25, 40.0),
        "LUNCH BOX": (1.95, 30.0),
        "TEA TOWEL": (1.25, 35.0),
        "PAPER CUPS": (0.65, 60.0),
        "BUNTING": (2.95, 20.0),
        "CANDLE HOLDER": (2.95, 25.0),
        "CLOCK": (8.50, 5.0),
    },
}
_COLOURS = ("RED", "BLUE", "GREEN", "PINK", "WHITE", "IVORY", "SILVER", "SPOTTY", "STRIPED", "RETRO")
_PACKS = ((None, 1.0, 1.0), (3, 2.6, 0.6), (6, 4.5, 0.45))  # (n, price factor, volume factor)
_THEME_WEIGHTS = {"christmas": 0.3, "garden": 0.2, "easter": 0.12, "halloween": 0.08, "everyday": 0.3}


def make_synthetic_catalog(
    n_products: int = 120,
    n_periods: int = 104,
    freq: str = "W",
    seed: int = 0,
    launch_fraction: float = 0.25,
    end: str | pd.Timestamp = "2011-12-04",
) -> list[TimeSeries]:
    """Simulate a SYNTHETIC product catalogue in which the description drives demand.

    See the module docstring for how words map to seasonality and level. The output has the format of
    :func:`~darts_llm.datasets.load_online_retail`: one univariate float32 series per product
    (component ``"quantity"``), starting at the product's first period with a sale and ending at the
    common last period ``end``; static covariates ``description`` (``str``) and ``price`` (float32);
    ``metadata`` with ``stock_code`` (``"SYN0001"``, ...), the ground-truth ``theme`` and ``launch``
    (the launch period) and ``synthetic=True``. With ``freq="W"`` periods are weeks labelled by their
    Sunday (``W-SUN``). The result is the same for the same arguments.

    Parameters
    ----------
    n_products
        Number of products (at least 1).
    n_periods
        Number of periods of the common time axis (at least 8).
    freq
        A pandas frequency; ``"W"`` (weekly, ``W-SUN``), ``"D"`` and ``"MS"`` are typical. Levels are
        per week and scaled to the period length.
    seed
        Seed of the random generator.
    launch_fraction
        Fraction of products launched late, each at a random period between 20% and 90% of the axis.
    end
        Label of the last period (rolled back to the frequency's last period on or before it).

    Returns
    -------
    list[TimeSeries]
        One series per product, in stock-code order.
    """
    if not isinstance(n_products, int) or n_products < 1:
        raise ValueError(f"`n_products` must be an integer >= 1, got {n_products!r}.")
    if not isinstance(n_periods, int) or n_periods < 8:
        raise ValueError(f"`n_periods` must be an integer >= 8, got {n_periods!r}.")
    if not 0.0 <= launch_fraction <= 1.0:
        raise ValueError(f"`launch_fraction` must lie in [0, 1], got {launch_fraction!r}.")
    try:
        times = pd.date_range(end=pd.Timestamp(end), periods=n_periods, freq=freq)
    except (ValueError, TypeError) as err:
        raise ValueError(f"`freq` {freq!r} or `end` {end!r} is not usable by pandas.date_range.") from err
    period_days = (times[-1] - times[0]).days / max(n_periods - 1, 1)
    week_scale = max(period_days, 1.0) / 7.0

    rng = np.random.default_rng(seed)
    products = _draw_products(rng, n_products)
    n_late = int(round(launch_fraction * n_products))
    late = np.zeros(n_products, dtype=bool)
    late[rng.choice(n_products, size=n_late, replace=False)] = True
    lo, hi = int(0.2 * n_periods), max(int(0.9 * n_periods), int(0.2 * n_periods) + 1)
    launch = np.where(late, rng.integers(lo, hi, size=n_products), 0)

    doy = times.dayofyear.to_numpy(dtype=float)
    steps = np.arange(n_periods)
    series = []
    for i, (description, theme, price, level) in enumerate(products):
        factor = rng.lognormal(mean=0.0, sigma=0.35)
        since = steps - launch[i]
        ramp = np.where(since >= 0, 1.0 - np.exp(-(since + 1) / 3.0), 0.0) if late[i] else 1.0
        mean = level * factor * week_scale * _seasonal_profile(theme, doy) * ramp
        # Negative binomial as a gamma-Poisson mixture (shape 4: over-dispersed like real sales).
        counts = rng.poisson(rng.gamma(shape=4.0, scale=np.maximum(mean, 1e-9) / 4.0))
        counts[steps < launch[i]] = 0
        sold = np.flatnonzero(counts > 0)
        first = sold[0] if len(sold) else n_periods - 1
        if not len(sold):
            counts[first] = 1  # every product sells at least once, as in the real loader
        static = pd.DataFrame(
            {"description": pd.array([description], dtype="str"), "price": np.float32([price])}
        )
        series.append(
            TimeSeries.from_times_and_values(
                times[first:],
                counts[first:, None].astype(np.float32),
                columns=["quantity"],
                static_covariates=static,
                metadata={
                    "stock_code": f"SYN{i + 1:04d}",
                    "theme": theme,
                    "launch": times[launch[i]],
                    "synthetic": True,
                },
            )
        )
    return series


def _draw_products(rng: np.random.Generator, n: int) -> list[tuple[str, str, float, float]]:
    """Distinct (description, theme, price, weekly level) tuples."""
    themes = list(_THEME_WEIGHTS)
    weights = np.array([_THEME_WEIGHTS[t] for t in themes])
    seen: set[str] = set()
    products = []
    attempts = 0
    while len(products) < n:
        attempts += 1
        theme = themes[rng.choice(len(themes), p=weights / weights.sum())]
        words = SYNTHETIC_THEMES[theme][0]
        word = words[rng.integers(len(words))]
        item = list(_ITEMS[theme])[rng.integers(len(_ITEMS[theme]))]
        price, level = _ITEMS[theme][item]
        colour = _COLOURS[rng.integers(len(_COLOURS))]
        pack, price_factor, volume_factor = _PACKS[rng.choice(len(_PACKS), p=[0.7, 0.15, 0.15])]
        prefix = f"SET OF {pack} " if pack else ""
        description = f"{prefix}{colour} {word} {item}"
        if description in seen and attempts < 10 * n:
            continue  # keep descriptions distinct while the vocabulary allows it
        seen.add(description)
        products.append((description, theme, round(price * price_factor, 2), level * volume_factor))
    return products


def _seasonal_profile(theme: str, doy: np.ndarray) -> np.ndarray:
    """Multiplicative yearly profile with mean 1 over the year (flat for everyday themes)."""
    shape = SYNTHETIC_THEMES[theme][1]
    if shape is None:
        return np.ones_like(doy)
    peak, spread = shape

    def bump(days: np.ndarray) -> np.ndarray:
        dist = np.abs(days - peak)
        dist = np.minimum(dist, 365.0 - dist)  # circular distance
        return 0.08 + np.exp(-0.5 * (dist / spread) ** 2)

    def profile(days: np.ndarray) -> np.ndarray:
        if theme == "christmas":  # sales stop sharply after Christmas, until mid-February
            return bump(days) * np.where((days > 358) | (days < 45), 0.2, 1.0)
        return bump(days)

    return profile(doy) / profile(np.arange(1, 366, dtype=float)).mean()
