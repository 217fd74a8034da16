"""Keras functional models that are graphs (residual connections, branches,
merges: Add, Subtract, Multiply, Average, Maximum, Minimum, Concatenate on
the last axis), for tools/anne_convert.py: the layer graph read from the
model's config, and the walk that turns it into board layers that name
their inputs (a version-3 .anne file, docs/FORMAT.md *Graphs*).

The walk runs anne_keras_layers' function of each layer (the same as for a
chain) with the state its input left: the shape, the Dense/Conv layer an
activation or normalization after it may fold into, a normalization
waiting to fold into the next layer. Nothing folds across a branch point
(a layer whose output several layers read keep its own output), and a
normalization waiting there is kept as a layer of its own. An activation
after a merge folds into it (Keras's Add then ReLU, as TFLite's fused ADD).
"""

import anne_format
import anne_keras_layers as K
from anne_keras_layers import ConvertError

# Keras merge class -> the layer kind's name (ops/ops.json).
MERGES = {"Add": "add", "Subtract": "subtract", "Multiply": "multiply", "Average": "average",
          "Maximum": "maximum", "Minimum": "minimum", "Concatenate": "concatenate"}
NETWORK_INPUT = -1   # a board layer's input that is the network's


def ends(cfg):
    """A functional model's input and output layers ([name, node, tensor]
    each); ConvertError unless there is one of each."""
    ins = cfg.get("input_layers", [])
    outs = cfg.get("output_layers", [])
    ins = [ins] if ins and isinstance(ins[0], str) else ins
    outs = [outs] if outs and isinstance(outs[0], str) else outs
    if len(ins) != 1 or len(outs) != 1:
        raise ConvertError("the functional model has %d inputs and %d outputs; anne needs "
                           "exactly one of each" % (len(ins), len(outs)))
    return ins, outs


def functional_graph(cfg, history_names):
    """A functional model's config -> [(class, config with its name, the
    names of its input layers in order)] in an order where each layer
    comes after its inputs (the config's, which Keras writes so), or None
    when the model is a chain (anne_convert reads those as it always did).
    ConvertError for what anne cannot run: several inputs or outputs, a
    layer called more than once, layers that do not lead to the output."""
    entries = cfg["layers"]
    ins, outs = ends(cfg)
    names = [l.get("name", l.get("config", {}).get("name")) for l in entries]
    srcs = {}
    for name, l in zip(names, entries):
        nodes = l.get("inbound_nodes", [])
        if len(nodes) > 1:
            raise ConvertError("layer %r (%s) is called %d times; anne runs each layer once "
                               "(shared layers are not supported)" % (name, l["class_name"], len(nodes)))
        srcs[name] = history_names(nodes)
    users = {}
    for name in names:
        for s in srcs[name]:
            users.setdefault(s, []).append(name)
    if all(len(v) <= 1 for v in srcs.values()) and all(len(v) <= 1 for v in users.values()):
        return None   # a chain
    # what leads to the output
    needed, todo = set(), [outs[0][0]]
    while todo:
        n = todo.pop()
        if n not in needed:
            if n not in srcs:
                raise ConvertError("the functional model's layer graph names an unknown layer %r" % n)
            needed.add(n)
            todo.extend(srcs[n])
    unused = [n for n in names if n not in needed]
    if unused:
        raise ConvertError("the functional model has layers that do not lead to its output: %s"
                           % ", ".join(unused))
    if ins[0][0] not in needed:
        raise ConvertError("the functional model's output does not lead back to its input")
    order, done = [], set()
    for name, l in zip(names, entries):
        if any(s not in done for s in srcs[name]):
            raise ConvertError("layer %r comes before its inputs in the model's config" % name)
        done.add(name)
        order.append((l["class_name"], dict(l.get("config", {}), name=name), srcs[name]))
    return order


