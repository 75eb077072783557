// `envlock doctor`'s image-format check: which form a pull here would store images in, why,
// and, when squashfs is not possible, the part that fails and its fix.

import type { Context } from '../context.js';
import { isEnvlockError } from '../errors.js';
import type { SupportProbes } from '../squashfs/host-support.js';
import { chooseImageFormat, requestedFormat } from '../store/image-format.js';
import { storeRoots } from '../store/paths.js';
import type { Check } from './checks.js';

export async function checkImageFormat(ctx: Pick<Context, 'env' | 'home' | 'cwd' | 'storeOverride'>, probes?: SupportProbes): Promise<Check> {
  const area = 'image format';
  try {
    const request = await requestedFormat(undefined, ctx.env, storeRoots(ctx).writable);
    const choice = await chooseImageFormat(request, ctx.env, probes);
    const details = { format: choice.format, setting: choice.setting, source: choice.source, ...(choice.support ? { squashfs: choice.support } : {}) };
    if (choice.format === 'tree' && choice.support !== undefined) {
      return { area, status: 'warn', summary: `Pulls store images as trees (${choice.reason}).`, ...(choice.support.fix ? { fix: choice.support.fix } : {}), details };
    }
    return { area, status: 'ok', summary: `Pulls store images as ${choice.format === 'tree' ? 'trees' : 'squashfs files'} (${choice.reason}).`, details };
  } catch (error) {
    if (!isEnvlockError(error)) throw error;
    return { area, status: 'fail', summary: error.message, ...(error.hint ? { fix: error.hint } : {}), details: { code: error.code, ...error.details } };
  }
}
