import { isUtf8 } from 'node:buffer';
import { ErrorReason } from '../../errors.js';
import { ANSWER_KEYS } from './bulk-format.model.js';

/**
 * Reads an import file as rows, streaming: JSON Lines (one value per line), or whole
 * `portrait_get` answers in any layout, split into their `UserProfileItem` elements. Each row keeps
 * the line it starts on. Memory stays bounded by the longest row, not the file.
 */

/** One row of the file: its parsed JSON, or why its text is not JSON. */
export interface SourceRow {
  readonly line: number;
  readonly value?: unknown;
  readonly malformed?: { readonly reason: ErrorReason; readonly detail: string };
}

export type Layout = 'lines' | 'answers';

/** The file cannot be read any further (a broken answer, bytes that are not UTF-8 in one). */
export class FileSyntaxError extends Error {
  constructor(
    readonly line: number,
    message: string,
  ) {
    super(message);
    this.name = 'FileSyntaxError';
  }
}

/** A row longer than this is refused (a profile is a few KiB at most). */
export const MAX_ROW_BYTES = 1024 * 1024;

const NEWLINE = 0x0a;

/** Whether a file starting with `head` holds portrait_get answers: its first key is one of an answer's. */
export function sniffLayout(head: string): Layout {
  const match = /^\uFEFF?\s*\{\s*"((?:[^"\\]|\\.)*)"/.exec(head);
  return match !== null && ANSWER_KEYS.has(match[1]) ? 'answers' : 'lines';
}

function parsed(line: number, text: string): SourceRow {
  try {
    return { line, value: JSON.parse(text) };
  } catch (error) {
    return {
      line,
      malformed: { reason: ErrorReason.INVALID_VALUE, detail: `is not JSON: ${(error as Error).message}` },
    };
  }
}

/** Splits bytes into lines and parses each; a blank line is no row. */
class LineReader {
  private line = 0;
  private leftover: Buffer | undefined;
  /** The current line outgrew MAX_ROW_BYTES: its bytes are dropped up to its newline. */
  private oversized = false;

  push(chunk: Buffer, rows: SourceRow[]): void {
    let data = this.leftover === undefined ? chunk : Buffer.concat([this.leftover, chunk]);
    this.leftover = undefined;
    if (this.oversized) {
      const end = data.indexOf(NEWLINE);
      if (end < 0) return;
      this.oversized = false;
      data = data.subarray(end + 1);
    }
    const cut = data.lastIndexOf(NEWLINE);
    if (cut < 0) return this.keep(data, rows);
    this.parse(data.subarray(0, cut + 1), rows);
    this.keep(data.subarray(cut + 1), rows);
  }

  end(rows: SourceRow[]): void {
    if (this.leftover !== undefined && this.leftover.length > 0) this.parse(this.leftover, rows);
    this.leftover = undefined;
  }

  private keep(rest: Buffer, rows: SourceRow[]): void {
    if (rest.length <= MAX_ROW_BYTES) {
      // A copy: the chunk it points into would otherwise stay alive with it.
      this.leftover = Buffer.from(rest);
      return;
    }
    this.line += 1;
    this.oversized = true;
    rows.push({
      line: this.line,
      malformed: { reason: ErrorReason.TOO_LONG, detail: `is longer than ${MAX_ROW_BYTES} bytes` },
    });
  }

  /** Whole lines (the last one may lack its newline at the end of the file). */
  private parse(bytes: Buffer, rows: SourceRow[]): void {
    if (isUtf8(bytes)) {
      this.parseText(bytes.toString('utf8'), rows);
      return;
    }
    let start = 0;
    while (start < bytes.length) {
      let end = bytes.indexOf(NEWLINE, start);
      if (end < 0) end = bytes.length;
      const lineBytes = bytes.subarray(start, end + 1);
      if (isUtf8(lineBytes)) this.parseText(lineBytes.toString('utf8'), rows);
      else {
        this.line += 1;
        rows.push({
          line: this.line,
          malformed: { reason: ErrorReason.INVALID_CHARACTERS, detail: 'is not UTF-8 text' },
        });
      }
      start = end + 1;
    }
  }

