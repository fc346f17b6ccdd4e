"""What leaves the warehouse: publishing for BI, privacy jobs, run-failure notifications."""
