# anne_graph_edit: resize() on a graph (anne_graph's network: layers that
# name their inputs), imported when a graph is first edited. A layer's new
# number of units (filters) reaches every layer that reads its output,
# through the layers whose channels follow their input (pooling, padding,
# DepthwiseConv2D, the per-channel layers, Flatten, Concatenate: its output
# grows), up to the layers with weights that read it, which get new
# Keras-initialised weights, as a chain's resize() gives them. An
# element-wise merge (Add, ...) must get one shape from all its inputs:
# when the change reaches only some of them, resize() refuses, naming it,
# and the network stays as it was.

import anne_ops
from anne_core import _shape_text
from anne_file import NETWORK_INPUT, merge_shape
from anne_layers import _editable, _resized, _take_weights


def _readers(net, i):
    """The layers with weights that read layer i's output, directly or
    through layers without weights (pooling, Flatten, merges, ...)."""
    inputs = net._inputs
    found = []
    todo = [i]
    seen = set()
    while todo:
        j = todo.pop()
        for k in range(j + 1, len(inputs)):
            if j in inputs[k] and k not in seen:
                seen.add(k)
                if net._layers[k].weighted:
                    found.append(net._layers[k])
                else:
                    todo.append(k)
    return tuple(found)


def _merge_error(net, k, ins, shapes, start):
    parts = ", ".join("%s %s" % ("the input" if j == NETWORK_INPUT else "layer %d" % j, _shape_text(s))
                      for j, s in zip(ins, shapes))
    return ValueError("layer %d (%s) takes inputs of one shape; the change of layer %d would give it %s: "
                      "resize a layer whose change reaches all of them, or none"
                      % (k, type(net._layers[k]).__name__, start, parts))


def relayout(net, layers, start, fresh=(), keep=None):
    """anne_net's _relayout for a graph (its layers, in place: a graph's
    layers are not inserted or removed): each layer from `start` on gets
    its inputs' shapes, and new Keras-initialised weights if it is in
    fresh or its weights no longer fit. All is checked before anything
    changes: ValueError naming the layer that cannot take its new input
    (or the element-wise merge whose inputs no longer agree), and the
    network stays as it was."""
    _editable(net)
    if len(layers) != len(net._layers) or any(a is not b for a, b in zip(layers, net._layers)):
        raise ValueError("a graph's layers are not inserted or removed: resize works")
    outs = []
    todo = []
    for k, L in enumerate(layers):
        ins = net._inputs[k]
        shapes = [net.input_shape if j == NETWORK_INPUT else outs[j] for j in ins]
        merge = L.kind in anne_ops.LAYER_INPUTS
        try:
            out = merge_shape(L.kind, shapes) if merge else L._out_shape(shapes[0])
        except ValueError as e:
            if merge and anne_ops.LAYER_SHAPE[L.kind] == "merge":
                raise _merge_error(net, k, ins, shapes, start)
            raise ValueError("layer %d (%s): %s" % (k, type(L).__name__, e))
        outs.append(out)
        if k < start:
            continue
        weights = None
        if not merge and (not L._fits(shapes[0]) or any(L is F for F in fresh)):
            weights = L._new_weights(shapes[0])
        todo.append((L, shapes, weights))
    for L, shapes, weights in todo:
        if weights is not None:
            _take_weights(L, weights, layers.index(L))
        if L.kind in anne_ops.LAYER_INPUTS:
            L._in_shapes = shapes
        L._set_input(shapes[0])
    net._rebuild()
    net._fit_classes()


def resize(net, i, units):
    """net.resize(i, units) on a graph: layer i (Dense, Conv1D, Conv2D)
    gets `units` units (filters) and new weights; so do the layers with
    weights that read its output (through pooling, Flatten, merges, ...),
    and any layer whose input no longer fits its weights. ValueError, and
    no change, when the new channels would reach an element-wise merge
    (Add, Subtract, Multiply, Average, Maximum, Minimum) through some of
    its inputs only (a residual block's last conv: the shortcut keeps its
    channels)."""
    i, units, L = _resized(net, i, units)
    if L._before is not None:
        raise ValueError("layer %d takes a normalization folded into its weights (%s): in a graph, resize() "
                         "cannot make it a layer of its own yet" % (i, type(L).__name__))
    old = L._units
    L._units = units
    try:
        relayout(net, net._layers, i, (L,) + _readers(net, i))
    except ValueError:
        L._units = old
        raise
