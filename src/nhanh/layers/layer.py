"""The Layer base: build / call / get_config, weights as Variables, Keras 3 semantics."""

from __future__ import annotations

import functools
import inspect
import math
import threading
from typing import Any, Sequence

import numpy as np

from nhanh import backend as _backend
from nhanh import initializers, naming, ops
from nhanh import constraints as _constraints
from nhanh import regularizers as _regularizers
from nhanh import gradient_checkpointing as _remat
from nhanh import scopes as _scopes
from nhanh.dtype_policies import layer_dtypes as _dtypes
from nhanh.layers import symbolic
from nhanh.random import SeedGenerator
from nhanh.variables import StatelessScope, Variable, bind, skipping_initializers


class InputSpec:
    """What a layer accepts: a rank (exact or minimum) and fixed sizes on some axes.

    The layer checks each input against it before calling, so a wrong shape fails with a
    message naming the layer rather than deep inside an op.

    Args:
        ndim: Exact rank the input must have (batch axis included); `None` for any.
        min_ndim: Smallest rank accepted; `None` for no minimum.
        axes: Dict mapping an axis (negative counts from the end) to the size it must have.
    """

    def __init__(self, ndim: int | None = None, min_ndim: int | None = None,
                 axes: dict[int, int] | None = None):
        self.ndim, self.min_ndim, self.axes = ndim, min_ndim, dict(axes or {})

    def get_config(self) -> dict:
        return {"ndim": self.ndim, "min_ndim": self.min_ndim, "axes": dict(self.axes)}

    @classmethod
    def from_config(cls, config_: dict) -> "InputSpec":
        """Also Keras's config; JSON turns the axes' int keys into strings, undone here. Keras
        keys nhanh's spec does not check (dtype, shape, max_ndim, optional) are refused unless
        left at their defaults."""
        config_ = dict(config_)
        unsupported = {k: config_.pop(k) for k in ("dtype", "shape", "max_ndim", "optional")
                       if k in config_}
        set_ = {k: v for k, v in unsupported.items() if v not in (None, False)}
        if set_:
            raise ValueError(f"InputSpec.from_config: nhanh's InputSpec checks ndim, min_ndim "
                             f"and axes only; this config also sets {set_}. Remove those keys.")
        axes = {int(k): v for k, v in (config_.pop("axes", None) or {}).items()}
        return cls(axes=axes, **config_)

    def check(self, layer: "Layer", shape: tuple) -> None:
        rank = len(shape)
        expected = None
        if self.ndim is not None and rank != self.ndim:
            expected = f"rank {self.ndim}"
        elif self.min_ndim is not None and rank < self.min_ndim:
            expected = f"rank >= {self.min_ndim}"
        else:
            for axis, size in self.axes.items():
                if -rank <= axis < rank and shape[axis] is not None and shape[axis] != size:
                    expected = f"size {size} on axis {axis}"
        if expected:
            built = layer._build_input_shape
            built = f" (it was built for input shape {built})" \
                if built is not None and tuple(built) != tuple(shape) else ""
            raise ValueError(
                f"Layer {layer.name!r} ({type(layer).__name__}) expects inputs with {expected}"
                f"{built}, but received shape {tuple(shape)}. Give it data of the shape it was "
                "built for, or build a new layer for the new shape."
            )


def _batch_input_shape(input_shape, input_dim, batch_size, batch_input_shape):
    if batch_input_shape is not None:
        return tuple(batch_input_shape)
    if input_shape is not None:
        if isinstance(input_shape, int):
            input_shape = (input_shape,)
        return (batch_size, *tuple(input_shape))
    if input_dim is not None:
        return (batch_size, int(input_dim))
    return None


