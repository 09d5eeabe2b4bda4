"""numba-compiled kernels: generated modules, their cache directory, and the compiled integer program.

The source text comes from :mod:`neuromorph.quantization.codegen` (our own program
structure printed through fixed templates, never user text). It is written once into a
cache directory under a name that is a hash of the text, atomically (a temporary file
renamed into place, so concurrent processes never see a partial file), and imported with
importlib; numba's ``cache=True`` then keeps the machine code next to it, so a program
structure is compiled once per machine, not once per process.

* Cache directory: ``$NEUROMORPH_KERNEL_CACHE``, else ``$XDG_CACHE_HOME/neuromorph/kernels``,
  else ``~/.cache/neuromorph/kernels``.
* ``NEUROMORPH_NO_NUMBA=1`` behaves as if numba were not importable (the numpy
  interpreter runs instead, after a one-line warning).
* ``NEUROMORPH_THREADS``: threads of a parallel run (default: the CPUs this process may
  use).

Parallel runs use Python threads, each running disjoint chunks of neurons in a compiled
function that releases the GIL, rather than ``numba.prange``: numba compiles a prange
loop's body a second time for its parallel target (doubling the compile time of these
large functions), and its threading layers do not mix well with Lava, which starts its
processes with ``fork`` (the OpenMP layer kills a process forked after a parallel
region; the workqueue layer aborts when entered from two threads).
"""
from __future__ import annotations

import contextlib
import importlib.util
import os
import sys
import tempfile
import threading
import warnings
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from types import ModuleType
from typing import Sequence

import numpy as np

from .codegen import PAD, Layout, kernel_source, source_digest
from .program import Program
from .ranges import DataBounds, SharedChecks, plan_checks

CACHE_ENV = "NEUROMORPH_KERNEL_CACHE"
DISABLE_ENV = "NEUROMORPH_NO_NUMBA"
THREADS_ENV = "NEUROMORPH_THREADS"
#: Time steps per call of a compiled kernel: a block's inputs stay in cache across the neurons of a chunk.
TIME_BLOCK = 256
#: Chunks per thread of a parallel run (load balance when other processes share the cores).
CHUNKS_PER_THREAD = 4
#: Fewest neurons per chunk: below it a run stays on the calling thread.
MIN_CHUNK = 32


#: Seconds numba takes to compile a program it has not cached (2-8 s for squid HH on the 2-core
#: development machine). A run the numpy interpreter would finish sooner runs interpreted
#: unless the kernel is already in the cache (:func:`worth_compiling`).
COMPILE_SECONDS = 3.0
#: The interpreter's cost per operation and step, and per operation, step and neuron (s):
#: numpy's per-call overhead dominates below a few thousand neurons (squid HH, 130 operations:
#: 0.9-1.8 ms per step at 10-200 neurons on the development machine).
INTERPRETER_SECONDS = (5e-6, 2e-9)
#: The same for the float kernel, per step and per step and neuron (0.3-0.7 ms per step).
FLOAT_INTERPRETER_SECONDS = (3e-4, 1e-6)


def thread_count() -> int:
    """Threads of a parallel run: ``$NEUROMORPH_THREADS``, else the CPUs this process may use."""
    if os.environ.get(THREADS_ENV, "").strip():
        return max(1, int(os.environ[THREADS_ENV]))
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)


class _Pool:
    """A thread pool created on first use, and again in a forked child (whose copy has no threads)."""

    def __init__(self):
        self._lock = threading.Lock()
        self._pool: ThreadPoolExecutor | None = None
        self._key: tuple[int, int] | None = None

    def get(self, threads: int) -> ThreadPoolExecutor:
        with self._lock:
            if self._pool is None or self._key != (os.getpid(), threads):
                self._pool = ThreadPoolExecutor(max_workers=threads, thread_name_prefix="neuromorph-kernel")
                self._key = (os.getpid(), threads)
            return self._pool


_POOL = _Pool()


def thread_pool(threads: int) -> ThreadPoolExecutor:
    """The process's kernel thread pool, of ``threads`` workers (made again in a forked child)."""
    return _POOL.get(threads)


class NumbaUnavailable(RuntimeError):
    """numba cannot be imported (or ``NEUROMORPH_NO_NUMBA`` is set)."""


