"""Model-agnostic certifiers: counts and sample arrays in, certificates out (no mm* import)."""
