// A minimal gRPC client of inference.GRPCInferenceService for tests and the benchmark: messages go
// as bytes (runtime/src/grpc/messages.ts builds and reads them), calls by method name.
import { Client, Metadata, credentials, type ServiceError } from '@grpc/grpc-js';

export interface GrpcCallError {
  code: number;
  details: string;
}

export interface InferenceClient {
  /** Calls `/inference.GRPCInferenceService/<method>` with a serialized request (and metadata); resolves with the serialized response. */
  call(method: string, request: Buffer, metadata?: Record<string, string>): Promise<Buffer>;
  /** The call's error ({code, details}), or undefined when it succeeded. */
  error(method: string, request: Buffer): Promise<GrpcCallError | undefined>;
  close(): void;
}

export function inferenceClient(address: string, options: Record<string, number> = {}): InferenceClient {
  const client = new Client(address, credentials.createInsecure(), { 'grpc.max_receive_message_length': -1, 'grpc.max_send_message_length': -1, ...options });
  const call = (method: string, request: Buffer, metadata: Record<string, string> = {}) =>
    new Promise<Buffer>((resolve, reject) => {
      const md = new Metadata();
      for (const [k, v] of Object.entries(metadata)) md.set(k, v);
      client.makeUnaryRequest(
        `/inference.GRPCInferenceService/${method}`,
        (b: Buffer) => b,
        (b: Buffer) => b,
        request,
        md,
        (err: ServiceError | null, value?: Buffer) => (err ? reject(err) : resolve(value as Buffer)),
      );
    });
  return {
    call,
    error: (method, request) =>
      call(method, request).then(
        () => undefined,
        (err: ServiceError) => ({ code: err.code, details: err.details }),
      ),
    close: () => client.close(),
  };
}
