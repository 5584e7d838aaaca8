"""keras.ops.ctc_decode: greedy decoding and a batched prefix beam search, written against
nhanh.ops so that both compile inside a step (the search is a fori_loop).
"""

from __future__ import annotations

from nhanh import ops
from nhanh.ops.nn_functions import statistics_dtype

__all__ = ["ctc_decode"]

# --- CTC decoding ---------------------------------------------------------------------------------

def _ctc_greedy(inputs, lengths, merge_repeated: bool, blank: int):
    steps = ops.shape(inputs)[1]
    indices = ops.cast(ops.argmax(inputs, axis=-1), "int32")
    scores = ops.max(inputs, axis=-1)
    padding = ops.greater_equal(ops.expand_dims(ops.arange(steps, dtype="int32"), 0),
                                ops.expand_dims(lengths, 1))
    indices = ops.where(padding, blank, indices)
    scores = ops.where(padding, ops.zeros_like(scores), scores)
    if merge_repeated:
        repeat = ops.equal(indices[:, 1:], indices[:, :-1])
        repeat = ops.concatenate([ops.zeros((ops.shape(repeat)[0], 1), dtype="bool"), repeat],
                                 axis=1)
        indices = ops.where(repeat, blank, indices)
    dropped = ops.equal(indices, blank)
    indices = ops.where(dropped, -1, indices)
    # The kept labels first, in order; the -1s after them.
    order = ops.where(dropped, steps, ops.expand_dims(ops.arange(steps, dtype="int32"), 0))
    indices = ops.take_along_axis(indices, ops.argsort(order, axis=-1), axis=-1)
    return ops.expand_dims(indices, 0), ops.negative(ops.sum(scores, axis=1, keepdims=True))


