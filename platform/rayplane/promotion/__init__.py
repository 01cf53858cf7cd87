"""Champion/challenger: aliases that move through a promotion gate (``gate``, which needs torch), and rollback."""

from rayplane.promotion.moves import Promotion, promote, rollback

__all__ = ["Promotion", "promote", "rollback"]
