"""liucun (留存): an open, explainable retention engine for e-commerce."""

from liucun.errors import LiucunError
from liucun.workspace import Workspace

__version__ = "0.1.0"
__all__ = ["LiucunError", "Workspace", "__version__"]
