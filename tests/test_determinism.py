"""The compiled arithmetic does not depend on the process's history.

A kernel's result must be the same whether Numba compiled it in this process
or loaded it from the on-disk cache, and whatever was called before it. It
was not: the functions a kernel calls (its helpers, e.g.
``em_pass._block_first_moments``, and the body of each ``prange`` loop, a
separate "gufunc") were linked into its object as weak definitions, which the
JIT binds to the first definition loaded in the process: the callee's own
library (compiled first, or a helper called from Python first) or the
kernel's copy (re-optimised inside the kernel's module, where the fast-math
flags let LLVM round differently). They are now private to each kernel
(``fastgmm._kernels._private_linked_copies``).

The first test runs two fresh processes with the cache on: one that first
calls helpers from Python (which loads their standalone libraries), one that
does not, and compares the pass statistics bit for bit (the first process
compiles the kernels when the cache is cold, so the second one loads them).
The second test checks, in a process that compiles one small kernel, that
nothing it defines is weak: the case of a process that compiled its kernels,
without the ~30 s it takes to compile those of a whole pass. The next two
check that the libraries Numba builds for a kernel's ``prange`` loop are
left for the kernel's module to optimise, and another's are not touched,
whatever order the compile events came in. The next two check that a
function's fast-math flags and error model are its own, not those of the
caller that compiled it first; the last, that a kernel's cache entry goes
stale when any file it is compiled from changes.
"""

import json
import os
import subprocess
import sys
import types

import numba
import pytest

import fastgmm
from fastgmm._config import NUMBA_CACHE

# The child processes import the package this process imports.
_ROOT = os.path.dirname(os.path.dirname(os.path.abspath(fastgmm.__file__)))


def _child_json(script, *args, cache, timeout=600, cwd=None, **env):
    """What a child process running ``script`` prints (JSON), the kernels'
    cache on or off (``FASTGMM_NUMBA_CACHE``), importing the package this
    process imports; ``env`` sets more variables (None: unset)."""
    child_env = dict(os.environ, FASTGMM_NUMBA_CACHE="1" if cache else "0",
                     PYTHONPATH=_ROOT)
    for name, value in env.items():
        if value is None:
            child_env.pop(name, None)
        else:
            child_env[name] = value
    run = subprocess.run([sys.executable, "-c", script, *args], env=child_env, cwd=cwd,
                         capture_output=True, text=True, timeout=timeout)
    assert run.returncode == 0, run.stderr[-2000:]
    return json.loads(run.stdout)

_SCRIPT = r"""
import hashlib, json, sys
import numpy as np
from fastgmm import _em
from fastgmm._covariance import compute_precision_cholesky
from fastgmm._kernels import em_pass as E
from fastgmm._kernels import logprob as L
from fastgmm._stats import Params

if sys.argv[1] == "helpers":
    # Load the helpers' standalone libraries before any kernel runs.
    a2 = np.zeros((8, 520)); a1 = np.zeros(520); m = np.zeros((8, 8))
    E._block_first_moments(a2, np.int64(10), np.zeros(8), np.zeros(520), a2.copy(),
                           a2.copy(), 0.0, np.zeros(8))
    E._block_scatter(np.int64(10), a2, a2, m, 0.0, False)
    E._block_posterior(np.zeros((8, 520)), np.int64(10), False, a1, True, np.zeros(520),
                       np.zeros(520))
    # ... and the generated helpers of the written-out kernels.
    a6 = np.zeros((6, 520))
    L.unrolled_squared_norm(6)(a6, np.int64(10), np.zeros((6, 6)), np.zeros(6), a6, a1)
    E.unrolled_block_stats(6)(a6, np.int64(10), np.zeros(6), a1, a1, np.zeros(6),
                              np.zeros((6, 6)), False)
    # (the tiled statistics of the widths below that take them: 16 and 20
    # float64, 12 float32)
    for d, t in ((16, np.float64), (20, np.float64), (12, np.float32)):
        E.tiled_block_stats(d)(np.zeros((d, 520), t), np.int64(10), np.zeros(d, t),
                               np.zeros(520, t), t(0), np.zeros(d), np.zeros((d, d)), False)

def digest(*arrays):
    h = hashlib.sha1()
    for a in arrays:
        h.update(np.ascontiguousarray(a).tobytes())
    return h.hexdigest()

rng = np.random.default_rng(1)
out = {}
# Widths up to _config.UNROLLED_MAX_FEATURES run written-out kernels (6: with
# the one-sweep statistics on every host; with AVX-512, 16 and 20, and 12 in
# float32, with the tiled statistics in X's dtype); 30 the column tiles,
# uncentred (float64 from CENTRED_PRODUCT_MAX_FEATURES).
for d, K, dtype in [(6, 8, "float64"), (16, 8, "float64"), (20, 4, "float64"),
                    (12, 8, "float32"), (30, 4, "float64")]:
    X = rng.standard_normal((20000, d)) + rng.integers(0, 4, (20000, 1)) * 3.0
    X = X.astype(dtype)
    means = X[rng.choice(len(X), K, replace=False)]
    A = rng.normal(size=(K, d, d))
    cov = A @ np.swapaxes(A, 1, 2) / d + np.eye(d)
    params = Params(np.full(K, 1 / K), means, cov, compute_precision_cholesky(cov, "full"))
    st = _em.em_pass(X, np.empty(0), params, "full")
    out[f"full d={d} {dtype}"] = {name: digest(getattr(st, name))
                          for name in ("loglik", "nk", "sx", "sxx")}
json.dump(out, sys.stdout)
"""