  private parseText(text: string, rows: SourceRow[]): void {
    let start = 0;
    while (start < text.length) {
      let end = text.indexOf('\n', start);
      if (end < 0) end = text.length;
      this.line += 1;
      let raw = text.slice(start, end);
      start = end + 1;
      if (raw.endsWith('\r')) raw = raw.slice(0, -1);
      if (this.line === 1 && raw.startsWith('\uFEFF')) raw = raw.slice(1);
      if (raw.length === 0 || (raw.charCodeAt(0) <= 32 && raw.trim() === '')) continue;
      rows.push(parsed(this.line, raw));
    }
  }
}

type AnswerState =
  'top' | 'first-key' | 'key' | 'colon' | 'value' | 'items-open' | 'first-item' | 'item' | 'after-item' | 'after-value';

const isSpace = (code: number): boolean => code === 0x20 || code === 0x0a || code === 0x0d || code === 0x09;

/** The end of the JSON string starting at `start` (its opening quote), or -1 when it goes on past `text`. */
function stringEnd(text: string, start: number): number {
  let at = start;
  for (;;) {
    at = text.indexOf('"', at + 1);
    if (at < 0) return -1;
    let backslashes = 0;
    while (text.charCodeAt(at - 1 - backslashes) === 0x5c) backslashes += 1;
    if (backslashes % 2 === 0) return at + 1;
  }
}

/** The end of the JSON value starting at `start`, or -1 when it goes on past `text`. */
function valueEnd(text: string, start: number): number {
  const first = text.charCodeAt(start);
  if (first === 0x22) return stringEnd(text, start);
  if (first !== 0x7b && first !== 0x5b) {
    // A number or a literal: up to the next delimiter.
    for (let at = start; at < text.length; at += 1) {
      const code = text.charCodeAt(at);
      if (code === 0x2c || code === 0x7d || code === 0x5d || isSpace(code)) return at;
    }
    return -1;
  }
  let depth = 0;
  for (let at = start; at < text.length; at += 1) {
    const code = text.charCodeAt(at);
    if (code === 0x22) {
      const end = stringEnd(text, at);
      if (end < 0) return -1;
      at = end - 1;
    } else if (code === 0x7b || code === 0x5b) depth += 1;
    else if (code === 0x7d || code === 0x5d) {
      depth -= 1;
      if (depth === 0) return at + 1;
    }
  }
  return -1;
}

function countNewlines(text: string, from: number, to: number): number {
  let count = 0;
  for (let at = text.indexOf('\n', from); at >= 0 && at < to; at = text.indexOf('\n', at + 1)) count += 1;
  return count;
}

/**
 * Splits a sequence of portrait_get answers (`{"ActionStatus": ..., "UserProfileItem": [...]}`,
 * each on one line or spread over many) into the elements of their `UserProfileItem` arrays. Other
 * keys of an answer are skipped. Only the structure around the elements is read here; each
 * element is parsed on its own, so a broken one is one bad row.
 */
class AnswerReader {
  private text = '';
  private at = 0;
  private line = 1;
  private state: AnswerState = 'top';
  private key = '';
  private readonly decoder = new TextDecoder('utf-8', { fatal: true });

  push(chunk: Buffer, rows: SourceRow[]): void {
    let decoded: string;
    try {
      decoded = this.decoder.decode(chunk, { stream: true });
    } catch {
      throw new FileSyntaxError(this.line, 'the answer is not UTF-8 text');
    }
    this.text = this.text.slice(this.at) + decoded;
    this.at = 0;
    this.scan(rows);
    if (this.text.length - this.at > MAX_ROW_BYTES) {
      throw new FileSyntaxError(this.line, `an element of the answer is longer than ${MAX_ROW_BYTES} bytes`);
    }
  }

