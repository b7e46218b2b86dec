"""ltr: the rank structure of learning.

CP and Tucker decompositions of neural data and training trajectories, RNNs
fitted to recordings, RNN training on neuroscience tasks and the theory of
low-rank learning -- the C++ library behind the ``ltr`` command, with numpy
arrays in and out. ``help(ltr.parafac)`` and docs/python.md show how.

Every long call releases the GIL, stops on Ctrl-C (raising
KeyboardInterrupt), sends progress to ``progress=callable`` or to the
``ltr`` logger, and takes ``threads=`` (default: every core it may use).
"""
from . import _ltr
from ._ltr import __version__, usable_cores
from ._ltr import train, task_batch, analyze, bounds, bounds_sweep, theory_linear
from ._ltr import Trajectory, Analysis, BoundsTable, LinearTheoryTable

__all__ = ["__version__", "usable_cores"]
__all__ += ["train", "task_batch", "analyze", "bounds", "bounds_sweep", "theory_linear",
            "Trajectory", "Analysis", "BoundsTable", "LinearTheoryTable"]