def _ctc_beam_search(inputs, lengths, beam_width: int, top_paths: int, blank: int):
    """CTC prefix beam search (Graves 2012; the algorithm of Keras's and TensorFlow's decoders).

    State per sample: `beam_width` distinct label prefixes (paths padded with -1), each with the
    log-probability of its alignments that end in a blank (pb) and in its last label (pnb).
    Each step extends every prefix by every class; an extension that equals another beam's
    prefix is merged into it, then the best `beam_width` prefixes are kept. Dead slots (fewer
    prefixes than beams) carry -inf and never merge.
    """
    batch, steps, classes = ops.shape(inputs)
    beams = beam_width
    logprobs = ops.log_softmax(inputs, axis=-1)
    neg_inf = float("-inf")
    dtype = ops.dtype(logprobs)
    positions = ops.arange(steps, dtype="int32")
    class_ids = ops.arange(classes, dtype="int32")
    is_blank_class = ops.equal(class_ids, blank)

    paths = ops.full((batch, beams, steps), -1, dtype="int32")
    size = ops.zeros((batch, beams), dtype="int32")
    last = ops.full((batch, beams), -1, dtype="int32")
    first = ops.equal(ops.arange(beams, dtype="int32"), 0)
    pb = ops.where(ops.broadcast_to(first, (batch, beams)), 0.0, neg_inf)
    pb = ops.cast(pb, dtype)
    pnb = ops.full((batch, beams), neg_inf, dtype=dtype)

    def step(t, carry):
        paths, size, last, pb, pnb = carry
        y = ops.take(logprobs, t, axis=1)  # (batch, classes)
        total = ops.logaddexp(pb, pnb)
        has_last = ops.greater_equal(last, 0)
        y_last = ops.take_along_axis(y, ops.maximum(last, 0), axis=1)
        same_pb = ops.add(total, y[:, blank:blank + 1])
        same_pnb = ops.where(has_last, ops.add(pnb, y_last), neg_inf)
        # Extensions (batch, beams, classes): after a repeat only the blank-ending alignments
        # count; a blank never extends.
        repeat = ops.equal(ops.expand_dims(last, -1), class_ids)
        ext = ops.add(ops.where(repeat, ops.expand_dims(pb, -1), ops.expand_dims(total, -1)),
                      ops.expand_dims(y, 1))
        ext = ops.where(is_blank_class, neg_inf, ext)
        # Beam j equals beam i extended by last[j] when its path without the last label is i's.
        parent = ops.where(ops.equal(positions, ops.expand_dims(size - 1, -1)), -1, paths)
        alive = ops.logical_and(ops.greater(total, neg_inf), has_last)
        match = ops.all(ops.equal(ops.expand_dims(paths, 2), ops.expand_dims(parent, 1)),
                        axis=-1)  # (batch, i, j)
        match = ops.logical_and(match, ops.expand_dims(alive, 1))
        into = ops.take_along_axis(
            ext, ops.broadcast_to(ops.expand_dims(ops.maximum(last, 0), 1),
                                  (batch, beams, beams)), axis=2)  # ext[i, last[j]]
        merged = ops.max(ops.where(match, into, neg_inf), axis=1)  # at most one parent i
        same_pnb = ops.logaddexp(same_pnb, merged)
        hit = ops.logical_and(ops.expand_dims(match, -1),
                              ops.expand_dims(ops.equal(ops.expand_dims(last, -1), class_ids), 1))
        ext = ops.where(ops.any(hit, axis=2), neg_inf, ext)
        # Keep the best `beams` of the beams themselves and their extensions.
        candidates = ops.concatenate([ops.logaddexp(same_pb, same_pnb),
                                      ops.reshape(ext, (batch, beams * classes))], axis=1)
        _, chosen = ops.top_k(candidates, beams)
        chosen = ops.cast(chosen, "int32")
        extended = ops.greater_equal(chosen, beams)
        flat = ops.maximum(chosen - beams, 0)
        source = ops.where(extended, flat // classes, chosen)
        label = flat % classes
        src_paths = ops.take_along_axis(paths, ops.broadcast_to(
            ops.expand_dims(source, -1), (batch, beams, steps)), axis=1)
        src_size = ops.take_along_axis(size, source, axis=1)
        write = ops.logical_and(ops.expand_dims(extended, -1),
                                ops.equal(positions, ops.expand_dims(src_size, -1)))
        new_paths = ops.where(write, ops.expand_dims(label, -1), src_paths)
        new_size = ops.where(extended, src_size + 1, src_size)
        new_last = ops.where(extended, label, ops.take_along_axis(last, source, axis=1))
        new_pb = ops.where(extended, neg_inf, ops.take_along_axis(same_pb, source, axis=1))
        new_pnb = ops.where(extended,
                            ops.take_along_axis(ops.reshape(ext, (batch, -1)), flat, axis=1),
                            ops.take_along_axis(same_pnb, source, axis=1))
        active = ops.less(t, lengths)  # finished samples keep their beams
        keep2 = ops.expand_dims(active, -1)
        return (ops.where(ops.expand_dims(keep2, -1), new_paths, paths),
                ops.where(keep2, new_size, size), ops.where(keep2, new_last, last),
                ops.where(keep2, new_pb, pb), ops.where(keep2, new_pnb, pnb))

    paths, size, last, pb, pnb = ops.fori_loop(0, steps, step, (paths, size, last, pb, pnb))
    scores, best = ops.top_k(ops.logaddexp(pb, pnb), top_paths)
    best = ops.cast(best, "int32")
    paths = ops.take_along_axis(paths, ops.broadcast_to(ops.expand_dims(best, -1),
                                                        (batch, top_paths, steps)), axis=1)
    return ops.transpose(paths, (1, 0, 2)), scores


def ctc_decode(inputs, sequence_lengths, strategy: str = "greedy", beam_width: int = 100,
               top_paths: int = 1, merge_repeated: bool = True, mask_index: int | None = 0):
    """Decodes the per-step class scores of a CTC model into label sequences.

    Args:
        inputs: Tensor (batch, steps, classes) of unnormalized scores (logits).
        sequence_lengths: Int tensor (batch,), the number of valid steps of each sample.
        strategy: `"greedy"` (the best class at each step) or `"beam_search"` (prefix beam
            search over log-softmax probabilities).
        beam_width: Int, the number of prefixes beam search keeps.
        top_paths: Int, the number of best sequences beam search returns.
        merge_repeated: Whether greedy decoding merges repeated labels (beam search always
            does, as in Keras's JAX backend).
        mask_index: The blank class; `None` means the last class.

    Returns:
        A tuple (decoded, scores). decoded: int32 (top_paths, batch, steps), the labels of each
        sequence followed by -1s (top_paths is 1 for greedy). scores: greedy, (batch, 1), minus
        the sum of each step's largest score; beam search, (batch, top_paths), each sequence's
        log-probability, best first.
    """
    inputs = ops.convert_to_tensor(inputs)
    if ops.ndim(inputs) != 3:
        raise ValueError("ctc_decode expects inputs of shape (batch, steps, classes), got "
                         f"{ops.shape(inputs)}.")
    inputs = ops.cast(inputs, statistics_dtype(inputs))
    lengths = ops.cast(ops.convert_to_tensor(sequence_lengths), "int32")
    classes = ops.shape(inputs)[2]
    blank = classes - 1 if mask_index is None else int(mask_index)
    if not 0 <= blank < classes:
        raise ValueError(f"ctc_decode: `mask_index` must name one of the {classes} classes, got "
                         f"mask_index={mask_index!r}.")
    if strategy == "greedy":
        return _ctc_greedy(inputs, lengths, merge_repeated, blank)
    if strategy == "beam_search":
        for arg, value in (("beam_width", beam_width), ("top_paths", top_paths)):
            if not isinstance(value, int) or value < 1:
                raise ValueError(f"ctc_decode: `{arg}` must be a positive int, got {value!r}.")
        if top_paths > beam_width:
            raise ValueError(f"ctc_decode: `top_paths` ({top_paths}) cannot exceed `beam_width` "
                             f"({beam_width}).")
        return _ctc_beam_search(inputs, lengths, beam_width, top_paths, blank)
    raise ValueError(f"ctc_decode: `strategy` must be 'greedy' or 'beam_search', got "
                     f"{strategy!r}.")