def _pass_digests(mode):
    return _child_json(_SCRIPT, mode, cache=True, timeout=900)


@pytest.mark.skipif(numba.config.DISABLE_JIT, reason="nothing is compiled")
@pytest.mark.skipif(not NUMBA_CACHE, reason="the kernels' cache is off (FASTGMM_NUMBA_CACHE)")
def test_pass_statistics_do_not_depend_on_what_was_loaded_before():
    """A process that called the helpers first, and so bound the kernels'
    calls to the helpers' own libraries (as a process compiling the kernels
    did), gets the same statistics bit for bit as one that loaded the
    kernels from the cache alone."""
    helpers_first = _pass_digests("helpers")
    cached = _pass_digests("plain")
    assert cached == helpers_first


_LINKAGE_SCRIPT = r"""
import json, sys
import numpy as np
from llvmlite import binding as llvm
from fastgmm._kernels import reduce as R

R.add_block_sums(np.ones((3, 5)), 3, np.zeros(5))
library = R.add_block_sums.overloads[R.add_block_sums.signatures[0]].library
weak = (llvm.Linkage.linkonce_any, llvm.Linkage.linkonce_odr, llvm.Linkage.weak_any,
        llvm.Linkage.weak_odr)
names = [fn.name for fn in library._final_module.functions
         if not fn.is_declaration and fn.linkage in weak]
gufuncs = [fn.name for fn in library._final_module.functions
           if not fn.is_declaration and "parfor_gufunc" in fn.name]
json.dump({"weak": names, "gufuncs": gufuncs}, sys.stdout)
"""


@pytest.mark.skipif(numba.config.DISABLE_JIT, reason="nothing is compiled")
def test_a_compiled_kernel_defines_no_weak_function():
    """The body of a ``prange`` loop is compiled as a separate function (a
    "gufunc") linked into the kernel like a helper, and was a weak symbol as
    well: the process that compiled a kernel ran the gufunc's own library,
    one that loaded it from the cache the kernel's re-optimised copy (the
    'full' pass's ``sx`` differed in the last bits). A kernel compiled in
    this process (the cache off: a small one, ``reduce.add_block_sums``)
    defines its gufunc, privately, and no weak function."""
    found = _child_json(_LINKAGE_SCRIPT, cache=False)
    assert found["gufuncs"]
    assert found["weak"] == []


