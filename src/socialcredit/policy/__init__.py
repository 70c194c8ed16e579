"""The policy pack: record types, lists, measures, sources and calendars as data with citations."""

from .load import default_pack_path, load_pack
from .model import Pack

__all__ = ["Pack", "default_pack_path", "load_pack"]
