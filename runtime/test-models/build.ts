// Builds every ONNX model the runtime tests and benchmark use, from code, into
// runtime/test-models/out/ (git-ignored). Nothing is downloaded. A stamp holding the hash of this
// script and the writer skips the rebuild when neither changed.
//
//   node runtime/test-models/build.ts        # build (or skip when up to date)
//   node runtime/test-models/build.ts --bench  # also the benchmark-only models (mlp_large, ~65 MiB)
//   import { ensureTestModels } from './build.ts'
import { createHash } from 'node:crypto';
import { mkdirSync, readFileSync, renameSync, rmSync, writeFileSync, existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { ElemType, encodeModel, encodeModelWithExternalData, type ModelDef, type Initializer } from './onnx-writer.ts';

const HERE = dirname(fileURLToPath(import.meta.url));
export const OUT_DIR = join(HERE, 'out');

/** Deterministic pseudo-random numbers so every build writes the same bytes (stable digests). */
function rng(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return s / 0x100000000;
  };
}

function weights(name: string, dims: number[], seed: number, scale = 1): Initializer {
  const n = dims.reduce((a, b) => a * b, 1);
  const r = rng(seed);
  const data = new Float32Array(n);
  for (let i = 0; i < n; i++) data[i] = (r() * 2 - 1) * scale;
  return { name, dims, elemType: ElemType.FLOAT, data };
}

function int64s(name: string, values: number[]): Initializer {
  return { name, dims: [values.length], elemType: ElemType.INT64, data: BigInt64Array.from(values.map(BigInt)) };
}

const F = ElemType.FLOAT;

export const logisticRegression: ModelDef = {
  name: 'logreg',
  opset: 17,
  inputs: [{ name: 'features', elemType: F, shape: ['batch', 4] }],
  outputs: [{ name: 'probability', elemType: F, shape: ['batch', 1] }],
  initializers: [weights('W', [4, 1], 1), weights('b', [1], 2)],
  nodes: [
    { op: 'MatMul', inputs: ['features', 'W'], outputs: ['z0'] },
    { op: 'Add', inputs: ['z0', 'b'], outputs: ['z'] },
    { op: 'Sigmoid', inputs: ['z'], outputs: ['probability'] },
  ],
};

export const classifier: ModelDef = {
  name: 'iris_like_classifier',
  opset: 17,
  inputs: [{ name: 'features', elemType: F, shape: ['batch', 4] }],
  outputs: [
    { name: 'label', elemType: ElemType.INT64, shape: ['batch'] },
    { name: 'probabilities', elemType: F, shape: ['batch', 3] },
  ],
  initializers: [weights('W', [4, 3], 3, 2), weights('b', [3], 4)],
  nodes: [
    { op: 'MatMul', inputs: ['features', 'W'], outputs: ['z0'] },
    { op: 'Add', inputs: ['z0', 'b'], outputs: ['logits'] },
    { op: 'Softmax', inputs: ['logits'], outputs: ['probabilities'], attrs: { axis: { kind: 'int', value: -1 } } },
    {
      op: 'ArgMax',
      inputs: ['probabilities'],
      outputs: ['label'],
      attrs: { axis: { kind: 'int', value: 1 }, keepdims: { kind: 'int', value: 0 } },
    },
  ],
};

/**
 * 4 MB of FP32 weights: not memory-bound — they stay resident in the last-level cache (32 MiB L3 on
 * the 2-core development machine), and a 1-row run takes ~0.05 ms in-process there, less than a
 * request's HTTP and worker round trip. The benchmark's batching target (the MLP); mlpLarge
 * is measured beside it.
 */
export const mlp: ModelDef = denseMlp('mlp', 1024, 5, 0.03);

