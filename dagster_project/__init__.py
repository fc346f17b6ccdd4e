"""Account Health Warehouse: churn and expansion scoring for B2B SaaS accounts."""
