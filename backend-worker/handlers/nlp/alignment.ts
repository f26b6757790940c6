// Tokens of one text with their character offsets and word indices. @huggingface/tokenizers gives
// tokens but no offset mapping, so its pipeline is replayed step by step (added tokens split out,
// normalizer per character, pre-tokenizer, model per word) keeping track of where each token came
// from; the replay must give exactly the library's tokens, else a best-effort search is used.
// Offsets count Unicode code points of the original text, as Python's (so transformers') do.
import type { Tokenizer } from '@huggingface/tokenizers';
import { AddedTokens } from './added-tokens.js';

export interface Piece {
  token: string;
  id: number;
  /** Code-point offsets into the original text: [start, end). */
  start: number;
  end: number;
  /** Index of the pre-tokenizer word the token belongs to (an added token is a word of its own). */
  word: number;
}

interface Normalized {
  text: string;
  /** For each UTF-16 unit of `text`, the code-point index in the original text it came from. */
  origin: number[];
  /** Code-point index just past the normalized part of the original text. */
  end: number;
}

export class TokenAligner {
  private readonly unkToken: string | undefined;
  private readonly added: AddedTokens;
  /** WordPiece's `##`, when the model has one (then subword detection is exact). */
  readonly subwordPrefix: string | undefined;

  constructor(private readonly tok: Tokenizer) {
    const model = tok.model as unknown as { unk_token?: string; config?: { continuing_subword_prefix?: string } } | null;
    this.unkToken = model?.unk_token;
    this.subwordPrefix = model?.config?.continuing_subword_prefix || undefined;
    this.added = new AddedTokens(tok);
  }

  get unkId(): number | undefined {
    return this.unkToken === undefined ? undefined : this.tok.token_to_id(this.unkToken);
  }

  /** The id the library gives a token: added tokens first, then the vocabulary, else unknown. */
  idOf(token: string): number {
    const id = this.added.idOf(token) ?? this.tok.token_to_id(token) ?? this.unkId;
    if (id === undefined) throw new Error(`Token ${JSON.stringify(token)} is not in the vocabulary and the tokenizer has no unknown token.`);
    return id;
  }

  /** The tokens of `text` (no special tokens around it) with offsets; always the library's tokens. */
  pieces(text: string): Piece[] {
    const reference = this.tok.tokenize(text, { add_special_tokens: false });
    const replayed = this.replay(text);
    if (replayed && replayed.length === reference.length && replayed.every((p, i) => p.token === reference[i])) return replayed;
    return this.search(this.normalize(text, 0), reference);
  }

  private normalize(text: string, base: number): Normalized {
    const normalizer = this.tok.normalizer;
    let out = '';
    const origin: number[] = [];
    let cp = base;
    for (const ch of text) {
      const n = normalizer ? normalizer(ch) : ch;
      for (let k = 0; k < n.length; k++) origin.push(cp);
      out += n;
      cp++;
    }
    return { text: out, origin, end: cp };
  }

  /** Code-point span in the original text of the normalized UTF-16 range [from, to). */
  private span(n: Normalized, from: number, to: number): [number, number] {
    if (from >= n.origin.length) return [n.end, n.end];
    const start = n.origin[from];
    return to > from ? [start, n.origin[to - 1] + 1] : [start, start];
  }

  private replay(text: string): Piece[] | null {
    const cp: number[] = [];
    let count = 0;
    for (const ch of text) {
      for (let k = 0; k < ch.length; k++) cp.push(count);
      count++;
    }
    cp.push(count);
    const out: Piece[] = [];
    let word = 0;
    const sections = this.added.split(text, false);
    for (let si = 0; si < sections.length; si++) {
      const sec = sections[si];
      if (sec.token !== undefined) {
        out.push({ token: sec.token, id: this.idOf(sec.token), start: cp[sec.from], end: cp[sec.to], word: word++ });
        continue;
      }
      const n = this.normalize(text.slice(sec.from, sec.to), cp[sec.from]);
      for (const sub of this.added.split(n.text, true)) {
        if (sub.token !== undefined) {
          const [start, end] = this.span(n, sub.from, sub.to);
          out.push({ token: sub.token, id: this.idOf(sub.token), start, end, word: word++ });
          continue;
        }
        const part = n.text.slice(sub.from, sub.to);
        const words = this.tok.pre_tokenizer ? this.tok.pre_tokenizer(part, { section_index: si }) : [part];
        let cursor = sub.from;
        for (const w of words) {
          const at = n.text.indexOf(w, cursor);
          if (at < 0 || w.length === 0 || at + w.length > sub.to) return null;
          cursor = at + w.length;
          if (!this.replayWord(n, w, at, word++, out)) return null;
        }
      }
    }
    return out;
  }

  /** The model's tokens of one word, each found in turn inside the word. */
  private replayWord(n: Normalized, word: string, at: number, index: number, out: Piece[]): boolean {
    const wordEnd = at + word.length;
    let q = at;
    const tokens = this.tok.model ? this.tok.model([word]) : [word];
    for (let t = 0; t < tokens.length; t++) {
      const token = tokens[t];
      let to: number;
      if (token === this.unkToken) {
        to = wordEnd; // WordPiece gives one unknown token for the whole (rest of the) word.
      } else {
        const surface = t > 0 && this.subwordPrefix && token.startsWith(this.subwordPrefix) ? token.slice(this.subwordPrefix.length) : token;
        if (!n.text.startsWith(surface, q) || q + surface.length > wordEnd) return false;
        to = q + surface.length;
      }
      const [start, end] = this.span(n, q, to);
      out.push({ token, id: this.idOf(token), start, end, word: index });
      q = to;
    }
    return true;
  }

  /**
   * Best effort for tokenizers whose words are not substrings of the normalized text (byte-level BPE,
   * Metaspace): each token's decoded text is searched for in order; an unknown token takes one character.
   */
  private search(n: Normalized, tokens: string[]): Piece[] {
    const haystack = n.text.toLowerCase();
    const out: Piece[] = [];
    let cursor = 0;
    let word = -1;
    for (const token of tokens) {
      const continues = this.subwordPrefix !== undefined && token.startsWith(this.subwordPrefix);
      let from: number;
      let to: number;
      if (token === this.unkToken) {
        from = cursor + (haystack.slice(cursor).length - haystack.slice(cursor).trimStart().length);
        to = Math.min(haystack.length, from + (String.fromCodePoint(haystack.codePointAt(from) ?? 32).length));
      } else {
        let surface = this.tok.decoder ? this.tok.decoder.decode([token]) : token;
        if (continues) surface = surface.replace(this.subwordPrefix!, '');
        surface = surface.trim().toLowerCase();
        const at = surface ? haystack.indexOf(surface, cursor) : -1;
        [from, to] = at >= 0 ? [at, at + surface.length] : [cursor, cursor];
      }
      const gap = haystack.slice(cursor, from);
      const newWord = this.subwordPrefix !== undefined ? !continues : out.length === 0 || /\s/.test(gap) || /\s/.test(haystack[from - 1] ?? ' ');
      if (newWord || word < 0) word++;
      cursor = to;
      const [start, end] = this.span(n, from, to);
      out.push({ token, id: this.idOf(token), start, end, word });
    }
    return out;
  }

  /** transformers' convert_tokens_to_string: the backend decoder, else tokens joined by spaces. */
  tokensToString(tokens: string[]): string {
    return this.tok.decoder ? this.tok.decoder.decode(tokens) : tokens.join(' ');
  }
}
