// The progress line of unpacking one layer: "unpacking layer 2/5 sha256:abcd…", counted in the
// compressed bytes read from the stored blob, whose total is known (the layer's size), so the
// line can say done/total. The applier's own task, which only knows uncompressed bytes, is
// silenced (quietTasks); its messages still reach the reporter.

import { Transform, type Readable } from 'node:stream';
import { silentTask, type Reporter } from '../context.js';
import { shortDigest } from '../oci/digest.js';

/** The same reporter without tasks of its own: for the applier, whose layer lines come from here. */
export function quietTasks(reporter: Reporter): Reporter {
  return { ...reporter, task: () => silentTask };
}

export interface LayerProgress {
  /** The layer blob's stream, counted as it is read; the line ends when the stream does. */
  wrap(input: Readable): Readable;
}

export function layerProgress(reporter: Reporter, index: number, count: number, layer: { digest: string; size: number }): LayerProgress {
  return {
    wrap(input) {
      const task = reporter.task(`unpacking layer ${index + 1}/${count} ${shortDigest(layer.digest)}`, layer.size);
      task.restart(0);
      const counter = new Transform({
        transform(chunk: Buffer, _encoding, callback) {
          task.advance(chunk.length);
          callback(null, chunk);
        },
        flush(callback) {
          task.done();
          callback();
        },
      });
      input.on('error', (error) => {
        task.fail();
        counter.destroy(error);
      });
      counter.on('close', () => {
        if (!input.destroyed) input.destroy();
      });
      return input.pipe(counter);
    },
  };
}
