"""Services of the modelled system: each builds its capacity from the validated config."""
