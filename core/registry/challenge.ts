// Parses WWW-Authenticate (RFC 7235 section 4.1): several challenges in one header, case-insensitive
// schemes, auth-params whose quoted values may contain commas (scope="repository:a:pull,push").

export interface Challenge {
  /** Lower-cased scheme: "bearer", "basic", … */
  scheme: string;
  params: Record<string, string>;
}

const TOKEN = /^[!#$%&'*+.^_`|~0-9A-Za-z-]+/;

export function parseChallenges(header: string): Challenge[] {
  const challenges: Challenge[] = [];
  let i = 0;
  const skipSpace = (): void => {
    while (i < header.length && (header[i] === ' ' || header[i] === '\t')) i++;
  };
  let current: Challenge | undefined;
  while (i < header.length) {
    skipSpace();
    if (header[i] === ',') {
      i++;
      continue;
    }
    const match = TOKEN.exec(header.slice(i));
    if (match === null) {
      i++;
      continue;
    }
    const word = match[0];
    const after = i + word.length;
    // "name=" starts a parameter of the current challenge; anything else starts a new challenge.
    let j = after;
    while (j < header.length && (header[j] === ' ' || header[j] === '\t')) j++;
    if (current !== undefined && header[j] === '=' && header[j + 1] !== '=') {
      i = j + 1;
      skipSpace();
      let value = '';
      if (header[i] === '"') {
        i++;
        while (i < header.length && header[i] !== '"') {
          if (header[i] === '\\' && i + 1 < header.length) i++;
          value += header[i];
          i++;
        }
        i++;
      } else {
        // Strictly a token, but realms are sometimes sent as bare URLs: read up to , or space.
        value = /^[^,\s]*/.exec(header.slice(i))![0];
        i += value.length;
      }
      current.params[word.toLowerCase()] = value;
      continue;
    }
    current = { scheme: word.toLowerCase(), params: {} };
    challenges.push(current);
    i = after;
    // token68 forms ("Negotiate abc==") are not used by registries: their words read as
    // schemes of their own, which pickChallenge ignores.
  }
  return challenges;
}

/** The challenge envlock answers: Bearer before Basic (ggcr pickFromMultipleChallenges). */
export function pickChallenge(challenges: Challenge[]): Challenge | undefined {
  return challenges.find((c) => c.scheme === 'bearer') ?? challenges.find((c) => c.scheme === 'basic');
}
