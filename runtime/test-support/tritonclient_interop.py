"""Drives the runtime with NVIDIA's real Triton clients (tritonclient.grpc and tritonclient.http,
from PyPI) and prints what they saw as JSON; runtime/src/grpc/tritonclient-interop.test.ts makes the
assertions. Usage: python tritonclient_interop.py classifier|all_types <grpc host:port> <http host:port>
"""
import json
import sys

import numpy as np
import tritonclient.grpc as grpcclient
import tritonclient.http as httpclient
from tritonclient.utils import InferenceServerException

kind, grpc_url, http_url = sys.argv[1:4]


def error(call):
    try:
        call()
    except InferenceServerException as e:
        return {"status": str(e.status()), "message": e.message()}
    return None


def metadata(proto, client, model):
    server = client.get_server_metadata()
    meta = client.get_model_metadata(model)
    if proto == "http":
        return server, meta
    tensors = lambda ts: [{"name": t.name, "datatype": t.datatype, "shape": list(t.shape)} for t in ts]
    return (
        {"name": server.name, "version": server.version, "extensions": list(server.extensions)},
        {"name": meta.name, "versions": list(meta.versions), "platform": meta.platform, "inputs": tensors(meta.inputs), "outputs": tensors(meta.outputs)},
    )


def classifier(proto, mod, client):
    r = {"live": client.is_server_live(), "ready": client.is_server_ready(), "model_ready": client.is_model_ready("classifier")}
    r["server_metadata"], r["model_metadata"] = metadata(proto, client, "classifier")

    def infer(x, outputs=None, **kw):
        inp = mod.InferInput("features", list(x.shape), "FP32")
        inp.set_data_from_numpy(x)
        res = client.infer("classifier", [inp], outputs=outputs, **kw)
        get = lambda name: None if res.as_numpy(name) is None else res.as_numpy(name).tolist()
        return {"label": get("label"), "probabilities": get("probabilities"), "id": res.get_response()["id"] if proto == "http" else res.get_response().id}

    one = np.array([[5.1, 3.5, 1.4, 0.2]], dtype=np.float32)
    batch = np.array([[5.1, 3.5, 1.4, 0.2], [6.7, 3.1, 4.4, 1.4], [6.3, 3.3, 6.0, 2.5], [0, 0, 0, 0], [-1, 2, -3, 4], [9, 9, 9, 9], [1, 1, 1, 1], [0.5, 0.25, 0.125, 2]], dtype=np.float32)
    r["single"] = infer(one)
    r["batched"] = infer(batch)
    r["with_id"] = infer(one, request_id="interop-42")
    r["selected"] = infer(batch, outputs=[mod.InferRequestedOutput("probabilities")])
    if proto == "http":
        r["compressed"] = infer(batch, request_compression_algorithm="gzip")
        r["compressed_deflate"] = infer(batch, request_compression_algorithm="deflate")
    else:
        r["compressed"] = infer(batch, compression_algorithm="gzip")

    def bad(name, shape, dtype, data):
        inp = mod.InferInput(name, shape, dtype)
        inp.set_data_from_numpy(data)
        return lambda: client.infer("classifier", [inp])

    r["errors"] = {
        "unknown_model": error(lambda: client.get_model_metadata("nope")),
        "unknown_model_infer": error(lambda: infer_other(mod, client)),
        "wrong_shape": error(bad("features", [1, 5], "FP32", np.ones((1, 5), np.float32))),
        "wrong_datatype": error(bad("features", [1, 4], "FP64", np.ones((1, 4), np.float64))),
        "unknown_input": error(bad("x", [1, 4], "FP32", np.ones((1, 4), np.float32))),
        "unknown_output": error(lambda: infer(one, outputs=[mod.InferRequestedOutput("nope")])),
    }
    return r


def infer_other(mod, client):
    inp = mod.InferInput("features", [1, 4], "FP32")
    inp.set_data_from_numpy(np.ones((1, 4), np.float32))
    client.infer("nope", [inp])


def all_types(proto, mod, client):
    arrays = {
        "FP32": np.array([[1.5, -2.25], [0, 3]], np.float32),
        "FP64": np.array([[1e-300, -2.5], [3.141592653589793, 1e300]], np.float64),
        "FP16": np.array([[1.5, -2], [0.5, 65504]], np.float16),
        "INT8": np.array([[-128, 127], [0, 5]], np.int8),
        "INT16": np.array([[-32768, 32767], [1, -1]], np.int16),
        "INT32": np.array([[-2147483648, 2147483647], [7, 0]], np.int32),
        "INT64": np.array([[-5, 9223372036854775807], [-9223372036854775808, 0]], np.int64),
        "UINT8": np.array([[0, 255], [1, 2]], np.uint8),
        "UINT16": np.array([[0, 65535], [3, 4]], np.uint16),
        "UINT32": np.array([[0, 4294967295], [5, 6]], np.uint32),
        "UINT64": np.array([[0, 18446744073709551615], [7, 8]], np.uint64),
        "BOOL": np.array([[True, False], [False, True]], bool),
        "BYTES": np.array([[b"hello", b""], ["\u00fcn\u00efc\u00f6d\u00e9".encode(), b"x"]], dtype=np.object_),
    }
    inputs = []
    for dt, a in arrays.items():
        inp = mod.InferInput(f"in_{dt.lower()}", list(a.shape), dt)
        inp.set_data_from_numpy(a)
        inputs.append(inp)
    res = client.infer("all_types", inputs)
    same = {}
    for dt, a in arrays.items():
        got = res.as_numpy(f"out_{dt.lower()}")
        same[dt] = bool(got is not None and got.shape == a.shape and (got == a).all())
    return {"round_trip": same}


out = {}
for proto, mod, url in (("grpc", grpcclient, grpc_url), ("http", httpclient, http_url)):
    client = mod.InferenceServerClient(url=url)
    out[proto] = classifier(proto, mod, client) if kind == "classifier" else all_types(proto, mod, client)
print(json.dumps(out))
