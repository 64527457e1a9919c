"""The audit ledger: a hash chain of what a change board asks about (bot/gameday/audit/chain.py)."""