def numba_available() -> bool:
    """Whether compiled kernels can run here (numba imports, and ``NEUROMORPH_NO_NUMBA`` is not set)."""
    if os.environ.get(DISABLE_ENV, "").strip() not in ("", "0"):
        return False
    try:
        import numba  # noqa: F401
    except Exception:  # not installed, or broken (llvmlite mismatch): the interpreter runs instead
        return False
    return True


def resolve_backend(backend: str | None) -> str:
    """``"numba"`` or ``"numpy"``: the requested one, or numba when importable (else numpy, with a warning).

    Asking for ``"numba"`` explicitly without numba raises :class:`NumbaUnavailable`.
    """
    if backend not in (None, "numba", "numpy"):
        raise ValueError(f"unknown kernel backend {backend!r}; allowed: numba, numpy")
    if backend == "numpy":
        return "numpy"
    if numba_available():
        return "numba"
    if backend == "numba":
        raise NumbaUnavailable("numba is not importable here")
    warnings.warn("numba is not importable: running the numpy interpreter (slower)", RuntimeWarning, stacklevel=3)
    return "numpy"


def cache_dir() -> Path:
    """Directory of the generated kernel modules (see the module docstring)."""
    if os.environ.get(CACHE_ENV):
        return Path(os.environ[CACHE_ENV])
    base = Path(os.environ["XDG_CACHE_HOME"]) if os.environ.get("XDG_CACHE_HOME") else Path.home() / ".cache"
    return base / "neuromorph" / "kernels"


def _write_once(path: Path, text: str) -> None:
    """Write ``text`` to ``path`` unless it is already there, atomically (temporary file + rename).

    A file of the same name with other contents is replaced: only text this process
    generated is ever imported. The directory is created private to the user.
    """
    if path.exists() and path.read_text() == text:
        return
    path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    handle, temporary = tempfile.mkstemp(dir=path.parent, prefix=".tmp-", suffix=".py")
    try:
        with os.fdopen(handle, "w") as stream:
            stream.write(text)
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise


def module_name(source: str, prefix: str) -> str:
    """``neuromorph_kernel_<prefix>_<hash of the source>``."""
    return f"neuromorph_kernel_{prefix}_{source_digest(source)}"


def is_cached(source: str, prefix: str) -> bool:
    """Whether ``source`` is imported in this process or numba's cache holds its machine code."""
    name = module_name(source, prefix)
    if name in sys.modules:
        return True
    directory = cache_dir()
    return (directory / f"{name}.py").exists() and any((directory / "__pycache__").glob(f"{name}.*.nbi"))


def worth_compiling(source: str, prefix: str, interpreter_seconds: float | None) -> bool:
    """Compile unless the interpreter needs less than :data:`COMPILE_SECONDS` for the run and the
    kernel is not cached (``interpreter_seconds`` None: the run's size is unknown, compile)."""
    return interpreter_seconds is None or interpreter_seconds >= COMPILE_SECONDS or is_cached(source, prefix)


class NotWorthCompiling(Exception):
    """The run is shorter than compiling its kernel would take, and the kernel is not cached."""


def load_module(source: str, prefix: str) -> ModuleType:
    """Import generated ``source`` as the module ``neuromorph_kernel_<prefix>_<hash>`` (written to the cache once)."""
    if not numba_available():
        raise NumbaUnavailable("numba is not importable here")
    name = module_name(source, prefix)
    if name in sys.modules:
        return sys.modules[name]
    path = cache_dir() / f"{name}.py"
    _write_once(path, source)
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    sys.modules[name] = module
    return module


@contextlib.contextmanager
def _file_lock(path: Path):
    """An exclusive lock on ``path`` (created if missing) held by this process, shared by all processes."""
    import fcntl

    with open(path, "a") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def compiled_once(function, module: ModuleType):
    """``function`` of a generated ``module``, whose first call holds the module's lock file.

    numba compiles on the first call; two processes (pytest-xdist workers, Dask workers) that
    need the same kernel before it is cached would both compile it. Under the lock the second
    waits, then loads the machine code the first wrote to numba's cache. Later calls take no lock.
    """
    guard, done = threading.Lock(), []

    def call(*args):
        if not done:
            with guard:
                if not done:
                    with _file_lock(Path(module.__file__).with_suffix(".lock")):
                        result = function(*args)
                    done.append(True)
                    return result
        return function(*args)

    return call