class Layer(_dtypes.LayerDTypes):
    """Base class of every layer: subclasses create weights in build() and compute in call().

    Args:
        trainable: Whether the layer's weights are updated by training.
        name: Name of the layer; `None` derives a unique one from the class name.
        dtype: Dtype policy: a dtype ("float32"), a policy name ("mixed_bfloat16"), a
            `DTypePolicy` or `DTypePolicyMap`; `None` uses `nhanh.config.dtype_policy()`.
        input_shape: Shape of one sample (no batch axis), for the first layer of a `Sequential`
            model; an int means a 1-D shape.
        input_dim: Keras 2 spelling of `input_shape=(input_dim,)`.
        batch_size: Fixed batch size to pair with `input_shape` or `input_dim`.
        batch_input_shape: Full input shape, batch axis included (Keras 2 spelling).
        activity_regularizer: Regularizer (name, callable or instance) applied to the layer's
            outputs and added to the loss.
        autocast: False keeps floating inputs and weights in their own dtypes during call()
            instead of casting them to the compute dtype (see nhanh.dtype_policies).
        **kwargs: Any other keyword raises a `TypeError` naming it.
    """

    #: Whether a mask given with the inputs passes through unchanged (see compute_mask).
    supports_masking = False
    #: False where the layer's ops run much slower inside a compiled loop on CPU (XLA's CPU
    #: convolutions), so fit steps such models one dispatch per batch there.
    fuses_well_on_cpu = True

    def __new__(cls, *args, **kwargs):
        """On PyTorch, a layer is also a torch.nn.Module: its class is mixed with one when it
        is made (backend/torch/module_integration.py); on JAX it is a plain object."""
        make = getattr(_backend.get(), "new_layer", None)
        return object.__new__(cls) if make is None else make(cls)

    def __init__(self, *, trainable: bool = True, name: str | None = None, dtype: str | None = None,
                 input_shape: Sequence[int | None] | None = None, input_dim: int | None = None,
                 batch_size: int | None = None, batch_input_shape=None,
                 activity_regularizer=None, autocast: bool = True, **kwargs: Any):
        if kwargs:
            raise TypeError(f"{type(self).__name__} got unexpected argument(s) "
                            f"{', '.join(sorted(kwargs))}.")
        if name is not None and not isinstance(name, str):
            raise TypeError(f"Layer name must be a string, got {name!r}.")
        object.__setattr__(self, "_layers", [])
        self.name = name or naming.unique_name(naming.to_snake_case(type(self).__name__))
        self._trainable = bool(trainable)
        self._dtype_policy = _dtypes.policy_of(dtype)
        if not autocast:
            self.autocast = False
        self.built = False
        self.input_spec: InputSpec | None = None
        self.activity_regularizer = _regularizers.get(activity_regularizer)
        self._own_weights: list[Variable] = []
        self._seed_generators: list[SeedGenerator] = []
        self._build_input_shape = None
        self._batch_input_shape = _batch_input_shape(input_shape, input_dim, batch_size,
                                                     batch_input_shape)
        self._call_losses: list = []
        self._inbound_nodes: list[symbolic.Node] = []
        # As in Keras, the RematScope open when the layer is made decides its checkpointing.
        self._remat_mode = _remat.get_current_remat_mode()

    def __init_subclass__(cls, **kwargs):
        """A subclass's build() marks the layer built, however it is called, and runs in the
        layer's name scope (the paths of the Variables it makes start with its name), as in
        Keras."""
        super().__init_subclass__(**kwargs)
        build = cls.__dict__.get("build")
        if build is not None and not getattr(build, "_marks_built", False):
            @functools.wraps(build)
            def wrapped(self, input_shape=None, *args, **kw):
                with _scopes.name_scope(self.name, caller=self):
                    build(self, input_shape, *args, **kw)
                if self._build_input_shape is None and input_shape is not None:
                    self._build_input_shape = tuple(input_shape) if symbolic.is_shape(
                        tuple(input_shape)) else input_shape
                self.built = True

            wrapped._marks_built = True
            cls.build = wrapped

    # --- tracking -------------------------------------------------------------------------
    def __setattr__(self, name: str, value: Any) -> None:
        if isinstance(value, Layer) and not name.startswith("_") and value is not self:
            if value not in self._layers:
                self._layers.append(value)
        elif (isinstance(value, (list, tuple)) and value and not name.startswith("_")
              and all(isinstance(v, Layer) for v in value)):
            self._layers.extend(v for v in value if v not in self._layers)
        elif isinstance(value, SeedGenerator) or (  # one, or a list of them (as Keras)
                isinstance(value, (list, tuple)) and value
                and all(isinstance(v, SeedGenerator) for v in value)):
            for gen in value if isinstance(value, (list, tuple)) else [value]:
                if hasattr(self, "_seed_generators") and gen not in self._seed_generators:
                    self._seed_generators.append(gen)
        object.__setattr__(self, name, value)

    def add_weight(self, shape: Sequence[int] | None = None, initializer=None, dtype=None,
                   trainable: bool = True, regularizer=None, constraint=None,
                   name: str | None = None, autocast: bool = True) -> Variable:
        """Create a weight of this layer (a Variable), initialized now on the host."""
        if self.built and self.__dict__.get("_calling"):
            raise ValueError(
                f"Layer {self.name!r} ({type(self).__name__}) creates weight {name!r} in call() "
                "after it was built. Such a weight would be new on every call and never "
                "trained: create it in build() or __init__().")
        shape = tuple(int(d) for d in (shape or ()))
        dtype = dtype or self.dtype
        if initializer is None:
            floating = "float" in str(dtype)
            initializer = "glorot_uniform" if floating else "zeros"
        if skipping_initializers():  # (load_model: the file's values replace them all)
            initializer = "zeros"
        with _scopes.name_scope(self.name, caller=self):  # Keras's path: outer/layer/name
            path = _scopes.scoped_path(name or "variable")
        variable = Variable(initializers.get(initializer), shape=shape, dtype=dtype,
                            trainable=trainable, name=f"{self.name}/{name or 'variable'}",
                            regularizer=_regularizers.get(regularizer),
                            constraint=_constraints.get(constraint), autocast=autocast,
                            path=path)
        self._own_weights.append(variable)
        return variable

    @property
    def trainable(self) -> bool:
        return self._trainable

    @trainable.setter
    def trainable(self, value: bool) -> None:
        self._trainable = bool(value)
        for layer in self._layers:
            layer.trainable = value

    @property
    def layers(self) -> list["Layer"]:
        return list(self._layers)

    def _collect(self, own: list[Variable], attr: str) -> list[Variable]:
        out, seen = [], set()
        for v in own + [w for layer in self._layers for w in getattr(layer, attr)]:
            if id(v) not in seen:
                seen.add(id(v))
                out.append(v)
        return out

    @property
    def trainable_weights(self) -> list[Variable]:
        if not self._trainable:
            return []
        return self._collect([v for v in self._own_weights if v.trainable], "trainable_weights")

    @property
    def non_trainable_weights(self) -> list[Variable]:
        own = [v for v in self._own_weights if not (v.trainable and self._trainable)]
        if not self._trainable:
            return self._collect(own, "weights")
        return self._collect(own, "non_trainable_weights")

    @property
    def weights(self) -> list[Variable]:
        own = [v for v in self._own_weights if v.trainable]
        own += [v for v in self._own_weights if not v.trainable]
        return self._collect(own, "weights")

    trainable_variables = trainable_weights

    @property
    def state_variables(self) -> list[Variable]:
        """Non-weight state the training step carries too (seed generators' states)."""
        own = [g.state for g in self._seed_generators]
        return self._collect(own, "state_variables")

    @property
    def non_trainable_variables(self) -> list[Variable]:
        """All state training does not differentiate: the non-trainable weights, then the
        seed generators' states (as in Keras, so `stateless_call` carries Dropout's seeds)."""
        return _unique(self.non_trainable_weights + self.state_variables)

    @property
    def variables(self) -> list[Variable]:
        """`weights` plus the seed generators' states: all of the layer's state."""
        return _unique(self.weights + self.state_variables)

    def get_weights(self) -> list[np.ndarray]:
        return [v.numpy() for v in self.weights]

    def set_weights(self, weights: Sequence) -> None:
        """Load arrays in get_weights() order; counts and shapes are checked before any change."""
        params = self.weights
        weights = list(weights)
        if len(weights) != len(params):
            raise ValueError(
                f"Layer {self.name!r} has {len(params)} weight(s) "
                f"({', '.join(f'{v.name} {v.shape}' for v in params) or 'none; is it built?'}), "
                f"but set_weights received {len(weights)} array(s).")
        arrays = []
        for v, w in zip(params, weights):
            w = np.asarray(w)
            if w.shape != v.shape:
                raise ValueError(f"Layer {self.name!r}: weight {v.name!r} has shape {v.shape}, "
                                 f"but set_weights received an array of shape {w.shape}.")
            arrays.append(w)
        for v, w in zip(params, arrays):
            v.assign(w)

    def count_params(self) -> int:
        if not self.built:
            raise ValueError(f"Layer {self.name!r} is not built yet: call it on data or give it "
                             "an input_shape before counting its parameters.")
        return int(sum(math.prod(v.shape) for v in self.weights))

    # --- building and calling --------------------------------------------------------------
    def build(self, input_shape) -> None:
        """Create the weights for inputs of this shape. The base layer has none."""

    def call(self, inputs, *args, **kwargs):
        raise NotImplementedError(f"{type(self).__name__} must implement call().")

    def _maybe_build(self, input_shape) -> None:
        if not self.built:
            shape = tuple(input_shape) if symbolic.is_shape(input_shape) else input_shape
            self.build(shape)
            self._build_input_shape = shape
            self.built = True

    def __call__(self, inputs, *args, **kwargs):
        if self.built:
            return self._call(inputs, *args, **kwargs)
        # The first call builds this layer, and perhaps layers it holds: their Variables'
        # paths start with this layer's name, as in Keras ('my_model/dense/kernel').
        with _scopes.name_scope(self.name, caller=self):
            return self._call(inputs, *args, **kwargs)

    def _call(self, inputs, *args, training: bool | None = None, mask=None, **kwargs):
        if symbolic.is_symbolic((inputs, args, kwargs)):
            return self._symbolic_call(inputs, args, kwargs)
        inputs, args, kwargs = _dtypes.convert_call_args(self, inputs, args, kwargs, _to_tensors)
        shape = _shape_of(inputs)
        self._maybe_build(shape)
        if self.input_spec is not None and symbolic.is_shape(shape):
            self.input_spec.check(self, shape)
        if training is None:  # Keras's order: the argument, the enclosing call, call's default
            training = _context.training
            if training is None:
                training = _default_training(type(self).call)
        if _accepts(type(self).call, "training"):
            kwargs["training"] = training
        if mask is not None and _accepts(type(self).call, "mask"):
            kwargs["mask"] = mask
        set_plain = object.__setattr__  # bookkeeping: skip the tracking __setattr__ per call
        set_plain(self, "_call_losses", [])
        set_plain(self, "_calling", True)
        outer, _context.training = _context.training, training
        autocast = _dtypes.enter_call(self)
        try:
            if self._remat_mode is None:
                outputs = self.call(inputs, *args, **kwargs)
            else:
                outputs = self._rematerialized_call(inputs, shape, args, kwargs)
        finally:
            set_plain(self, "_calling", False)
            _context.training = outer
            _dtypes.exit_call(autocast)
        if self.activity_regularizer is not None:
            self.add_loss(self.activity_regularizer(outputs) / ops.cast(
                ops.shape(outputs)[0], "float32"))
        return outputs

    def _rematerialized_call(self, inputs, shape, args: tuple, kwargs: dict):
        """call() under the layer's RematScope: recomputed in the backward pass when the
        scope's mode picks this layer (Keras's rules: every layer, the named ones, those with
        large outputs, or only the activation function)."""
        scope = self._remat_mode
        activation = getattr(self, "activation", None)
        if scope.mode == "activations":
            if activation is None:
                return self.call(inputs, *args, **kwargs)
            object.__setattr__(self, "activation", _remat.remat(activation))
            try:
                return self.call(inputs, *args, **kwargs)
            finally:
                object.__setattr__(self, "activation", activation)
        picked = scope.mode == "full" or (
            scope.mode == "list_of_layers" and self.name in scope.layer_names)
        if scope.mode == "larger_than":
            try:
                out_shape = self.compute_output_shape(shape)
            except Exception:  # a layer that cannot tell its output shape is not picked
                out_shape = None
            picked = symbolic.is_shape(out_shape) and \
                math.prod(d or 1 for d in out_shape) > scope.output_size_threshold
        if not picked:
            return self.call(inputs, *args, **kwargs)
        # Only the inputs are the checkpointed function's arguments; flags such as
        # `training` stay Python values.
        return _remat.remat(lambda x: self.call(x, *args, **kwargs))(inputs)

    def add_loss(self, loss) -> None:
        """Add a term to the training loss from call() (e.g. an activity penalty)."""
        self._call_losses.append(loss)

    def stateless_call(self, trainable_variables: Sequence, non_trainable_variables: Sequence,
                       *args, return_losses: bool = False, **kwargs):
        """Call the layer as a pure function of the given state (Keras 3's JAX idiom).

        The layer's Variables read as `trainable_variables` / `non_trainable_variables` (values
        in the order of `self.trainable_variables` / `self.non_trainable_variables`), and what
        the call assigns (batch-norm statistics, seed states) is returned instead of applied,
        so it runs inside `jax.jit` / `jax.grad` and `torch.func` transforms.

        Returns:
            `(outputs, non_trainable_variables)`, the latter the new values in the same order;
            with `return_losses=True`, `(outputs, non_trainable_variables, losses)`, the
            losses (weight regularization and `add_loss` terms) of this call.
        """
        owner = f"{type(self).__name__}.stateless_call"
        if not self.built:
            raise ValueError(f"{owner}: layer {self.name!r} is not built, so it has no "
                             "variables to map yet. Build it first: call it once on data, or "
                             "give it an input shape.")
        non_trainable = self.non_trainable_variables
        mapping = bind(self.trainable_variables, trainable_variables, owner,
                       "trainable_variables", f"{self.name}.trainable_variables")
        mapping.update(bind(non_trainable, non_trainable_variables, owner,
                            "non_trainable_variables", f"{self.name}.non_trainable_variables"))
        try:
            with StatelessScope(mapping) as scope:
                outputs = self(*args, **kwargs)
                losses = self.losses if return_losses else None
        finally:
            # The call's added losses hold this call's (maybe traced) values: as in Keras,
            # they belong to the call's result, not to the layer.
            self._clear_call_losses()
        new_state = [scope.get(v) for v in non_trainable]
        if return_losses:
            return outputs, new_state, losses
        return outputs, new_state

    def _flatten_layers(self):
        yield self
        for layer in self._layers:
            yield from layer._flatten_layers()

    def _clear_call_losses(self) -> None:
        """Drop the last call's added losses (traced values must not outlive their step)."""
        for layer in self._flatten_layers():
            layer._call_losses = []

    def _symbolic_call(self, inputs, args: tuple, kwargs: dict):
        """Build for the inputs' shapes, infer the outputs' shapes, record the call as a Node."""
        shapes = symbolic.map_structure(
            lambda t: t.shape if isinstance(t, symbolic.SymbolicTensor) else t, inputs)
        self._maybe_build(shapes)
        if self.input_spec is not None and symbolic.is_shape(shapes):
            self.input_spec.check(self, shapes)
        try:
            if args or kwargs:
                out_shapes = self._infer_call_shapes(inputs, args, kwargs)
            else:
                out_shapes = self.compute_output_shape(shapes)
        except ValueError as e:
            if self.name in str(e):
                raise
            raise ValueError(f"Layer {self.name!r} ({type(self).__name__}) cannot be applied to "
                             f"inputs of shape {shapes}: {e}") from e
        node = symbolic.Node(self, (inputs, *args), kwargs, None)
        if symbolic.is_shape(tuple(out_shapes)):
            outputs = symbolic.SymbolicTensor(out_shapes, self.compute_dtype, node, 0, self.name)
        else:
            outputs = [symbolic.SymbolicTensor(s, self.compute_dtype, node, i, f"{self.name}_{i}")
                       for i, s in enumerate(out_shapes)]
        node.outputs = outputs
        self._inbound_nodes.append(node)
        return outputs

    def _infer_call_shapes(self, inputs, args, kwargs):
        """Output shapes of a call with several tensor arguments (e.g. attention(q, v, key=k))."""
        tensors = [t for t in symbolic.flatten((inputs, args, kwargs))
                   if isinstance(t, symbolic.SymbolicTensor)]
        dtypes = {t.shape: t.dtype for t in tensors}

        def run(shapes_tree):
            arrays = iter(symbolic.flatten(shapes_tree))
            real = symbolic.map_structure(
                lambda t: next(arrays) if isinstance(t, symbolic.SymbolicTensor) else t,
                (inputs, args, kwargs))
            extra = {"training": False} if _accepts(type(self).call, "training") else {}
            return _dtypes.call_autocast(self, self.call, real[0], *real[1], **real[2],
                                         **extra)

        return symbolic.infer_shapes(run, [t.shape for t in tensors], lambda s: (
            _dtypes.inference_dtype(self, dtypes.get(s, self.dtype))))

    def _node_property(self, attr: str):
        if not self._inbound_nodes:
            raise AttributeError(f"Layer {self.name!r} has not been called on a symbolic "
                                 f"input yet, so it has no {attr}.")
        node = self._inbound_nodes[-1]
        return node.outputs if attr == "output" else node.args[0]

    @property
    def output(self):
        """The symbolic output of this layer's latest call on symbolic inputs."""
        return self._node_property("output")

    @property
    def input(self):
        return self._node_property("input")

    def compute_mask(self, inputs, mask=None):
        """The mask of this layer's outputs: the input mask if it passes through, else None."""
        return mask if self.supports_masking else None

    def compute_output_shape(self, input_shape):
        """Shape inference by abstract evaluation of call() (layers override when cheap)."""
        self._maybe_build(input_shape)
        extra = {"training": False} if _accepts(type(self).call, "training") else {}
        return symbolic.infer_shapes(
            lambda x: _dtypes.call_autocast(self, self.call, x, **extra), input_shape,
            lambda shape: _dtypes.inference_dtype(self, self.dtype))

    @property
    def losses(self) -> list:
        """Regularization penalties of this layer's weights and of its last call's outputs."""
        out = [v.regularizer(v.value) for v in self._own_weights if v.regularizer is not None]
        out += list(self._call_losses)
        for layer in self._layers:
            out += layer.losses
        return out

    @property
    def input_shape(self):
        if self._build_input_shape is not None:
            return self._build_input_shape
        if self._batch_input_shape is not None:
            return self._batch_input_shape
        raise AttributeError(f"Layer {self.name!r} has no input shape yet: it is not built.")

    # --- configuration ---------------------------------------------------------------------
    def get_config(self) -> dict:
        config_ = {"name": self.name, "trainable": self.trainable,
                   "dtype": _dtypes.serialize(self.dtype_policy)}
        if self._batch_input_shape is not None:
            config_["batch_input_shape"] = self._batch_input_shape
        return config_

    @classmethod
    def from_config(cls, config_: dict) -> "Layer":
        return cls(**config_)

    def get_build_config(self) -> dict | None:
        """What build() was given, so a loaded layer is built the same before its weights are
        read (Keras's `build_config`); None when not built."""
        if not self.built or self._build_input_shape is None or _builds_from_several(self):
            return None  # (a layer built from several shapes is rebuilt by its model's call)
        return {"input_shape": _listed(self._build_input_shape)}

    def build_from_config(self, config_: dict) -> None:
        """Build from `get_build_config()`'s dict (Keras's too: `input_shape` or
        `shapes_dict`)."""
        if self.built:
            return
        if config_.get("input_shape") is not None:
            self._maybe_build(_tupled(config_["input_shape"]))
        elif config_.get("shapes_dict"):  # build(query_shape=..., value_shape=...)
            shapes = {k: _tupled(v) for k, v in config_["shapes_dict"].items()}
            names = list(inspect.signature(type(self).build).parameters)[1:]
            if set(shapes) <= set(names):  # positionally: build()'s wrapper takes the first so
                last = max(names.index(k) for k in shapes)
                self.build(*(shapes.get(n) for n in names[:last + 1]))
            else:
                self.build(**shapes)
            self.built = True

    def __repr__(self) -> str:
        return f"<{type(self).__name__} name={self.name}, built={self.built}>"


