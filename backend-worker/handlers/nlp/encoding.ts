// Model inputs from texts: the tokens of one or two sequences wrapped by the tokenizer's
// post-processor ([CLS] a [SEP] b [SEP] for BERT), with per-token offsets, word and sequence ids,
// and the length policy: an input longer than the model's maximum length is refused with 413
// unless the request asks for truncation.
import { Tokenizer } from '@huggingface/tokenizers';
import { HandlerError } from '../../handler-api.js';
import { TokenAligner, type Piece } from './alignment.js';

export interface Encoding {
  ids: number[];
  tokens: string[];
  typeIds: number[];
  /** Code-point offsets into the text of the token's own sequence; [0, 0] for special tokens. */
  offsets: Array<[number, number]>;
  /** Word index within the token's sequence; null for special tokens. */
  wordIds: Array<number | null>;
  /** 0 for the first text, 1 for the second, null for special tokens. */
  sequenceIds: Array<0 | 1 | null>;
}

export class NlpTokenizer {
  readonly aligner: TokenAligner;

  constructor(
    private readonly tok: Tokenizer,
    readonly maxLength: number,
  ) {
    this.aligner = new TokenAligner(tok);
  }

  static fromJson(tokenizerJson: object, tokenizerConfig: object, maxLength: number): NlpTokenizer {
    return new NlpTokenizer(new Tokenizer(tokenizerJson, tokenizerConfig), maxLength);
  }

  pieces(text: string): Piece[] {
    return this.aligner.pieces(text);
  }

  idOf(token: string): number | undefined {
    return this.tok.token_to_id(token);
  }

  /** One text, with special tokens; too long → 413, or cut to the maximum length when `truncate`. */
  encode(text: string, truncate: boolean): Encoding {
    const pieces = this.pieces(text);
    const full = this.assemble(pieces);
    if (full.ids.length <= this.maxLength) return full;
    if (!truncate) throw tooLong(full.ids.length, this.maxLength);
    const specials = full.ids.length - pieces.length;
    return this.assemble(pieces.slice(0, Math.max(0, this.maxLength - specials)));
  }

  /**
   * Wraps one or two token sequences with the post-processor's special tokens. The post-processor
   * gets placeholders, so a special token's text inside the input is never taken for the template's.
   */
  assemble(a: Piece[], b?: Piece[]): Encoding {
    const pa = a.map((_, i) => `\u0000a${i}`);
    const pb = b?.map((_, i) => `\u0000b${i}`);
    const processed: { tokens: string[]; token_type_ids?: number[] } = this.tok.post_processor
      ? this.tok.post_processor(pa, pb ?? null, true)
      : { tokens: [...pa, ...(pb ?? [])], token_type_ids: undefined };
    const enc: Encoding = { ids: [], tokens: [], typeIds: [], offsets: [], wordIds: [], sequenceIds: [] };
    let seen = 0;
    let inSecond = false;
    processed.tokens.forEach((t, k) => {
      const m = /^\u0000([ab])(\d+)$/.exec(t);
      const seq: 0 | 1 | null = m ? (m[1] === 'a' ? 0 : 1) : null;
      const piece = m ? (m[1] === 'a' ? a : b!)[Number(m[2])] : undefined;
      if (seq === 1) inSecond = true;
      if (piece) seen++;
      enc.tokens.push(piece ? piece.token : t);
      enc.ids.push(piece ? piece.id : this.aligner.idOf(t));
      enc.offsets.push(piece ? [piece.start, piece.end] : [0, 0]);
      enc.wordIds.push(piece ? piece.word : null);
      enc.sequenceIds.push(seq);
      enc.typeIds.push(processed.token_type_ids?.[k] ?? (inSecond ? 1 : 0));
    });
    if (seen !== a.length + (b?.length ?? 0)) throw new Error('The tokenizer post-processor changed the tokens of the input.');
    return enc;
  }
}

export function tooLong(tokens: number, max: number): HandlerError {
  return new HandlerError(
    413,
    `Input is ${tokens} tokens long, more than the model's maximum of ${max}; send "truncation": true (or truncation=true) to truncate it.`,
  );
}

/**
 * The longest input the model takes: config.json's max_position_embeddings and tokenizer_config.json's
 * model_max_length, the smaller wins (RoBERTa-style models reserve positions, so the tokenizer's is
 * the right one there); a manifest's model.extensions.maxLength may lower it further.
 */
export function maxLengthOf(config: Record<string, unknown>, tokenizerConfig: Record<string, unknown>, override?: number): number {
  const candidates = [config.max_position_embeddings, tokenizerConfig.model_max_length, override].filter(
    (v): v is number => typeof v === 'number' && Number.isInteger(v) && v > 0 && v < 1e9,
  );
  return candidates.length ? Math.min(...candidates) : 512;
}