def walk_graph(kf, graph):
    """The graph (functional_graph's list) -> the Chain of anne_keras_layers
    with its board layers, each with "inputs": the indices of the board
    layers it takes (NETWORK_INPUT for the network's input)."""
    st = K.Chain(kf)
    counters = {}
    users = {}
    for _, _, srcs in graph:
        for s in srcs:
            users[s] = users.get(s, 0) + 1
    state = {}   # Keras layer name -> (board index, shape, last_open, pending)
    for cls, cfg, srcs in graph:
        name = cfg["name"]
        where = "layer %r (%s)" % (name, cls)
        class_path = K.class_path_of(counters, cls)
        if cls == "InputLayer":
            try:
                shape = K._input_shape(cfg, where)
            except ConvertError as e:
                st.problems.append(str(e))
                shape = None
            st.input_shape = shape
            state[name] = (NETWORK_INPUT, shape, None, None)
            continue
        if cls in MERGES:
            state[name] = _merge(st, state, cls, cfg, srcs, where)
            continue
        if len(srcs) != 1:
            st.problems.append("%s takes %d inputs; anne's layers other than merges take one"
                               % (where, len(srcs)))
            state[name] = (None, None, None, None)
            continue
        src = srcs[0]
        if users[src] > 1:   # a branch point: its output stays as it is
            idx, shape = _settle(st, state, src)
            last_open = pending = None
        else:
            idx, shape, last_open, pending = state[src]
        st.shape, st.last_open, st.pending = shape, last_open, pending
        n0 = len(st.board)
        K.run_layer(st, K.Layer(cls, cfg, name, where, class_path))
        for k, d in enumerate(st.board[n0:]):
            d["inputs"] = (idx,) if k == 0 else (n0 + k - 1,)
        if len(st.board) > n0:
            idx = len(st.board) - 1
        state[name] = (idx, st.shape, st.last_open, st.pending)
    out = graph[-1][1]["name"]
    idx, st.shape, st.last_open, st.pending = state[out]
    if st.pending is not None:
        idx, st.shape = _settle(st, state, out)
    if not st.problems and idx != len(st.board) - 1:
        st.problems.append("the model's output is not its last layer's (%s)" % out)
    return K.finish(st)


def _settle(st, state, name):
    """Layer `name`'s output as a board layer: a normalization waiting to
    fold is put on the board as a layer of its own -> (index, shape)."""
    idx, shape, last_open, pending = state[name]
    if pending is not None and shape is not None:
        d = K._affine_layer(pending, shape, "layer %r" % name, st.classes)
        d["inputs"] = (idx,)
        st.board.append(d)
        idx = len(st.board) - 1
        state[name] = (idx, shape, None, None)
    return idx, shape


def _merge(st, state, cls, cfg, srcs, where):
    """A merge layer: on the board with the inputs' indices -> its state."""
    kind = MERGES[cls]
    idxs, shapes = [], []
    for s in srcs:
        idx, shape = _settle(st, state, s)
        idxs.append(idx)
        shapes.append(shape)
    if any(s is None for s in shapes) or any(i is None for i in idxs):
        if not st.problems:
            st.problems.append("%s: its inputs' shapes are not known" % where)
        return (None, None, None, None)
    if cls == "Concatenate":
        axis = cfg.get("axis", -1)
        if axis not in (-1, len(shapes[0])):
            st.problems.append("%s: axis=%r; anne concatenates the last axis (-1) only" % (where, axis))
            return (None, None, None, None)
    try:
        out = anne_format.anne_file.merge_shape(anne_format.KIND_IDS[kind], [tuple(s) for s in shapes])
    except ValueError as e:
        st.problems.append("%s: %s" % (where, e))
        return (None, None, None, None)
    d = {"kind": kind, "name": cfg["name"], "sources": [cfg["name"]], "inputs": tuple(idxs),
         "act": K.Activation("linear"), "out_shape": out}
    st.board.append(d)
    return (len(st.board) - 1, out, d, None)


def merge_in_chain(st, layer):
    """A merge met in a chain (a Sequential model cannot hold one)."""
    raise ConvertError("%s merges several inputs: build the model with Keras's functional API"
                       % layer.where)


LAYER_KINDS = {cls: merge_in_chain for cls in MERGES}
