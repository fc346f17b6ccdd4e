"""Pure-Python machine learning for account health: no Dagster imports, ever.

Each step is a plain function (DataFrame and parameters in, DataFrame or model out) so it can be
unit-tested on tiny frames and called from thin Dagster assets:

- `dataset`   turn `marts.ml_account_snapshots` rows into a LightGBM feature matrix
- `split`     time-aware train / calibration / test split with label-horizon gaps
- `train`     LightGBM + isotonic calibration -> `TrainedModel`; `predict_proba`
- `evaluate`  AUC, PR-AUC, Brier, ECE, lift, precision@k
- `explain`   per-feature contributions, the largest per row, learned levels, family sub-scores
- `artifacts` save / load versioned models (LightGBM text + JSON, no pickle), champion pointer
- `baselines` historical churn rate, "logins dropped 20 %" rule, L2 logistic regression
- `backtest`  walk-forward backtest (model vs baselines vs oracle), SPEC targets
- `recipe`    one retrain: split settings, champion/challenger, backtest
- `snapshots` read the snapshot mart and the simulator's oracle from the warehouse
- `champion`  promote a retrained model only if its backtest is not worse
- `drift`     PSI per feature between training and scoring data
- `plots`     ROC, reliability, lift and importance charts as small PNGs for metadata
"""
