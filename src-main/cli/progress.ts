/** A one-line progress bar for TTYs; silent elsewhere (pipes, CI logs get plain lines instead). */
export class ProgressBar {
  #last = 0;
  constructor(
    private readonly out: NodeJS.WriteStream,
    private readonly width = 28,
  ) {}

  get enabled(): boolean {
    return Boolean(this.out.isTTY);
  }

  update(fraction: number, label: string): void {
    if (!this.enabled) return;
    const now = Date.now();
    if (now - this.#last < 80 && fraction < 1) return;
    this.#last = now;
    const f = Math.max(0, Math.min(1, fraction));
    const filled = Math.round(f * this.width);
    const bar = '█'.repeat(filled) + '░'.repeat(this.width - filled);
    const cols = this.out.columns ?? 100;
    const line = `${bar} ${(f * 100).toFixed(0).padStart(3)}% ${label}`.slice(0, cols - 1);
    this.out.write(`\r\x1b[2K${line}`);
  }

  done(): void {
    if (this.enabled) this.out.write('\r\x1b[2K');
  }
}
