"""The decompositions' results, shaped as TensorLy shapes them.

A ``CPTensor`` is a 2-tuple ``(weights, factors)`` and a ``TuckerTensor`` a
2-tuple ``(core, factors)``, so ``weights, factors = ltr.parafac(X, 3)``
unpacks exactly as with ``tensorly.decomposition.parafac``, and either can be
passed wherever TensorLy or tensortools code expects that pair.
"""
import numpy as np


class CPTensor(tuple):
    """X ~ sum_r weights[r] * a_r o b_r o c_r, as ``(weights, factors)``.

    ``weights`` has shape (R,); ``factors[n]`` has shape (X.shape[n], R).
    ``summary`` is the fit's CpSummary when a decomposition returned it or
    a file held it (then also ``method`` and ``modes``), else None.
    """

    summary = None

    def __new__(cls, weights, factors):
        factors = [np.asarray(f) for f in factors]
        if weights is None:
            weights = np.ones(factors[0].shape[1], dtype=factors[0].dtype)
        return super().__new__(cls, (np.asarray(weights), factors))

    def __getnewargs__(self):  # pickle and copy.deepcopy
        return tuple(self)

    weights = property(lambda self: self[0])
    factors = property(lambda self: self[1])
    rank = property(lambda self: len(self[0]))
    shape = property(lambda self: tuple(f.shape[0] for f in self[1]))

    def to_tensor(self):
        """The full tensor sum_r w_r a_r o b_r o c_r as a numpy array."""
        a, b, c = self.factors
        return np.einsum("r,ir,jr,kr->ijk", self.weights, a, b, c)

    def save(self, path, tensor=None, *, method="cp-als", axes=None):
        """Writes the model as `ltr decompose --rank R` writes /cp (ltr.save_cp):
        with its .summary when it has one, else with the relative error to
        `tensor` (NaN without it)."""
        from . import _ltr
        _ltr.save_cp(path, self, tensor, method=method, axes=axes)

    def __repr__(self):
        return f"CPTensor(rank={self.rank}, shape={self.shape})"


class TuckerTensor(tuple):
    """X ~ core x_0 U0 x_1 U1 x_2 U2, as ``(core, factors)``.

    ``summary`` is the fit's TuckerSummary when ltr.tucker returned it, else
    None.
    """

    summary = None

    def __new__(cls, core, factors):
        return super().__new__(cls, (np.asarray(core), [np.asarray(f) for f in factors]))

    def __getnewargs__(self):  # pickle and copy.deepcopy
        return tuple(self)

    core = property(lambda self: self[0])
    factors = property(lambda self: self[1])
    rank = property(lambda self: self[0].shape)
    shape = property(lambda self: tuple(f.shape[0] for f in self[1]))

    def to_tensor(self):
        """The full tensor core x_0 U0 x_1 U1 x_2 U2 as a numpy array."""
        u0, u1, u2 = self.factors
        return np.einsum("pqr,ip,jq,kr->ijk", self.core, u0, u1, u2)

    def __repr__(self):
        return f"TuckerTensor(rank={self.rank}, shape={self.shape})"
