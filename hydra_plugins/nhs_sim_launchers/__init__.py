"""Hydra launchers of the NHS capacity simulator (``hydra/launcher=dask`` and ``slurm``).

Hydra looks for launcher plugins only in the ``hydra_plugins`` namespace package, so these
thin classes live here; what they check and start is in :mod:`sim.experiments.launchers`.
"""
