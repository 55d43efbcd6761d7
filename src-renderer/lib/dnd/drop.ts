/**
 * The DOM side of dropping and picking: turns a drop's DataTransfer or an <input type=file>'s
 * FileList into ImportSources. With the Electron bridge every File becomes its absolute path
 * (getPathForFile, checked again by main); without it (web mode) folders are walked here and the
 * files uploaded later.
 */
import { BRIDGE_GLOBAL } from '../../../src-main/contract/index.ts';
import type { PreloadApi } from '../../../src-main/contract/index.ts';
import { TOKEN_STORAGE_KEY } from '../api/token.ts';
import { fromPicked, pickedFolderPath, walkEntries } from './sources.ts';
import type { EntryLike, ImportSources } from './sources.ts';

export function preloadBridge(): PreloadApi | null {
  const b = (window as unknown as Record<string, unknown>)[BRIDGE_GLOBAL] as PreloadApi | undefined;
  return b && typeof b === 'object' && typeof b.getPathForFile === 'function' ? b : null;
}

/** Whether a drag carries files (not text or a link dragged from the page). */
export function carriesFiles(dt: DataTransfer | null): boolean {
  return !!dt && Array.from(dt.types).includes('Files');
}

export interface DropRead {
  sources: ImportSources<File> | null;
  errors: { path: string; message: string }[];
}

/**
 * Reads a drop. The entries must be taken synchronously, inside the drop event: the DataTransfer
 * is emptied once the handler yields; walking the folders may then take its time.
 */
export function readDrop(dt: DataTransfer): Promise<DropRead> {
  const bridge = preloadBridge();
  const files = Array.from(dt.files);
  if (bridge) {
    const paths = files.map((f) => bridge.getPathForFile(f)).filter((p) => p !== '');
    return Promise.resolve({ sources: paths.length ? { kind: 'paths', paths } : null, errors: [] });
  }
  const entries: EntryLike<File>[] = [];
  for (const item of Array.from(dt.items)) {
    if (item.kind !== 'file') continue;
    const entry = item.webkitGetAsEntry?.();
    if (entry) entries.push(entry as unknown as EntryLike<File>);
  }
  if (entries.length === 0) {
    // A drop without entries (synthetic, or a browser without the API): loose files only.
    const list = fromPicked(files);
    return Promise.resolve({ sources: list.length ? { kind: 'files', files: list } : null, errors: [] });
  }
  return walkEntries(entries).then((r) => ({ sources: r.files.length ? { kind: 'files', files: r.files } : null, errors: r.errors }));
}

/** Files from a file picker (`folder`: the webkitdirectory one). */
export function readPicked(list: FileList, folder: boolean): ImportSources<File> | null {
  const files = Array.from(list);
  if (files.length === 0) return null;
  const bridge = preloadBridge();
  if (bridge) {
    if (folder) {
      const first = files[0]!;
      const dir = pickedFolderPath(bridge.getPathForFile(first), first.webkitRelativePath);
      if (dir) return { kind: 'paths', paths: [dir] };
    }
    const paths = files.map((f) => bridge.getPathForFile(f)).filter((p) => p !== '');
    return paths.length ? { kind: 'paths', paths } : null;
  }
  const picked = fromPicked(files);
  return picked.length ? { kind: 'files', files: picked } : null;
}

/** The web-mode session token (token.ts keeps it in sessionStorage), for the upload requests. */
export function uploadToken(): string | null {
  try {
    return sessionStorage.getItem(TOKEN_STORAGE_KEY);
  } catch {
    return null;
  }
}