_PARTS_SCRIPT = r"""
import json, sys
import numpy as np
from llvmlite import binding as llvm
from numba import cfunc, guvectorize, njit, prange
from numba.core import codegen, event
from fastgmm._kernels import _FastgmmCompiles, _is_parfor_part
from fastgmm._kernels import reduce as R

finalised = []
finalize = codegen.CPUCodeLibrary.finalize


def recording(self):
    finalize(self)
    finalised.append(self)


codegen.CPUCodeLibrary.finalize = recording


def libraries(call):
    del finalised[:]
    call()
    return list(finalised)


def unoptimised(lib):
    return bool(getattr(lib, "fastgmm_unoptimised", False))


def described(libs):
    return [dict(name=lib.name.split(" at ")[0], part=_is_parfor_part(lib),
                 unoptimised=unoptimised(lib)) for lib in libs]


@njit(parallel=True)
def users_sum(x):
    s = 0.0
    for i in prange(x.shape[0]):
        s += x[i]
    return s


def users_gufunc(x, out):
    out[0] = x.sum()


out = np.zeros(5)
kernel_libs = libraries(lambda: R.add_block_sums(np.ones((3, 5)), 3, out))
kernel = [lib for lib in kernel_libs if lib.name == "add_block_sums"]
# The parts' functions as the kernel's module holds them.
parts_internal = [fn.linkage == llvm.Linkage.internal for lib in kernel
                  for fn in lib._final_module.functions
                  if not fn.is_declaration and ("parfor_gufunc" in fn.name
                                                or fn.name.startswith(".kernel."))]
users = libraries(lambda: users_sum(np.ones(10)))
gufunc_libs = libraries(lambda: guvectorize(["void(float64[:], float64[:])"], "(n)->()",
                                            target="parallel")(users_gufunc))

# A parallel cfunc (a build without compile events) while the listener has a
# fastgmm compile open, as after a missed end: its parts are left
# unoptimised, and its library, which links them, holds private copies.
listener = next(x for x in event._registered["numba:compile"]
                if isinstance(x, _FastgmmCompiles))
listener._open.append((id(listener), True))
try:
    del finalised[:]

    @cfunc("float64(int64)", parallel=True)
    def users_cfunc(n):
        s = 0.0
        for i in prange(n):
            s += i
        return s
finally:
    listener._open.pop()
weak = (llvm.Linkage.linkonce_any, llvm.Linkage.linkonce_odr, llvm.Linkage.weak_any,
        llvm.Linkage.weak_odr)
cfunc_lib = finalised[-1]
net = {"links_unoptimised": any(unoptimised(x) for x in cfunc_lib._linking_libraries),
       "weak": [fn.name for fn in cfunc_lib._final_module.functions
                if not fn.is_declaration and fn.linkage in weak],
       "value": users_cfunc.ctypes(100)}
json.dump({"kernel": described(kernel_libs), "kernels": len(kernel),
           "kernel_unoptimised": [unoptimised(lib) for lib in kernel],
           "parts_internal": parts_internal, "users": described(users),
           "guvectorize": described(gufunc_libs), "sums": out.tolist(), "net": net},
          sys.stdout)
"""


@pytest.mark.skipif(numba.config.DISABLE_JIT, reason="nothing is compiled")
def test_a_parallel_kernels_loop_is_optimised_once_in_the_kernel():
    """The three libraries Numba builds for a ``prange`` loop of fastgmm's
    (the gufunc and its two wrappers) are left unoptimised, and the
    kernel's module, which optimises them with everything else once, holds
    them as private functions: the copies that run
    (``fastgmm._kernels._private_linked_copies``). The parts of a parallel
    function that is not fastgmm's (here, this test's) are optimised as
    Numba does, and a parallel ``guvectorize``'s libraries are not taken
    for parts. A library that links parts left unoptimised, a parallel
    ``cfunc`` built while the listener holds a fastgmm compile open (as
    after a missed end), holds private copies, optimised there. Fails if
    Numba names or links the parts otherwise (they are then optimised four
    times: a slower cold compile, the same results)."""
    found = _child_json(_PARTS_SCRIPT, cache=False)
    parts = [lib for lib in found["kernel"] if lib["part"]]
    assert len(parts) == 3, found["kernel"]
    assert all(lib["unoptimised"] for lib in parts)
    assert found["kernels"] == 1 and found["kernel_unoptimised"] == [False]
    assert found["parts_internal"] and all(found["parts_internal"]), found["parts_internal"]
    assert found["sums"] == [3.0] * 5
    users_parts = [lib for lib in found["users"] if lib["part"]]
    assert len(users_parts) == 3, found["users"]
    assert not any(lib["unoptimised"] for lib in found["users"])
    assert found["guvectorize"] and not any(lib["part"] for lib in found["guvectorize"])
    assert found["net"]["links_unoptimised"]
    assert found["net"]["weak"] == []
    assert found["net"]["value"] == 4950.0