/** 64 → width → width → 8 with ReLU; weights seeded from `firstSeed` on, hidden layers scaled by `deepScale`. */
function denseMlp(name: string, width: number, firstSeed: number, deepScale: number): ModelDef {
  return {
    name,
    opset: 17,
    inputs: [{ name: 'x', elemType: F, shape: ['batch', 64] }],
    outputs: [{ name: 'y', elemType: F, shape: ['batch', 8] }],
    initializers: [
      weights('W1', [64, width], firstSeed, 0.125),
      weights('b1', [width], firstSeed + 1, 0.1),
      weights('W2', [width, width], firstSeed + 2, deepScale),
      weights('b2', [width], firstSeed + 3, 0.1),
      weights('W3', [width, 8], firstSeed + 4, deepScale),
      weights('b3', [8], firstSeed + 5, 0.1),
    ],
    nodes: [
      { op: 'MatMul', inputs: ['x', 'W1'], outputs: ['h1a'] },
      { op: 'Add', inputs: ['h1a', 'b1'], outputs: ['h1b'] },
      { op: 'Relu', inputs: ['h1b'], outputs: ['h1'] },
      { op: 'MatMul', inputs: ['h1', 'W2'], outputs: ['h2a'] },
      { op: 'Add', inputs: ['h2a', 'b2'], outputs: ['h2b'] },
      { op: 'Relu', inputs: ['h2b'], outputs: ['h2'] },
      { op: 'MatMul', inputs: ['h2', 'W3'], outputs: ['ya'] },
      { op: 'Add', inputs: ['ya', 'b3'], outputs: ['y'] },
    ],
  };
}

/**
 * The benchmark's second batching model: mlp's shape (64 inputs, 8 outputs, same request body) with two
 * 4096-wide hidden layers, ~65 MiB of FP32 weights (W2 alone is 64 MiB) — larger than the bench
 * machine's 32 MiB L3, as production models are. One row per run streams every weight from DRAM
 * (~0.5 flop/byte), so it is bandwidth-bound and batching amortizes the weight traffic. Built only
 * by ensureBenchModels(), so the unit tests never write it.
 */
export const mlpLarge: ModelDef = denseMlp('mlp_large', 4096, 31, 0.015);

export const multiIo: ModelDef = {
  name: 'multi_io',
  opset: 17,
  inputs: [
    { name: 'a', elemType: F, shape: ['batch', 3] },
    { name: 'b', elemType: F, shape: ['batch', 3] },
  ],
  outputs: [
    { name: 'sum', elemType: F, shape: ['batch', 3] },
    { name: 'product', elemType: F, shape: ['batch', 3] },
  ],
  nodes: [
    { op: 'Add', inputs: ['a', 'b'], outputs: ['sum'] },
    { op: 'Mul', inputs: ['a', 'b'], outputs: ['product'] },
  ],
};

/** One input and output per tensor type, so every v2 datatype is exercised end to end. */
export const ALL_TYPES = {
  FP32: ElemType.FLOAT,
  FP64: ElemType.DOUBLE,
  FP16: ElemType.FLOAT16,
  INT8: ElemType.INT8,
  INT16: ElemType.INT16,
  INT32: ElemType.INT32,
  INT64: ElemType.INT64,
  UINT8: ElemType.UINT8,
  UINT16: ElemType.UINT16,
  UINT32: ElemType.UINT32,
  UINT64: ElemType.UINT64,
  BOOL: ElemType.BOOL,
  BYTES: ElemType.STRING,
} as const;

export const allTypes: ModelDef = {
  name: 'all_types',
  opset: 17,
  inputs: Object.entries(ALL_TYPES).map(([t, e]) => ({ name: `in_${t.toLowerCase()}`, elemType: e, shape: ['batch', 2] })),
  outputs: Object.entries(ALL_TYPES).map(([t, e]) => ({ name: `out_${t.toLowerCase()}`, elemType: e, shape: ['batch', 2] })),
  nodes: Object.keys(ALL_TYPES).map((t) => ({
    op: 'Identity',
    inputs: [`in_${t.toLowerCase()}`],
    outputs: [`out_${t.toLowerCase()}`],
  })),
};

/** Integer, boolean and string inputs going through real operators. */
export const typedOps: ModelDef = {
  name: 'typed_ops',
  opset: 17,
  inputs: [
    { name: 'ids', elemType: ElemType.INT64, shape: ['batch'] },
    { name: 'mask', elemType: ElemType.BOOL, shape: ['batch'] },
    { name: 'names', elemType: ElemType.STRING, shape: ['batch'] },
  ],
  outputs: [
    { name: 'next_ids', elemType: ElemType.INT64, shape: ['batch'] },
    { name: 'inverted', elemType: ElemType.BOOL, shape: ['batch'] },
    { name: 'names_out', elemType: ElemType.STRING, shape: ['batch'] },
  ],
  initializers: [int64s('one', [1])],
  nodes: [
    { op: 'Add', inputs: ['ids', 'one'], outputs: ['next_ids'] },
    { op: 'Not', inputs: ['mask'], outputs: ['inverted'] },
    { op: 'Identity', inputs: ['names'], outputs: ['names_out'] },
  ],
};

