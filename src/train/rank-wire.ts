// What ranks exchange, as binary: numbers in a Float64Array, which MPI copies bit for bit (NaN,
// ±Infinity and −0 arrive as they left), text as UTF-8 bytes packed eight to a word. Each rank
// writes its part with a WireWriter; allGatherWire gathers every rank's part (allGatherRows) and
// reads each, in rank order, with a WireReader.
import type { Communicator } from '../distributed/index.js';

/** Appends numbers, arrays and text to a growing Float64Array. */
export class WireWriter {
  private words = new Float64Array(64);
  private length = 0;

  private room(n: number): void {
    if (this.length + n <= this.words.length) return;
    const grown = new Float64Array(Math.max(this.words.length * 2, this.length + n));
    grown.set(this.words.subarray(0, this.length));
    this.words = grown;
  }

  number(x: number): this {
    this.room(1);
    this.words[this.length++] = x;
    return this;
  }

  /** An array's length, then its values; an absent array is the length −1. */
  numbers(values: ArrayLike<number> | undefined): this {
    if (values === undefined) return this.number(-1);
    this.room(1 + values.length);
    this.words[this.length++] = values.length;
    this.words.set(values, this.length);
    this.length += values.length;
    return this;
  }

  /** The UTF-8 byte count, then the bytes, padded to whole words. */
  text(s: string): this {
    const bytes = new TextEncoder().encode(s);
    const n = Math.ceil(bytes.length / 8);
    this.number(bytes.length);
    this.room(n);
    new Uint8Array(this.words.buffer, this.length * 8, bytes.length).set(bytes);
    this.length += n;
    return this;
  }

  finish(): Float64Array {
    return this.words.slice(0, this.length);
  }
}

/** Reads, in order, what a WireWriter wrote into words [from, to) of data. */
export class WireReader {
  private at: number;

  constructor(private readonly data: Float64Array, from = 0, private readonly to = data.length) {
    this.at = from;
  }

  private take(n: number): number {
    if (n < 0 || this.at + n > this.to) throw new Error(`WireReader: ${n} word(s) asked at word ${this.at}, but the part ends at ${this.to}`);
    const at = this.at;
    this.at += n;
    return at;
  }

  number(): number {
    return this.data[this.take(1)];
  }

  /** A copy of the array, or undefined where the writer had none. */
  numbers(): Float64Array | undefined {
    const n = this.number();
    if (n === -1) return undefined;
    const at = this.take(n);
    return this.data.slice(at, at + n);
  }

  text(): string {
    const bytes = this.number();
    const at = this.take(Math.ceil(bytes / 8));
    return new TextDecoder().decode(new Uint8Array(this.data.buffer, this.data.byteOffset + at * 8, bytes));
  }

  get done(): boolean {
    return this.at === this.to;
  }
}

/** Every rank's part, written by `write` on its rank and read by `read`, in rank order, on every rank. */
export function allGatherWire<T>(comm: Communicator, write: (w: WireWriter) => void, read: (r: WireReader, rank: number) => T): T[] {
  const w = new WireWriter();
  write(w);
  const { data, counts } = comm.allGatherRows(w.finish());
  const out: T[] = [];
  let at = 0;
  for (const [rank, n] of counts.entries()) {
    const r = new WireReader(data, at, at + n);
    out.push(read(r, rank));
    if (!r.done) throw new Error(`allGatherWire: rank ${rank}'s part was not read to its end`);
    at += n;
  }
  return out;
}
