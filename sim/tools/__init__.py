"""Commands around the model: compare, budget, validate, warm-up, site builder."""
