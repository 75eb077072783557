// The standard test images every end-to-end test can rely on: built from busybox once by the
// global setup, pushed to the shared registry, and their digests provided to tests.

import { buildImage, buildIndex, type BuiltImage, type BuiltIndex } from './image-builder.js';
import { busyboxLayer } from './busybox-layer.js';
import { pushImage, pushIndex } from './registry-push.js';
import { tarEntries } from './tar-writer.js';

/** Repository:tag names of the standard images. */
export const IMAGE_BUSYBOX = 'busybox:latest';
export const IMAGE_BUSYBOX_AMD64 = 'busybox:amd64';
export const IMAGE_VARIANTS = 'variants:latest';
export const IMAGE_LAYERED = 'layered:latest';
/** busybox with a zstd-compressed layer (image-spec layer.md `tar+zstd`). */
export const IMAGE_ZSTD = 'zstd:latest';

/** CPU features per amd64 variant (x86-64 psABI levels, envlock's canonical spellings), cumulative. */
export const VARIANT_FEATURES: Record<'v2' | 'v3' | 'v4', string[]> = {
  v2: ['cx16', 'lahf', 'popcnt', 'sse3', 'sse4.1', 'sse4.2', 'ssse3'],
  v3: ['cx16', 'lahf', 'popcnt', 'sse3', 'sse4.1', 'sse4.2', 'ssse3', 'avx', 'avx2', 'bmi1', 'bmi2', 'f16c', 'fma', 'lzcnt', 'movbe', 'xsave'],
  v4: ['cx16', 'lahf', 'popcnt', 'sse3', 'sse4.1', 'sse4.2', 'ssse3', 'avx', 'avx2', 'bmi1', 'bmi2', 'f16c', 'fma', 'lzcnt', 'movbe', 'xsave', 'avx512f', 'avx512bw', 'avx512cd', 'avx512dq', 'avx512vl'],
};

/** Annotation on each variants:latest index entry listing the same features, comma-separated. */
export const FEATURES_ANNOTATION = 'org.envlock.cpu.features';

export interface StandardImages {
  busybox: BuiltIndex;
  busyboxAmd64: BuiltImage;
  busyboxArm64: BuiltImage;
  variants: BuiltIndex;
  layered: BuiltImage;
  zstd: BuiltImage;
}

/** Digests handed to tests through `inject('testImages')`. */
export interface TestImageDigests {
  /** busybox:latest index digest */
  busybox: string;
  /** busybox:amd64 (also the amd64 entry of busybox:latest) */
  busyboxAmd64: string;
  busyboxArm64: string;
  /** variants:latest index digest, and each variant's manifest digest */
  variants: string;
  variantV2: string;
  variantV3: string;
  variantV4: string;
  layered: string;
  /** zstd:latest manifest digest */
  zstd: string;
}

const RUN = { Env: ['PATH=/usr/local/bin:/usr/bin:/bin', 'ENVLOCK_TEST_IMAGE=busybox'], Cmd: ['/bin/sh'], WorkingDir: '/' };

/** Second layer of layered:latest: deletes /etc/hostname (whiteout) and replaces /opt/data wholesale (opaque). */
export function layeredLayers(): Buffer[] {
  const base = busyboxLayer([
    { path: 'opt/', type: 'dir' },
    { path: 'opt/data/', type: 'dir' },
    { path: 'opt/data/old.txt', type: 'file', content: 'old\n' },
    { path: 'opt/keep.txt', type: 'file', content: 'keep\n' },
  ]);
  const top = tarEntries([
    { path: 'etc/', type: 'dir' },
    { path: 'etc/.wh.hostname', type: 'file' },
    { path: 'opt/', type: 'dir' },
    { path: 'opt/data/', type: 'dir' },
    { path: 'opt/data/.wh..wh..opq', type: 'file' },
    { path: 'opt/data/new.txt', type: 'file', content: 'new\n' },
    { path: 'usr/bin/hello', type: 'file', mode: 0o755, content: '#!/bin/sh\necho hello from layer 2\n' },
  ]);
  return [base, top];
}

export function buildStandardImages(): StandardImages {
  const layer = busyboxLayer();
  const busyboxAmd64 = buildImage({ layers: [layer], config: RUN, platform: { os: 'linux', architecture: 'amd64' } });
  // arm64 reuses the same (amd64) bytes: a distinct config, never meant to run.
  const busyboxArm64 = buildImage({ layers: [layer], config: RUN, platform: { os: 'linux', architecture: 'arm64', variant: 'v8' } });
  const busybox = buildIndex([{ image: busyboxAmd64 }, { image: busyboxArm64 }]);
  const variantImages = (['v2', 'v3', 'v4'] as const).map((variant) => ({
    variant,
    image: buildImage({
      layers: [layer],
      config: { ...RUN, Env: [...RUN.Env, `ENVLOCK_TEST_VARIANT=${variant}`] },
      platform: { os: 'linux', architecture: 'amd64', variant },
      createdBy: `variant ${variant}`,
    }),
  }));
  const variants = buildIndex(
    variantImages.map(({ variant, image }) => ({
      image,
      features: VARIANT_FEATURES[variant],
      annotations: { [FEATURES_ANNOTATION]: VARIANT_FEATURES[variant].join(',') },
    })),
  );
  const layered = buildImage({ layers: layeredLayers(), config: RUN, platform: { os: 'linux', architecture: 'amd64' } });
  const zstd = buildImage({ layers: [layer], compression: 'zstd', config: RUN, platform: { os: 'linux', architecture: 'amd64' } });
  return { busybox, busyboxAmd64, busyboxArm64, variants, layered, zstd };
}

export async function pushStandardImages(host: string, images: StandardImages = buildStandardImages()): Promise<TestImageDigests> {
  await pushIndex(host, 'busybox', 'latest', images.busybox);
  await pushImage(host, 'busybox', 'amd64', images.busyboxAmd64);
  await pushIndex(host, 'variants', 'latest', images.variants);
  await pushImage(host, 'layered', 'latest', images.layered);
  await pushImage(host, 'zstd', 'latest', images.zstd);
  const [v2, v3, v4] = images.variants.images;
  return {
    busybox: images.busybox.digest,
    busyboxAmd64: images.busyboxAmd64.digest,
    busyboxArm64: images.busyboxArm64.digest,
    variants: images.variants.digest,
    variantV2: v2?.digest ?? '',
    variantV3: v3?.digest ?? '',
    variantV4: v4?.digest ?? '',
    layered: images.layered.digest,
    zstd: images.zstd.digest,
  };
}
