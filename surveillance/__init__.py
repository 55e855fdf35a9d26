"""mm-surveillance: surveillance of affiliated market makers on crypto trading platforms."""

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("mm-surveillance")
except PackageNotFoundError:  # running from a source tree that is not installed
    __version__ = "0.0.0+source"
