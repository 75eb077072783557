// The caller's user name, for the passwd entry the launcher adds inside the environment (the
// spec's `user`). /etc/passwd's line for this uid when it has one: what NSS answers first with
// every stock nsswitch.conf ("passwd: files ..."), read without loading node:os and the NSS
// modules, which a repeated `envlock run` would otherwise pay for at every start. A uid the file
// does not list (LDAP, sssd) is asked of NSS through os.userInfo().

import { readFileSync } from 'node:fs';
import os from 'node:os';

/** The name /etc/passwd's text gives `uid`, or undefined. */
export function nameInPasswd(text: string, uid: number): string | undefined {
  const wanted = `:${uid}:`;
  for (const line of text.split('\n')) {
    if (line.startsWith('#')) continue;
    const first = line.indexOf(':');
    const second = line.indexOf(':', first + 1);
    if (first > 0 && second > first && line.startsWith(wanted, second)) return line.slice(0, first);
  }
  return undefined;
}

export function callerName(): string {
  const uid = process.getuid?.();
  if (uid !== undefined) {
    try {
      const name = nameInPasswd(readFileSync('/etc/passwd', 'utf8'), uid);
      if (name !== undefined) return name;
    } catch {
      // unreadable: NSS decides
    }
  }
  return os.userInfo().username;
}
