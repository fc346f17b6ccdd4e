"""What every other package stands on: settings, the clock, the warehouse connection, the raw contract."""