def _compile_event(module):
    """A stand-in for Numba's "numba:compile" event of a function of ``module``."""
    func = types.SimpleNamespace(__module__=module)
    return types.SimpleNamespace(data={"dispatcher": types.SimpleNamespace(py_func=func)})


def test_the_compile_listener_answers_for_the_innermost_compile():
    """``_FastgmmCompiles`` says whether the compile under way is fastgmm's,
    from start and end events that share their data: a compile inside
    another answers for itself while it runs, the outer one's answer comes
    back after it, an end whose start was not seen (the listener
    registered during that compile) changes nothing, and a missed end is
    cleared by the end of the compile around it."""
    from fastgmm._kernels import _FastgmmCompiles

    listener = _FastgmmCompiles()
    outer, inner, users = (_compile_event("fastgmm._kernels.em_pass"),
                           _compile_event("fastgmm._kernels.reduce"), _compile_event("mine"))
    listener.on_end(_compile_event("fastgmm.kmeans"))  # its start was not seen
    assert not listener.innermost_is_fastgmm()
    listener.on_start(users)
    listener.on_start(outer)
    assert listener.innermost_is_fastgmm()
    listener.on_end(_compile_event("fastgmm.kmeans"))  # nor this one's
    assert listener.innermost_is_fastgmm()
    listener.on_start(inner)
    listener.on_end(inner)
    assert listener.innermost_is_fastgmm()
    listener.on_start(_compile_event("mine.too"))  # whose end is missed
    assert not listener.innermost_is_fastgmm()
    listener.on_end(outer)
    assert not listener.innermost_is_fastgmm()
    listener.on_start(inner)
    assert listener.innermost_is_fastgmm()
    listener.on_end(inner)
    listener.on_end(users)
    assert not listener.innermost_is_fastgmm()
    assert listener._open == []


_FLAGS_SCRIPT = r"""
import json, re, sys
import numpy as np
from fastgmm._kernels import _inline, em_pass

values = np.linspace(0.3, 3.7, 517)
if sys.argv[1] == "caller":
    # A fast-math kernel compiles it first (as an EM pass does).
    em_pass._block_loglik(np.int64(517), values.copy(), np.ones(517), values.copy(),
                          True)
value = _inline.sum_of_logs(values, np.int64(517))
ir = _inline.sum_of_logs.inspect_llvm(_inline.sum_of_logs.signatures[0])
fast = re.findall(r"= f(?:add|sub|mul|div) (?:fast|reassoc|nnan|ninf|nsz|arcp|contract|afn)", ir)
json.dump({"value": value.hex(), "fast_math_ops": len(fast)}, sys.stdout)
"""


def _sum_of_logs_compiled(first):
    return _child_json(_FLAGS_SCRIPT, first, cache=False)


@pytest.mark.skipif(numba.config.DISABLE_JIT, reason="nothing is compiled")
def test_a_helper_keeps_its_own_flags_whoever_compiles_it_first():
    """Numba compiles a function whose decorator does not set ``fastmath``
    with the flags of the function whose compilation first needs it
    (``Flags.inherit_if_not_set``). ``_inline.sum_of_logs`` is not fast-math
    (its products and sum rounded as written), but compiled first from
    ``em_pass._block_loglik`` it was, and the cache kept whichever came
    first: log-likelihoods, and through the cached helpers a later fit's
    parameters, differed in the last bits with the process's history. The
    cache off, so that each process compiles it."""
    direct = _sum_of_logs_compiled("direct")
    through_caller = _sum_of_logs_compiled("caller")
    assert direct["fast_math_ops"] == 0
    assert through_caller == direct


