import json

import numpy as np
import onnxruntime

session = onnxruntime.InferenceSession("iris.onnx", providers=["CPUExecutionProvider"])
meta = session.get_modelmeta().custom_metadata_map
x = np.array([[5.1, 3.5, 1.4, 0.2], [6.7, 3.0, 5.2, 2.3]])  # float64, like chainrule
scores = session.run(["output"], {"input": x})[0]
classes = json.loads(meta["classes"])
print(json.loads(meta["features"]))
print([classes[i] for i in scores.argmax(axis=1)])
print(scores.round(4))