/** Valid for some inputs, fails inside onnxruntime for others (shape product mismatch). */
export const reshapeFail: ModelDef = {
  name: 'reshape_fail',
  opset: 17,
  inputs: [
    { name: 'x', elemType: F, shape: ['n'] },
    { name: 'shape', elemType: ElemType.INT64, shape: [2] },
  ],
  outputs: [{ name: 'y', elemType: F, shape: ['r', 'c'] }],
  nodes: [{ op: 'Reshape', inputs: ['x', 'shape'], outputs: ['y'] }],
};

/**
 * A valid model with a guarded input range: `idx` indexes a one-row table, so 0 (or -1) works and
 * anything else — the warm-up's default of ones included — fails inside onnxruntime.
 */
export const guarded: ModelDef = {
  name: 'guarded',
  opset: 17,
  inputs: [
    { name: 'features', elemType: F, shape: ['batch', 2] },
    { name: 'idx', elemType: ElemType.INT64, shape: ['batch'] },
  ],
  outputs: [{ name: 'y', elemType: F, shape: ['batch', 2] }],
  initializers: [weights('table', [1, 2], 41)],
  nodes: [
    { op: 'Gather', inputs: ['table', 'idx'], outputs: ['row'], attrs: { axis: { kind: 'int', value: 0 } } },
    { op: 'Add', inputs: ['features', 'row'], outputs: ['y'] },
  ],
};

/** A chain of 1024×1024 MatMuls on an input-dependent matrix: slow on purpose, never constant-folded. */
export function slowModel(matmuls: number): ModelDef {
  const nodes: ModelDef['nodes'] = [{ op: 'Expand', inputs: ['x', 'square'], outputs: ['h0'] }];
  for (let i = 0; i < matmuls; i++) {
    nodes.push({ op: 'MatMul', inputs: [`h${i}`, 'W'], outputs: [`h${i + 1}`] });
  }
  nodes.push({ op: 'ReduceMean', inputs: [`h${matmuls}`], outputs: ['y'], attrs: { keepdims: { kind: 'int', value: 1 } } });
  return {
    name: 'slow',
    opset: 17,
    inputs: [{ name: 'x', elemType: F, shape: [1, 1024] }],
    outputs: [{ name: 'y', elemType: F, shape: [1, 1] }],
    initializers: [weights('W', [1024, 1024], 11, Math.sqrt(3 / 1024)), int64s('square', [1024, 1024])],
    nodes,
  };
}

/**
 * A model whose weights live in an external-data file next to it, as large models ship
 * (onnx.save_model(..., save_as_external_data=True)): W1, W2 and b2 are in model.onnx.data, b1 stays
 * inline. encodeModel(externalMlp) writes the same model with every weight inline.
 */
export const externalMlp: ModelDef = {
  name: 'external_mlp',
  opset: 17,
  inputs: [{ name: 'x', elemType: F, shape: ['batch', 16] }],
  outputs: [{ name: 'y', elemType: F, shape: ['batch', 4] }],
  initializers: [
    { ...weights('W1', [16, 256], 21, 0.25), external: true },
    weights('b1', [256], 22, 0.1),
    { ...weights('W2', [256, 4], 23, 0.06), external: true },
    { ...weights('b2', [4], 24, 0.1), external: true },
  ],
  nodes: [
    { op: 'MatMul', inputs: ['x', 'W1'], outputs: ['h0'] },
    { op: 'Add', inputs: ['h0', 'b1'], outputs: ['h1'] },
    { op: 'Relu', inputs: ['h1'], outputs: ['h'] },
    { op: 'MatMul', inputs: ['h', 'W2'], outputs: ['y0'] },
    { op: 'Add', inputs: ['y0', 'b2'], outputs: ['y'] },
  ],
};

/** Model directories: the ONNX file, its external data, and a file onnxruntime never reads. */
export const MODEL_DIRS = ['external_mlp'] as const;
export type TestModelDirName = (typeof MODEL_DIRS)[number];

export interface TestModelDir {
  /** The directory. */
  path: string;
  /** The ONNX file inside it. */
  modelFile: string;
  /** Every file, relative posix path → sha256:<hex>. */
  files: Record<string, string>;
  /**
   * The model_signing manifest digest of the directory with files serialization (sha256 over the
   * files' digests in name order): the spec digest of a signed model directory.
   */
  digest: string;
}

