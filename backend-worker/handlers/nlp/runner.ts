// Runs encoded rows through the ONNX session as one right-padded batch: input_ids padded with the
// pad token, attention_mask 1/0, token_type_ids and position_ids when the graph takes them, int64
// (or int32 where the graph says so). Each row gets back its slice of every output.
import { ort, inputSpecs, type InputSpec, type Session } from '../../onnx-session.js';

export interface Row {
  ids: number[];
  typeIds: number[];
}

export interface RowTensor {
  /** The row's part of the output, row-major; token axes keep the padded length. */
  data: Float32Array;
  /** Shape without the batch axis. */
  dims: number[];
}

export type RowOutputs = Record<string, RowTensor>;

const KNOWN_INPUTS = ['input_ids', 'attention_mask', 'token_type_ids', 'position_ids'];

export class BatchRunner {
  private readonly specs: InputSpec[];

  constructor(
    private readonly session: Session,
    private readonly padId: number,
  ) {
    this.specs = inputSpecs(session);
    const unknown = this.specs.filter((s) => !KNOWN_INPUTS.includes(s.name)).map((s) => s.name);
    if (!this.specs.some((s) => s.name === 'input_ids')) throw new Error(`The model has no input_ids input (inputs: ${session.inputNames.join(', ')}).`);
    if (unknown.length) throw new Error(`The model takes inputs the NLP handlers cannot feed: ${unknown.join(', ')}.`);
  }

  get outputNames(): readonly string[] {
    return this.session.outputNames;
  }

  async run(rows: Row[]): Promise<RowOutputs[]> {
    if (rows.length === 0) return [];
    const batch = rows.length;
    const len = Math.max(1, ...rows.map((r) => r.ids.length));
    const values: Record<string, (row: Row, t: number) => number> = {
      input_ids: (r, t) => (t < r.ids.length ? r.ids[t] : this.padId),
      attention_mask: (r, t) => (t < r.ids.length ? 1 : 0),
      token_type_ids: (r, t) => (t < r.ids.length ? r.typeIds[t] : 0),
      position_ids: (_r, t) => t,
    };
    const feeds: Record<string, ort.Tensor> = {};
    for (const spec of this.specs) {
      const value = values[spec.name];
      if (spec.type === 'int32') {
        const data = new Int32Array(batch * len);
        rows.forEach((r, b) => { for (let t = 0; t < len; t++) data[b * len + t] = value(r, t); });
        feeds[spec.name] = new ort.Tensor('int32', data, [batch, len]);
      } else {
        const data = new BigInt64Array(batch * len);
        rows.forEach((r, b) => { for (let t = 0; t < len; t++) data[b * len + t] = BigInt(value(r, t)); });
        feeds[spec.name] = new ort.Tensor('int64', data, [batch, len]);
      }
    }
    const results = await this.session.run(feeds);
    const out: RowOutputs[] = rows.map(() => ({}));
    for (const name of this.session.outputNames) {
      const tensor = results[name];
      const dims = tensor.dims.slice(1).map(Number);
      const size = dims.reduce((a, b) => a * b, 1);
      const data = tensor.data instanceof Float32Array ? tensor.data : Float32Array.from(tensor.data as ArrayLike<number>);
      for (let b = 0; b < batch; b++) out[b][name] = { data: data.subarray(b * size, (b + 1) * size), dims };
    }
    return out;
  }
}

/** The output called `preferred` (first match), else the model's output at `fallbackIndex`. */
export function pickOutput(outputs: RowOutputs, names: readonly string[], preferred: string[], fallbackIndex = 0): RowTensor {
  const name = preferred.find((n) => names.includes(n)) ?? names[fallbackIndex];
  const tensor = name === undefined ? undefined : outputs[name];
  if (!tensor) throw new Error(`The model has no output ${preferred.join(' or ')}.`);
  return tensor;
}
