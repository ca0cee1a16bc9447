"""mclust's parsimonious covariance models, as covariance-model objects.

Every covariance is decomposed as ``Sigma_k = lambda_k D_k A_k D_k^T``
(Celeux & Govaert 1995, "Gaussian parsimonious clustering models"): the
volume ``lambda_k = |Sigma_k|^(1/d)``, the shape ``A_k`` (diagonal,
determinant 1) and the orientation ``D_k`` (orthogonal). A model's
three-letter name says, in that order, whether volume, shape and
orientation are Equal across components, Variable, or the Identity. Of
mclust's 14 models, four are scikit-learn's and are the very same objects
here: 'VII' is 'spherical', 'VVI' is 'diag', 'EEE' is 'tied' and 'VVV' is
'full'. The ten others are the classes below, each a subclass of the
scikit-learn model whose pass, scoring kernel and array layout it shares:

- ``EII`` of 'spherical' (``covariances_`` of shape (K,), equal values);
- ``EEI``, ``VEI``, ``EVI`` of 'diag' ((K, d): the variances);
- ``VEE``, ``EVE``, ``VVE``, ``EEV``, ``VEV``, ``EVV`` of 'full' ((K, d, d)).

Equal parts are repeated in every component's entry, so every array keeps
its parent's layout (and the model file, streaming and the command line
work unchanged); only the M-step and the parameter count differ.

The M-step. Every model's M-step starts from the weights ``n_k`` and the
unconstrained covariances of the parent model, ``S_k = W_k / n_k +
reg_covar I`` ('full', or their diagonals for 'diag'), ``W_k`` the
weighted scatter of component k around its new mean, and maximises the
expected complete-data log-likelihood

    Q = -1/2 sum_k n_k (log |Sigma_k| + tr(Sigma_k^-1 S_k)) + const

under the model's constraints. ``reg_covar`` thus enters as
``n_k reg_covar I`` added to every scatter before the constrained M-step;
for the four scikit-learn models that is exactly scikit-learn's
``reg_covar`` on the diagonal of the covariances. Where ``S_k`` already
satisfies the constraints, the M-step returns it unchanged (so an online
state of ``partial_fit`` gives back its covariances).

EII, EEI, EVI, EEV and EVV have closed forms (Celeux & Govaert). VEI,
VEE, VEV, EVE and VVE do not, as in mclust: they alternate between the
blocks of parameters, every step maximising Q over one block given the
others, so Q never decreases. EVE and VVE update their common orientation
``D`` by exact plane rotations of pairs of its columns (the sweeps of
Flury & Gautschi's common-principal-components algorithm); Browne &
McNicholas's (2014) majorisation-minimisation step for ``D`` reaches the
same optimum but took hundreds of sweeps on 3 features where the rotations
take a few. The loop stops, as mclust's, on parameter convergence: when
one sweep changes the iterated parameters (EVE, VVE: the covariances) by
less than
``_config.MSTEP_INNER_TOL`` relative to their largest entry, or after
``_config.MSTEP_INNER_MAX_ITER`` sweeps. The numerical optimum of Q
(``tests/reference.py``, BFGS over an unconstrained parametrisation) is
matched to about 1e-15 in -2 Q / (n d).
"""

import numpy as np

from . import _config
from ._kernels import orientation as _orientation
from ._kernels import volumes as _volumes
# _covariance imports this module after defining these.
from ._covariance import MCLUST_NAMES, Diag, Full, Spherical


def _geometric_mean(values, axis=-1):
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.exp(np.mean(np.log(values), axis=axis))


def _converged(previous, current):
    """Whether one sweep of an inner loop moved the parameters ``current``
    (an array) by less than the tolerance, relative to their largest value
    (a NaN stops the loop too): ``_kernels.volumes.converged``, the rule
    the VEI/VEV kernel applies itself."""
    return _volumes.converged(np.ascontiguousarray(previous, dtype=np.float64),
                              np.ascontiguousarray(current, dtype=np.float64),
                              _config.MSTEP_INNER_TOL)


def _symmetric(a):
    return 0.5 * (a + np.swapaxes(a, -1, -2))


# -- the M-steps, from the weights nk (K,) and the unconstrained covariances --


