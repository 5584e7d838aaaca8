"""What compile() was given, resolved per model output: losses, loss weights and metrics.

A single loss or metric list serves every output; lists go by position and dicts by output
name, as in Keras. Log names are Keras's: 'loss', then '<output>_loss' and
'<output>_<metric>' when the model has several outputs.
"""

from __future__ import annotations

from typing import Any

from nhanh import losses as _losses
from nhanh import metrics as _metrics
from nhanh.metrics import Mean


def _as_list(value) -> list:
    if value is None:
        return []
    return list(value) if isinstance(value, (list, tuple)) else [value]


def resolve_loss(identifier):
    if identifier is None:
        return None
    loss = _losses.get(identifier)
    if not isinstance(loss, _losses.Loss):
        loss = _losses.LossFunctionWrapper(loss, name=getattr(loss, "__name__", None))
    return loss


class CompileConfig:
    def __init__(self, loss, loss_weights, metrics, weighted_metrics,
                 output_names: list[str] | None):
        # No loss is allowed, as in Keras: the model then trains on its add_loss() terms alone.
        if output_names is None:
            count = len(loss) if isinstance(loss, (list, tuple)) else \
                len(loss) if isinstance(loss, dict) else 1
            output_names = [f"output_{i}" for i in range(count)] if count > 1 else ["output"]
        self.output_names = list(output_names)
        self.losses = [resolve_loss(lo) for lo in self.per_output(loss, "loss", fill=True)]
        weights = [1.0] * len(self.losses) if loss_weights is None else \
            self.per_output(loss_weights, "loss_weights", fill=False)
        self.loss_weights = [1.0 if w is None else float(w) for w in weights]
        self.metric_specs: list[list[tuple[Any, bool]]] = [[] for _ in self.output_names]
        for specs, weighted in ((metrics, False), (weighted_metrics, True)):
            for i, per_output in enumerate(self._metrics_per_output(specs)):
                self.metric_specs[i] += [(s, weighted) for s in per_output]
        for i, specs in enumerate(self.metric_specs):  # fail fast on unknown names
            for spec, _ in specs:
                _metrics.get_for_output(spec, self.losses[i], None, None)
        self.loss_tracker = Mean(name="loss")
        self.output_loss_trackers = [Mean(name=f"{n}_loss") for n in self.output_names] \
            if len(self.output_names) > 1 else []
        self.metrics: list | None = None  # [(output index, Metric, weighted)], once shapes are known

    @property
    def needs_targets(self) -> bool:
        """Whether steps read y: a compiled loss or metric does; add_loss() terms do not."""
        return any(lo is not None for lo in self.losses) or any(self.metric_specs)

    @property
    def multi(self) -> bool:
        return len(self.output_names) > 1

    def per_output(self, value, what: str, fill: bool) -> list:
        """One entry per output from a single value, a list, or a dict keyed by output name."""
        n = len(self.output_names)
        if isinstance(value, dict):
            unknown = sorted(set(value) - set(self.output_names))
            if unknown:
                raise ValueError(f"{what} has keys {unknown} that are not model outputs; the "
                                 f"outputs are {self.output_names}.")
            return [value.get(name) for name in self.output_names]
        if isinstance(value, (list, tuple)):
            if len(value) != n:
                raise ValueError(f"{what} has {len(value)} entries for {n} output(s) "
                                 f"{self.output_names}; give one per output.")
            return list(value)
        if fill or n == 1:
            return [value] * n
        raise ValueError(f"{what} must be a list or dict with one entry per output "
                         f"{self.output_names}.")

    def _metrics_per_output(self, specs) -> list[list]:
        n = len(self.output_names)
        if specs is None:
            return [[] for _ in range(n)]
        if isinstance(specs, dict):
            return [_as_list(v) for v in self.per_output(specs, "metrics", fill=False)]
        specs = _as_list(specs)
        if n > 1 and len(specs) == n and all(isinstance(s, (list, tuple)) or s is None
                                             for s in specs):
            return [_as_list(s) for s in specs]
        return [list(specs) for _ in range(n)]  # the same metrics for every output

    def build_metrics(self, y_shapes: list, out_shapes: list) -> None:
        """Metric objects for every output, unweighted ones first, with Keras's unique log
        names: '<output>_' before each name when there are several outputs, 'weighted_' before
        a weighted metric whose name is taken, then '_1', '_2', ... for repeats."""
        if self.metrics is not None:
            return
        self.metrics = []
        taken: dict[str, int] = {}
        for want_weighted in (False, True):
            for i, specs in enumerate(self.metric_specs):
                prefix = f"{self.output_names[i]}_" if self.multi else ""
                for spec, weighted in specs:
                    if weighted != want_weighted:
                        continue
                    metric = _metrics.get_for_output(spec, self.losses[i], y_shapes[i],
                                                     out_shapes[i])
                    metric.name = _unique_name(taken, prefix, metric.name, weighted)
                    self.metrics.append((i, metric, weighted))

    def all_metrics(self) -> list:
        """The loss, each output's loss, then the compiled metrics (the logs' order)."""
        return [self.loss_tracker, *self.output_loss_trackers,
                *(m for _, m, _ in self.metrics or [])]

    def result_order(self, names: list[str]) -> list[str]:
        """The order of evaluate()'s list and of metrics_names, as Keras flattens its logs:
        the loss, a single output's metrics, each output's loss, then the rest by name."""
        first = ["loss"] + ([] if self.multi else [m.name for _, m, _ in self.metrics or []]) \
            + [t.name for t in self.output_loss_trackers]
        known = [n for n in first if n in names]
        return known + sorted(n for n in names if n not in known)

    def match(self, structure, what: str) -> list:
        """Targets or predictions as a list in output order (no targets: None for each)."""
        if structure is None:
            return [None] * len(self.output_names)
        if isinstance(structure, dict):
            missing = [n for n in self.output_names if n not in structure]
            if missing:
                raise ValueError(f"{what} is missing entries for outputs {missing}.")
            return [structure[n] for n in self.output_names]
        if isinstance(structure, (list, tuple)):
            if len(structure) != len(self.output_names):
                raise ValueError(f"{what} has {len(structure)} entries for "
                                 f"{len(self.output_names)} output(s) {self.output_names}.")
            return list(structure)
        if self.multi:
            raise ValueError(f"The model has {len(self.output_names)} outputs "
                             f"{self.output_names}; give {what} as a list or a dict.")
        return [structure]


def _unique_name(taken: dict[str, int], prefix: str, name: str, weighted: bool) -> str:
    full = prefix + name
    if full in taken and weighted:
        full = f"{prefix}weighted_{name}"
    if full not in taken:
        taken[full] = 1
        return full
    taken[full] += 1
    return f"{full}_{taken[full] - 1}"
