"""Where a cold compile goes: seconds per kernel, and LLVM's share of each.

Run: ``python asv_benchmarks/compile_breakdown.py [--n-features D]
[--covariance-type T] [--float32] [--libraries]`` (the work of ``cold_compile.py``: import,
a default fit of N=1e5 rows, ``predict_proba`` of 1 and of 1e5 rows; the
on-disk cache is off, ``FASTGMM_NUMBA_CACHE=0``, so every kernel compiles).

Printed, in the order Numba compiled them: every top-level compile (a
kernel or helper that no other compile was under way to compile; the
helpers a kernel calls are compiled inside its time), the step of the run
that asked for it, whether it is a ``parallel=True`` kernel, its seconds,
and the part of them spent in LLVM: the function passes, the module passes
(each library is optimised again once its callees are linked in), the
code generation and LLVM's other calls (parsing, linking, verifying), with
the number of libraries it finalised. Numba compiles a ``prange`` loop's
body into a library of its own, wraps it twice (a gufunc wrapper, then
``parallelgufuncwrapper``) and links them into the kernel's library; each
of the four generates the machine code of the loop's body, with every
helper it calls, again. Numba optimised each of them too; for fastgmm's
kernels only the kernel's library does (``fastgmm._kernels``'s
``_private_linked_copies``), so the three parts' module passes are ~0 s.

The LLVM times come from timing llvmlite's calls into LLVM (a private
wrapper of ``llvmlite.binding.ffi``, patched here only); the rest of a
compile is Numba's own, in Python (bytecode analysis, type inference,
lowering to LLVM IR). Numba's one-time set-up (its runtime library, the
thread pool) is done before the timing starts, by compiling and running
two trivial functions, so that it does not count against the first
kernel. ``--libraries`` also lists, under each compile, the
libraries it finalised and each one's seconds (linking its callees,
optimising the module, generating its code: Numba's private
``CPUCodeLibrary.finalize``, timed here only).
"""

import argparse
import collections
import os
import re
import time

os.environ["FASTGMM_NUMBA_CACHE"] = "0"

import numpy as np  # noqa: E402
from llvmlite.binding import ffi  # noqa: E402
from numba.core import event  # noqa: E402

# llvmlite's calls into LLVM that do the work of a compile, by stage.
_LLVM_STAGES = {
    "LLVMPY_RunNewFunctionPassManager": "function passes",
    "LLVMPY_RunNewModulePassManager": "module passes",
    "LLVMPY_FinalizeObject": "code generation",
}
OTHER_LLVM = "other LLVM calls"


class _Recorder(event.Listener):
    """Top-level compiles (Numba's "numba:compile" events) and the LLVM time
    spent under each."""

    def __init__(self):
        self.depth = 0
        self.step = ""
        self.rows = []
        self._llvm = collections.Counter()
        self._libraries = 0
        self._finalised = []
        self._start = 0.0

    def on_start(self, ev):
        if self.depth == 0:
            self._llvm.clear()
            self._libraries = 0
            self._finalised = []
            self._start = time.perf_counter()
        self.depth += 1

    def on_end(self, ev):
        self.depth -= 1
        if self.depth == 0:
            dispatcher = ev.data["dispatcher"]
            self.rows.append(dict(
                step=self.step, name=dispatcher.py_func.__qualname__,
                module=dispatcher.py_func.__module__,
                parallel=bool(dispatcher.targetoptions.get("parallel")),
                seconds=time.perf_counter() - self._start,
                llvm=dict(self._llvm), libraries=self._libraries,
                finalised=list(self._finalised)))

    def llvm_call(self, name, seconds):
        self._llvm[_LLVM_STAGES.get(name, OTHER_LLVM)] += seconds
        self._libraries += name == "LLVMPY_FinalizeObject"

    def finalised(self, library, seconds):
        self._finalised.append((library, seconds))


def _time_llvm(recorder):
    """Route the time of every llvmlite call into LLVM to ``recorder``."""
    call = ffi._lib_fn_wrapper.__call__

    def timed(self, *args, **kwargs):
        t0 = time.perf_counter()
        try:
            return call(self, *args, **kwargs)
        finally:
            recorder.llvm_call(getattr(self._cfn, "__name__", ""), time.perf_counter() - t0)

    ffi._lib_fn_wrapper.__call__ = timed


