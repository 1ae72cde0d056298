# Python peer for bench/runtime.ts: KServe's model server (from PyPI) serving an ONNX file with
# onnxruntime through a small custom kserve.Model, speaking the same v2 REST protocol.
#   python bench/runtime_kserve_peer.py --model_name logreg --model_path x.onnx --http_port 8090
import argparse

import numpy as np
import onnxruntime as ort
from kserve import InferOutput, InferRequest, InferResponse, Model, ModelServer


class OnnxModel(Model):
    def __init__(self, name: str, path: str):
        super().__init__(name)
        opts = ort.SessionOptions()
        opts.intra_op_num_threads = 1
        self.session = ort.InferenceSession(path, opts, providers=["CPUExecutionProvider"])
        self.ready = True

    def predict(self, payload: InferRequest, headers=None, response_headers=None) -> InferResponse:
        feeds = {i.name: i.as_numpy().astype(np.float32, copy=False) for i in payload.inputs}
        names = [o.name for o in self.session.get_outputs()]
        results = self.session.run(names, feeds)
        outputs = []
        for name, value in zip(names, results):
            out = InferOutput(name=name, shape=list(value.shape), datatype="FP32")
            out.set_data_from_numpy(value, binary_data=False)
            outputs.append(out)
        return InferResponse(response_id=payload.id or "", model_name=self.name, infer_outputs=outputs)


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--model_name", required=True)
    parser.add_argument("--model_path", required=True)
    parser.add_argument("--http_port", type=int, default=8090)
    args = parser.parse_args()
    model = OnnxModel(args.model_name, args.model_path)
    ModelServer(http_port=args.http_port, enable_grpc=False, enable_latency_logging=False, workers=1).start([model])
