// The model's tensor signature in v2 terms, read once from the session metadata. Pure: the request
// validator and the batcher work against this, never against onnxruntime objects.
import { ORT_TO_V2, type V2Datatype } from './datatypes.ts';

/** A dimension: a fixed size, or a symbolic/unknown one (name or -1). */
export type Dim = number | string;

export interface TensorSpec {
  name: string;
  datatype: V2Datatype;
  shape: Dim[];
}

export interface ModelSignature {
  inputs: TensorSpec[];
  outputs: TensorSpec[];
}

export const isDynamic = (d: Dim): boolean => typeof d === 'string' || d < 0;

/** v2 metadata uses -1 for a dynamic dimension. */
export const v2Shape = (shape: readonly Dim[]): number[] => shape.map((d) => (isDynamic(d) ? -1 : (d as number)));

export interface OrtValueMetadata {
  name: string;
  isTensor: boolean;
  type?: string;
  shape?: ReadonlyArray<number | string>;
}

export function signatureFromMetadata(
  inputs: readonly OrtValueMetadata[],
  outputs: readonly OrtValueMetadata[],
): { signature: ModelSignature; unsupported: string[] } {
  const unsupported: string[] = [];
  const convert = (m: OrtValueMetadata): TensorSpec | undefined => {
    const datatype = m.isTensor && m.type ? ORT_TO_V2[m.type] : undefined;
    if (!datatype) {
      unsupported.push(`${m.name} (${m.isTensor ? m.type : 'non-tensor'})`);
      return undefined;
    }
    return { name: m.name, datatype, shape: [...(m.shape ?? [])] };
  };
  return {
    signature: {
      inputs: inputs.map(convert).filter((x): x is TensorSpec => x !== undefined),
      outputs: outputs.map(convert).filter((x): x is TensorSpec => x !== undefined),
    },
    unsupported,
  };
}

/** Dynamic batching needs a dynamic first dimension on every input and output. */
export function isBatchable(sig: ModelSignature): boolean {
  const firstDynamic = (t: TensorSpec): boolean => t.shape.length > 0 && isDynamic(t.shape[0] as Dim);
  return sig.inputs.length > 0 && sig.inputs.every(firstDynamic) && sig.outputs.every(firstDynamic);
}
