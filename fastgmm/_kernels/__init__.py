"""Numba kernels: arrays (X in any layout) and scalars in, arrays the driver allocated out.

No validation and no Python objects live here; see ``fastgmm._em`` for the
driver that chooses, calls and combines them.

Precision: one rule for every covariance type
---------------------------------------------
X is read in its own dtype, float32 or float64, never copied. For float64
data everything below is float64. For float32 data:

1. Parameters. The covariance model's ``pass_arguments`` /
   ``score_arguments`` (``fastgmm._covariance``) hand the kernels float64
   arrays, except for
   'full', whose precision factors (and, for the per-point kernel, means)
   it also passes in float32, the dtype they are used in; the other kernels
   cast the means, precision factors and shift they score with to float32
   themselves. In the fused pass the means (and the tied shift) are float32
   values already, so a row is centred on exactly the centre its statistics
   are taken around. The per-component constants (log weight + log det)
   are float64.
2. Scoring. The Mahalanobis term ``||(x - c) U||^2`` of a row is computed in
   float32, on rows centred in float32 first (on each component's mean for
   'full', 'diag' and 'spherical', on the shared shift for 'tied'), so that
   rows far from the origin lose nothing to cancellation. From there on,
   ``const - term / 2``, the log-sum-exp, the responsibilities and the
   log-likelihood are float64. One exception: the per-point 'tied' kernel
   (``logprob.weighted_log_prob_tied``: ``score_samples``, ``predict``...)
   takes no shift, and an uncentred ``x U - mu U`` in float32 would cancel
   for data far from the origin, so it scores in float64 (the product of
   float32 rows with float64 factors); its log-densities differ from the
   fused pass's by the float32 rounding of the Mahalanobis term.
3. Statistics within a block (at most ``_config.MAX_CHUNK_SIZE`` rows). The
   second moments are summed in float32: the scatter of 'full', the pooled
   scatter of 'tied', ``sum r D^2`` of 'diag' and 'spherical'; so are the
   first moments ``sx`` of 'full', 'diag' and 'spherical'. ``nk``, and
   ``sx`` of 'tied' and of the BLAS pass of 'full' at many features
   (``fastgmm._blocked``: a float64 product), are float64 sums. Where a
   responsibility times a sample weight multiplies float32 deviations it
   is rounded to float32 first. 'full' with at most two features
   (``_config.ONE_SWEEP_STATS_MAX_FEATURES["float32"]``;
   ``em_pass.stats_sweep``) forms the deviations from the (float32-valued)
   means, the responsibilities and their products in float64 and sums nk,
   sx and the scatter in float64: one sweep per component, nothing stored
   per row, in the accumulating pass too. Above it and up to
   ``_config.SCATTER_SWEEP_MAX_FEATURES["float32"]`` (20 with AVX-512, 8
   without), the tiled statistics (``em_pass.tiled_block_stats``) keep the
   rule of this item's first sentences.
4. Across blocks. Each block writes its sums into float64 ``*_part`` rows,
   and the driver adds them in float64, in a fixed order.
5. Range. A float32 block sum of squared deviations stays finite for data
   up to ``_config.FLOAT32_PASS_MAX_ABS`` in absolute value (derived there
   from ``MAX_CHUNK_SIZE``); the estimator passes float32 data beyond it as
   float64.

The k-means kernels (``kmeans.py``) upcast each block to float64: for them
float32 data change only what is read.
"""

import functools
import glob
import hashlib
import os
import sys
import threading
import types

from numba import njit
from numba.core import caching as _caching
from numba.core import codegen as _codegen
from numba.core import event as _event
from llvmlite import binding as _llvm

from .._config import FASTMATH, NUMBA_CACHE

# The options every kernel is compiled with, fast-math or exact (a module
# adds to them, e.g. ``parallel=True``, or changes one, as 'diag''s numpy
# error model). Both set ``fastmath`` and ``error_model``: Numba compiles a
# function that leaves either unset with those of the first caller that
# needs it (``Flags.inherit_if_not_set``), and the on-disk cache keeps that
# version (``tests/test_determinism.py`` checks every jitted function of the
# package). ``nogil``: the kernels run with the GIL released.
FAST_JIT = dict(fastmath=FASTMATH, error_model="python", cache=NUMBA_CACHE, nogil=True)
EXACT_JIT = dict(fastmath=False, error_model="python", cache=NUMBA_CACHE, nogil=True)


