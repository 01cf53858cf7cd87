"""The batch stage: score files with a registered version on Ray Data, written as Parquet under a URI."""

from rayplane.batch.score import BatchResult, predict

__all__ = ["BatchResult", "predict"]
