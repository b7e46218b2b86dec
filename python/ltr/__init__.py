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
from ._ltr import (CpSummary, TuckerSummary, cp_opt, cp_to_tensor,
                   non_negative_parafac_hals, parafac, tucker, tucker_to_tensor)
from ._tensors import CPTensor, TuckerTensor

__all__ = ["__version__", "usable_cores"]
__all__ += ["CPTensor", "TuckerTensor", "CpSummary", "TuckerSummary", "parafac",
            "non_negative_parafac_hals", "cp_opt", "tucker", "cp_to_tensor",
            "tucker_to_tensor"]