_WEAK = (_llvm.Linkage.linkonce_any, _llvm.Linkage.linkonce_odr, _llvm.Linkage.weak_any,
         _llvm.Linkage.weak_odr)


_GUFUNC_PREFIX = "__numba_parfor_gufunc"


def _is_parfor_part(library):
    """Whether ``library`` is one of those Numba builds for a ``prange``
    loop: the loop's body (a "gufunc", named for it), or one of its two
    wrappers (``_GufuncWrapper``, ``parallelgufuncwrapper``), which link
    the body's library. A parallel ``vectorize`` or ``guvectorize``'s
    wrappers, and the kernel that holds the loop, are not."""
    name = library.name
    if name.startswith(_GUFUNC_PREFIX):
        return True
    return (name == "parallelgufuncwrapper" or "._GufuncWrapper object" in name) and any(
        linked.name.startswith(_GUFUNC_PREFIX) for linked in library._linking_libraries)


class _FastgmmCompiles(_event.Listener):
    """Whether the innermost function Numba is compiling is one of this
    package's (of a ``fastgmm`` module), from Numba's "numba:compile"
    events. The events, and the finalisation of the libraries a compile
    builds, run under Numba's global compiler lock, one compile at a time.

    A compile's start and end events share its ``data``: an end removes its
    own start and any left above it (the ends of compiles inside it, were
    they missed), and an end whose start was not seen (the listener
    registered during that compile) removes nothing. A dispatcher's compile
    is on top while it runs, so a missed end (another listener raising
    before this one) does not decide for it. It can for a build that sends
    no such event (a ``cfunc``, a ``vectorize``) while no compile is open;
    a library linking parts left unoptimised then makes its copies private
    (``_private_linked_copies``), and they are optimised there, and run."""

    def __init__(self):
        self._open = []

    def on_start(self, event):
        data = event.data if isinstance(event.data, dict) else {}
        func = getattr(data.get("dispatcher"), "py_func", None)
        module = getattr(func, "__module__", None) or ""
        self._open.append((id(event.data), module == "fastgmm"
                           or module.startswith("fastgmm.")))

    def on_end(self, event):
        key = id(event.data)
        for i in range(len(self._open) - 1, -1, -1):
            if self._open[i][0] == key:
                del self._open[i:]
                return

    def innermost_is_fastgmm(self):
        return bool(self._open) and self._open[-1][1]


def _private_linked_copies(optimize_final_module):
    """Numba's ``CPUCodeLibrary._optimize_final_module``, after which the
    functions linked into a library of fastgmm's kernels become private.

    Numba links every function a kernel calls (its njit helpers, and the body
    of each ``prange`` loop, compiled as a separate "gufunc", with its
    wrapper) into the kernel's module as ``linkonce_odr`` or ``weak_odr``:
    in the object code, weak symbols, which the JIT binds to the first
    definition loaded in the process. In the process that compiles a kernel,
    that is the callee's own library, optimised once; in one that loads the
    kernel from the on-disk cache, the kernel's copy, which went through the
    module pipeline a second time inside the kernel's module, where the
    fast-math flags (``reassoc``) let LLVM round differently; or the copy in
    another cached kernel that was loaded first (a helper called from Python
    first loads the helper's own library). So a kernel's results depended,
    in the last bits, on the process's history.

    Made internal once the module is optimised (so the optimisation, and the
    arithmetic, are exactly numba's), the copies are local symbols of the
    kernel's object code: a kernel runs its own code, the object code that is
    cached, whether it was compiled in this process or loaded, whatever was
    loaded before. Internal before the optimisation, LLVM would inline each
    gufunc into its wrapper and optimise it again (10-20 % more cold compile
    time, measured with asv_benchmarks/cold_compile.py).
    Libraries that define no fastgmm function (numba's own, the gufuncs
    themselves, the user's) keep numba's linkage, except one that links a
    part left unoptimised (below). The copies linked
    in from this library, when another links it (``_get_module_for_linking``
    makes only external functions ``linkonce_odr``), stay private copies.

    The parts of a parallel kernel go through LLVM's module passes once, in
    the kernel's module. Numba builds each ``prange`` loop in three
    libraries before the kernel's own (the gufunc, its ``_GufuncWrapper``
    and the ``parallelgufuncwrapper``; ``_is_parfor_part``), each linking
    the one before, and ran the module passes over each module whole: the
    loop's body, with every helper it calls, four times. Only the kernel's
    private copies run (above), so the three parts of a fastgmm kernel's
    loops, those finalised while Numba compiles a function of this package
    (``_FastgmmCompiles``), are left unoptimised, and the kernel's module,
    which links them all, optimises everything once. A library that links
    an unoptimised part makes its copies private too, whoever's it is. In
    every comparison made, the kernels' results were those of the four
    rounds bit for bit and their speed the same within the host's noise
    (their machine code differs: what is inlined where, registers); the
    module passes of a cold compile took 2.7 s instead of 5.6 (the
    benchmarks page, "Where a cold compile goes";
    ``asv_benchmarks/compile_breakdown.py``).
    """
    compiles = _FastgmmCompiles()
    _event.register("numba:compile", compiles)

    def optimize(self):
        if compiles.innermost_is_fastgmm() and _is_parfor_part(self):
            # Only the copies linked into the kernel's module, optimised
            # there and private, run.
            self.fastgmm_unoptimised = True
            return
        optimize_final_module(self)
        module = self._final_module
        if any(getattr(linked, "fastgmm_unoptimised", False)
               for linked in self._linking_libraries) or any(
                fn.linkage == _llvm.Linkage.external and not fn.is_declaration
                and "7fastgmm" in fn.name for fn in module.functions):
            for fn in module.functions:
                if not fn.is_declaration and fn.linkage in _WEAK:
                    fn.linkage = "internal"

    optimize.fastgmm_private_copies = True
    return optimize


