// Browser stand-in for src/version.ts, which reads package.json from disk: the
// bundler (scripts/build-web.js) defines the version as a constant instead.
declare const LIPVAE_VERSION: string;

export const libraryVersion: string = LIPVAE_VERSION;
