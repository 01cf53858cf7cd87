"""Model code: the user's build_model (or the built-in MLP), task heads, and the Predictor."""