def mstep_eii(nk, variances):
    """EII: ``lambda I``; ``variances`` (K, d) of 'diag'. Returns (K,)."""
    value = float(nk @ variances.mean(axis=1) / nk.sum())
    return np.full(nk.shape[0], value)


def mstep_eei(nk, variances):
    """EEI: ``lambda B``, one diagonal for all: the pooled variances."""
    pooled = nk @ variances / nk.sum()
    return np.repeat(pooled[None], nk.shape[0], axis=0)


def mstep_evi(nk, variances):
    """EVI: ``lambda B_k``: B_k the component's variances over their
    geometric mean, lambda the weighted mean of those geometric means."""
    volume = _geometric_mean(variances)
    lam = nk @ volume / nk.sum()
    return lam * variances / volume[:, None]


def _volumes_and_shape(nk, values):
    """``(lambda_k, B)`` of ``lambda_k B`` fitted to the diagonals ``values``
    (K, d), B diagonal with |B| = 1, by alternating lambda_k = tr(S_k B^-1) / d
    and B = the normalised sum_k n_k S_k / lambda_k (Celeux & Govaert): VEI
    on the variances, VEV on the eigenvalues. The loop is the Numba kernel
    ``_kernels.volumes.volumes_and_shape``."""
    values = np.ascontiguousarray(values, dtype=np.float64)
    lam = np.empty(values.shape[0])
    shape = np.empty(values.shape[1])
    _volumes.volumes_and_shape(np.ascontiguousarray(nk, dtype=np.float64), values,
                               _config.MSTEP_INNER_TOL, _config.MSTEP_INNER_MAX_ITER,
                               lam, shape)
    return lam, shape


def mstep_vei(nk, variances):
    """VEI: ``lambda_k B`` (see :func:`_volumes_and_shape`)."""
    lam, shape = _volumes_and_shape(nk, variances)
    return lam[:, None] * shape[None, :]


def _normalised_diagonal(values):
    return values / _geometric_mean(values)


def _normalised_matrix(matrix):
    sign, logdet = np.linalg.slogdet(matrix)
    if sign <= 0:
        return matrix * np.nan
    return matrix / np.exp(logdet / matrix.shape[0])


def mstep_vee(nk, covariances):
    """VEE: ``lambda_k C``, |C| = 1, by alternating lambda_k = tr(C^-1 S_k) / d
    and C = the normalised sum_k n_k S_k / lambda_k."""
    n_components, n_features = covariances.shape[:2]
    shape = _normalised_matrix(np.einsum("k,kij->ij", nk, covariances))

    def volumes(shape):
        try:
            inverse = np.linalg.inv(shape)
        except np.linalg.LinAlgError:
            return np.full(n_components, np.nan)
        return np.einsum("ij,kji->k", inverse, covariances) / n_features

    for _ in range(_config.MSTEP_INNER_MAX_ITER):
        lam = volumes(shape)
        previous, shape = shape, _normalised_matrix(np.einsum("k,kij->ij", nk / lam,
                                                              covariances))
        if _converged(previous, shape):
            break
    return _symmetric(volumes(shape)[:, None, None] * shape[None])


def _common_orientation(nk, covariances, equal_volume):
    """EVE (``equal_volume``) and VVE: ``D Lambda_k D^T`` with one
    orthogonal D, Lambda_k diagonal (EVE: lambda A_k, |A_k| = 1, lambda common).

    Given D, Lambda_k is diag(D^T S_k D) (VVE), or lambda times its
    normalised version with lambda the weighted mean of their geometric
    means (EVE). Given Lambda_k, D minimises
    f(D) = sum_k n_k tr(Lambda_k^-1 D^T S_k D): a sweep rotates every pair of
    columns (i, j) of D in their plane by the angle that minimises f
    exactly (f depends on the angle t as A cos 2t + B sin 2t + const), as
    Flury & Gautschi's algorithm for common principal components does; every
    rotation, and every update of Lambda_k after it, lowers -Q (the sweep is
    the Numba kernel ``_kernels.orientation.orientation_sweep``).
    Starts from the eigenvectors of the pooled covariance. (Browne &
    McNicholas's MM step for D, with the same fixed points, measured
    hundreds of sweeps at d = 3 where this takes a few.)
    """
    n_components, n_features = covariances.shape[:2]
    nk = np.ascontiguousarray(nk, dtype=np.float64)
    _, orientation = np.linalg.eigh(np.einsum("k,kij->ij", nk, covariances))
    orientation = np.ascontiguousarray(orientation)
    # S_k D for every component, kept up to date through the rotations.
    product = np.ascontiguousarray(np.einsum("kij,jl->kil", covariances, orientation))
    eigen = np.empty((n_components, n_features))
    _orientation.eigenvalues(nk, orientation, product, equal_volume, eigen)

    def matrices():
        return np.einsum("ij,kj,lj->kil", orientation, eigen, orientation)

    current = matrices()
    for _ in range(_config.MSTEP_INNER_MAX_ITER):
        _orientation.orientation_sweep(nk, orientation, product, equal_volume, eigen)
        # Converged when the covariances stop moving: where two of a
        # component's eigenvalues nearly coincide, D itself is ill-determined
        # and creeps on (d = 16 took 90 sweeps on D's change).
        previous, current = current, matrices()
        if _converged(previous, current):
            break
    return _symmetric(current)