function buildDirs(): Record<TestModelDirName, { modelFile: string; files: Record<string, Uint8Array> }> {
  const ext = encodeModelWithExternalData(externalMlp, 'model.onnx.data');
  return {
    external_mlp: {
      modelFile: 'model.onnx',
      files: { 'model.onnx': ext.model, 'model.onnx.data': ext.data, 'config.json': new TextEncoder().encode('{"name":"external_mlp","inputs":16,"outputs":4}\n') },
    },
  };
}

function writeDirs(): Record<TestModelDirName, TestModelDir> {
  const out = {} as Record<TestModelDirName, TestModelDir>;
  for (const [name, d] of Object.entries(buildDirs()) as [TestModelDirName, ReturnType<typeof buildDirs>[TestModelDirName]][]) {
    const dir = join(OUT_DIR, name);
    // Built in a private directory, then renamed into place (parallel jest workers may build at once).
    const tmp = `${dir}.${process.pid}.tmp`;
    rmSync(tmp, { recursive: true, force: true });
    mkdirSync(tmp, { recursive: true });
    const files: Record<string, string> = {};
    for (const [rel, bytes] of Object.entries(d.files)) {
      writeFileSync(join(tmp, rel), bytes);
      files[rel] = sha256(bytes);
    }
    rmSync(dir, { recursive: true, force: true });
    try {
      renameSync(tmp, dir);
    } catch {
      rmSync(tmp, { recursive: true, force: true }); // another worker won the race with the same bytes
    }
    const h = createHash('sha256');
    for (const rel of Object.keys(files).sort()) h.update(Buffer.from(files[rel]!.slice('sha256:'.length), 'hex'));
    out[name] = { path: dir, modelFile: d.modelFile, files, digest: 'sha256:' + h.digest('hex') };
  }
  return out;
}

export const MODEL_FILES = [
  'logreg',
  'classifier',
  'mlp',
  'multi_io',
  'all_types',
  'typed_ops',
  'reshape_fail',
  'guarded',
  'slow',
  'unsupported_opset',
  'unknown_op',
  'corrupt',
  'truncated',
  'logreg_faulty',
  'logreg_slow',
  'classifier_swapped',
  'classifier_constant',
  'classifier_reexport',
  'classifier_flip_1',
  'classifier_flip_5',
  'classifier_flip_20',
  'classifier_flip_100',
  'regressor',
  'regressor_biased',
] as const;
export type TestModelName = (typeof MODEL_FILES)[number];

export interface TestModel {
  path: string;
  digest: string; // sha256:<hex>
  bytes: number;
}

function sha256(bytes: Uint8Array): string {
  return 'sha256:' + createHash('sha256').update(bytes).digest('hex');
}

function buildAll(): Record<TestModelName, Uint8Array> {
  const logreg = encodeModel(logisticRegression);
  const corrupt = new Uint8Array(4096);
  const r = rng(42);
  for (let i = 0; i < corrupt.length; i++) corrupt[i] = Math.floor(r() * 256);
  return {
    logreg,
    classifier: encodeModel(classifier),
    mlp: encodeModel(mlp),
    multi_io: encodeModel(multiIo),
    all_types: encodeModel(allTypes),
    typed_ops: encodeModel(typedOps),
    reshape_fail: encodeModel(reshapeFail),
    guarded: encodeModel(guarded),
    // 64 MatMuls of 1024³ ≈ 137 GFLOP: about 0.5–1 s on one AVX-512 core.
    slow: encodeModel(slowModel(64)),
    unsupported_opset: encodeModel({ ...logisticRegression, name: 'future', opset: 99 }),
    unknown_op: encodeModel({
      ...logisticRegression,
      name: 'custom',
      nodes: [{ op: 'FancyScore', domain: 'com.example', inputs: ['features'], outputs: ['probability'] }],
      initializers: [],
      extraOpsets: [{ domain: 'com.example', version: 1 }],
    }),
    corrupt,
    truncated: logreg.slice(0, Math.floor(logreg.length / 2)),
    logreg_faulty: encodeModel(logregFaulty),
    logreg_slow: encodeModel(logregSlow),
    classifier_swapped: encodeModel(classifierSwapped),
    classifier_constant: encodeModel(classifierConstant),
    classifier_reexport: encodeModel(classifierReexport),
    classifier_flip_1: encodeModel(classifierFlipped(1)),
    classifier_flip_5: encodeModel(classifierFlipped(5)),
    classifier_flip_20: encodeModel(classifierFlipped(20)),
    classifier_flip_100: encodeModel(classifierFlipped(100)),
    regressor: encodeModel(regressor(0)),
    regressor_biased: encodeModel(regressor(REGRESSOR_BIAS)),
  };
}

