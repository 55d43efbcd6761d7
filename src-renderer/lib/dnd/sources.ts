/**
 * What the user dropped or picked, before it is imported. In Electron the preload turns each File
 * into its absolute path (webUtils.getPathForFile) and main imports those paths directly. In web
 * mode the page cannot know paths: it walks dropped folders itself (keeping relative paths, so
 * subfolder names still become labels) and uploads the files to the server first.
 *
 * Pure: the DOM types are narrowed to the few members used, so this runs (and is tested) in Node.
 */

/** The part of a File the upload needs (fetch sends it as the body). */
export interface BlobLike {
  readonly size: number;
  readonly name: string;
}

/** One file to upload, with its '/'-separated path relative to the drop (e.g. 'digits/3/a.png'). */
export interface UploadFile<F extends BlobLike = BlobLike> {
  file: F;
  path: string;
}

export type ImportSources<F extends BlobLike = BlobLike> =
  /** Electron: absolute paths, imported where they are. */
  | { kind: 'paths'; paths: string[] }
  /** Web mode: files to upload, then import from the upload folder. */
  | { kind: 'files'; files: UploadFile<F>[] };

/** A top-level item of the sources, for the import dialog's list. */
export interface SourceSummary {
  name: string;
  folder: boolean;
  /** Files inside (1 for a file); null when unknown (a path in Electron). */
  files: number | null;
  bytes: number | null;
}

/** FileSystemEntry, narrowed (webkitGetAsEntry on a drop). */
export interface FileEntryLike<F> {
  readonly isFile: true;
  readonly isDirectory: false;
  readonly name: string;
  file(ok: (f: F) => void, fail?: (e: unknown) => void): void;
}
export interface DirectoryEntryLike<F> {
  readonly isFile: false;
  readonly isDirectory: true;
  readonly name: string;
  createReader(): { readEntries(ok: (entries: EntryLike<F>[]) => void, fail?: (e: unknown) => void): void };
}
export type EntryLike<F> = FileEntryLike<F> | DirectoryEntryLike<F>;

export interface WalkResult<F extends BlobLike> {
  files: UploadFile<F>[];
  /** Entries that could not be read (permission, vanished), with why. */
  errors: { path: string; message: string }[];
}

/** Files a browser or OS adds to folders that are never images. */
export function isJunk(name: string): boolean {
  return name === '.DS_Store' || name === 'Thumbs.db' || name === 'desktop.ini' || name.startsWith('._');
}

/**
 * Walks dropped entries depth-first, keeping each file's path relative to the drop. readEntries
 * answers in batches (about 100 in Chromium): it is called until it returns none.
 */
export async function walkEntries<F extends BlobLike>(entries: EntryLike<F>[]): Promise<WalkResult<F>> {
  const out: WalkResult<F> = { files: [], errors: [] };
  const visit = async (entry: EntryLike<F>, prefix: string): Promise<void> => {
    const rel = prefix ? `${prefix}/${entry.name}` : entry.name;
    if (isJunk(entry.name)) return;
    if (entry.isFile) {
      try {
        const file = await new Promise<F>((ok, fail) => entry.file(ok, fail));
        out.files.push({ file, path: rel });
      } catch (e) {
        out.errors.push({ path: rel, message: describe(e) });
      }
      return;
    }
    const reader = entry.createReader();
    for (;;) {
      let batch: EntryLike<F>[];
      try {
        batch = await new Promise<EntryLike<F>[]>((ok, fail) => reader.readEntries(ok, fail));
      } catch (e) {
        out.errors.push({ path: rel, message: describe(e) });
        return;
      }
      if (batch.length === 0) return;
      for (const child of batch) await visit(child, rel);
    }
  };
  for (const e of entries) await visit(e, '');
  return out;
}

function describe(e: unknown): string {
  if (e && typeof e === 'object' && 'message' in e) return String((e as { message: unknown }).message);
  return String(e);
}

/** Files picked with <input type=file> (webkitRelativePath set for a folder picker). */
export function fromPicked<F extends BlobLike & { readonly webkitRelativePath?: string }>(files: ArrayLike<F>): UploadFile<F>[] {
  const out: UploadFile<F>[] = [];
  for (let i = 0; i < files.length; i++) {
    const f = files[i]!;
    const rel = f.webkitRelativePath ? f.webkitRelativePath : f.name;
    const last = rel.split('/').pop() ?? rel;
    if (isJunk(last)) continue;
    out.push({ file: f, path: rel });
  }
  return out;
}

/**
 * The folder a webkitdirectory picker chose, from one of its files: the file's absolute path minus
 * its relative path, plus the relative path's first segment. Works with '\' separators (Windows).
 */
export function pickedFolderPath(absoluteFile: string, relativePath: string): string | null {
  const rel = relativePath.split('/');
  if (rel.length < 2) return null;
  const sep = absoluteFile.includes('\\') && !absoluteFile.includes('/') ? '\\' : '/';
  const tail = rel.join(sep);
  if (!absoluteFile.endsWith(tail)) return null;
  return absoluteFile.slice(0, absoluteFile.length - tail.length) + rel[0]!;
}

/** Last segment of a path with either separator. */
export function baseName(p: string): string {
  const parts = p.split(/[\\/]/).filter(Boolean);
  return parts[parts.length - 1] ?? p;
}

/** Top-level items of the sources: a dropped folder counts its files and bytes. */
export function summarise(sources: ImportSources): SourceSummary[] {
  if (sources.kind === 'paths') return sources.paths.map((p) => ({ name: baseName(p), folder: false, files: null, bytes: null }));
  const byTop = new Map<string, SourceSummary>();
  for (const f of sources.files) {
    const slash = f.path.indexOf('/');
    const top = slash === -1 ? f.path : f.path.slice(0, slash);
    let s = byTop.get(top);
    if (!s) {
      s = { name: top, folder: slash !== -1, files: 0, bytes: 0 };
      byTop.set(top, s);
    }
    s.files! += 1;
    s.bytes! += f.file.size;
  }
  return [...byTop.values()];
}

/** A default dataset name: the dropped folder's (or single file's) name without its extension. */
export function defaultName(sources: ImportSources): string {
  const s = summarise(sources);
  if (s.length === 0) return '';
  const first = s[0]!;
  const stem = first.folder ? first.name : first.name.replace(/\.(gz|zip|npy|csv|idx\d?-ubyte)$/i, '').replace(/\.[^.]+$/, '');
  return s.length === 1 ? stem : `${stem} and ${s.length - 1} more`;
}

/**
 * What to import once uploaded: a single dropped item is imported as itself (a folder whose
 * subfolders become labels, a zip, an IDX file); several items are imported as the upload folder,
 * so several dropped folders become one labelled dataset, one label each.
 */
export function importPathsFor(root: string, files: { path: string }[]): string[] {
  const tops = new Set(files.map((f) => f.path.split('/')[0]!));
  if (tops.size !== 1) return [root];
  const sep = root.includes('\\') && !root.includes('/') ? '\\' : '/';
  return [`${root.replace(/[\\/]+$/, '')}${sep}${[...tops][0]!}`];
}
