// Kubernetes resource quantities ("500m", "2Gi", "1e3") as plain numbers, enough for the
// downward API's resourceFieldRef and for GPU admission. One parser for the project: the operator's
// (exact, as the API server reads quantities), here as a number with the kubelet's error.
import { quantityValue } from '../../../operator/src/kube/quantity.ts';
import { KubeletError } from './errors.ts';

export function parseQuantity(text: string | number): number {
  const value = quantityValue(text);
  if (value === undefined) throw new KubeletError('QUANTITY_INVALID', `"${text}" is not a Kubernetes quantity (examples: 500m, 2, 128Mi, 1e3)`);
  return value;
}
