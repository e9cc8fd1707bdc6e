"""The live engine: order lifecycle, fills, outbox, locks, reconciliation and the scheduled jobs."""
