"""A compiled copy of a model, for the scikit-learn wrappers.

scikit-learn clones an estimator for every fold, and a wrapper given a `Model` instance fits
a copy so that the user's model stays as it was (Keras 3 does this with `clone_model`). The
copy has the same architecture (from `get_config`), fresh weights unless asked for the
original's, and the same compile settings with its own optimizer and metric objects, so two
copies never share training state.
"""

from __future__ import annotations

from typing import Any


def _fresh(obj: Any) -> Any:
    """A new instance of a stateful object (optimizer, metric) from its config; names and
    functions are shared as they are."""
    if hasattr(obj, "get_config") and hasattr(type(obj), "from_config"):
        return type(obj).from_config(obj.get_config())
    return obj


def _metric_arguments(config) -> tuple[Any, Any]:
    """compile()'s `metrics` and `weighted_metrics` back from the resolved compile config."""
    per_output = {False: [], True: []}
    for specs in config.metric_specs:
        for weighted in (False, True):
            per_output[weighted].append([_fresh(s) for s, w in specs if w == weighted])
    if not config.multi:
        return per_output[False][0] or None, per_output[True][0] or None
    named = {w: dict(zip(config.output_names, lists)) for w, lists in per_output.items()}
    return named[False], named[True]


def _loss_weights(config) -> Any:
    """compile()'s `loss_weights` back: None when all are 1, else one per output."""
    weights = config.loss_weights
    if all(w == 1.0 for w in weights):
        return None
    return dict(zip(config.output_names, weights)) if config.multi else weights[0]


def clone_compiled(model, copy_weights: bool = False, owner: str = "The wrapper"):
    """A new model like `model`, compiled as it is; with `copy_weights`, its weights too."""
    try:
        clone = type(model).from_config(model.get_config())
    except Exception as error:  # a subclassed model whose config does not rebuild it
        raise TypeError(
            f"{owner} could not copy the model {model.name!r} of class "
            f"{type(model).__name__} from its get_config() ({type(error).__name__}: {error}). "
            "Pass model=a function that builds and compiles the model instead, e.g. "
            "model=lambda X, y: build_my_model()."
        ) from error
    if copy_weights and getattr(model, "built", False):
        if not clone.built:
            clone.build(model.input_shape)
        clone.set_weights(model.get_weights())
    if getattr(model, "compiled", False):
        config = model._compile_config
        metrics, weighted = _metric_arguments(config)
        clone.compile(optimizer=_fresh(model.optimizer), loss=model.loss,
                      metrics=metrics, weighted_metrics=weighted,
                      loss_weights=_loss_weights(config),
                      run_eagerly=getattr(model, "run_eagerly", False),
                      jit_compile=getattr(model, "jit_compile", "auto"),
                      steps_per_execution=getattr(model, "steps_per_execution", "auto"))
    return clone
