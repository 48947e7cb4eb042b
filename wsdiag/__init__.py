"""wsdiag: diagnose and fix warm-start degradation in off-policy actor-critic RL."""

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("wsdiag")
except PackageNotFoundError:  # running from a source tree that is not installed
    __version__ = "0.0.0+unknown"
