"""The shared harness of the Online Retail benchmark scripts.

- :mod:`.panels`: the product panel on one weekly axis (the one panel matrix) and the data argument.
- :mod:`.cohorts`: which (origin, product) pairs are forecast: warm and cold-start cohorts, launch tests.
- :mod:`.covariates`: the covariates a user can build: zero-padded log targets, launch age, text neighbours,
  text PCA (the one place that calls the text covariate builders of ``darts_llm``).
- :mod:`.scoring`: MAE, pooled WAPE, MASE, wQL and bias from ``darts.metrics`` via ``darts_llm.evaluation``.
- :mod:`.specs`: model specifications as data.
- :mod:`.runner`: fit once, forecast every origin; local baselines; ensembles through Darts' ``NaiveEnsembleModel``.
- :mod:`.report`: mean ± std over seeds, best-model picks, lift and ablation tables, sentences computed from them,
  and writing the README sections.
"""
