// parseToml answers a text of only comments and blank lines without loading @iarna/toml; that
// answer must be the one @iarna/toml gives (the empty table), and anything else must reach it.

import TOML from '@iarna/toml';
import { expect, test } from 'vitest';
import { parseToml } from '../../core/toml-parser.js';

function iarna(text: string): string {
  try {
    return JSON.stringify(TOML.parse(text));
  } catch (error) {
    return `refused: ${(error as Error).message.split('\n')[0]}`;
  }
}

function ours(text: string): string {
  try {
    return JSON.stringify(parseToml(text));
  } catch (error) {
    return `refused: ${(error as Error).message.split('\n')[0]}`;
  }
}

test('agrees with @iarna/toml on comments, blank lines and what is not only those', () => {
  const distribution = '# For more information on this configuration file, see containers-registries.conf(5).\n#\n# unqualified-search-registries = ["example.com"]\n\n#   [[registry]]\n#   location = "example.com"\n';
  const texts = [
    '', '\n', '\n\n', '   \n\t\n', '#', '# a comment', '  # indented\t# twice\n', distribution, `${distribution}unqualified-search-registries = ["a.example"]\n`,
    '# é ü 😀\n', '# tab\tinside\n', '# nul \u0000\n', '# bell \u0007\n', '# del \u007f\n', '# cr\r\n', '\uFEFF# bom\n', 'x = 1 # not only a comment\n', '[t]\n# c\n', '#\n=\n',
  ];
  for (const text of texts) expect(ours(text), JSON.stringify(text)).toBe(iarna(text));
});