def _library_name(name):
    """A code library's name, without the addresses Numba puts in some."""
    name = str(name)
    if name.startswith("<"):
        # "<numba.np.ufunc.wrappers._GufuncWrapper object at 0x...>"
        name = name[1:].split(" ")[0].rsplit(".", 1)[-1]
    return re.sub(r"_+0x[0-9a-f]+$", "", name)


def _time_libraries(recorder):
    """Route each code library's name and finalisation time to ``recorder``."""
    from numba.core.codegen import CPUCodeLibrary

    finalize = CPUCodeLibrary.finalize

    def timed(self):
        t0 = time.perf_counter()
        try:
            return finalize(self)
        finally:
            recorder.finalised(_library_name(self.name), time.perf_counter() - t0)

    CPUCodeLibrary.finalize = timed


def _numba_set_up():
    """Numba's one-time work (its runtime library, the registries, the
    thread pool), done by the first compile and the first parallel call."""
    from numba import njit, prange

    @njit(parallel=True)
    def fill(out):
        for i in prange(out.shape[0]):
            out[i] = i

    fill(np.empty(4))


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n-features", type=int, default=2)
    parser.add_argument("--covariance-type", default="full")
    parser.add_argument("--float32", action="store_true")
    parser.add_argument("--libraries", action="store_true",
                        help="list the libraries each compile finalised")
    args = parser.parse_args()

    _numba_set_up()
    recorder = _Recorder()
    _time_llvm(recorder)
    if args.libraries:
        _time_libraries(recorder)
    event.register("numba:compile", recorder)
    t0 = time.perf_counter()
    recorder.step = "import"
    from fastgmm import GaussianMixture

    X = np.random.default_rng(0).normal(size=(100_000, args.n_features))
    if args.float32:
        X = X.astype(np.float32)
    t_fit = time.perf_counter()
    recorder.step = "fit"
    model = GaussianMixture(3, covariance_type=args.covariance_type, random_state=0).fit(X)
    recorder.step = "predict_proba, 1 row"
    model.predict_proba(X[:1])
    recorder.step = "predict_proba, 1e5 rows"
    model.predict_proba(X)
    total = time.perf_counter() - t0

    stages = list(_LLVM_STAGES.values()) + [OTHER_LLVM]
    print(f"Cold compile, d={args.n_features}, {args.covariance_type}, {X.dtype.name}: "
          f"import {t_fit - t0:.2f} s, the rest {total - (t_fit - t0):.2f} s, "
          f"{total:.2f} s in all")
    print()
    print("| step | compiled | parallel | s | LLVM: " + " | ".join(stages)
          + " | libraries |")
    print("| --- | --- | --- | --- | " + " | ".join("---" for _ in stages) + " | --- |")
    for row in recorder.rows:
        llvm = " | ".join(f"{row['llvm'].get(s, 0.0):.2f}" for s in stages)
        name = row["name"] if row["module"].startswith("fastgmm") else (
            f"{row['module']}.{row['name']}")
        print(f"| {row['step']} | {name} | {'yes' if row['parallel'] else ''} | "
              f"{row['seconds']:.2f} | {llvm} | {row['libraries']} |")
        for library, seconds in row["finalised"]:
            print(f"|  |  library {library} |  | {seconds:.2f} |" + " |" * len(stages)
                  + "  |")
    compiled = sum(r["seconds"] for r in recorder.rows)
    llvm = {s: sum(r["llvm"].get(s, 0.0) for r in recorder.rows) for s in stages}
    parallel = [r for r in recorder.rows if r["parallel"]]
    print()
    print(f"compiles: {compiled:.2f} s in {len(recorder.rows)} top-level compiles "
          f"({len(parallel)} parallel kernels: {sum(r['seconds'] for r in parallel):.2f} s), "
          f"{sum(r['libraries'] for r in recorder.rows)} libraries finalised")
    print("LLVM: " + ", ".join(f"{s} {v:.2f} s" for s, v in llvm.items())
          + f"; Numba's own (Python) {compiled - sum(llvm.values()):.2f} s")
    by_step = collections.defaultdict(float)
    for row in recorder.rows:
        by_step[row["step"]] += row["seconds"]
    print("by step: " + ", ".join(f"{k} {v:.2f} s" for k, v in by_step.items()))


if __name__ == "__main__":
    main()
