// config.properties as java.util.Properties reads it (docs/configuration.md, Config file and
// precedence). properties-reader only knows `key=value` lines, so the file's logical lines are decoded
// here (comments, separators, continuations, escapes) and handed to it in that plain form.
import { readFileSync } from 'node:fs';
import { propertiesReader } from 'properties-reader';

/** The file's entries, in order; a repeated key keeps its last value. */
export function readPropertiesFile(file: string): Record<string, string> {
  const reader = propertiesReader({});
  const plain: string[] = [];
  for (const [key, value] of parseProperties(readFileSync(file, 'utf8'))) {
    // properties-reader trims both sides and cuts the key at the first '=' or '#': such entries are
    // set directly, the rest go through its reader as `key=value` lines.
    if (/[=#\r\n]|^\s|\s$|^$/.test(key) || /[\r\n]|^\s|\s$/.test(value) || /^\[.*\]$/.test(key)) {
      reader.read(plain.splice(0).join('\n'));
      reader.set(key, value);
    } else {
      plain.push(`${key}=${value}`);
    }
  }
  reader.read(plain.join('\n'));
  return Object.fromEntries(Object.entries(reader.getAllProperties()).map(([k, v]) => [k, String(v)]));
}

export class PropertiesSyntaxError extends Error {
  override name = 'PropertiesSyntaxError';
}

/** Decodes Java properties text into [key, value] pairs. */
export function parseProperties(text: string): Array<[string, string]> {
  const entries: Array<[string, string]> = [];
  for (const { line, number } of logicalLines(text)) {
    const [rawKey, rawValue] = splitKey(line);
    try {
      entries.push([unescape(rawKey), unescape(rawValue)]);
    } catch (err) {
      throw new PropertiesSyntaxError(`line ${number}: ${(err as Error).message}`);
    }
  }
  return entries;
}

/** Comment and blank lines dropped, leading blanks cut, continuation lines joined; numbered from 1. */
function* logicalLines(text: string): Generator<{ line: string; number: number }> {
  const lines = text.split(/\r\n|\r|\n/);
  for (let i = 0; i < lines.length; i++) {
    let line = trimStart(lines[i]);
    const number = i + 1;
    if (line === '' || line.startsWith('#') || line.startsWith('!')) continue;
    // An odd number of trailing backslashes continues the line; an even number is escaped backslashes.
    while (trailingBackslashes(line) % 2 === 1) {
      line = line.slice(0, -1);
      if (++i >= lines.length) break;
      line += trimStart(lines[i]);
    }
    yield { line, number };
  }
}

/** Key up to the first unescaped '=', ':' or blank; the separator and the blanks around it dropped. */
function splitKey(line: string): [string, string] {
  let i = 0;
  while (i < line.length && !isSeparator(line[i])) i += line[i] === '\\' ? 2 : 1;
  const key = line.slice(0, i);
  while (i < line.length && isBlank(line[i])) i++;
  if (line[i] === '=' || line[i] === ':') i++;
  while (i < line.length && isBlank(line[i])) i++;
  return [key, line.slice(i)];
}

const ESCAPES: Record<string, string> = { t: '\t', n: '\n', r: '\r', f: '\f' };

/** \uXXXX, \t \n \r \f; any other escaped character stands for itself (\=, \:, \\, \ , \#). */
function unescape(s: string): string {
  return s.replace(/\\(u.{0,4}|.|$)/g, (_, c: string) => {
    if (c[0] !== 'u') return ESCAPES[c] ?? c;
    // java.util.Properties refuses these too (IllegalArgumentException).
    if (!/^u[0-9a-fA-F]{4}$/.test(c)) throw new Error(`malformed \\uxxxx escape: \\${c}`);
    return String.fromCharCode(parseInt(c.slice(1), 16));
  });
}

const isBlank = (c: string) => c === ' ' || c === '\t' || c === '\f';
const isSeparator = (c: string) => c === '=' || c === ':' || isBlank(c);
const trimStart = (s: string) => s.replace(/^[ \t\f]+/, '');

function trailingBackslashes(s: string): number {
  let n = 0;
  while (n < s.length && s[s.length - 1 - n] === '\\') n++;
  return n;
}
