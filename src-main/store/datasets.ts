/** The datasets table: what the studio knows about each dataset, and where its pixels live. */
import type Database from 'better-sqlite3';
import { StudioError } from '../contract/index.ts';
import type { DatasetInfo, DatasetKind } from '../contract/index.ts';

/** What upsert takes: a DatasetInfo whose createdAt may be left out (then: now), plus where its data is. */
export type DatasetRecord = Omit<DatasetInfo, 'createdAt'> & {
  createdAt?: number;
  dataPath?: string | null;
  fingerprint?: string | null;
};

export interface DatasetsRepo {
  /**
   * Inserts or replaces the dataset's fields. `createdAt` (default: now) is kept from the first
   * insert, so re-registering a builtin at every start does not reorder the list. `dataPath` / `fingerprint`
   * left undefined keep their stored value; null clears it.
   */
  upsert(d: DatasetRecord): void;
  /** Builtins first, then newest first. */
  list(): DatasetInfo[];
  get(id: string): DatasetInfo | undefined;
  /** The file holding the dataset's pixels; null when it has none (builtins) or is unknown. */
  dataPath(id: string): string | null;
  /** Throws NOT_FOUND for an unknown id and CONFLICT while runs reference the dataset. */
  delete(id: string): void;
}

interface DatasetRow {
  id: string;
  name: string;
  kind: DatasetKind;
  source: string;
  count: number;
  width: number;
  height: number;
  channels: number;
  labels: string | null;
  created_at: number;
}

const COLUMNS = 'id, name, kind, source, count, width, height, channels, labels, created_at';

function toInfo(r: DatasetRow): DatasetInfo {
  return {
    id: r.id,
    name: r.name,
    kind: r.kind,
    source: r.source,
    count: r.count,
    width: r.width,
    height: r.height,
    channels: r.channels,
    labels: r.labels === null ? null : (JSON.parse(r.labels) as string[]),
    createdAt: r.created_at,
  };
}

export function datasetsRepo(db: Database.Database, now: () => number): DatasetsRepo {
  const upsert = db.prepare(`
    INSERT INTO datasets (id, name, kind, source, count, width, height, channels, labels, data_path, fingerprint, created_at)
    VALUES (@id, @name, @kind, @source, @count, @width, @height, @channels, @labels, @dataPath, @fingerprint, @createdAt)
    ON CONFLICT (id) DO UPDATE SET
      name = excluded.name, kind = excluded.kind, source = excluded.source, count = excluded.count,
      width = excluded.width, height = excluded.height, channels = excluded.channels, labels = excluded.labels,
      data_path = CASE WHEN @setDataPath THEN excluded.data_path ELSE datasets.data_path END,
      fingerprint = CASE WHEN @setFingerprint THEN excluded.fingerprint ELSE datasets.fingerprint END`);
  // The ORDER BY repeats the datasets_list index expressions so no sort step is needed.
  const list = db.prepare<[], DatasetRow>(
    `SELECT ${COLUMNS} FROM datasets ORDER BY (kind = 'builtin') DESC, created_at DESC, id`,
  );
  const get = db.prepare<[string], DatasetRow>(`SELECT ${COLUMNS} FROM datasets WHERE id = ?`);
  const dataPath = db.prepare<[string], { data_path: string | null }>(`SELECT data_path FROM datasets WHERE id = ?`);
  const usedBy = db.prepare<[string], { n: number }>(`SELECT count(*) AS n FROM runs WHERE dataset_id = ?`);
  const del = db.prepare<[string]>(`DELETE FROM datasets WHERE id = ?`);

  const deleteTx = db.transaction((id: string) => {
    const { n } = usedBy.get(id)!;
    if (n > 0) {
      throw new StudioError('CONFLICT', `dataset ${id} is used by ${n} run${n === 1 ? '' : 's'}; delete those runs first`);
    }
    if (del.run(id).changes === 0) throw new StudioError('NOT_FOUND', `no dataset ${id}`);
  });

  return {
    upsert(d) {
      upsert.run({
        id: d.id,
        name: d.name,
        kind: d.kind,
        source: d.source,
        count: d.count,
        width: d.width,
        height: d.height,
        channels: d.channels,
        labels: d.labels === null ? null : JSON.stringify(d.labels),
        dataPath: d.dataPath ?? null,
        fingerprint: d.fingerprint ?? null,
        createdAt: d.createdAt ?? now(),
        setDataPath: d.dataPath === undefined ? 0 : 1,
        setFingerprint: d.fingerprint === undefined ? 0 : 1,
      });
    },
    list: () => list.all().map(toInfo),
    get(id) {
      const row = get.get(id);
      return row === undefined ? undefined : toInfo(row);
    },
    dataPath: (id) => dataPath.get(id)?.data_path ?? null,
    delete: (id) => deleteTx.immediate(id),
  };
}
