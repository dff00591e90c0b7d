/**
 * The demo's live terminal view: steps as they run, alerts as they fire, and a closing table of which alert
 * caught which step. Colour only when the output is a terminal.
 */
import type { Alert, Severity } from '../contracts/alert.ts';
import type { DemoServers, ScenarioStep, StepOutcome } from './scenario.ts';

const SEVERITY_COLOUR: Record<Severity, number> = {
  critical: 91,
  high: 31,
  medium: 33,
  low: 32,
  informational: 90,
};

export class TerminalView {
  private readonly colour: boolean;

  constructor(private readonly out: NodeJS.WritableStream) {
    this.colour = (out as { isTTY?: boolean }).isTTY === true && process.env.NO_COLOR === undefined;
  }

  banner(): void {
    this.line(
      this.paint(1, 'mcpwatch demo') +
        this.paint(90, ' — MCP security telemetry, detections and alerts on one machine'),
    );
  }

  pipeline(otlpUrl: string, dashboardUrl: string | undefined, kafkaBrokers?: readonly string[]): void {
    const log = kafkaBrokers === undefined ? 'embedded log' : `Kafka ${kafkaBrokers.join(',')}`;
    const processes = kafkaBrokers === undefined ? 'one process' : 'collector and detectors as separate processes';
    this.line(`  pipeline   OTLP/HTTP ${otlpUrl} → collector → ${log} → detectors → alerts (${processes})`);
    if (dashboardUrl !== undefined) this.line(`  dashboard  ${this.paint(36, dashboardUrl)}`);
  }

  /** Each server's URL and how it is built and watched. */
  servers(servers: DemoServers, watchedAs: Readonly<Record<keyof DemoServers, string>>): void {
    this.line(
      '  servers    ' +
        (Object.entries(servers) as [keyof DemoServers, string][])
          .map(([name, url]) => `${name} ${this.paint(90, `${url} (${watchedAs[name]})`)}`)
          .join('\n             '),
    );
    this.line('');
  }

  step(number: number, total: number, step: ScenarioStep): void {
    const tag = step.attack ? this.paint(31, 'attack') : this.paint(32, 'benign');
    this.line(`${this.paint(1, `[${String(number).padStart(2)}/${total}]`)} ${tag}  ${step.title}`);
  }

  alert(alert: Alert): void {
    const entities = Object.entries(alert.entities)
      .map(([name, value]) => `${name}=${shorten(printable(String(value)), 24)}`)
      .join(' ');
    this.line(
      `         ${this.paint(SEVERITY_COLOUR[alert.severity], alert.severity.toUpperCase().padEnd(8))} ` +
        `${this.paint(1, alert.ruleId)}  ${entities}`,
    );
    this.line(this.paint(90, `                  ${shorten(printable(oneLine(alert.evidence)), 110)}`));
  }

  summary(outcomes: readonly StepOutcome[], alertsPath: string, dashboardUrl: string | undefined): void {
    const rows = outcomes.map(({ step, alerts, missed, passed }) => {
      const caughtBy = [...new Set(alerts.map((alert) => alert.ruleId))].join(', ');
      const result = step.attack
        ? passed
          ? this.paint(32, 'caught')
          : this.paint(31, `MISSED ${missed.join(', ')}`)
        : passed
          ? this.paint(32, 'quiet')
          : this.paint(31, 'FALSE POSITIVE');
      return [step.id, step.attack ? 'attack' : 'benign', caughtBy || '—', result];
    });
    const headers = ['step', 'kind', 'alerts raised', 'result'];
    const widths = headers.map((header, column) =>
      Math.max(header.length, ...rows.map((row) => visibleLength(row[column]!))),
    );
    const format = (cells: string[]): string =>
      cells.map((cell, column) => cell + ' '.repeat(widths[column]! - visibleLength(cell))).join('  ');
    this.line('');
    this.line(this.paint(1, format(headers)));
    this.line(widths.map((width) => '─'.repeat(width)).join('  '));
    for (const row of rows) this.line(format(row));
    const attacks = outcomes.filter((outcome) => outcome.step.attack);
    const caught = attacks.filter((outcome) => outcome.passed).length;
    const falsePositives = outcomes.filter((outcome) => !outcome.step.attack && !outcome.passed).length;
    this.line('');
    this.line(
      `${caught}/${attacks.length} attacks caught, ${falsePositives} benign steps alerted. ` +
        `Alerts: ${alertsPath}` +
        (dashboardUrl === undefined ? '' : `  Dashboard: ${dashboardUrl}`),
    );
  }

  async waitForInterrupt(dashboardUrl: string): Promise<void> {
    this.line(`Pipeline and dashboard still running at ${this.paint(36, dashboardUrl)} — Ctrl-C to stop.`);
    await new Promise<void>((resolve) => {
      process.once('SIGINT', () => resolve());
      process.once('SIGTERM', () => resolve());
    });
  }

  private paint(code: number, text: string): string {
    return this.colour ? `\u001b[${code}m${text}\u001b[0m` : text;
  }

  private line(text: string): void {
    this.out.write(text + '\n');
  }
}

/**
 * Attacker-controlled text (tool names, evidence) must not drive the terminal: control, bidi, zero-width and
 * tag characters are shown as escapes instead of being written.
 */
function printable(text: string): string {
  return text.replace(
    // eslint-disable-next-line no-control-regex -- the point is to match control characters
    /[\u0000-\u001f\u007f-\u009f\u200b-\u200f\u202a-\u202e\u2066-\u2069\ufeff]|[\u{e0000}-\u{e007f}]/gu,
    (char) => `\\u{${char.codePointAt(0)!.toString(16)}}`,
  );
}

function oneLine(value: unknown): string {
  return JSON.stringify(value).replace(/\s+/g, ' ');
}

function shorten(text: string, max: number): string {
  return text.length > max ? `${text.slice(0, max - 1)}…` : text;
}

function visibleLength(text: string): number {
  // eslint-disable-next-line no-control-regex -- strips our own colour codes to measure width
  return text.replace(/\u001b\[\d+m/g, '').length;
}
