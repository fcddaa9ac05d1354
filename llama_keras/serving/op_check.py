"""Which ops a SavedModel uses, and whether stock TF Serving can run them all."""

import json
import os
import subprocess
import sys

from tensorflow.core.protobuf import saved_model_pb2

# Python callbacks cannot run in a server; Xla* ops need the XLA JIT, which stock
# TF Serving runs with off.
_FORBIDDEN_PREFIXES = ("Xla", "PyFunc", "EagerPyFunc")


def saved_model_op_types(export_dir):
    """Every op type in the SavedModel's graphs and their whole function library
    (the bodies of `While`, `If` and called functions included)."""
    saved_model = saved_model_pb2.SavedModel()
    with open(os.path.join(export_dir, "saved_model.pb"), "rb") as f:
        saved_model.ParseFromString(f.read())
    types, functions = set(), set()
    for meta_graph in saved_model.meta_graphs:
        types.update(node.op for node in meta_graph.graph_def.node)
        for function in meta_graph.graph_def.library.function:
            functions.add(function.signature.name)
            types.update(node.op for node in function.node_def)
    return types - functions  # a node may call a library function by name


def _unregistered(op_types):
    """The op types that importing only tensorflow and tensorflow_text leaves
    unregistered, checked in a fresh process (what a TF Serving build links)."""
    code = ("import json, sys, tensorflow, tensorflow_text\n"
            "from tensorflow.python.framework import op_def_registry\n"
            "print(json.dumps([t for t in json.loads(sys.argv[1]) if op_def_registry.get(t) is None]))")
    result = subprocess.run([sys.executable, "-c", code, json.dumps(sorted(op_types))], capture_output=True,
                            text=True, check=True, env={**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3"})
    return set(json.loads(result.stdout.strip().splitlines()[-1]))


def check_servable_ops(export_dir):
    """Raises `ValueError` naming any op outside core TensorFlow and TF Text, or any
    Python-callback or XLA op. Returns the op types."""
    types = saved_model_op_types(export_dir)
    unknown = _unregistered(types)
    forbidden = {op for op in types if op.startswith(_FORBIDDEN_PREFIXES)}
    if unknown or forbidden:
        raise ValueError(
            f"{export_dir} cannot be served by stock TF Serving: ops outside core TF and "
            f"TF Text: {sorted(unknown)}; Python-callback or XLA ops: {sorted(forbidden)}."
        )
    return types
