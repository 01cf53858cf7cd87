"""Where rayplane keeps its state: ``storage.root`` as a filesystem plus the layout of runs and models."""

from rayplane.storage.checks import check_shared, check_writable, within
from rayplane.storage.layout import Storage
from rayplane.storage.location import Location

__all__ = ["Location", "Storage", "check_shared", "check_writable", "within"]
