// One line of live progress that always fits the terminal: the label, a bar, done/total, rate
// and time left, dropping the least useful parts first and shortening the label last, so a
// line never wraps (a wrapped line is redrawn as two and leaves debris on screen).

import { formatBytes } from '../../core/format-bytes.js';

export interface LineState {
  label: string;
  done: number;
  total: number | undefined;
  /** Bytes per second so far. */
  rate: number;
}

/** `text` cut to `width` columns with an ellipsis in the middle, so both ends stay readable. */
export function fitMiddle(text: string, width: number): string {
  if (text.length <= width) return text;
  if (width <= 1) return text.slice(0, Math.max(0, width));
  const head = Math.ceil((width - 1) / 2);
  return `${text.slice(0, head)}…${text.slice(text.length - (width - 1 - head))}`;
}

/** The progress line for a terminal `width` columns wide (at least 20 assumed). */
export function progressLine(state: LineState, width: number): string {
  const columns = Math.max(20, width) - 1; // the last column would make some terminals wrap
  const known = state.total !== undefined && state.total > 0;
  const amount = known ? `${formatBytes(state.done)}/${formatBytes(state.total!)}` : formatBytes(state.done);
  const rate = state.rate > 0 ? `${formatBytes(state.rate)}/s` : '';
  const left = known && state.rate > 0 ? `ETA ${Math.ceil(Math.max(0, state.total! - state.done) / state.rate)}s` : '';
  const fraction = known ? Math.min(1, state.done / state.total!) : 0;
  const bar = (cells: number) => `[${'#'.repeat(Math.round(fraction * cells))}${'.'.repeat(cells - Math.round(fraction * cells))}]`;
  // From the richest layout to the barest; the first whose fixed part leaves 12 columns for the label wins.
  const layouts: string[][] = known
    ? [[bar(20), amount, rate, left], [bar(10), amount, rate], [amount, rate], [amount]]
    : [[amount, rate], [amount]];
  for (const parts of layouts) {
    const tail = parts.filter((p) => p !== '').join('  ');
    const room = columns - tail.length - 2;
    if (room >= 12 || parts === layouts[layouts.length - 1]) return `${fitMiddle(state.label, Math.max(1, room))}  ${tail}`.slice(0, columns);
  }
  return state.label.slice(0, columns);
}
