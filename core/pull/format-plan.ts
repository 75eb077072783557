// Which form a pull stores an image in, settled once per pull (core/store/image-format.ts has
// the rule): what counts as already pulled is known from the setting alone, and this host's
// squashfs support is probed only when an image must really be built.

import type { Context } from '../context.js';
import type { ImageForm } from '../store/find.js';
import { acceptedForms, chooseImageFormat, describeChoice, requestedFormat, type FormatChoice } from '../store/image-format.js';
import type { Store } from '../store/store.js';

export interface FormatPlan {
  /** The forms a pull with this setting takes as done (auto: either). */
  accepted: readonly ImageForm[];
  /** The form to build in; probes the host the first time, says why in --verbose. */
  choose(): Promise<FormatChoice>;
}

export async function formatPlan(flag: string | undefined, ctx: Pick<Context, 'env' | 'reporter'>, store: Pick<Store, 'root'>): Promise<FormatPlan> {
  const request = await requestedFormat(flag, ctx.env, store.root);
  let chosen: Promise<FormatChoice> | undefined;
  return {
    accepted: acceptedForms(request.setting),
    choose: () =>
      (chosen ??= chooseImageFormat(request, ctx.env).then((choice) => {
        ctx.reporter.debug(`Image format: ${describeChoice(choice)}`);
        return choice;
      })),
  };
}
