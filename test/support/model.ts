/** A plain Map model of the authenticated map, keyed by hex. */
export class Model {
  readonly m = new Map<string, Uint8Array>();
  static hex(k: Uint8Array): string {
    return Buffer.from(k).toString("hex");
  }
  put(k: Uint8Array, v: Uint8Array): void {
    this.m.set(Model.hex(k), v.slice());
  }
  delete(k: Uint8Array): void {
    this.m.delete(Model.hex(k));
  }
  get(k: Uint8Array): Uint8Array | undefined {
    return this.m.get(Model.hex(k));
  }
  clone(): Model {
    const c = new Model();
    for (const [k, v] of this.m) c.m.set(k, v);
    return c;
  }
  /** Entries in byte-lexicographic key order. */
  sorted(): [Uint8Array, Uint8Array][] {
    return [...this.m.entries()]
      .map(([k, v]) => [Buffer.from(k, "hex") as Uint8Array, v] as [Uint8Array, Uint8Array])
      .sort((a, b) => Buffer.compare(a[0], b[0]));
  }
}

export function propertyRuns(defaultRuns = 1000): number {
  const env = process.env.HELIOS_PROPERTY_RUNS;
  return env ? Number(env) : defaultRuns;
}

/** fast-check parameters: seed from HELIOS_SEED to replay a failure; fast-check prints seed and path on failure. */
export function fcParams(runs = propertyRuns()): { numRuns: number; seed?: number } {
  const seed = process.env.HELIOS_SEED;
  return seed ? { numRuns: runs, seed: Number(seed) } : { numRuns: runs };
}
