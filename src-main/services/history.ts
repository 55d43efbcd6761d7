/**
 * History commands (contract/history.ts): editing a run's name, notes and tags; pausing and
 * resuming a live trainer (TrainingSupervisor.pause/resume); the per-epoch previews the trainer
 * keeps beside the checkpoints (trainer/previews.ts); and training.estimate, a short measurement in
 * a worker process (trainer/estimate-job.ts) that records nothing.
 */
import type { CommandParsed, DatasetInfo, RunSummary } from '../contract/index.ts';
import { StudioError, TrainConfigSchema, parseOrThrow } from '../contract/index.ts';
import type { historyCommands, RunPreviews, TrainEstimate } from '../contract/history.ts';
import { toBase64 } from '../core/latent/cache.ts';
import type { EstimatePayload } from '../trainer/estimate-job.ts';
import { listPreviewEpochs, previewsFolder, readPreviews } from '../trainer/previews.ts';
import { datasetSource, runFolder } from './run-ops.ts';
import type { AreaService, ServiceContext } from './studio-api.ts';

export type HistoryCommand = keyof typeof historyCommands;

/** Tags as stored: trimmed (the schema does it), first occurrence kept, compared case-insensitively. */
export function normalizeTags(tags: readonly string[]): string[] {
  const seen = new Set<string>();
  const out: string[] = [];
  for (const raw of tags) {
    const t = raw.trim();
    const key = t.toLowerCase();
    if (t.length === 0 || seen.has(key)) continue;
    seen.add(key);
    out.push(t);
  }
  return out;
}

export function createHistoryService(ctx: ServiceContext): AreaService<HistoryCommand> {
  const { store, supervisor } = ctx;
  const estimates = new Set<AbortController>();

  const getRun = (id: string, field = 'id'): RunSummary => {
    const r = store.runs.get(id);
    if (!r) throw new StudioError('NOT_FOUND', `no run with id "${id}"`, field);
    return supervisor.isPaused(id) ? { ...r, paused: true } : r;
  };
  const getDataset = (id: string): DatasetInfo => {
    const d = store.datasets.get(id);
    if (!d) throw new StudioError('NOT_FOUND', `no dataset with id "${id}"`, 'datasetId');
    return d;
  };

  const update = ({ id, name, notes, tags }: CommandParsed<'runs.update'>): RunSummary => {
    getRun(id);
    store.runs.update(id, {
      ...(name !== undefined ? { name } : {}),
      ...(notes !== undefined ? { notes } : {}),
      ...(tags !== undefined ? { tags: normalizeTags(tags) } : {}),
    });
    ctx.emit('runs.changed', { runId: id });
    return getRun(id);
  };

  const previews = async ({ id, epoch }: CommandParsed<'runs.previews'>): Promise<RunPreviews> => {
    const r = getRun(id);
    const folder = previewsFolder(runFolder(ctx.dataDir, id));
    const epochs = await listPreviewEpochs(folder);
    if (epoch !== undefined && !epochs.includes(epoch)) {
      const has = epochs.length > 0 ? `it has previews of epoch ${epochs.join(', ')}` : 'it has no previews yet';
      throw new StudioError('NOT_FOUND', `run ${id} has no previews of epoch ${epoch}; ${has}`, 'epoch');
    }
    const shown = epoch ?? epochs.at(-1) ?? null;
    const found = shown === null ? null : await readPreviews(folder, shown);
    if (!found) {
      // No previews yet (or they went missing between the listing and the read): the dataset's shape, nothing to show.
      const d = store.datasets.get(r.datasetId);
      return {
        runId: id,
        epochs: shown === null ? epochs : epochs.filter((e) => e !== shown),
        epoch: null,
        width: d?.width ?? 0,
        height: d?.height ?? 0,
        channels: d?.channels ?? 0,
        originals: '',
        reconstructions: '',
        samples: '',
        count: { reconstructions: 0, samples: 0 },
      };
    }
    const { meta, pixels } = found;
    return {
      runId: id,
      epochs,
      epoch: meta.epoch,
      width: meta.width,
      height: meta.height,
      channels: meta.channels,
      originals: toBase64(pixels.originals),
      reconstructions: toBase64(pixels.reconstructions),
      samples: toBase64(pixels.samples),
      count: { ...meta.count },
    };
  };

  const estimate = async ({ datasetId, config: raw, steps }: CommandParsed<'training.estimate'>): Promise<TrainEstimate> => {
    const d = getDataset(datasetId);
    // The same validation (and field paths) as training.start.
    const config = parseOrThrow(TrainConfigSchema, raw, 'config');
    const source = datasetSource(store, d);
    const count = source.kind === 'file' && source.trainCount ? source.trainCount : d.count;
    const used = config.maxSamples > 0 ? Math.min(count, config.maxSamples) : count;
    if (used - Math.floor(used * config.validationFraction) <= 0) {
      throw new StudioError(
        'INVALID_INPUT',
        `no training samples: the dataset has ${count} images, maxSamples ${config.maxSamples}, validationFraction ${config.validationFraction}`,
        'validationFraction',
      );
    }
    const ac = new AbortController();
    estimates.add(ac);
    try {
      const payload: EstimatePayload = { config, dataset: source, steps };
      return await supervisor.runJob<TrainEstimate>('training.estimate', payload, { signal: ac.signal });
    } finally {
      estimates.delete(ac);
    }
  };

  return {
    handlers: {
      'runs.update': update,
      'runs.previews': previews,
      'training.pause': ({ runId }) => {
        getRun(runId, 'runId');
        supervisor.pause(runId);
        return getRun(runId, 'runId');
      },
      'training.resume': ({ runId }) => {
        getRun(runId, 'runId');
        supervisor.resume(runId);
        return getRun(runId, 'runId');
      },
      'training.estimate': estimate,
    },
    close() {
      for (const ac of estimates) ac.abort();
    },
  };
}
