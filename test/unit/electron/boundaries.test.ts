/**
 * 'electron' cannot be loaded in plain Node (no binary here: requiring it starts a download
 * and throws). So only the two entry files may import it as a value; every other module in
 * src-main/electron and src-main/preload uses `import type` and gets the real objects injected,
 * which is what lets the rest of this folder's tests run at all.
 */
import assert from 'node:assert/strict';
import { readFileSync, readdirSync } from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';

const repo = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../..');
const VALUE_IMPORTERS = new Set(['src-main/electron/main.ts', 'src-main/preload/index.ts']);

function tsFiles(dir: string): string[] {
  const out: string[] = [];
  for (const entry of readdirSync(path.join(repo, dir), { withFileTypes: true })) {
    const rel = `${dir}/${entry.name}`;
    if (entry.isDirectory()) out.push(...tsFiles(rel));
    else if (/\.(ts|mts|cts|js|mjs)$/.test(entry.name)) out.push(rel);
  }
  return out;
}

/** Import statements of 'electron' (or electron/...) that load it at run time. */
function valueImports(source: string): string[] {
  const found: string[] = [];
  const importRe = /^\s*import\s+([^;]*?)\s*from\s*['"](electron(?:\/[^'"]*)?)['"]/gm;
  for (const m of source.matchAll(importRe)) {
    // `import type {...}` is erased; `import { type A }` is not (verbatimModuleSyntax keeps it).
    if (!/^type\s/.test(m[1]!)) found.push(m[0].trim());
  }
  for (const m of source.matchAll(/^\s*import\s*['"]electron(?:\/[^'"]*)?['"]/gm)) found.push(m[0].trim());
  for (const m of source.matchAll(/\b(?:require|import)\s*\(\s*['"]electron(?:\/[^'"]*)?['"]\s*\)/g)) found.push(m[0]);
  return found;
}

test('the import detector sees value imports and ignores type imports', () => {
  // The module name is spliced in so that this file does not itself read as an import of it.
  const E = 'electron';
  assert.equal(valueImports(`import { app } from '${E}';`).length, 1);
  assert.equal(valueImports(`import { type App } from '${E}';`).length, 1);
  assert.equal(valueImports(`import '${E}';`).length, 1);
  assert.equal(valueImports(`const e = require('${E}');`).length, 1);
  assert.equal(valueImports(`const e = await import('${E}');`).length, 1);
  assert.equal(valueImports(`import type { App } from '${E}';`).length, 0);
  assert.equal(valueImports("import { x } from './electron.ts';").length, 0);
});

test("only main.ts and preload/index.ts load 'electron' at run time", () => {
  const files = [...tsFiles('src-main/electron'), ...tsFiles('src-main/preload')];
  assert.ok(files.length >= 8, `expected the electron + preload modules, found ${files.join(', ')}`);
  for (const file of files) {
    const hits = valueImports(readFileSync(path.join(repo, file), 'utf8'));
    if (VALUE_IMPORTERS.has(file)) assert.ok(hits.length > 0, `${file} should import electron`);
    else assert.deepEqual(hits, [], `${file} must use import type only`);
  }
});

test("nothing outside src-main/electron and src-main/preload imports 'electron'", () => {
  const dirs = ['src-main', 'test'].filter((d) => {
    try {
      readdirSync(path.join(repo, d));
      return true;
    } catch {
      return false;
    }
  });
  const anyImport = /(?:from\s*|require\s*\(\s*|import\s*\(\s*|import\s+)['"]electron(?:\/[^'"]*)?['"]/;
  for (const file of dirs.flatMap((d) => tsFiles(d))) {
    if (file.startsWith('src-main/electron/') || file.startsWith('src-main/preload/')) continue;
    const source = readFileSync(path.join(repo, file), 'utf8');
    if (file === 'test/unit/electron/boundaries.test.ts') continue; // this file quotes the patterns
    assert.ok(!anyImport.test(source), `${file} imports electron`);
  }
});
