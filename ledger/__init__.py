"""The stage ledger: leadflow's own durable record of every lead's facts, and what is read from it.

Temporal keeps a closed run's history only for the namespace retention period; the ledger keeps
one row per fact (stage transition, score threshold crossing, SLA start/met/breach, owner change,
sync error) for as long as the revenue team needs its numbers.
"""
