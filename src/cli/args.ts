/**
 * cli/args — what the command groups (`helios store …`, `helios snapshot …`)
 * share: the argument parser, the checks of positionals and heights, the
 * store-opening helper, stdout and number formats, and the start of a
 * group's entry point.
 *
 * The groups report bad usage in their own ways (store: the message and the
 * usage text; snapshot: one `error INVALID_ARGUMENT` line with a context), so
 * the parsing helpers are made by `argHelpers` from a function that builds
 * the group's usage error from a message and a context.
 */
import { openState, type StateDB } from "../history/index.js";

/** Builds a command group's bad-usage error; `context` names the offending argument (a group may ignore it). */
export type UsageErrorFn = (message: string, context?: Record<string, string>) => Error;

export interface Parsed {
  pos: string[];
  flags: Map<string, string | true>;
}

export interface ArgHelpers {
  /**
   * Splits args into positionals and flags. `spec` names the allowed flags and
   * whether each takes a value. `--` ends the flags.
   */
  parseArgs(args: readonly string[], spec: Record<string, "bool" | "value">): Parsed;
  /** Checks the positionals against their names; the last `optional` names may be left out. */
  expectArgs(p: Parsed, names: readonly string[], optional?: number): void;
  /** A height (or another non-negative integer, named `what`): digits only, a safe integer. */
  heightArg(s: string, what?: string): number;
}

/** The parsing helpers of a command group whose bad usage `usageError` builds. */
export function argHelpers(usageError: UsageErrorFn): ArgHelpers {
  function parseArgs(args: readonly string[], spec: Record<string, "bool" | "value">): Parsed {
    const pos: string[] = [];
    const flags = new Map<string, string | true>();
    for (let i = 0; i < args.length; i++) {
      const a = args[i] as string;
      if (a === "--") {
        pos.push(...args.slice(i + 1));
        break;
      }
      if (a.startsWith("--") && a.length > 2) {
        const eq = a.indexOf("=");
        const name = eq < 0 ? a.slice(2) : a.slice(2, eq);
        const kind = spec[name];
        if (kind === undefined) throw usageError(`unknown option --${name}`, { option: `--${name}` });
        if (kind === "bool") {
          if (eq >= 0) throw usageError(`--${name} takes no value`, { option: `--${name}` });
          flags.set(name, true);
        } else {
          const v = eq >= 0 ? a.slice(eq + 1) : args[++i];
          if (v === undefined || v === "") throw usageError(`--${name} needs a value`, { option: `--${name}` });
          flags.set(name, v);
        }
        continue;
      }
      if (a.startsWith("-") && a.length > 1 && !/^-\d/.test(a)) throw usageError(`unknown option ${a}`, { option: a });
      pos.push(a);
    }
    return { pos, flags };
  }

  function expectArgs(p: Parsed, names: readonly string[], optional = 0): void {
    const min = names.length - optional;
    if (p.pos.length < min) throw usageError(`missing ${names.slice(p.pos.length, min).join(" ")}`);
    if (p.pos.length > names.length) {
      throw usageError(`unexpected argument ${p.pos[names.length]}`, { argument: p.pos[names.length] as string });
    }
  }

  function heightArg(s: string, what = "height"): number {
    if (!/^\d+$/.test(s) || !Number.isSafeInteger(Number(s))) {
      throw usageError(`a ${what} is a non-negative integer, not ${JSON.stringify(s)}`, { [what]: s });
    }
    return Number(s);
  }

  return { parseArgs, expectArgs, heightArg };
}

/**
 * Opens the store in `dir` (creating it when `create`), runs `fn` and closes
 * the store, also when `fn` throws (then `fn`'s error is the one reported).
 */
export async function withStore<T>(dir: string, fn: (db: StateDB) => Promise<T> | T, create = false): Promise<T> {
  const db = openState(dir, create ? { create: true } : {});
  let result: T;
  try {
    result = await fn(db);
  } catch (e) {
    try {
      await db.close();
    } catch {
      // the first error is the one to report
    }
    throw e;
  }
  await db.close();
  return result;
}

export type Out = (line: string) => void;
/** A result line on stdout. */
export const out: Out = (line) => process.stdout.write(`${line}\n`);

export const fmt = (n: number) => n.toLocaleString("en-US");

/** A byte count of 1 KiB or more in the largest binary unit up to TiB, one decimal: "322.1 KiB"; undefined below 1 KiB. */
export function binaryUnits(n: number): string | undefined {
  const units = ["B", "KiB", "MiB", "GiB", "TiB"];
  let v = n;
  let u = 0;
  while (v >= 1024 && u < units.length - 1) {
    v /= 1024;
    u++;
  }
  return u === 0 ? undefined : `${v.toFixed(1)} ${units[u]}`;
}

/**
 * The start of a command group's entry point: a closed pipe (`helios … | head`)
 * must not crash a command before it closes its store; `help`, `--help` and
 * `-h` print `usage` on stdout. Returns the command and its args, or undefined
 * when the usage was printed (exit code 0).
 */
export function startGroup(
  args: readonly string[],
  usage: string,
): { cmd: string | undefined; rest: string[] } | undefined {
  process.stdout.on("error", (e: NodeJS.ErrnoException) => {
    if (e.code !== "EPIPE") throw e;
  });
  const [cmd, ...rest] = args;
  if (cmd === "help" || cmd === "--help" || cmd === "-h") {
    process.stdout.write(`${usage}\n`);
    return undefined;
  }
  return { cmd, rest };
}

/** Bad command-line usage with a context, for the commands that report usage as one coded line (exit 2). */
export class ArgError extends Error {
  override name = "ArgError";
  constructor(
    message: string,
    readonly context: Record<string, string | number> = {},
  ) {
    super(message);
  }
}
