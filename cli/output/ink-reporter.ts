// Live progress in a terminal with ink: one line per running task (bytes, rate, ETA), messages
// above it. Loaded lazily, only when stderr is a terminal, because ink and React cost start-up.

import { createElement as h, type ReactElement } from 'react';
import { render, Static, Box, Text } from 'ink';
import type { ProgressTask, Reporter } from '../../core/context.js';
import { terminalSafe } from '../../core/shown.js';
import type { PlainReporterOptions } from './plain-reporter.js';
import { progressLine } from './progress-line.js';

interface TaskState {
  id: number;
  label: string;
  total: number | undefined;
  done: number;
  /** Where this run of the task started (a resumed transfer's bytes are not this run's rate). */
  base: number;
  started: number;
}

function line(task: TaskState): string {
  const seconds = Math.max(0.001, (Date.now() - task.started) / 1000);
  return progressLine({ label: task.label, done: task.done, total: task.total, rate: (task.done - task.base) / seconds }, process.stderr.columns || 80);
}

interface Message {
  id: number;
  text: string;
  colour?: string;
}

export function inkReporter(options: PlainReporterOptions): Reporter {
  const messages: Message[] = [];
  const tasks = new Map<number, TaskState>();
  let nextId = 0;
  const view = (): ReactElement =>
    h(Box, { flexDirection: 'column' },
      h(Static, { items: [...messages], children: ((m: Message) => h(Text, { key: m.id, color: m.colour }, m.text)) as (item: unknown) => ReactElement }),
      ...[...tasks.values()].map((t) => h(Text, { key: t.id }, line(t))));
  const instance = render(view(), { stdout: process.stderr, patchConsole: false, exitOnCtrlC: false });
  let scheduled = false;
  const refresh = () => {
    if (scheduled) return;
    scheduled = true;
    setTimeout(() => {
      scheduled = false;
      instance.rerender(view());
    }, 80).unref();
  };
  const say = (text: string, colour?: string) => {
    messages.push({ id: nextId++, text: terminalSafe(text), ...(colour ? { colour } : {}) });
    instance.rerender(view());
  };
  return {
    info: (m) => (options.quiet ? undefined : say(m)),
    warn: (m) => say(`warning: ${m}`, 'yellow'),
    debug: (m) => (options.verbose ? say(m, 'gray') : undefined),
    task(label, total): ProgressTask {
      const state: TaskState = { id: nextId++, label, total, done: 0, base: 0, started: Date.now() };
      tasks.set(state.id, state);
      refresh();
      return {
        setTotal: (value) => { state.total = value; refresh(); },
        restart: (done) => { state.done = done; state.base = done; state.started = Date.now(); refresh(); },
        advance: (amount) => { state.done += amount; refresh(); },
        done: (note) => { tasks.delete(state.id); say(`${label}: ${note ?? 'done'}`); },
        fail: (note) => { tasks.delete(state.id); say(`${label}: failed${note ? ` (${note})` : ''}`, 'red'); },
      };
    },
    close: async () => {
      // Work that never finished (a blob another store had, an interrupted step) leaves no bar behind.
      tasks.clear();
      instance.rerender(view());
      instance.unmount();
      await instance.waitUntilExit().catch(() => undefined);
    },
  };
}
