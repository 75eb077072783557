// Reading the marked examples out of Markdown for docs-examples.test.ts: `<!-- docs-test -->` on
// the line right before a ```sh (or ```bash) or ```console fence, and a console transcript split
// into commands and the output each shows.

export const MARK = '<!-- docs-test -->';

export interface Example {
  file: string;
  /** Line of the block's first line of code, 1-based. */
  line: number;
  kind: 'sh' | 'console';
  code: string;
}

export interface ConsoleStep {
  where: string;
  command: string;
  output: string[];
}

export function markedExamples(file: string, text: string): Example[] {
  const lines = text.split('\n');
  const found: Example[] = [];
  for (let i = 0; i + 1 < lines.length; i++) {
    if (lines[i]!.trim() !== MARK) continue;
    const fence = /^```(sh|bash|console)\s*$/.exec(lines[i + 1]!);
    if (!fence) throw new Error(`${file}:${i + 1}: ${MARK} must stand right before a \`\`\`sh or \`\`\`console block`);
    const end = lines.findIndex((l, j) => j > i + 1 && l.startsWith('```'));
    found.push({ file, line: i + 3, kind: fence[1] === 'console' ? 'console' : 'sh', code: lines.slice(i + 2, end).join('\n') });
  }
  return found;
}

/** A console block's commands (`$ `, continued by `> `) and the lines shown after each. */
export function consoleSteps(block: Example): ConsoleStep[] {
  const steps: ConsoleStep[] = [];
  for (const [i, line] of block.code.split('\n').entries()) {
    const last = steps.at(-1);
    if (line.startsWith('$ ')) steps.push({ where: `${block.file}:${block.line + i}`, command: line.slice(2), output: [] });
    else if (line.startsWith('> ') && last !== undefined && last.output.length === 0) last.command += `\n${line.slice(2)}`;
    else if (last !== undefined) last.output.push(line);
    else throw new Error(`${block.file}:${block.line + i}: a console example starts with a \`$ \` command`);
  }
  return steps;
}

const escape = (text: string) => text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

/** Whether `printed` is what `shown` shows: `...` lines match any lines, `…` any text in a line. */
export function matchesOutput(shown: string[], printed: string): boolean {
  const pattern = shown
    .map((line) => (line === '...' ? '(?:[^\\n]*\\n)*?' : `${line.split('…').map(escape).join('[^\\n]*')}\\n`))
    .join('');
  const text = printed === '' || printed.endsWith('\n') ? printed : `${printed}\n`;
  return new RegExp(`^${pattern}$`).test(text);
}
