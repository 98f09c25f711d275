"""liucun (留存): an open, explainable retention engine for e-commerce."""

import os

# LightGBM and implicit use OpenMP, whose threads spin while they wait by default: on a
# busy 2-core machine one boosting round then takes 25× longer (1.1 s instead of 0.04 s
# measured here). Passive waiting costs nothing when the machine is idle. Set before
# either library loads; a value the user set wins.
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

from liucun.errors import LiucunError
from liucun.workspace import Workspace

__version__ = "0.1.0"
__all__ = ["LiucunError", "Workspace", "__version__"]