_optimize_final_module = getattr(_codegen.CPUCodeLibrary, "_optimize_final_module", None)
# Without the method (another numba), numba's own linking stays
# (tests/test_determinism.py then fails).
if _optimize_final_module is not None and not getattr(
        _optimize_final_module, "fastgmm_private_copies", False):
    _codegen.CPUCodeLibrary._optimize_final_module = _private_linked_copies(
        _optimize_final_module)


_KERNELS_DIR = os.path.dirname(os.path.abspath(__file__))


@functools.lru_cache(maxsize=None)
def kernel_sources_stamp():
    """One digest of every file the kernels are compiled from: the modules
    of ``fastgmm._kernels`` and ``fastgmm._config`` (whose constants the
    kernels read as compile-time values). Read once per process, when the
    first kernel is defined: the stamp of the sources this process runs."""
    paths = sorted(glob.glob(os.path.join(_KERNELS_DIR, "*.py")))
    paths.append(os.path.join(os.path.dirname(_KERNELS_DIR), "_config.py"))
    digest = hashlib.sha256()
    for path in paths:
        digest.update(os.path.basename(path).encode())
        try:
            with open(path, "rb") as f:
                digest.update(hashlib.sha256(f.read()).digest())
        except OSError as exc:
            # A stray file that cannot be read (a dangling link, no
            # permission) is stamped by its failure, not raised from import.
            digest.update(b"?" + type(exc).__name__.encode())
    return digest.digest()


def _kernel_locator(base):
    """Numba's cache locator ``base``, for the functions of this package's
    kernel modules only, with their cache entries stamped by
    :func:`kernel_sources_stamp` instead of their own file's digest.

    A kernel's machine code holds private copies of the helpers it calls
    (see ``_private_linked_copies``), from other files of this package, and
    the values of ``fastgmm._config``'s constants; Numba checks a cache
    entry against its function's own file only, so that after a change to
    a helper's file (an update of the package, an edit) the kernels of the
    other files loaded the old code from the cache. Stamped with every
    kernel file, an entry is stale, and compiled again, when any of them
    changes.
    """
    class KernelCacheLocator(base):
        def get_source_stamp(self):
            if getattr(sys, "frozen", False):
                # Numba's stamp of a frozen application: its executable.
                return super().get_source_stamp()
            return kernel_sources_stamp()

        @classmethod
        def from_function(cls, py_func, py_file):
            if os.path.dirname(os.path.abspath(py_file)) != _KERNELS_DIR:
                return None
            return super().from_function(py_func, py_file)

    name = "Kernel" + base.__name__.lstrip("_")
    KernelCacheLocator.__name__ = KernelCacheLocator.__qualname__ = name
    KernelCacheLocator.fastgmm_kernels = _KERNELS_DIR
    return KernelCacheLocator


