// The execution provider the model's sessions run on, e.g. `cuda:0` or `cpu`, for the Load reply. Kept
// apart from onnx-session.ts so that reading it does not load onnxruntime-node (node-runtime handlers).
let provider: string | undefined;

export const providerInUse = (): string | undefined => provider;

export function setProviderInUse(name: string): void {
  provider = name;
}
