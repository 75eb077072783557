// How a value that came from outside (a file, the command line, a registry, a layer) appears in
// a message: control characters escaped, so one line stays one line and no line can be forged
// or a terminal driven, and very long values cut in the middle, so a message stays readable.

/** Longest value echoed whole: a digest-pinned reference on a long host path still fits. */
export const SHOWN_MAX = 256;

// C0 controls, DEL and C1 controls; the Unicode line and paragraph separators; and the
// bidirectional overrides and isolates that can make text read in another order (CVE-2021-42574).
const CONTROLS = /[\u0000-\u001f\u007f-\u009f\u2028\u2029\u202a-\u202e\u2066-\u2069]/g;
const CONTROLS_BUT_NEWLINE = /[\u0000-\u0009\u000b-\u001f\u007f-\u009f\u2028\u2029\u202a-\u202e\u2066-\u2069]/g;
const NAMED: Record<string, string> = { '\n': '\\n', '\r': '\\r', '\t': '\\t' };

function escapeOne(char: string): string {
  const named = NAMED[char];
  if (named !== undefined) return named;
  const code = char.charCodeAt(0);
  return code <= 0xff ? `\\x${code.toString(16).padStart(2, '0')}` : `\\u{${code.toString(16)}}`;
}

/** The text with every control character written as an escape (`\n`, `\x1b`, `\u{202e}`). */
export function escapeControls(text: string): string {
  return text.replace(CONTROLS, escapeOne);
}

/**
 * A whole message made safe for a terminal: newlines the message itself chose are kept, every
 * other control character is escaped. Values inside it should already have passed `shown`.
 */
export function terminalSafe(text: string): string {
  return text.replace(CONTROLS_BUT_NEWLINE, escapeOne);
}

/** Drops a half surrogate pair left at either edge by a cut. */
function wholeCharacters(text: string): string {
  return text.replace(/^[\udc00-\udfff]/, '').replace(/[\ud800-\udbff]$/, '');
}

/** Cuts text longer than `max` characters in the middle, saying how much was left out. */
export function shortened(text: string, max = SHOWN_MAX): string {
  if (text.length <= max) return text;
  const head = Math.ceil((max * 2) / 3);
  const tail = Math.floor(max / 4);
  const left = text.length - head - tail;
  return `${wholeCharacters(text.slice(0, head))}…[${left.toLocaleString('en-US')} characters left out]…${wholeCharacters(text.slice(text.length - tail))}`;
}

/** A value as a message echoes it: cut to `max` characters, then its control characters escaped. */
export function shown(value: string, max = SHOWN_MAX): string {
  return escapeControls(shortened(value, max));
}

/** A value in backticks, the way messages quote what the user wrote. */
export function quoted(value: string, max = SHOWN_MAX): string {
  return `\`${shown(value, max)}\``;
}
