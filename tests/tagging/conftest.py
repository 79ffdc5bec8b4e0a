"""A tiny WD14-shaped ONNX tagger built with the onnx package: NHWC float input, sigmoid output."""

from pathlib import Path

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

# name, category, constant probability (for a plain image), weight on the mean of BGR channel 0 (blue)
TAGS = [
    ("general", 9, 0.70, 0.0),
    ("sensitive", 9, 0.20, 0.0),
    ("questionable", 9, 0.05, 0.0),
    ("explicit", 9, 0.01, 0.0),
    ("1girl", 0, 0.95, 0.0),
    ("solo", 0, 0.90, 0.0),
    ("white_shirt", 0, 0.60, 0.0),
    ("shirt", 0, 0.55, 0.0),
    ("long_hair", 0, 0.40, 0.0),
    ("^_^", 0, 0.30, 0.0),
    ("smile", 0, 0.20, 0.0),
    ("blue_theme", 0, 0.01, 1.0),
    ("hatsune_miku", 4, 0.92, 0.0),
    ("kagamine_rin", 4, 0.30, 0.0),
]


def build_tagger(folder: Path, *, size: int = 32, batch: int | str = "batch", with_csv: bool = True) -> Path:
    """model.onnx: probs = sigmoid(mean_HW(x) / 255 @ W + b), x NHWC float32 in 0..255 (BGR)."""
    folder.mkdir(parents=True, exist_ok=True)
    probs = np.array([t[2] for t in TAGS], dtype=np.float64)
    weight = np.zeros((3, len(TAGS)), dtype=np.float32)
    # Channel 0 of BGR is blue, channel 2 red: only a blue image (not a grey or red one) lights blue_theme.
    weight[0] = [t[3] * 20 for t in TAGS]
    weight[2] = [-t[3] * 20 for t in TAGS]
    bias = np.log(probs / (1 - probs)).astype(np.float32)
    x = helper.make_tensor_value_info("input_1:0", TensorProto.FLOAT, [batch, size, size, 3])
    y = helper.make_tensor_value_info("predictions_sigmoid", TensorProto.FLOAT, [batch, len(TAGS)])
    nodes = [
        helper.make_node("ReduceMean", ["input_1:0", "axes"], ["mean"], keepdims=0),
        helper.make_node("Div", ["mean", "scale"], ["scaled"]),
        helper.make_node("MatMul", ["scaled", "W"], ["logits0"]),
        helper.make_node("Add", ["logits0", "B"], ["logits"]),
        helper.make_node("Sigmoid", ["logits"], ["predictions_sigmoid"]),
    ]
    inits = [
        numpy_helper.from_array(np.array([1, 2], dtype=np.int64), "axes"),
        numpy_helper.from_array(np.array(255.0, dtype=np.float32), "scale"),
        numpy_helper.from_array(weight, "W"),
        numpy_helper.from_array(bias, "B"),
    ]
    graph = helper.make_graph(nodes, "tiny_wd14", [x], [y], inits)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 18)])
    model.ir_version = 8
    onnx.checker.check_model(model)
    onnx.save(model, folder / "model.onnx")
    if with_csv:
        lines = ["tag_id,name,category,count"] + [f"{i},{n},{c},{1000 - i}" for i, (n, c, _, _) in enumerate(TAGS)]
        (folder / "selected_tags.csv").write_text("\n".join(lines) + "\n")
    return folder