def mstep_eve(nk, covariances):
    """EVE: ``lambda D A_k D^T`` (see :func:`_common_orientation`)."""
    return _common_orientation(nk, covariances, equal_volume=True)


def mstep_vve(nk, covariances):
    """VVE: ``lambda_k D A_k D^T`` (see :func:`_common_orientation`)."""
    return _common_orientation(nk, covariances, equal_volume=False)


def mstep_eev(nk, covariances):
    """EEV: ``lambda D_k A D_k^T``: D_k the eigenvectors of S_k, and lambda A
    the weighted mean of the (sorted) eigenvalues (Celeux & Govaert)."""
    values, vectors = np.linalg.eigh(covariances)
    pooled = nk @ values / nk.sum()
    return _symmetric(np.einsum("kij,j,klj->kil", vectors, pooled, vectors))


def mstep_vev(nk, covariances):
    """VEV: ``lambda_k D_k A D_k^T``: D_k the eigenvectors of S_k, and
    lambda_k A fitted to their (sorted) eigenvalues as VEI to variances
    (:func:`_volumes_and_shape`)."""
    values, vectors = np.linalg.eigh(covariances)
    lam, shape = _volumes_and_shape(nk, values)
    return _symmetric(np.einsum("kij,kj,klj->kil", vectors, lam[:, None] * shape, vectors))


def mstep_evv(nk, covariances):
    """EVV: ``lambda C_k``, |C_k| = 1: C_k = S_k / |S_k|^(1/d), lambda the
    weighted mean of the |S_k|^(1/d)."""
    n_features = covariances.shape[1]
    sign, logdet = np.linalg.slogdet(covariances)
    with np.errstate(invalid="ignore"):
        volume = np.where(sign > 0, np.exp(logdet / n_features), np.nan)
    lam = nk @ volume / nk.sum()
    return lam * covariances / volume[:, None, None]


# -- the model objects -------------------------------------------------------------


class _Parsimonious:
    """Mixin: the M-step is ``mstep(nk, S)`` of the parent's covariances ``S``."""

    iterative = False
    mstep = None
    # The variational updates of the parent (its Wishart posterior) are not
    # this model's: a constrained covariance has another posterior.
    variational = False

    def variational_covariance_prior(self, covariance, variances):
        raise NotImplementedError(f"{self!r} has no variational update")

    def variational_wishart(self, nk, xk, sk, priors, mean_precision):
        raise NotImplementedError(f"{self!r} has no variational update")

    def variational_log_wishart_norm(self, log_norms, n_components):
        raise NotImplementedError(f"{self!r} has no variational update")

    def covariances_from_stats(self, stats, means, delta, nk, reg_covar, nk_reg):
        unconstrained = super().covariances_from_stats(stats, means, delta, nk,
                                                       reg_covar, nk_reg)
        with np.errstate(invalid="ignore", divide="ignore", over="ignore"):
            return type(self).mstep(nk, unconstrained)


class _ParsimoniousDiag(_Parsimonious, Diag):
    """Diagonal models: the 'diag' pass, variances of shape (K, d)."""


class _ParsimoniousFull(_Parsimonious, Full):
    """Oriented models: the 'full' pass, matrices of shape (K, d, d)."""