def _install_kernel_locators():
    """Put :func:`_kernel_locator`'s locators first in Numba's list, in
    Numba's own order (a cache directory the user set, the package's
    ``__pycache__``, the user-wide one), once for this directory; they are
    also this module's attributes (``KernelInTreeCacheLocator``...), for a
    ``NUMBA_CACHE_LOCATOR_CLASSES`` that names its locators (Numba then
    reads that list instead, and without them a kernel's entry has Numba's
    own stamp). Without the list or the locators (another numba), Numba's
    own stamps stay (the test of the stamp, ``tests/test_determinism.py``,
    then fails). A package imported from a zip file keeps Numba's own
    stamps too (its locator for zip files)."""
    impl = getattr(_caching, "CacheImpl", None) or getattr(_caching, "_CacheImpl", None)
    classes = getattr(impl, "_locator_classes", None)
    if classes is None:
        return
    installed = [c for c in classes if getattr(c, "fastgmm_kernels", None) == _KERNELS_DIR]
    if not installed:
        bases = [getattr(_caching, name, None) or getattr(_caching, "_" + name, None)
                 for name in ("UserProvidedCacheLocator", "InTreeCacheLocator",
                              "UserWideCacheLocator")]
        installed = [_kernel_locator(base) for base in bases if base is not None]
        classes[:0] = installed
    for locator in installed:
        globals()[locator.__name__] = locator


_install_kernel_locators()


def kernel_variant(kernel, suffix, replace=None, **options):
    """The kernel's code compiled again under another name, with some of the
    globals it calls replaced (``replace``: name -> function).

    For kernels that differ only in a helper chosen by the data (e.g. the
    product of 'full' for float64 from 16 features): each variant compiles
    only its own helper, where one kernel with a run-time branch would
    compile both. Numba resolves globals when it compiles, from the
    function's globals, so the variant gets a copy of its module's globals
    with the replacements: call this at the end of the module. Returns a
    separate dispatcher with its own on-disk cache entry (its qualified
    name gets ``suffix``).
    """
    # Without the JIT (NUMBA_DISABLE_JIT=1) njit returns the function itself.
    func = getattr(kernel, "py_func", kernel)
    namespace = func.__globals__
    if replace:
        namespace = dict(namespace)
        namespace.update(replace)
    twin = types.FunctionType(func.__code__, namespace, func.__name__ + suffix,
                              func.__defaults__, func.__closure__)
    twin.__qualname__ = func.__qualname__ + suffix
    twin.__doc__ = func.__doc__
    twin.__module__ = func.__module__
    return njit(**options)(twin)


def cached_factory(factory):
    """``factory`` (a function of hashable arguments that builds kernels)
    called once per arguments: later calls return the first call's result.

    For kernels made on demand (per number of features, say): each is built,
    and compiled or loaded from Numba's cache, once per process, even when two
    threads first ask for it at once (the factory runs under a lock; it only
    creates dispatchers, which compile when first called).
    """
    lock = threading.Lock()
    cached = functools.lru_cache(maxsize=None)(factory)

    @functools.wraps(factory)
    def get(*args):
        with lock:
            return cached(*args)

    get.cache_info = cached.cache_info
    return get


def generated_function(source, name, module, doc, **options):
    """The njit function ``name`` defined by ``source`` (generated Python
    code), as if written in ``module`` (a module's ``__name__``).

    For helpers written out per number of features (straight-line code whose
    values live in registers). The code is compiled under the module's file
    name and the function's module and qualified name are set, so that
    Numba caches it on disk beside that module's other functions (its
    entries are keyed by the qualified name, which must be unique, and by
    the bytecode). Its line numbers are those of ``source``, not of the
    module's file: the source is kept as the function's ``source``
    attribute (for error messages and reading).
    """
    namespace = {"__name__": module}
    exec(compile(source, sys.modules[module].__file__, "exec"), namespace)
    func = namespace[name]
    func.__module__ = module
    func.__qualname__ = name
    func.__doc__ = doc
    func.source = source
    return njit(**options)(func)


def serial_twin(kernel, **options):
    """The same kernel compiled without ``parallel=True`` (``prange`` runs as ``range``).

    For inputs of a single block: starting a parallel region costs little on
    an idle machine, but when other processes hold the cores, waking the
    pool's threads can cost a scheduler time slice, far more than the work.
    Returns a separate dispatcher with its own on-disk cache entry (its
    qualified name gets a ``_serial`` suffix).
    """
    return kernel_variant(kernel, "_serial", **options)
