/**
 * A small benchmark harness: run a workload a few times, keep every sample, print medians with their spread
 * and the ratio to a baseline row measured in the same process. Numbers from one run on one machine compare
 * with each other, not with numbers from elsewhere; that is why every table carries its own baseline.
 */

export interface MeasureOptions<State> {
  /** Row label in the table. */
  name: string;
  /** Timed repetitions (at least 1). */
  runs: number;
  /** Untimed repetitions first, so JIT and connection set-up do not land in the samples. Default 1. */
  warmups?: number;
  /** Untimed, before every run (warm-ups included); its result is handed to `run` and `teardown`. */
  setup?: () => Promise<State>;
  /**
   * The timed work; returns how many units (records, bytes) it handled. `timedMs`, when given, replaces the
   * wall time of the whole call, for workloads whose clock must start later (e.g. after a group join).
   */
  run: (state: State) => Promise<{ units: number; timedMs?: number }>;
  /** Untimed, after every run. */
  teardown?: (state: State) => Promise<void>;
}

export interface Measurement {
  name: string;
  /** Units per second, one per timed run, in run order. */
  samples: number[];
  /** Units handled in each timed run. */
  units: number[];
  /** Wall time of each timed run, in ms. */
  durationsMs: number[];
}

export async function measure<State = undefined>(options: MeasureOptions<State>): Promise<Measurement> {
  if (!Number.isInteger(options.runs) || options.runs < 1) {
    throw new RangeError(`measure(${options.name}): runs must be a positive integer, got ${options.runs}`);
  }
  const measurement: Measurement = { name: options.name, samples: [], units: [], durationsMs: [] };
  const warmups = options.warmups ?? 1;
  for (let index = 0; index < warmups + options.runs; index++) {
    const state = (await options.setup?.()) as State;
    try {
      const startedAt = performance.now();
      const result = await options.run(state);
      const elapsedMs = result.timedMs ?? performance.now() - startedAt;
      if (index < warmups) continue;
      if (!(result.units > 0) || !(elapsedMs > 0)) {
        throw new RangeError(`measure(${options.name}): run handled ${result.units} units in ${elapsedMs} ms`);
      }
      measurement.units.push(result.units);
      measurement.durationsMs.push(elapsedMs);
      measurement.samples.push((result.units * 1000) / elapsedMs);
    } finally {
      await options.teardown?.(state);
    }
  }
  return measurement;
}

/** The q-quantile (0..1) of `values` with linear interpolation between the closest ranks. */
/** The middle value (the mean of the two middle ones for an even count); NaN for none (a side with no such figure). */
export const median = (values: readonly number[]): number => (values.length === 0 ? Number.NaN : quantile(values, 0.5));

export function quantile(values: readonly number[], q: number): number {
  if (values.length === 0) throw new RangeError('quantile of no values');
  const sorted = [...values].sort((a, b) => a - b);
  const position = (sorted.length - 1) * q;
  const lower = Math.floor(position);
  const upper = Math.ceil(position);
  const low = sorted[lower] ?? Number.NaN;
  const high = sorted[upper] ?? Number.NaN;
  return low + (high - low) * (position - lower);
}

export interface TableOptions {
  /** Name of the row the others are compared with; it must be among the rows. */
  baseline: string;
  /** What the samples count, e.g. `records/s`. */
  unit: string;
}

/** Formats the table that `printTable` prints. */
export function formatTable(title: string, rows: readonly Measurement[], options: TableOptions): string {
  const baseline = rows.find((row) => row.name === options.baseline);
  if (baseline === undefined) throw new RangeError(`printTable(${title}): no row named ${options.baseline}`);
  const baselineMedian = quantile(baseline.samples, 0.5);
  const header = ['', `median ${options.unit}`, 'p25–p75', 'min–max', `vs ${options.baseline}`, 'runs'];
  const body = rows.map((row) => {
    const median = quantile(row.samples, 0.5);
    return [
      row.name,
      formatNumber(median),
      `${formatNumber(quantile(row.samples, 0.25))}–${formatNumber(quantile(row.samples, 0.75))}`,
      `${formatNumber(Math.min(...row.samples))}–${formatNumber(Math.max(...row.samples))}`,
      row === baseline ? '1.00× (baseline)' : `${(median / baselineMedian).toFixed(2)}×`,
      String(row.samples.length),
    ];
  });
  const widths = header.map((cell, column) => Math.max(cell.length, ...body.map((line) => line[column]?.length ?? 0)));
  const line = (cells: string[]) =>
    `| ${cells.map((cell, column) => (column === 0 ? cell.padEnd(widths[column] ?? 0) : cell.padStart(widths[column] ?? 0))).join(' | ')} |`;
  const rule = `|${widths.map((width, column) => (column === 0 ? `:${'-'.repeat(width + 1)}` : `${'-'.repeat(width + 1)}:`)).join('|')}|`;
  return [`### ${title}`, '', line(header), rule, ...body.map(line)].join('\n');
}

/** Prints a Markdown table: median, p25–p75, min–max and the ratio of medians to the baseline row. */
export function printTable(title: string, rows: readonly Measurement[], options: TableOptions): void {
  console.log(`${formatTable(title, rows, options)}\n`);
}

/** One figure the project holds itself to: what was measured, against what in the same run, and the goal. */
export interface GoalRow {
  figure: string;
  /** The figure as measured, with its unit. */
  measured: string;
  /** What it is compared with in the same run, with its value; `—` for an absolute figure. */
  baseline: string;
  /** measured ÷ baseline, or `—`. */
  ratio: string;
  /** The goal, e.g. `≥ 0.5×` or `≤ 512 B`. */
  goal: string;
  met: boolean;
}

/** The goal rows as a Markdown table: figure | measured | same-run baseline | ratio | goal. */
export function formatGoalTable(rows: readonly GoalRow[]): string {
  const header = ['figure', 'measured', 'same-run baseline', 'ratio', 'goal'];
  const body = rows.map((row) => [
    row.figure,
    row.measured,
    row.baseline,
    row.ratio,
    `${row.goal} (${row.met ? 'met' : 'not met'})`,
  ]);
  const line = (cells: readonly string[]) => `| ${cells.join(' | ')} |`;
  return [line(header), `|${header.map(() => ' --- ').join('|')}|`, ...body.map(line)].join('\n');
}

/** What `bench/run.ts` hands every `*.bench.ts` default export. */
export interface BenchContext {
  /** Bootstrap addresses of the broker started for this bench run. */
  brokers: string[];
  /** Records a goal row; `bench/run.ts` prints every row recorded in one table at the end. */
  reportGoal: (row: GoalRow) => void;
}

/** Numbers as the tables print them: rounded, with thousands separators. */
export function formatNumber(value: number): string {
  return Math.round(value).toLocaleString('en-US');
}
