"""Record a model's forward pass once, then replay it for every batch of the same shape.

Building the graph op by op costs Python time on every step: a Tensor per
result, a topological sort, a dictionary of gradients. For a model made only
of known layers, the ops run for a batch depend on nothing but the batch's
shape, dtype and the training mode. So the first call records them as a
*tape*: which primitive ran, on which inputs, with which options. Later calls
with the same key run the same primitives straight from the tape, and the
whole forward pass becomes a single node of the graph whose backward replays
the recorded vector-Jacobian products in reverse. The primitives and their
order are exactly those of the plain path, so results are bit-identical
(``tests/test_replay.py`` checks this); only the bookkeeping is skipped.
(The idea of CUDA graphs and of torch.compile, for NumPy.)
"""

from __future__ import annotations

from . import tensor
from .tensor import Tensor, record, unbroadcast

MAX_TAPES = 8  # batch shapes remembered per model (a full batch and the last partial one)


class Recorder:
    """Collects every ``ops.apply`` call made while it is active."""

    def __init__(self):
        self.calls = []

    def __enter__(self):
        if tensor.active_recorder() is not None:
            raise RuntimeError("a replay tape is already being recorded")
        tensor._state.recorder = self  # per thread, like the grad mode
        return self

    def __exit__(self, *exc):
        tensor._state.recorder = None
        return False


class Tape:
    """A recorded forward pass: primitives, where their inputs come from, their options.

    Slots number every array of the pass: 0 is the model's input, then the
    parameters, then constants captured while recording, then each step's output.
    """

    def __init__(self, x: Tensor, params: list, calls: list, output: Tensor):
        slot = {id(x): 0}
        slot.update((id(p), i + 1) for i, p in enumerate(params))
        self.n_sources = 1 + len(params)
        self.constants = []
        requires = [x.requires_grad] + [p.requires_grad for p in params]
        self.steps = []
        for primitive, inputs, options, out in calls:
            in_slots = []
            for t in inputs:
                if id(t) not in slot:  # a constant, such as the 0.0 in softplus
                    slot[id(t)] = len(requires)
                    self.constants.append((len(requires), t.data))
                    requires.append(False)
                in_slots.append(slot[id(t)])
            slot[id(out)] = len(requires)
            requires.append(out.requires_grad)
            shapes = tuple(t.shape for t in inputs)
            self.steps.append((primitive, tuple(in_slots), options, slot[id(out)], shapes))
        self.requires = requires
        self.output_slot = slot[id(output)]

    def run(self, x: Tensor, params: list) -> Tensor:
        """Replay the forward pass on new data; the result is one node of the graph."""
        arrays = [None] * len(self.requires)
        arrays[0] = x.data
        for i, p in enumerate(params, start=1):
            arrays[i] = p.data
        for k, value in self.constants:
            arrays[k] = value
        vjps = []
        for primitive, in_slots, options, out_slot, _ in self.steps:
            arrays[out_slot], vjp = primitive(*[arrays[k] for k in in_slots], **options)
            vjps.append(vjp)
        steps, requires, n_sources, output_slot = (
            self.steps,
            self.requires,
            self.n_sources,
            self.output_slot,
        )

        def backward(g):
            grads = [None] * len(requires)
            grads[output_slot] = g
            for (_, in_slots, _, out_slot, shapes), vjp in zip(
                reversed(steps), reversed(vjps), strict=True
            ):
                go = grads[out_slot]
                if go is None:
                    continue
                grads[out_slot] = None  # let it be freed
                for k, shape, pg in zip(in_slots, shapes, vjp(go), strict=True):
                    if pg is None or not requires[k]:
                        continue
                    if pg.shape != shape:
                        pg = unbroadcast(pg, shape)
                    grads[k] = pg if grads[k] is None else grads[k] + pg
            return grads[:n_sources]

        return record(arrays[output_slot], (x, *params), backward, "replay")


class TapeCache:
    """The tapes of one model, keyed by everything that decides which ops run."""

    def __init__(self):
        self.tapes = {}
        self.params = None
        self.modules = None
        self.version = -1

    def __call__(self, module, x: Tensor) -> Tensor:
        if self.version != tensor.structure_version:  # layers or parameters were reassigned
            self.tapes.clear()
            self.params = module.parameters()
            self.modules = [m for _, m in module.named_modules()]
            self.version = tensor.structure_version
        params = self.params
        data = x._data
        key = (  # list comprehensions and ._data: this runs on every training step
            data.shape,
            data.dtype,
            x.requires_grad,
            tuple([m.training for m in self.modules]),  # a sub-module may be in eval alone
            tuple([(p.requires_grad, p._data.dtype, p._data.shape) for p in params]),
        )
        tape = self.tapes.get(key)
        if tape is not None:
            return tape.run(x, params)
        with Recorder() as rec:
            out = module.forward(x)
        if out.requires_grad and out.op is not None:
            if len(self.tapes) >= MAX_TAPES:
                self.tapes.pop(next(iter(self.tapes)))
            self.tapes[key] = Tape(x, params, rec.calls, out)
        return out
