"""The promotion tests' fixtures: small workloads with really trained versions (tests/trained_versions.py)."""

from trained_versions import local_workload, s3_workload, workload  # noqa: F401 (fixtures)
