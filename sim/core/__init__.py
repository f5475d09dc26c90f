"""The model core: time, random streams, demand, one replication, KPIs and ledgers.

Pure: no Hydra, no files.
"""
