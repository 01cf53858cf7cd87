"""The data stage: Parquet shards -> checked, split, preprocessed Ray Datasets."""

from rayplane.data.prepare import PreparedData, ensure_data, load_data
from rayplane.data.preprocess import Preprocessor

__all__ = ["PreparedData", "Preprocessor", "ensure_data", "load_data"]