function sourceHash(): string {
  const h = createHash('sha256');
  for (const f of ['build.ts', 'onnx-writer.ts']) h.update(readFileSync(join(HERE, f)));
  return h.digest('hex');
}

interface Stamp {
  source: string;
  models: Record<TestModelName, TestModel>;
  dirs?: Record<TestModelDirName, TestModelDir>;
}

function readStamp(): Stamp | undefined {
  const stampPath = join(OUT_DIR, 'stamp.json');
  if (!existsSync(stampPath)) return undefined;
  const stamp = JSON.parse(readFileSync(stampPath, 'utf8')) as Stamp;
  const complete =
    stamp.source === sourceHash() &&
    MODEL_FILES.every((m) => existsSync(stamp.models[m]?.path ?? '')) &&
    MODEL_DIRS.every((d) => Object.keys(stamp.dirs?.[d]?.files ?? {}).length > 0 && Object.keys(stamp.dirs![d].files).every((f) => existsSync(join(stamp.dirs![d].path, f))));
  return complete ? stamp : undefined;
}

export const BENCH_MODEL_FILES = ['mlp_large'] as const;
export type BenchModelName = (typeof BENCH_MODEL_FILES)[number];

interface BenchStamp {
  source: string;
  models: Record<BenchModelName, TestModel>;
}

/** Write-then-rename: parallel jest workers may build at the same time; the bytes are identical. */
function writeAtomically(path: string, data: Uint8Array | string): void {
  const tmp = `${path}.${process.pid}.tmp`;
  writeFileSync(tmp, data);
  renameSync(tmp, path);
}

function writeModelFile(name: string, bytes: Uint8Array): TestModel {
  const path = join(OUT_DIR, `${name}.onnx`);
  writeAtomically(path, bytes);
  return { path, digest: sha256(bytes), bytes: bytes.length };
}

/**
 * The benchmark-only models (tens of MB; the tests never build them), cached like the test models
 * under their own stamp, bench-stamp.json, keyed on the same source hash.
 */
export function ensureBenchModels(): Record<BenchModelName, TestModel> {
  const stampPath = join(OUT_DIR, 'bench-stamp.json');
  const want = sourceHash();
  if (existsSync(stampPath)) {
    const stamp = JSON.parse(readFileSync(stampPath, 'utf8')) as BenchStamp;
    if (stamp.source === want && BENCH_MODEL_FILES.every((m) => existsSync(stamp.models[m]?.path ?? ''))) return stamp.models;
  }
  mkdirSync(OUT_DIR, { recursive: true });
  const defs: Record<BenchModelName, ModelDef> = { mlp_large: mlpLarge };
  const models = {} as Record<BenchModelName, TestModel>;
  for (const name of BENCH_MODEL_FILES) models[name] = writeModelFile(name, encodeModel(defs[name]));
  writeAtomically(stampPath, JSON.stringify({ source: want, models } satisfies BenchStamp, null, 2));
  return models;
}

/** The model directories (built with the models); paths, per-file digests and manifest digests. */
export function ensureTestModelDirs(): Record<TestModelDirName, TestModelDir> {
  ensureTestModels();
  return readStamp()!.dirs!;
}

/** Builds the models when the build script changed (or nothing is built yet); returns paths and digests. */
export function ensureTestModels(): Record<TestModelName, TestModel> {
  const stampPath = join(OUT_DIR, 'stamp.json');
  const want = sourceHash();
  const current = readStamp();
  if (current) return current.models;
  mkdirSync(OUT_DIR, { recursive: true });
  const built = buildAll();
  const models = {} as Record<TestModelName, TestModel>;
  for (const name of MODEL_FILES) models[name] = writeModelFile(name, built[name]);
  const dirs = writeDirs();
  writeAtomically(stampPath, JSON.stringify({ source: want, models, dirs } satisfies Stamp, null, 2));
  return models;
}

