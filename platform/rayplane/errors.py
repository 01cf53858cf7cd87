"""The exceptions rayplane raises for problems a user can fix.

Every error carries a message that names the field, file or value at fault; the CLI prints it as one line
and exits with code 1 (the traceback only with ``--debug``).
"""


class RayplaneError(Exception):
    """Base of every error a user can act on."""


class SpecError(RayplaneError):
    """The workload spec is invalid: the message lists each bad field with its path."""


class DataError(RayplaneError):
    """The data cannot be read or does not match the spec (names the file or column)."""


class TrainingError(RayplaneError):
    """Training or tuning failed (names the run and where its logs are)."""


class RegistryError(RayplaneError):
    """A model version is missing, incomplete or would be overwritten."""


class ServeError(RayplaneError):
    """The model cannot be deployed or the endpoint did not become healthy."""


class ClusterError(RayplaneError):
    """A Ray cluster cannot be started, reached or stopped, or a job failed."""


class K8sError(RayplaneError):
    """A Kubernetes object cannot be rendered, applied or read."""


class StorageError(RayplaneError):
    """``storage.root`` or ``data.path`` cannot be reached, read or written (names the field and what to do)."""


class PromotionError(RayplaneError):
    """The promotion gate refused a version (both figures in the message), or an alias cannot move."""
