// Checks the untyped document @iarna/toml returns against the wire shape, field by field, and
// names the exact field path of the first problem (environment[0].image[2].layers[1].digest).

import { EnvlockError } from '../core/errors.js';
import { isDigest } from '../core/oci/digest.js';
import { nearest } from '../core/suggest.js';
import type { WireDescriptor, WireEnvironment, WireHost, WireImage, WireLockfile } from './wire.js';
import { DESCRIPTOR_KEYS, ENVIRONMENT_KEYS, HOST_KEYS, IMAGE_KEYS, TOP_KEYS } from './wire.js';
import { quoted } from '../core/shown.js';

type Table = Record<string, unknown>;

/** One segment of os/arch[/variant]: lower-case letters, digits, dot, underscore, dash. */
const PLATFORM = /^[a-z0-9][a-z0-9._-]*\/[a-z0-9][a-z0-9._-]*(\/[a-z0-9][a-z0-9._-]*)?$/;

function describe(value: unknown): string {
  if (typeof value === 'string') return JSON.stringify(value);
  if (typeof value === 'number' || typeof value === 'bigint' || typeof value === 'boolean') return String(value);
  if (value instanceof Date) return 'a date';
  if (Array.isArray(value)) return 'an array';
  return 'a table';
}

function isTable(value: unknown): value is Table {
  return typeof value === 'object' && value !== null && !Array.isArray(value) && !(value instanceof Date);
}

/** Validates one parsed document; every failure is LOCK_INVALID naming the file and the field. */
export class WireChecker {
  constructor(readonly file: string) {}

  fail(field: string, problem: string): never {
    throw new EnvlockError('LOCK_INVALID', `${this.file} is not a valid lockfile: ${field} ${problem}.`, {
      hint: 'Run `envlock lock` to write it again; envlock.lock is generated and must not be edited by hand.',
      details: { file: this.file, field },
    });
  }

  table(value: unknown, field: string, keys: readonly string[]): Table {
    if (!isTable(value)) this.fail(field, `must be a table, not ${describe(value)}`);
    for (const name of Object.keys(value)) {
      if (!keys.includes(name)) {
        const guess = nearest(name, keys);
        const where = field === '' ? name : `${field}.${name}`;
        this.fail(where, `is not a lockfile field${guess === undefined ? '' : ` (did you mean ${quoted(guess)}?)`}`);
      }
    }
    return value;
  }

  string(value: unknown, field: string): string {
    if (value === undefined) this.fail(field, 'is missing');
    if (typeof value !== 'string') this.fail(field, `must be a string, not ${describe(value)}`);
    if (value === '') this.fail(field, 'must not be empty');
    return value;
  }

  optionalString(value: unknown, field: string): string | undefined {
    return value === undefined ? undefined : this.string(value, field);
  }

  list<T>(value: unknown, field: string, item: (v: unknown, f: string) => T, optional = false): T[] {
    if (value === undefined && optional) return [];
    if (value === undefined) this.fail(field, 'is missing');
    if (!Array.isArray(value)) this.fail(field, `must be an array, not ${describe(value)}`);
    return value.map((v, i) => item(v, `${field}[${i}]`));
  }

  /** A list of distinct non-empty strings (a set; the model sorts it). */
  stringSet(value: unknown, field: string, item: (v: unknown, f: string) => string = (v, f) => this.string(v, f)): string[] {
    const values = this.list(value, field, item);
    const seen = new Set<string>();
    values.forEach((v, i) => {
      if (seen.has(v)) this.fail(`${field}[${i}]`, `repeats ${JSON.stringify(v)}`);
      seen.add(v);
    });
    return values;
  }