// Faulty canaries for the lab's rollout scenarios: logreg's signature (features FP32 [batch,4] →
// probability FP32 [batch,1]) and, where they answer, logreg's exact probabilities, so one load mix
// hits stable and canary alike. They stay above the CLI block below: it builds every model while
// this module is still being evaluated.

/** Feature 0 at or above this marks a "poison" row: logreg_faulty fails at run time on it. */
export const POISON_FEATURE_VALUE = 1000;

/**
 * logreg, but onnxruntime fails the run (Reshape: element counts disagree) when any row's feature 0
 * is ≥ POISON_FEATURE_VALUE: the target shape is [rows + poisonRows, 1], computed from the input,
 * so it equals the real shape only for a batch without poison rows. A real run-time error, the
 * runtime answers 500 (outcome server_error); the runtime reruns a failed batch row by row, so only
 * the poisoned requests fail.
 */
export const logregFaulty: ModelDef = {
  ...logisticRegression,
  name: 'logreg_faulty',
  initializers: [
    ...(logisticRegression.initializers ?? []),
    int64s('col0_start', [0]),
    int64s('col0_end', [1]),
    int64s('col_axis', [1]),
    { name: 'poison_at', dims: [], elemType: F, data: Float32Array.of(POISON_FEATURE_VALUE) },
    int64s('first_dim', [1, 0]),
  ],
  nodes: [
    { op: 'MatMul', inputs: ['features', 'W'], outputs: ['z0'] },
    { op: 'Add', inputs: ['z0', 'b'], outputs: ['z'] },
    { op: 'Sigmoid', inputs: ['z'], outputs: ['p'] },
    { op: 'Slice', inputs: ['features', 'col0_start', 'col0_end', 'col_axis'], outputs: ['f0'] },
    { op: 'GreaterOrEqual', inputs: ['f0', 'poison_at'], outputs: ['is_poison'] },
    { op: 'Cast', inputs: ['is_poison'], outputs: ['poison_i64'], attrs: { to: { kind: 'int', value: ElemType.INT64 } } },
    { op: 'ReduceSum', inputs: ['poison_i64'], outputs: ['poison_rows'], attrs: { keepdims: { kind: 'int', value: 0 } } },
    { op: 'Mul', inputs: ['poison_rows', 'first_dim'], outputs: ['extra_rows'] },
    { op: 'Shape', inputs: ['p'], outputs: ['p_shape'] },
    { op: 'Add', inputs: ['p_shape', 'extra_rows'], outputs: ['target_shape'] },
    { op: 'Reshape', inputs: ['p', 'target_shape'], outputs: ['probability'] },
  ],
};

/**
 * logreg, slower per row: each row's probability is broadcast to a k×k matrix that goes through a
 * chain of `matmuls` k×k MatMuls (compute-bound, 2·k³ flops per row and MatMul, so batching does
 * not hide it); the chain's mean, times 0, is added to the probability. Weights scaled like
 * slowModel's keep the chain finite, so the answer is logreg's exactly (p + 0 = p), and since the
 * chain feeds the output, onnxruntime can neither drop nor constant-fold it.
 */
export function slowLogreg(name: string, k: number, matmuls: number): ModelDef {
  const nodes: ModelDef['nodes'] = [
    { op: 'MatMul', inputs: ['features', 'W'], outputs: ['z0'] },
    { op: 'Add', inputs: ['z0', 'b'], outputs: ['z'] },
    { op: 'Sigmoid', inputs: ['z'], outputs: ['p'] },
    { op: 'Reshape', inputs: ['p', 'row_cube'], outputs: ['p3'] },
    { op: 'Expand', inputs: ['p3', 'square'], outputs: ['h0'] },
  ];
  for (let i = 0; i < matmuls; i++) nodes.push({ op: 'MatMul', inputs: [`h${i}`, 'Wk'], outputs: [`h${i + 1}`] });
  nodes.push(
    { op: 'ReduceMean', inputs: [`h${matmuls}`], outputs: ['m_rows'], attrs: { axes: { kind: 'ints', value: [2] }, keepdims: { kind: 'int', value: 0 } } },
    { op: 'ReduceMean', inputs: ['m_rows'], outputs: ['m'], attrs: { axes: { kind: 'ints', value: [1] }, keepdims: { kind: 'int', value: 1 } } },
    { op: 'Mul', inputs: ['m', 'zero'], outputs: ['nothing'] },
    { op: 'Add', inputs: ['p', 'nothing'], outputs: ['probability'] },
  );
  return {
    ...logisticRegression,
    name,
    initializers: [
      ...(logisticRegression.initializers ?? []),
      int64s('row_cube', [-1, 1, 1]),
      int64s('square', [1, k, k]),
      weights('Wk', [k, k], 12, Math.sqrt(3 / k)),
      { name: 'zero', dims: [], elemType: F, data: Float32Array.of(0) },
    ],
    nodes,
  };
}