def _listed(shape):
    """A shape (or nested shapes) as JSON lists."""
    if isinstance(shape, (list, tuple)):
        return [_listed(s) for s in shape]
    if isinstance(shape, dict):
        return {k: _listed(v) for k, v in shape.items()}
    return shape


def _builds_from_several(layer) -> bool:
    """Whether build() takes more than the one input shape (MultiHeadAttention's query and
    value shapes): nhanh records only the first."""
    try:
        params = list(inspect.signature(type(layer).build).parameters.values())[1:]
    except (TypeError, ValueError):
        return False
    return sum(p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD) for p in params) > 1


def _tupled(shape):
    """JSON lists back to a shape tuple (or a list / dict of them)."""
    if isinstance(shape, (list, tuple)) and symbolic.is_shape(tuple(shape)):
        return tuple(shape)
    if isinstance(shape, (list, tuple)):
        return [_tupled(s) for s in shape]
    if isinstance(shape, dict):
        return {k: _tupled(v) for k, v in shape.items()}
    return shape


def _shape_of(inputs):
    if isinstance(inputs, (list, tuple)):
        return [_shape_of(i) for i in inputs]
    if isinstance(inputs, dict):
        return {k: _shape_of(v) for k, v in inputs.items()}
    return tuple(inputs.shape)


