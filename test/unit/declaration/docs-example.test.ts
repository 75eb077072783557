// The complete example in docs/declaration.md must stay valid, and say the same in both formats.

import { readFileSync } from 'node:fs';
import { expect, it } from 'vitest';
import { errorOf, parseToml, parseYaml } from './helpers.js';

const doc = readFileSync(new URL('../../../docs/declaration.md', import.meta.url), 'utf8');

function firstBlock(language: string): string {
  const match = new RegExp('```' + language + '\\n([\\s\\S]*?)```').exec(doc);
  if (!match) throw new Error(`no ${language} block in docs/declaration.md`);
  return match[1]!;
}

it('the documented complete example reads the same from YAML and TOML', () => {
  const yaml = parseYaml(firstBlock('yaml'));
  const toml = parseToml(firstBlock('toml'));
  expect(yaml.environments).toEqual(toml.environments);
  expect(yaml.environments[0]?.host.gpu).toBe('nvidia');
});

it('the documented multi-problem message is what envlock prints', () => {
  const error = errorOf(() => parseDeclarationFromDocs());
  const shown = /```text\n(error: [\s\S]*?)```/.exec(doc)![1]!;
  const printed = `error: ${error.message.replace('/proj/', '/home/ana/proj/')}\nhint: ${error.hint!.replace('/proj/', '/home/ana/proj/')}\n`;
  expect(printed).toBe(shown);
});

function parseDeclarationFromDocs() {
  return parseYaml('version: 1\nenvironments:\n  e:\n    imgae: a\n    commands: [ok, "rm -rf"]\n');
}
