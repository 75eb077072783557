// The --json success envelope, alone in a file so the fast paths (cli/fast/) print exactly
// what the full CLI prints without loading its renderers.

export function successEnvelope(command: string | undefined, result: unknown): string {
  return `${JSON.stringify({ ok: true, command: command ?? null, result: result ?? null })}\n`;
}
