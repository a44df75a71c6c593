/**
 * cli/progress — a small progress line for long CLI operations (verify, gc).
 *
 * Draws on stderr, and only when stderr is a terminal or HELIOS_PROGRESS=1
 * forces it (HELIOS_PROGRESS=0 turns it off); otherwise it prints nothing,
 * so logs and tests stay clean. With a total it shows a bar, percent,
 * done/total, rate, elapsed time and ETA; without one, the count, rate and
 * elapsed time. Redraws are throttled to at most 10 per second.
 *
 * Invariants: stdout is never written; `done()` is idempotent and ends the
 * line, so an error printed after it starts on a fresh line.
 * Costs: `update` is a clock read and a compare unless a redraw is due.
 */

/** Where and how to draw; for tests. */
export interface ProgressOptions {
  /** Unit of the count, e.g. "nodes" (default: none). */
  unit?: string;
  /** Draw even if the stream is not a terminal (default: TTY or HELIOS_PROGRESS=1). */
  enabled?: boolean;
  stream?: { write(s: string): unknown; isTTY?: boolean; columns?: number };
  /** Milliseconds, monotonic (default performance.now). */
  now?: () => number;
}

const REDRAW_MS = 100;
const RATE_AFTER_MS = 250;
const BAR = 24;

export function progressEnabled(stream: { isTTY?: boolean } = process.stderr): boolean {
  const env = process.env.HELIOS_PROGRESS;
  if (env === "1") return true;
  if (env === "0") return false;
  return stream.isTTY === true;
}

/** 0:07, 12:34, 1:02:03 */
export function formatDuration(ms: number): string {
  if (!Number.isFinite(ms) || ms < 0) return "?";
  const s = Math.round(ms / 1000);
  const h = Math.floor(s / 3600);
  const m = Math.floor((s % 3600) / 60);
  const ss = String(s % 60).padStart(2, "0");
  return h > 0 ? `${h}:${String(m).padStart(2, "0")}:${ss}` : `${m}:${ss}`;
}

const fmt = (n: number) => Math.round(n).toLocaleString("en-US");

export class Progress {
  readonly label: string;
  private total: number | undefined;
  private readonly unit: string;
  private readonly enabled: boolean;
  private readonly stream: { write(s: string): unknown; isTTY?: boolean; columns?: number };
  private readonly now: () => number;
  private readonly start: number;
  private lastDraw = Number.NEGATIVE_INFINITY;
  private count = 0;
  private finished = false;
  private drawn = false;
  /** Redraws so far (for tests). */
  redraws = 0;

  constructor(label: string, total?: number, opts: ProgressOptions = {}) {
    this.label = label;
    this.total = total !== undefined && Number.isFinite(total) && total > 0 ? total : undefined;
    this.unit = opts.unit ?? "";
    this.stream = opts.stream ?? process.stderr;
    this.enabled = opts.enabled ?? progressEnabled(this.stream);
    this.now = opts.now ?? (() => performance.now());
    this.start = this.now();
  }

  /** Sets the count of work done; redraws if the last redraw is ≥ 100 ms old. */
  update(done: number): void {
    if (this.finished) return;
    this.count = done;
    if (!this.enabled) return;
    const t = this.now();
    if (t - this.lastDraw < REDRAW_MS) return;
    this.lastDraw = t;
    this.draw(this.line(t, false), false);
  }

  /** Draws the final state and ends the line (only if anything is drawn at all). */
  done(): void {
    if (this.finished) return;
    this.finished = true;
    if (!this.enabled) return;
    this.draw(this.line(this.now(), true), true);
  }

  private line(t: number, final: boolean): string {
    const elapsed = t - this.start;
    const rate = elapsed > 0 ? (this.count * 1000) / elapsed : 0;
    const unit = this.unit ? ` ${this.unit}` : "";
    // too early for a rate worth showing (and an ETA from it)
    const steady = elapsed >= RATE_AFTER_MS && this.count > 0;
    const rateText = steady ? `${fmt(rate)}${unit}/s` : `–${unit}/s`;
    const total = this.total;
    if (total === undefined || final) {
      // an estimated total may be wrong: the final line states what was done
      return `${this.label}  ${fmt(this.count)}${unit}  ${rateText}  ${formatDuration(elapsed)} elapsed${final ? "  done" : ""}`;
    }
    const frac = Math.min(1, this.count / total);
    const filled = Math.round(frac * BAR);
    const bar = `[${"#".repeat(filled)}${".".repeat(BAR - filled)}]`;
    const pct = `${Math.floor(frac * 100)}%`.padStart(4);
    const left = total - this.count;
    const eta = left <= 0 ? "0:00" : steady ? formatDuration((left / rate) * 1000) : "?";
    return `${this.label} ${bar} ${pct}  ${fmt(this.count)}/${fmt(total)}${unit}  ${rateText}  ${formatDuration(elapsed)} elapsed  ETA ${eta}`;
  }

  private draw(text: string, final: boolean): void {
    this.redraws++;
    const tty = this.stream.isTTY === true;
    if (tty) {
      const cols = this.stream.columns ?? 0;
      const fitted = cols > 1 && text.length >= cols ? text.slice(0, cols - 1) : text;
      this.stream.write(`\r\x1b[K${fitted}${final ? "\n" : ""}`);
    } else {
      // forced on a pipe or file: one line per redraw, no control characters
      this.stream.write(`${text}\n`);
    }
    this.drawn = true;
  }

  /** True once anything was drawn (so callers know a line was used). */
  get visible(): boolean {
    return this.drawn;
  }
}

/** What a GC cycle reports to its progress callback (store/gc GcProgress, the fields drawn here). */
interface GcStatus {
  phase: string;
  marked: number;
  scanned: number;
  sweepTotal: number;
}

/**
 * Collects a store with progress bars: a count of nodes marked, then a sweep
 * bar with ETA. The one GC display of every command that collects
 * (`store gc`, `repo gc`, `forget`).
 */
export async function collectWithProgress<R>(
  collect: (opts: { onProgress: (g: GcStatus) => void }) => Promise<R>,
): Promise<R> {
  let mark: Progress | undefined = new Progress("gc mark", undefined, { unit: "nodes" });
  let sweep: Progress | undefined;
  let marked = 0;
  try {
    return await collect({
      onProgress: (g) => {
        if (g.phase === "mark") {
          marked = g.marked;
          mark?.update(g.marked);
          return;
        }
        if (mark !== undefined) {
          // the status after a finished cycle reports marked 0 (the mark set is freed)
          if (g.phase === "sweep") marked = g.marked;
          mark.update(marked);
          mark.done();
          mark = undefined;
        }
        if (g.phase === "sweep" || sweep !== undefined) {
          sweep ??= new Progress("gc sweep", g.sweepTotal, { unit: "records" });
          sweep.update(g.scanned);
        }
      },
    });
  } finally {
    mark?.done();
    sweep?.done();
  }
}
