// The tokenizer's added tokens ([CLS], [MASK], user-added words) found in a text the way
// @huggingface/tokenizers finds them: leftmost, longest match first; non-normalized tokens in the raw
// text, normalized ones in the normalized text; lstrip/rstrip eat the whitespace next to them.
import type { Tokenizer } from '@huggingface/tokenizers';

export interface Section {
  /** UTF-16 range in the text that was split. */
  from: number;
  to: number;
  /** The added token's text, when the section is one. */
  token?: string;
}

interface Trie {
  next: Map<string, Trie>;
  end?: string;
}

interface AddedInfo {
  id: number;
  lstrip: boolean;
  rstrip: boolean;
}

export class AddedTokens {
  private readonly raw: Trie = { next: new Map() };
  private readonly normalized: Trie = { next: new Map() };
  /** By content (and by normalized content for normalized tokens). */
  private readonly byContent = new Map<string, AddedInfo>();

  constructor(tok: Tokenizer) {
    for (const t of tok.get_added_tokens_decoder().values()) {
      const info = { id: t.id, lstrip: t.lstrip, rstrip: t.rstrip };
      this.byContent.set(t.content, info);
      if (t.normalized && tok.normalizer) {
        const content = tok.normalizer(t.content);
        this.byContent.set(content, info);
        insert(this.normalized, content);
      } else {
        insert(this.raw, t.content);
      }
    }
  }

  idOf(token: string): number | undefined {
    return this.byContent.get(token)?.id;
  }

  /** Splits raw text (`normalized` false) or normalized text (true) around added tokens. */
  split(text: string, normalized: boolean): Section[] {
    const trie = normalized ? this.normalized : this.raw;
    const out: Section[] = [];
    let start = 0;
    let i = 0;
    while (i < text.length) {
      let node: Trie | undefined = trie;
      let match: string | undefined;
      for (let j = i; j < text.length && (node = node.next.get(text[j])); j++) if (node.end) match = node.end;
      if (match) {
        if (i > start) out.push({ from: start, to: i });
        out.push({ from: i, to: i + match.length, token: match });
        i += match.length;
        start = i;
      } else {
        i++;
      }
    }
    if (start < text.length) out.push({ from: start, to: text.length });
    // lstrip / rstrip: the neighbouring text loses its whitespace on that side.
    out.forEach((s, k) => {
      const info = s.token === undefined ? undefined : this.byContent.get(s.token);
      const before = out[k - 1];
      const after = out[k + 1];
      if (info?.lstrip && before && before.token === undefined) before.to = before.from + text.slice(before.from, before.to).trimEnd().length;
      if (info?.rstrip && after && after.token === undefined) after.from = after.to - text.slice(after.from, after.to).trimStart().length;
    });
    return out.filter((s) => s.token !== undefined || s.to > s.from);
  }
}

function insert(trie: Trie, word: string): void {
  let node = trie;
  for (const ch of word) {
    // Keyed by UTF-16 unit, as the text is walked.
    for (let k = 0; k < ch.length; k++) {
      let next = node.next.get(ch[k]);
      if (!next) node.next.set(ch[k], (next = { next: new Map() }));
      node = next;
    }
  }
  node.end = word;
}
