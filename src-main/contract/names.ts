/**
 * Command and event names as plain data, without zod: the sandboxed preload bundles this file alone
 * (a few hundred bytes instead of zod). commands.ts checks at compile time that these lists equal
 * the keys of its command map and event interface, so they cannot drift.
 */
export const COMMAND_NAMES = [
  'app.info',
  'datasets.list',
  'datasets.get',
  'datasets.preview',
  'datasets.import',
  'datasets.previewImport',
  'datasets.cancelImport',
  'datasets.report',
  'datasets.samples',
  'datasets.delete',
  'system.doctor',
  'runs.list',
  'runs.get',
  'runs.metrics',
  'runs.checkpoints',
  'runs.delete',
  'runs.resume',
  'runs.eval',
  'runs.evals',
  'training.start',
  'training.stop',
  'training.active',
  // history.ts
  'runs.update',
  'runs.previews',
  'training.pause',
  'training.resume',
  'training.estimate',
  // latent.ts
  'latent.encode',
  'latent.map',
  'latent.cancel',
  'latent.vectors',
  'latent.invert',
  'latent.attribute',
  'latent.decoder',
  'latent.decode',
  'latent.images',
  // export.ts
  'export.run',
  'export.cancel',
  'export.importModel',
] as const;

export const EVENT_NAMES = [
  'training.progress',
  'training.epoch',
  'training.status',
  'runs.changed',
  'runs.evalProgress',
  'datasets.importProgress',
  'datasets.changed',
  'runs.finished',
  'latent.progress',
  'export.progress',
  'app.open',
] as const;