  size(value: unknown, field: string): number {
    if (value === undefined) this.fail(field, 'is missing');
    // @iarna/toml returns a bigint (wrapped at 64 bits) for any integer beyond 2^53 - 1.
    if (typeof value === 'bigint') this.fail(field, 'is larger than 2^53 - 1 bytes, which envlock cannot count exactly');
    if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < 0) {
      this.fail(field, `must be a non-negative integer, not ${describe(value)}`);
    }
    return value;
  }

  digest(value: unknown, field: string): string {
    const text = this.string(value, field);
    if (!isDigest(text)) this.fail(field, `must be a sha256 or sha512 digest (sha256:<64 lower-case hex digits>), not ${describe(text)}`);
    return text;
  }

  platform(value: unknown, field: string): string {
    const text = this.string(value, field);
    if (!PLATFORM.test(text)) this.fail(field, `must be a platform os/arch or os/arch/variant, not ${describe(text)}`);
    return text;
  }

  mediaType(value: unknown, field: string): string {
    const text = this.string(value, field);
    // RFC 6838 section 4.2: type/subtype, no spaces or controls; parameters are not used in OCI.
    if (!/^[A-Za-z0-9][A-Za-z0-9!#$&^_.+-]*\/[A-Za-z0-9][A-Za-z0-9!#$&^_.+-]*$/.test(text)) {
      this.fail(field, `must be a media type such as application/vnd.oci.image.manifest.v1+json, not ${describe(text)}`);
    }
    return text;
  }

  descriptor(value: unknown, field: string): WireDescriptor {
    const t = this.table(value, field, DESCRIPTOR_KEYS);
    return {
      'media-type': this.mediaType(t['media-type'], `${field}.media-type`),
      digest: this.digest(t.digest, `${field}.digest`),
      size: this.size(t.size, `${field}.size`),
    };
  }

  host(value: unknown, field: string): WireHost {
    if (value === undefined) this.fail(field, 'is missing');
    const t = this.table(value, field, HOST_KEYS);
    return {
      devices: this.stringSet(t.devices, `${field}.devices`),
      gpu: this.string(t.gpu, `${field}.gpu`),
      mpi: this.string(t.mpi, `${field}.mpi`),
      libraries: this.stringSet(t.libraries, `${field}.libraries`),
    };
  }

  image(value: unknown, field: string): WireImage {
    const t = this.table(value, field, IMAGE_KEYS);
    const image: WireImage = {
      platform: this.platform(t.platform, `${field}.platform`),
      manifest: this.requiredDescriptor(t.manifest, `${field}.manifest`),
      config: this.requiredDescriptor(t.config, `${field}.config`),
      features: this.stringSet(t.features, `${field}.features`),
      layers: this.list(t.layers, `${field}.layers`, (v, f) => this.descriptor(v, f)),
    };
    const level = this.optionalString(t.level, `${field}.level`);
    const microarch = this.optionalString(t.microarch, `${field}.microarch`);
    if (level !== undefined) image.level = level;
    if (microarch !== undefined) image.microarch = microarch;
    return image;
  }

  environment(value: unknown, field: string): WireEnvironment {
    const t = this.table(value, field, ENVIRONMENT_KEYS);
    const env: WireEnvironment = {
      name: this.string(t.name, `${field}.name`),
      reference: this.string(t.reference, `${field}.reference`),
      resolved: this.string(t.resolved, `${field}.resolved`),
      platforms: this.stringSet(t.platforms, `${field}.platforms`, (v, f) => this.platform(v, f)),
      host: this.host(t.host, `${field}.host`),
      // An environment with no image tables is written without any `[[environment.image]]`.
      image: this.list(t.image, `${field}.image`, (v, f) => this.image(v, f), true),
    };
    const cpu = this.optionalString(t.cpu, `${field}.cpu`);
    if (cpu !== undefined) env.cpu = cpu;
    if (t.index !== undefined) env.index = this.descriptor(t.index, `${field}.index`);
    return env;
  }

  private requiredDescriptor(value: unknown, field: string): WireDescriptor {
    if (value === undefined) this.fail(field, 'is missing');
    return this.descriptor(value, field);
  }

  /** The whole document, after its version was accepted by the caller. */
  lockfile(doc: Table, version: number): WireLockfile {
    this.table(doc, '', TOP_KEYS);
    const envlockVersion = this.string(doc['envlock-version'], 'envlock-version');
    const declarationHash = this.digest(doc['declaration-hash'], 'declaration-hash');
    const environment = this.list(doc.environment, 'environment', (v, f) => this.environment(v, f), true);
    const names = new Set<string>();
    environment.forEach((env, i) => {
      if (names.has(env.name)) this.fail(`environment[${i}].name`, `repeats the environment name ${JSON.stringify(env.name)}`);
      names.add(env.name);
    });
    return { version, 'envlock-version': envlockVersion, 'declaration-hash': declarationHash, environment };
  }
}