def _dispatchers():
    import importlib
    import pkgutil

    from numba.core.registry import CPUDispatcher

    found = {}
    for info in pkgutil.walk_packages(fastgmm.__path__, "fastgmm."):
        if ".cli" in info.name or info.name.endswith("__main__"):
            continue
        module = importlib.import_module(info.name)
        for name, value in vars(module).items():
            if isinstance(value, CPUDispatcher) and value.py_func.__module__ == module.__name__:
                found[f"{module.__name__}.{name}"] = value
    return found


@pytest.mark.skipif(numba.config.DISABLE_JIT, reason="nothing is compiled")
@pytest.mark.parametrize("option", ["fastmath", "error_model"])
def test_every_compiled_function_sets_its_own_flags(option):
    """Every jitted function of the package (but those inlined into their
    callers, ``inline='always'``, which take the caller's flags by design)
    sets ``fastmath`` and ``error_model`` itself, so that none inherits them
    from its first caller (see the test above; Numba inherits both).
    ``error_model`` decides whether a division by zero raises or gives inf
    and NaN, and its check can keep a loop from vectorising, which under
    fast-math changes how sums are associated."""
    dispatchers = _dispatchers()
    assert len(dispatchers) > 50
    missing = sorted(name for name, d in dispatchers.items()
                     if d.targetoptions.get("inline", "never") != "always"
                     and option not in d.targetoptions)
    assert missing == []


_STALE_SCRIPT = r"""
import json, sys
import numpy as np
from fastgmm._kernels import reduce as R

R.add_block_sums(np.ones((3, 5)), 3, np.zeros(5))
stats = R.add_block_sums.stats
json.dump({"hits": sum(stats.cache_hits.values()),
           "misses": sum(stats.cache_misses.values())}, sys.stdout)
"""


@pytest.mark.skipif(numba.config.DISABLE_JIT, reason="nothing is compiled")
@pytest.mark.parametrize("cache_dir", [False, True], ids=["in-tree", "NUMBA_CACHE_DIR"])
def test_a_cached_kernel_is_compiled_again_when_another_kernel_file_changes(tmp_path,
                                                                            cache_dir):
    """A kernel's machine code holds private copies of the helpers it calls,
    from other files of ``fastgmm._kernels`` and with the constants of
    ``fastgmm._config``; Numba's cache checks only the kernel's own file, so
    a change to a helper's file (an update of the package, a developer's
    edit) left the kernels of the other files loading the old code. The
    kernels' cache entries are now stamped with all those files. A copy of
    the package, its cache beside the modules or in ``NUMBA_CACHE_DIR``: a
    kernel compiled and cached, then loaded (a cache hit), then
    ``_config.py`` and another kernel file changed (a comment added): the
    kernel is compiled again. A file of the directory that cannot be read
    (a dangling link) changes the stamp too, and does not break the import."""
    import shutil

    root = tmp_path / "copy"
    shutil.copytree(os.path.dirname(fastgmm.__file__), root / "fastgmm",
                    ignore=shutil.ignore_patterns("__pycache__"))
    cache_dir = str(tmp_path / "numba_cache") if cache_dir else None

    def run():
        return _child_json(_STALE_SCRIPT, cache=True, cwd=root, PYTHONPATH=str(root),
                           NUMBA_CACHE_DIR=cache_dir, NUMBA_CACHE_LOCATOR_CLASSES=None)

    assert run() == {"hits": 0, "misses": 1}
    assert run() == {"hits": 1, "misses": 0}
    for name in ("_config.py", "_kernels/_inline.py"):
        with open(root / "fastgmm" / name, "a") as f:
            f.write("# changed\n")
        assert run() == {"hits": 0, "misses": 1}, name
        assert run() == {"hits": 1, "misses": 0}, name
    os.symlink(root / "missing.py", root / "fastgmm" / "_kernels" / "zz_link.py")
    assert run() == {"hits": 0, "misses": 1}
    assert run() == {"hits": 1, "misses": 0}
