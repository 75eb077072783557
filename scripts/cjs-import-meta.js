// Injected into the CommonJS entry bundle (scripts/bundle.mjs): `import.meta.url` of the ES
// modules the entry shares code with. A getter, so the URL module is loaded only if some code
// on the path taken really asks for it (it is a measurable part of a fast answer).
export const __envlockImportMeta = {
  get url() {
    return require('node:url').pathToFileURL(__filename).href;
  },
};
