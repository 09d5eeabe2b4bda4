"""A spinning barrier for the threads of one fused network loop, compiled with numba once per machine.

The threads of a fused loop (:mod:`neuromorph.network.fused`) step disjoint neurons of every
population, then the synapses onto their own neurons, and meet once per time step, after
the neurons (every spike of the step written before any thread reads it). A step takes
microseconds, so the threads meet by spinning on shared memory rather than through the
operating system: an ``int64`` array ``sync`` whose entries are read and
changed only by sequentially consistent atomic operations (LLVM's ``atomicrmw`` and atomic
``load``/``store``, which numba does not expose; defined here as intrinsics):

* ``sync[0]``: threads arrived at the current barrier;
* ``sync[1]``: the barrier's generation, advanced by the last thread to arrive;
* ``sync[2]``: why the loop stops (0 to go on), set by any thread;
* ``sync[3]``: non-zero when the caller gave up on the run (a thread failed): spinning threads leave.

The last thread to arrive resets the count *before* it advances the generation, and the
others leave only once the generation moved, so the next barrier always starts from zero;
the atomics order every plain write of a step before every read of the next phase. A thread
that has spun :data:`SPINS` times gives its core away (``sched_yield``) between looks, so a
barrier costs little when more threads than cores share the machine. Imported only by
generated kernels, so only where numba is importable.
"""
from __future__ import annotations

from llvmlite import ir
from numba import njit, types
from numba.core import cgutils
from numba.extending import intrinsic

#: Looks at the generation before a waiting thread yields its core between looks.
SPINS = 2000
#: Entries of the ``sync`` array (see the module docstring).
SYNC_SIZE = 4
COUNT, GENERATION, STOP, ABANDONED = range(SYNC_SIZE)


def _entry(context, builder, array_type, array, index):
    """Pointer to ``array[index]`` (a 1-d int64 array, ``0 <= index < size``)."""
    view = context.make_array(array_type)(context, builder, array)
    return cgutils.get_item_pointer(context, builder, array_type, view, [index])


def _int64_vector(array) -> bool:
    return isinstance(array, types.Array) and array.dtype == types.int64 and array.ndim == 1


@intrinsic
def atomic_add(typingctx, array, index, value):
    """``array[index] += value`` atomically (sequentially consistent); returns the value before."""
    if not (_int64_vector(array) and isinstance(index, types.Integer) and value == types.int64):
        return None

    def codegen(context, builder, signature, args):
        pointer = _entry(context, builder, signature.args[0], args[0], args[1])
        return builder.atomic_rmw("add", pointer, args[2], "seq_cst")
    return types.int64(array, index, value), codegen


@intrinsic
def atomic_load(typingctx, array, index):
    """``array[index]``, read atomically (sequentially consistent)."""
    if not (_int64_vector(array) and isinstance(index, types.Integer)):
        return None

    def codegen(context, builder, signature, args):
        return builder.load_atomic(_entry(context, builder, signature.args[0], args[0], args[1]), "seq_cst", 8)
    return types.int64(array, index), codegen


@intrinsic
def atomic_store(typingctx, array, index, value):
    """``array[index] = value``, written atomically (sequentially consistent)."""
    if not (_int64_vector(array) and isinstance(index, types.Integer) and value == types.int64):
        return None

    def codegen(context, builder, signature, args):
        builder.store_atomic(args[2], _entry(context, builder, signature.args[0], args[0], args[1]), "seq_cst", 8)
        return context.get_dummy_value()
    return types.none(array, index, value), codegen


@intrinsic
def yield_core(typingctx):
    """``sched_yield()`` of the C library: give this thread's core to another runnable thread."""
    def codegen(context, builder, signature, args):
        function = cgutils.get_or_insert_function(builder.module, ir.FunctionType(ir.IntType(32), []), "sched_yield")
        builder.call(function, [])
        return context.get_dummy_value()
    return types.none(), codegen


@njit(cache=True, nogil=True)
def barrier(sync, threads):
    """Wait until all ``threads`` threads called it; False when the run was abandoned (``sync[3]``)."""
    generation = atomic_load(sync, GENERATION)
    if atomic_add(sync, COUNT, 1) == threads - 1:
        atomic_store(sync, COUNT, 0)
        atomic_add(sync, GENERATION, 1)
        return True
    spins = 0
    while atomic_load(sync, GENERATION) == generation:
        if atomic_load(sync, ABANDONED) != 0:
            return False
        spins += 1
        if spins > SPINS:
            yield_core()
    return True


@njit(cache=True, nogil=True)
def stop_with(sync, code):
    """Record why the loop stops (``code`` > 0); of two threads stopping in one step either code is kept."""
    atomic_store(sync, STOP, code)


@njit(cache=True, nogil=True)
def stop_code(sync):
    """Why the loop stops (0: it goes on)."""
    return atomic_load(sync, STOP)