/**
 * 16 MatMuls of 256³ per row (~0.5 GFLOP): on the 2-core development machine a request's p50 in
 * the runtime histogram is ~8 ms against logreg's ~0.8 ms (~10×); docs/lab.md.
 */
export const logregSlow: ModelDef = slowLogreg('logreg_slow', 256, 16);

// Silent regressions for the model-quality gates: the classifier's signature and a valid answer to
// every request (200, no error), but wrong predictions.

/** The classifier exported with input features 0 and 1 swapped (rows 0 and 1 of W exchanged). */
export const classifierSwapped: ModelDef = (() => {
  const w = classifier.initializers?.find((i) => i.name === 'W');
  if (!w || !(w.data instanceof Float32Array)) throw new Error('classifier has no float W');
  const data = Float32Array.from(w.data);
  for (let c = 0; c < 3; c++) [data[c], data[3 + c]] = [data[3 + c] ?? 0, data[c] ?? 0];
  return { ...classifier, name: 'classifier_swapped', initializers: [{ ...w, data }, ...(classifier.initializers ?? []).filter((i) => i.name !== 'W')] };
})();

/**
 * Sixteen rows on which `classifier` predicts classes 0/1/2 as 7/4/5 and `classifier_swapped` as
 * 3/7/6: a request carrying all of them moves the prediction distribution only if the model does.
 */
/** What `classifier` predicts for each of CLASSIFIER_MIXED_ROWS (its "ground truth" in the lab). */
export const CLASSIFIER_MIXED_CLASSES: readonly number[] = [0, 1, 0, 0, 2, 2, 2, 1, 1, 2, 0, 0, 0, 0, 1, 2];

export const CLASSIFIER_MIXED_ROWS: readonly (readonly number[])[] = [
  [-2.1, 3.3, 0.9, 3.4], [-3.6, 2.8, -1.1, -3.6], [-3.4, 3.9, 3.8, 0.3], [-0.4, 0.4, 0.8, 2.2], [2.2, -0.7, -0.2, 2.8], [-1.1, -0.1, -3.3, 2], [2.7, -1.1, -2.6, 3.9], [-3, -0.4, -0.3, -3.1],
  [-3.1, 1, 2.2, -3.3], [0.8, 3.4, -1.9, 0.7], [-1.2, -1.5, 0.1, 1.7], [-1.5, -2.7, 3, 1], [-1, 4, -0.1, -2.6], [-2, 3.4, 0.7, -0.1], [-2.6, -0.5, -2.6, -4], [1.5, 2.1, -2.8, 0.3],
];

/** The classifier answering class 2 for every input (its weights zeroed, the bias favouring class 2). */
export const classifierConstant: ModelDef = {
  ...classifier,
  name: 'classifier_constant',
  initializers: [{ name: 'W', dims: [4, 3], elemType: ElemType.FLOAT, data: new Float32Array(12) }, { name: 'b', dims: [3], elemType: ElemType.FLOAT, data: Float32Array.from([0, 0, 5]) }],
};

// Same-input comparison (shadow steps): a canary that is the classifier again, exported another way,
// and canaries that change a known share of its predictions, plus a regressor pair.

/** The classifier re-exported: one Gemm instead of MatMul + Add, an Identity on the way; the same function. */
export const classifierReexport: ModelDef = {
  ...classifier,
  name: 'classifier_reexport',
  nodes: [
    { op: 'Identity', inputs: ['features'], outputs: ['x'] },
    { op: 'Gemm', inputs: ['x', 'W', 'b'], outputs: ['logits'] },
    { op: 'Softmax', inputs: ['logits'], outputs: ['probabilities'], attrs: { axis: { kind: 'int', value: -1 } } },
    { op: 'ArgMax', inputs: ['probabilities'], outputs: ['label'], attrs: { axis: { kind: 'int', value: 1 }, keepdims: { kind: 'int', value: 0 } } },
  ],
};

