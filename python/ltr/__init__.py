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
from ._ltr import *  # noqa: F401,F403 -- every binding is public
from ._ltr import __version__
from ._tensors import CPTensor, TuckerTensor  # noqa: F401
from ._fit import fit_rnn, sweep_ranks, load_fit  # noqa: F401
from ._errors import wrap_module as _wrap_module

_wrap_module(globals(), _ltr)  # one-line TypeErrors for arguments of the wrong type