class EII(_Parsimonious, Spherical):
    """'EII': ``lambda I``, one variance for all components and features."""

    name = "EII"
    mstep = staticmethod(mstep_eii)

    def covariances_from_stats(self, stats, means, delta, nk, reg_covar, nk_reg):
        # From 'diag''s variances (per feature from the Numba pass, pooled
        # from the BLAS pass: only their means over the features are used).
        variances = Diag.covariances_from_stats(self, stats, means, delta, nk,
                                                reg_covar, nk_reg)
        return mstep_eii(nk, variances)

    def n_covariance_parameters(self, n_components, n_features):
        return 1


class EEI(_ParsimoniousDiag):
    """'EEI': ``lambda B``, one diagonal covariance for all components."""

    name = "EEI"
    mstep = staticmethod(mstep_eei)

    def n_covariance_parameters(self, n_components, n_features):
        return n_features


class VEI(_ParsimoniousDiag):
    """'VEI': ``lambda_k B``, diagonal, the same shape, volumes free."""

    name = "VEI"
    iterative = True
    mstep = staticmethod(mstep_vei)

    def n_covariance_parameters(self, n_components, n_features):
        return n_components + n_features - 1


class EVI(_ParsimoniousDiag):
    """'EVI': ``lambda B_k``, diagonal, the same volume, shapes free."""

    name = "EVI"
    mstep = staticmethod(mstep_evi)

    def n_covariance_parameters(self, n_components, n_features):
        return 1 + n_components * (n_features - 1)


def _rotations(n_features):
    return n_features * (n_features - 1) // 2


class VEE(_ParsimoniousFull):
    """'VEE': ``lambda_k D A D^T``, one shape and orientation, volumes free."""

    name = "VEE"
    iterative = True
    mstep = staticmethod(mstep_vee)

    def n_covariance_parameters(self, n_components, n_features):
        return n_components + n_features * (n_features + 1) // 2 - 1


class EVE(_ParsimoniousFull):
    """'EVE': ``lambda D A_k D^T``, one volume and orientation, shapes free."""

    name = "EVE"
    iterative = True
    mstep = staticmethod(mstep_eve)

    def n_covariance_parameters(self, n_components, n_features):
        return 1 + n_components * (n_features - 1) + _rotations(n_features)


class VVE(_ParsimoniousFull):
    """'VVE': ``lambda_k D A_k D^T``, one orientation, volumes and shapes free."""

    name = "VVE"
    iterative = True
    mstep = staticmethod(mstep_vve)

    def n_covariance_parameters(self, n_components, n_features):
        return n_components * n_features + _rotations(n_features)


class EEV(_ParsimoniousFull):
    """'EEV': ``lambda D_k A D_k^T``, one volume and shape, orientations free."""

    name = "EEV"
    mstep = staticmethod(mstep_eev)

    def n_covariance_parameters(self, n_components, n_features):
        return n_features + n_components * _rotations(n_features)


class VEV(_ParsimoniousFull):
    """'VEV': ``lambda_k D_k A D_k^T``, one shape, volumes and orientations free."""

    name = "VEV"
    iterative = True
    mstep = staticmethod(mstep_vev)

    def n_covariance_parameters(self, n_components, n_features):
        return n_components + n_features - 1 + n_components * _rotations(n_features)


class EVV(_ParsimoniousFull):
    """'EVV': ``lambda C_k``, one volume, shapes and orientations free."""

    name = "EVV"
    mstep = staticmethod(mstep_evv)

    def n_covariance_parameters(self, n_components, n_features):
        return 1 + n_components * (n_features * (n_features + 1) // 2 - 1)


def mclust_models(sklearn_models):
    """The 14 models by mclust name: the ten classes above, and the four
    scikit-learn objects of ``sklearn_models`` under their mclust names."""
    own = {model.name: model for model in (EII(), EEI(), VEI(), EVI(), VEE(), EVE(),
                                           VVE(), EEV(), VEV(), EVV())}
    own.update(VII=sklearn_models["spherical"], VVI=sklearn_models["diag"],
               EEE=sklearn_models["tied"], VVV=sklearn_models["full"])
    return {name: own[name] for name in MCLUST_NAMES}