/** Feature 0 of SHADOW_ROWS is uniform on [-SHADOW_SPREAD, SHADOW_SPREAD]. */
export const SHADOW_SPREAD = 4;

/**
 * The classifier, except that on `percent`% of inputs (those whose feature 0 lies in the top
 * `percent`% of [-4, 4]) its label is the next class ((label + 1) mod 3): a canary that changes
 * that share of predictions, every answer still a 200.
 */
export function classifierFlipped(percent: number): ModelDef {
  const threshold = percent >= 100 ? -2 * SHADOW_SPREAD : SHADOW_SPREAD - (2 * SHADOW_SPREAD * percent) / 100;
  return {
    ...classifier,
    name: `classifier_flip_${percent}`,
    initializers: [
      ...(classifier.initializers ?? []),
      int64s('col0', [0]),
      int64s('axis1', [1]),
      { name: 'threshold', dims: [1], elemType: ElemType.FLOAT, data: Float32Array.from([threshold]) },
      int64s('three', [3]),
    ],
    nodes: [
      { op: 'MatMul', inputs: ['features', 'W'], outputs: ['z0'] },
      { op: 'Add', inputs: ['z0', 'b'], outputs: ['logits'] },
      { op: 'Softmax', inputs: ['logits'], outputs: ['probabilities'], attrs: { axis: { kind: 'int', value: -1 } } },
      { op: 'ArgMax', inputs: ['probabilities'], outputs: ['label0'], attrs: { axis: { kind: 'int', value: 1 }, keepdims: { kind: 'int', value: 0 } } },
      { op: 'Gather', inputs: ['features', 'col0'], outputs: ['x0col'], attrs: { axis: { kind: 'int', value: 1 } } },
      { op: 'Squeeze', inputs: ['x0col', 'axis1'], outputs: ['x0'] },
      { op: 'Greater', inputs: ['x0', 'threshold'], outputs: ['flip'] },
      { op: 'Cast', inputs: ['flip'], outputs: ['flip64'], attrs: { to: { kind: 'int', value: ElemType.INT64 } } },
      { op: 'Add', inputs: ['label0', 'flip64'], outputs: ['shifted'] },
      { op: 'Mod', inputs: ['shifted', 'three'], outputs: ['label'] },
    ],
  };
}

/** Rows for shadow traffic: feature 0 uniform on [-4, 4] (so classifier_flip_P changes P% of them), the rest as the classifier's lab rows. */
export function shadowRows(n: number, seed: number): number[][] {
  const r = rng(seed);
  return Array.from({ length: n }, () => [(r() * 2 - 1) * SHADOW_SPREAD, (r() * 2 - 1) * 4, (r() * 2 - 1) * 4, (r() * 2 - 1) * 4]);
}

/** The regressor canary's shift: small against its outputs (|value| ~ 1–5), far above float noise. */
export const REGRESSOR_BIAS = 0.05;

/** A linear regressor (output `value`, [batch, 1]); `bias` is added to its intercept. */
export function regressor(bias: number): ModelDef {
  const b = weights('b', [1], 12);
  (b.data as Float32Array)[0] = ((b.data as Float32Array)[0] ?? 0) + bias;
  return {
    name: bias === 0 ? 'regressor' : 'regressor_biased',
    opset: 17,
    inputs: [{ name: 'features', elemType: F, shape: ['batch', 4] }],
    outputs: [{ name: 'value', elemType: F, shape: ['batch', 1] }],
    initializers: [weights('W', [4, 1], 11), b],
    nodes: [
      { op: 'MatMul', inputs: ['features', 'W'], outputs: ['z0'] },
      { op: 'Add', inputs: ['z0', 'b'], outputs: ['value'] },
    ],
  };
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  const models = ensureTestModels();
  for (const [name, m] of Object.entries(models)) console.log(`${name.padEnd(18)} ${String(m.bytes).padStart(9)} B  ${m.digest}`);
  for (const [name, d] of Object.entries(ensureTestModelDirs())) console.log(`${(name + '/').padEnd(18)} ${String(Object.keys(d.files).length).padStart(7)} files  ${d.digest} (manifest)`);
  if (process.argv.includes('--bench')) {
    for (const [name, m] of Object.entries(ensureBenchModels())) console.log(`${name.padEnd(18)} ${String(m.bytes).padStart(9)} B  ${m.digest}`);
  }
}
