// What commands print while they work: one line per step (kubefed's "Creating ... done"), and
// progress during waits: a live line on a terminal, a plain line every 10 seconds otherwise.
import { formatDuration } from './duration.ts';

export interface OutputOptions {
  stream: NodeJS.WritableStream & { isTTY?: boolean; columns?: number };
  /** Colours and live lines: only on a terminal, never with NO_COLOR. */
  color?: boolean;
  quiet?: boolean;
  /** Where warnings go (kubectl: standard error); default: stream. */
  warnings?: NodeJS.WritableStream;
}

const spinner = ['⠋', '⠙', '⠹', '⠸', '⠼', '⠴', '⠦', '⠧', '⠇', '⠏'];

export class Output {
  private readonly stream: NodeJS.WritableStream & { isTTY?: boolean; columns?: number };
  private readonly tty: boolean;
  private readonly color: boolean;
  private readonly quiet: boolean;
  private readonly warnings: NodeJS.WritableStream | undefined;
  /** What the cursor sits after: nothing, an unfinished "title... ", or a live progress line. */
  private open: 'none' | 'title' | 'spinner' = 'none';
  private title = '';
  private interrupted = false;
  private lastPlainProgress = 0;
  private frame = 0;

  constructor(options: OutputOptions) {
    this.stream = options.stream;
    // Live lines (\r, erase) and colours only on a terminal that takes them: NO_COLOR and TERM=dumb
    // get plain lines, as a log file would.
    this.tty = options.stream.isTTY === true && !process.env.NO_COLOR && process.env.TERM !== 'dumb';
    this.color = options.color ?? this.tty;
    this.quiet = options.quiet ?? false;
    this.warnings = options.warnings;
  }

  private write(text: string): void {
    if (!this.quiet) this.stream.write(text);
  }

  private closeLine(): void {
    if (this.open === 'title') this.write('\n');
    if (this.open === 'spinner') this.write('\r\x1b[K');
    if (this.open !== 'none') this.interrupted = true;
    this.open = 'none';
  }

  private paint(code: number, text: string): string {
    return this.color ? `\x1b[${code}m${text}\x1b[0m` : text;
  }

  /** A step begins: "Creating namespace federation-system... " */
  begin(title: string): void {
    this.closeLine();
    this.title = title;
    this.interrupted = false;
    this.lastPlainProgress = 0;
    this.write(`${title}... `);
    this.open = 'title';
  }

  /** The step ends: "done" (or word), on the title's line when nothing came in between. */
  end(detail?: string, word = 'done'): void {
    const done = this.paint(32, word) + (detail ? ` (${detail})` : '');
    if (this.open === 'title' && !this.interrupted) {
      this.write(`${done}\n`);
    } else {
      this.closeLine();
      this.write(`${this.title}... ${done}\n`);
    }
    this.open = 'none';
  }

  /** Progress of a wait: live on a terminal, a plain line every 10 seconds elsewhere. */
  progress(what: string, elapsedMs: number, reason: string): void {
    if (this.tty) {
      if (this.open === 'title') this.write('\n');
      this.frame = (this.frame + 1) % spinner.length;
      const line = `${spinner[this.frame]} waiting for ${what} (${formatDuration(elapsedMs)}): ${reason}`;
      this.write(`\r\x1b[K${line.slice(0, (this.stream.columns ?? 120) - 1)}`);
      this.open = 'spinner';
      this.interrupted = true;
      return;
    }
    if (elapsedMs - this.lastPlainProgress >= 10_000) {
      this.lastPlainProgress = elapsedMs;
      this.closeLine();
      this.write(`  still waiting for ${what} (${formatDuration(elapsedMs)}): ${reason}\n`);
    }
  }

  line(text = ''): void {
    this.closeLine();
    this.write(`${text}\n`);
  }

  warn(text: string): void {
    this.closeLine();
    if (this.warnings) this.warnings.write(`warning: ${text}\n`);
    else this.write(`${this.paint(33, 'warning:')} ${text}\n`);
  }

  /** Leaves the output on a fresh line (before an error is printed, say). */
  finish(): void {
    this.closeLine();
  }

  /** The step failed: its line says so ("Checking ... failed"), then the error follows on its own line. */
  fail(): void {
    if (this.open === 'none') return;
    const failed = this.paint(31, 'failed');
    if (this.open === 'title' && !this.interrupted) this.write(`${failed}\n`);
    else {
      this.closeLine();
      this.write(`${this.title}... ${failed}\n`);
    }
    this.open = 'none';
  }
}
