// The floor for bench/runtime.ts: the thinnest v2-shaped node:http handler calling onnxruntime
// directly on the main thread. No validation, no metrics, no batching, no logs.
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import * as ort from 'onnxruntime-node';

const [path, portArg] = process.argv.slice(2);
const session = await ort.InferenceSession.create(path as string, { intraOpNumThreads: 1, logSeverityLevel: 4 });
const server = createServer({ keepAliveTimeout: 65_000 }, (req, res) => {
  const chunks: Buffer[] = [];
  req.on('data', (c: Buffer) => chunks.push(c));
  req.on('end', () => {
    const body = JSON.parse(Buffer.concat(chunks).toString()) as { inputs: { name: string; shape: number[]; data: number[] }[] };
    const feeds: Record<string, ort.Tensor> = {};
    for (const i of body.inputs) feeds[i.name] = new ort.Tensor('float32', Float32Array.from(i.data.flat(Infinity as 1) as number[]), i.shape);
    session.run(feeds).then((out) => {
      const outputs = Object.entries(out).map(([name, t]) => ({ name, datatype: 'FP32', shape: t.dims, data: Array.from(t.data as Float32Array) }));
      const text = JSON.stringify({ model_name: 'm', outputs });
      res.writeHead(200, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text) });
      res.end(text);
    });
  });
});
server.listen(Number(portArg ?? 0), '127.0.0.1', () => console.log(JSON.stringify({ port: (server.address() as AddressInfo).port })));
