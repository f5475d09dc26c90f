"""Configuration: schemas and rules, the option catalogue, composing Hydra config."""