def to_tensors(inputs, dtype):
    """Arrays of the current backend from numpy / lists / Variables (floats cast to dtype)."""
    return _to_tensors(inputs, dtype)


def _to_tensors(inputs, dtype):
    if isinstance(inputs, (list, tuple)):
        return type(inputs)(_to_tensors(i, dtype) for i in inputs)
    if isinstance(inputs, dict):
        return {k: _to_tensors(v, dtype) for k, v in inputs.items()}
    if isinstance(inputs, Variable):
        return inputs.value
    if ops.is_tensor(inputs):
        return inputs
    if hasattr(inputs, "shape") and hasattr(inputs, "dtype") and not isinstance(inputs, np.ndarray):
        return inputs  # a symbolic tensor or another array type the backend handles
    array = np.asarray(inputs)
    if array.dtype.kind == "f":
        return ops.convert_to_tensor(array, dtype)
    return ops.convert_to_tensor(array)


def _unique(variables: list[Variable]) -> list[Variable]:
    seen: set[int] = set()
    return [v for v in variables if not (id(v) in seen or seen.add(id(v)))]


_ACCEPTS: dict = {}


class _CallContext(threading.local):
    """The `training` flag of the layer call in progress, so that layers a subclassed model
    calls without passing `training` (Dropout, augmentation) still follow it, as in Keras."""

    training: bool | None = None


_context = _CallContext()
_DEFAULT_TRAINING: dict = {}


def _default_training(fn) -> bool | None:
    """The default of call()'s `training` argument (True for Keras's preprocessing layers)."""
    if fn not in _DEFAULT_TRAINING:
        param = inspect.signature(fn).parameters.get("training")
        default = None if param is None or param.default is param.empty else param.default
        _DEFAULT_TRAINING[fn] = default if isinstance(default, bool) else None
    return _DEFAULT_TRAINING[fn]


def _accepts(fn, arg: str) -> bool:
    key = (fn, arg)
    if key not in _ACCEPTS:
        params = inspect.signature(fn).parameters
        _ACCEPTS[key] = arg in params or any(p.kind == p.VAR_KEYWORD for p in params.values())
    return _ACCEPTS[key]