  end(rows: SourceRow[]): void {
    try {
      this.text = this.text.slice(this.at) + this.decoder.decode();
      this.at = 0;
    } catch {
      throw new FileSyntaxError(this.line, 'the answer is not UTF-8 text');
    }
    this.scan(rows);
    if (this.state !== 'top' || this.text.slice(this.at).trim() !== '') {
      throw new FileSyntaxError(this.line, 'the file ends inside a portrait_get answer');
    }
  }

  private fail(expected: string): never {
    const found = this.text.slice(this.at, this.at + 20);
    throw new FileSyntaxError(
      this.line,
      `not a portrait_get answer: expected ${expected}, found ${JSON.stringify(found)}`,
    );
  }

  private scan(rows: SourceRow[]): void {
    const text = this.text;
    for (;;) {
      while (this.at < text.length && isSpace(text.charCodeAt(this.at))) {
        if (text.charCodeAt(this.at) === NEWLINE) this.line += 1;
        this.at += 1;
      }
      if (this.at >= text.length) return;
      if (this.at === 0 && this.line === 1 && this.state === 'top' && text.charCodeAt(0) === 0xfeff) {
        this.at = 1;
        continue;
      }
      const code = text.charCodeAt(this.at);
      switch (this.state) {
        case 'top':
          if (code !== 0x7b) this.fail('{');
          this.at += 1;
          this.state = 'first-key';
          break;
        case 'first-key':
        case 'key': {
          if (code === 0x7d && this.state === 'first-key') {
            this.at += 1;
            this.state = 'top';
            break;
          }
          if (code !== 0x22) this.fail('a key');
          const end = stringEnd(text, this.at);
          if (end < 0) return;
          this.key = JSON.parse(text.slice(this.at, end)) as string;
          this.at = end;
          this.state = 'colon';
          break;
        }
        case 'colon':
          if (code !== 0x3a) this.fail(':');
          this.at += 1;
          this.state = this.key === 'UserProfileItem' ? 'items-open' : 'value';
          break;
        case 'value': {
          const end = valueEnd(text, this.at);
          if (end < 0) return;
          this.line += countNewlines(text, this.at, end);
          this.at = end;
          this.state = 'after-value';
          break;
        }
        case 'items-open':
          if (code !== 0x5b) this.fail('UserProfileItem to be an array');
          this.at += 1;
          this.state = 'first-item';
          break;
        case 'first-item':
        case 'item': {
          if (code === 0x5d && this.state === 'first-item') {
            this.at += 1;
            this.state = 'after-value';
            break;
          }
          const end = valueEnd(text, this.at);
          if (end < 0) return;
          rows.push(parsed(this.line, text.slice(this.at, end)));
          this.line += countNewlines(text, this.at, end);
          this.at = end;
          this.state = 'after-item';
          break;
        }
        case 'after-item':
          if (code === 0x2c) this.state = 'item';
          else if (code === 0x5d) this.state = 'after-value';
          else this.fail(', or ] after an element of UserProfileItem');
          this.at += 1;
          break;
        case 'after-value':
          if (code === 0x2c) this.state = 'key';
          else if (code === 0x7d) this.state = 'top';
          else this.fail(', or }');
          this.at += 1;
          break;
      }
    }
  }
}

/**
 * The rows of `input`, a batch per chunk read; `onBytes` hears how many bytes have been read so far.
 * Throws FileSyntaxError when a portrait_get answer's structure is broken.
 */
export async function* readRows(
  input: AsyncIterable<Buffer>,
  layout: Layout,
  onBytes: (bytes: number) => void = () => undefined,
): AsyncGenerator<SourceRow[]> {
  const reader = layout === 'lines' ? new LineReader() : new AnswerReader();
  let bytes = 0;
  for await (const chunk of input) {
    const rows: SourceRow[] = [];
    reader.push(chunk, rows);
    bytes += chunk.length;
    onBytes(bytes);
    if (rows.length > 0) yield rows;
  }
  const rows: SourceRow[] = [];
  reader.end(rows);
  if (rows.length > 0) yield rows;
}
