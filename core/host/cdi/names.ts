// CDI name grammar (SPEC.md "Kind", "CDI Devices"): kind = vendor.com/class, device names,
// and fully qualified device names vendor.com/class=name.

export interface QualifiedDevice {
  kind: string;
  vendor: string;
  className: string;
  name: string;
}

const ALNUM = /^[A-Za-z0-9]$/;

function isAlnum(ch: string | undefined): boolean {
  return ch !== undefined && ALNUM.test(ch);
}

/** Vendor: a DNS-subdomain-like prefix; starts with a letter, ends alphanumeric, [A-Za-z0-9_.-] between. */
export function vendorProblem(vendor: string): string | undefined {
  if (vendor === '') return 'the vendor prefix is empty';
  if (vendor.length > 253) return 'the vendor prefix is longer than 253 characters';
  if (!/^[A-Za-z]/.test(vendor)) return `the vendor prefix "${vendor}" must start with a letter`;
  if (!isAlnum(vendor[vendor.length - 1])) return `the vendor prefix "${vendor}" must end with a letter or digit`;
  if (!/^[A-Za-z0-9_.-]+$/.test(vendor)) return `the vendor prefix "${vendor}" may only contain letters, digits, '_', '-' and '.'`;
  return undefined;
}

/** Class: at most 63 characters, starts with a letter, ends alphanumeric, [A-Za-z0-9_.-] between. */
export function classProblem(className: string): string | undefined {
  if (className === '') return 'the class name is empty';
  if (className.length > 63) return 'the class name is longer than 63 characters';
  if (!/^[A-Za-z]/.test(className)) return `the class name "${className}" must start with a letter`;
  if (!isAlnum(className[className.length - 1])) return `the class name "${className}" must end with a letter or digit`;
  if (!/^[A-Za-z0-9_.-]+$/.test(className)) return `the class name "${className}" may only contain letters, digits, '_', '-' and '.'`;
  return undefined;
}

/** Kind "vendor.com/class": exactly one slash (SPEC.md: `vendor.com/foo/bar` is invalid). */
export function kindProblem(kind: string): string | undefined {
  const parts = kind.split('/');
  if (parts.length !== 2) return `"${kind}" is not of the form vendor.com/class`;
  return vendorProblem(parts[0]!) ?? classProblem(parts[1]!);
}

/** Device name: alphanumeric at both ends, [A-Za-z0-9_.:-] between. */
export function deviceNameProblem(name: string): string | undefined {
  if (name === '') return 'the device name is empty';
  if (!isAlnum(name[0])) return `the device name "${name}" must start with a letter or digit`;
  if (!isAlnum(name[name.length - 1])) return `the device name "${name}" must end with a letter or digit`;
  if (!/^[A-Za-z0-9_.:-]+$/.test(name)) return `the device name "${name}" may only contain letters, digits, '_', '-', '.' and ':'`;
  return undefined;
}

/** Splits vendor.com/class=name; returns a reason string when it is not fully qualified. */
export function parseQualifiedName(value: string): QualifiedDevice | string {
  const eq = value.indexOf('=');
  if (eq < 0) return `"${value}" is not a fully qualified CDI device name (vendor.com/class=name)`;
  const kind = value.slice(0, eq);
  const name = value.slice(eq + 1);
  const problem = kindProblem(kind) ?? deviceNameProblem(name);
  if (problem !== undefined) return `"${value}" is not a valid CDI device name: ${problem}`;
  const [vendor, className] = kind.split('/') as [string, string];
  return { kind, vendor, className, name };
}
