// The progress of one blob across all its attempts. The task is shown only once real work
// starts (a blob some store already has shows nothing, so no bar is left behind), each attempt
// says where it starts (a resumed or restarted transfer never counts bytes twice), and what
// this command really transferred is counted for the DOWNLOADED column.

import type { ProgressTask, Reporter } from '../context.js';

export class TransferTask implements ProgressTask {
  /** Bytes this command received, over every attempt. */
  transferred = 0;
  /** The most bytes the blob has had on disk so far: what a retry counts as progress. */
  highWater = 0;
  private current = 0;
  private shown: ProgressTask | undefined;

  constructor(
    private readonly reporter: Reporter,
    private readonly label: string,
    private readonly total: number,
  ) {}

  private get task(): ProgressTask {
    this.shown ??= this.reporter.task(this.label, this.total);
    return this.shown;
  }

  setTotal(total: number): void {
    this.task.setTotal(total);
  }

  restart(done: number): void {
    this.current = done;
    this.highWater = Math.max(this.highWater, done);
    this.task.restart(done);
  }

  advance(amount: number): void {
    this.transferred += amount;
    this.current += amount;
    this.highWater = Math.max(this.highWater, this.current);
    this.task.advance(amount);
  }

  done(note?: string): void {
    this.shown?.done(note);
  }

  fail(note?: string): void {
    this.task.fail(note);
  }
}
