"""Running experiments: replications, run folders, kept replications, sweeps, outputs."""
