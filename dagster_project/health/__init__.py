"""Customer-success logic, pure Python (no Dagster): bands and hysteresis, alert rules, KPI maths,
segmentation and expansion formulas. Each function takes DataFrames and parameters and returns
DataFrames, so it is unit-tested on hand-built frames; the assets in `defs/health` and
`defs/expansion` are thin wrappers around it.
"""
