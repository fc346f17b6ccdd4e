"""Customer-success logic, pure Python (no Dagster), built on `ml/`: the 0-100 health score and
bands (`score`, `bands`), drivers in words, alert rules, lead time from red flag to churn, model
reports, KPI maths, segmentation and expansion formulas. Each function takes DataFrames and
parameters and returns DataFrames, so it is unit-tested on hand-built frames; the assets in
`defs/` are thin wrappers around it.
"""