def _chunking(n: int, parallel: bool) -> tuple[int, int]:
    """(neurons per chunk, threads) of a run over ``n`` neurons."""
    threads = thread_count() if parallel else 1
    if threads == 1 or n < 2 * MIN_CHUNK:
        return max(n, 1), 1
    return max(MIN_CHUNK, -(-n // (CHUNKS_PER_THREAD * threads))), threads


class UncompilableProgram(ValueError):
    """The program or its data is outside what the compiled kernel runs exactly like the interpreter."""


class CompiledProgram:
    """An integer program compiled to one fused numba loop, equal to the numpy interpreter bit for bit.

    Checks that cannot fire are left out (:mod:`.ranges`), for the width classes of these
    tables and constants and for registers within their declared widths: registers are
    verified at every :meth:`run`, and a block of steps from (or reaching) registers
    outside their widths is run by the numpy interpreter instead (same results, slower).

    Parameters
    ----------
    program : Program
        The operations.
    tables : sequence of ndarray
        Table entries (int64), indexed by the program's ``read`` immediates.
    constants : ndarray
        The constant pool (int64).
    parallel : bool
        Run chunks of neurons on several threads; False for the calling thread only (e.g.
        inside a Lava process, which shares the cores with its sibling processes).
    checks : SharedChecks, optional
        Checks shared by the programs of a sweep: the kernel is then compiled with runtime
        constants and these checks, one kernel for every program of the same structure
        (:func:`.ranges.shared_checks`). Default: the program's own checks, its immediates
        as literals (faster, compiled for this configuration only).
    interpreter_seconds : float, optional
        Estimated numpy interpreter time of the run the kernel is for, counted once for every
        program ``checks`` serves: when that is shorter than compiling and the kernel is not
        cached, compiling is declined (:class:`NotWorthCompiling`). None: compile.

    Raises
    ------
    UncompilableProgram
        The structure or the data break an assumption of the generated code.
    NotWorthCompiling
        See ``interpreter_seconds``.
    """

    def __init__(self, program: Program, tables: Sequence[np.ndarray], constants: np.ndarray, parallel: bool = True,
                 interpreter_seconds: float | None = None, checks: SharedChecks | None = None):
        self.program, self.parallel = program, parallel
        self.tables_in = [np.asarray(t, dtype=np.int64).ravel() for t in tables]
        self.constants_in = np.asarray(constants, dtype=np.int64).ravel()
        try:
            data = DataBounds.of(self.tables_in, self.constants_in)
            self.plan = plan_checks(program, data) if checks is None else checks.plan(program, data)
            self.layout = Layout.of(program, self.plan)
            source, params = kernel_source(program, self.plan, runtime=checks is not None)
        except ValueError as exc:
            raise UncompilableProgram(str(exc)) from None
        if checks is not None and interpreter_seconds is not None:
            interpreter_seconds *= checks.programs  # the kernel serves every program of the structure
        if not worth_compiling(source, "program", interpreter_seconds):
            raise NotWorthCompiling(f"{interpreter_seconds:.1f} s interpreted, shorter than compiling")
        self.tables = _flat_tables(self.tables_in, self.layout)
        self.constants = self.constants_in.copy() if self.constants_in.size else np.zeros(1, dtype=np.int64)
        self.params = np.array(params or (0,), dtype=np.int64)
        self.module = load_module(source, "program")
        self.run_chunks = compiled_once(self.module.run_chunks, self.module)
        self.checked = np.array(sorted(self.layout.counters, key=self.layout.counters.get), dtype=np.int64)
        self._phases: dict[int, np.ndarray] = {}
        self._reference = None
        #: (low, high) of every register, shaped (2, registers, 1) to compare with a state matrix.
        self._limits = np.array(self.plan.registers, dtype=np.int64).reshape(-1, 2).T[:, :, None]

    def phases(self, n: int) -> np.ndarray:
        """Dither phases (rounding sites, N): the hashed noise of step 0, computed once per N."""
        if self.program.rounding != "dither":
            return np.zeros((0, n), dtype=np.int64)
        if n not in self._phases:
            # one row at least: a scale by 0 reads row 0 and adds nothing from it
            self._phases[n] = self.module.noise_phases(self.program.seed, max(self.program.n_sites, 1), n)
        return self._phases[n]

    def overflows(self, totals: np.ndarray) -> np.ndarray:
        """Overflow counts per operation from a row of the kernel's count matrix (its counter columns, then
        the register-range flag)."""
        overflows = np.zeros(len(self.program.ops), dtype=np.int64)
        overflows[self.checked] = totals[:-1]
        return overflows

    def registers_in_range(self, registers: np.ndarray) -> bool:
        """Whether every register holds a value of its declared range (the analysis' assumption)."""
        if not registers.shape[1]:
            return True
        return bool(((registers >= self._limits[0]) & (registers <= self._limits[1])).all())

    def run(self, registers: np.ndarray, inputs: np.ndarray, step0: int = 0, record: bool = False,
            threads: bool | None = None):
        """Advance ``len(inputs)`` steps from step index ``step0``.

        Parameters
        ----------
        registers : ndarray (n_registers, N) int64
            Register contents before the first step (not modified).
        inputs : ndarray (T, P, N) int64
            Inputs of each step; ports beyond ``P`` read 0.
        record : bool
            Return the registers after every step.
        threads : bool, optional
            Use several threads (default: ``parallel``).

        Returns
        -------
        registers : ndarray (n_registers, N)
        states : ndarray (T, n_registers, N) or None
        spikes : ndarray (T, N) bool
        overflows : ndarray (n_ops,) int64
            Values that did not fit, per operation, over the run.
        """
        regs = np.array(registers, dtype=np.int64, order="C", copy=True)
        inputs = _all_ports(inputs, len(self.program.ports))
        n_steps, n = inputs.shape[0], regs.shape[1]
        states = np.empty((n_steps if record else 0, regs.shape[0], n), dtype=np.int64)
        spikes = np.empty((n_steps, n), dtype=np.bool_)
        overflows = np.zeros(len(self.program.ops), dtype=np.int64)
        for start in range(0, n_steps, TIME_BLOCK):
            stop = min(n_steps, start + TIME_BLOCK)
            block_states = states[start:stop] if record else states
            regs, counts = self._block(regs, inputs[start:stop], step0 + start, record, block_states,
                                       spikes[start:stop], self.parallel if threads is None else threads)
            overflows += counts
        return regs, (states if record else None), spikes, overflows

    def _block(self, regs, inputs, step0, record, states, spikes, parallel: bool):
        """One block of steps compiled, or interpreted when a register is (or gets) outside its declared range."""
        n = regs.shape[1]
        if self.registers_in_range(regs):
            chunk, threads = _chunking(n, parallel)
            counts = np.zeros((-(-n // chunk), self.checked.size + 1), dtype=np.int64)
            before = regs.copy()
            run_chunks(self.run_chunks, counts.shape[0], threads,
                       (chunk, regs, inputs, self.tables, self.constants, self.params, self.phases(n),
                        self.program.seed, step0, record, states, spikes, counts))
            totals = counts.sum(axis=0)
            if not totals[-1]:
                return regs, self.overflows(totals)
            regs = before
        regs, block_states, block_spikes, overflows = self._interpreted(regs, inputs, step0, record)
        spikes[:] = block_spikes
        if record:
            states[:] = block_states
        return regs, overflows

    def _interpreted(self, regs, inputs, step0: int, record: bool):
        """The same run by the numpy interpreter (registers outside the analysis' assumption)."""
        from .interpreter import Interpreter

        if self._reference is None:
            self._reference = Interpreter(self.program, self.tables_in, self.constants_in)
        states, spikes = [], []
        overflows = np.zeros(len(self.program.ops), dtype=np.int64)
        for k in range(inputs.shape[0]):
            regs, spiked, counts = self._reference.step(regs, inputs[k], step0 + k)
            overflows += counts
            states.append(regs)
            spikes.append(spiked)
        n = regs.shape[1]
        return (regs, np.array(states).reshape(-1, regs.shape[0], n) if record else None,
                np.array(spikes, dtype=bool).reshape(-1, n), overflows)

    def step(self, registers: np.ndarray, inputs: np.ndarray, step: int):
        """One step on the calling thread, like :meth:`Interpreter.step`: (new registers, spiked (N,),
        overflows per operation)."""
        new, _, spikes, overflows = self.run(registers, np.asarray(inputs)[None], step, record=False, threads=False)
        return new, spikes[0], overflows


def run_chunks(function, n_chunks: int, threads: int, args: tuple) -> None:
    """``function(first, last, *args)`` over all chunks: on this thread, or one task per chunk on the pool
    (the generated kernels release the GIL, and chunks write disjoint memory)."""
    if threads == 1:
        function(0, n_chunks, *args)
        return
    tasks = [thread_pool(threads).submit(function, c, c + 1, *args) for c in range(n_chunks)]
    for task in tasks:
        task.result()


def _all_ports(inputs: np.ndarray, n_ports: int) -> np.ndarray:
    """Inputs as a C-contiguous int64 (T, n_ports, N) array, missing ports zero."""
    inputs = np.ascontiguousarray(inputs, dtype=np.int64)
    if inputs.shape[1] >= n_ports:
        return inputs
    padded = np.zeros((inputs.shape[0], n_ports, inputs.shape[2]), dtype=np.int64)
    padded[:, :inputs.shape[1]] = inputs
    return padded


def _flat_tables(tables: list[np.ndarray], layout: Layout) -> np.ndarray:
    """The read tables one after the other, each exactly as long as the grid that addresses it and
    followed by ``PAD`` copies of its last entry (see :class:`~.codegen.Layout`)."""
    pieces = []
    for table, (_, size) in layout.table_offsets.items():
        if table >= len(tables) or tables[table].size != size:
            raise UncompilableProgram(f"table {table} does not have the {size} entries its grid addresses")
        pieces += [tables[table], np.repeat(tables[table][-1:], PAD)]
    return np.concatenate(pieces) if pieces else np.zeros(1, dtype=np.int64)


class CompiledFloat:
    """The float64 algorithm of :class:`~neuromorph.quantization.kernel.FloatKernel`, generated from its
    :class:`~neuromorph.quantization.step_plan.StepPlan` and compiled.

    Raises :class:`UncompilableProgram` when an expression uses something the generator
    does not print.
    """

    def __init__(self, plan, parallel: bool = True, interpreter_seconds: float | None = None):
        from .float_codegen import UncompilableModel, float_kernel_source

        try:
            source = float_kernel_source(plan)
        except UncompilableModel as exc:
            raise UncompilableProgram(str(exc)) from None
        if not worth_compiling(source, "float", interpreter_seconds):
            raise NotWorthCompiling(f"{interpreter_seconds:.1f} s interpreted, shorter than compiling")
        self.module = load_module(source, "float")
        self.run_chunks = compiled_once(self.module.run_chunks, self.module)
        self.parallel = parallel

    def run(self, state: np.ndarray, inputs: np.ndarray, step0: int = 0, record: bool = False,
            threads: bool | None = None):
        """Advance ``len(inputs)`` steps; inputs (T, ports, N) in SI units. Returns (state, states or None,
        spikes (T, N), the one zero counter). ``threads``: use several (default: ``parallel``)."""
        regs = np.array(state, dtype=np.float64, order="C", copy=True)
        inputs = np.ascontiguousarray(inputs, dtype=np.float64)
        n_steps, n = inputs.shape[0], regs.shape[1]
        states = np.empty((n_steps if record else 0, regs.shape[0], n), dtype=np.float64)
        spikes = np.empty((n_steps, n), dtype=np.bool_)
        chunk, threads = _chunking(n, self.parallel if threads is None else threads)
        for start in range(0, n_steps, TIME_BLOCK):
            stop = min(n_steps, start + TIME_BLOCK)
            run_chunks(self.run_chunks, -(-n // chunk), threads,
                       (chunk, regs, inputs[start:stop], record, states[start:stop] if record else states,
                        spikes[start:stop]))
        return regs, (states if record else None), spikes, np.zeros(1, dtype=np.int64)
