// Lint: typescript-eslint + svelte, and import boundaries that keep each folder in its world:
// contract <- core <- store/trainer <- services <- electron|server|cli; the renderer sees only contract.
import js from '@eslint/js';
import svelte from 'eslint-plugin-svelte';
import globals from 'globals';
import tseslint from 'typescript-eslint';

const layer = (name) => [`**/${name}/**`, `../${name}/*`, `../../${name}/*`];
const ban = (names, extra = []) => ({
  'no-restricted-imports': [
    'error',
    {
      patterns: [
        ...names.map((n) => ({ group: layer(n), message: `this layer may not import from ${n}/ (see ENGINEERING.md section 4)` })),
        ...extra,
      ],
      paths: [{ name: 'electron', message: "only src-main/electron and src-main/preload may import 'electron'" }],
    },
  ],
});
const nodeBuiltins = { group: ['node:*'], message: 'pure code: no Node built-ins here' };

export default tseslint.config(
  { ignores: ['out/**', 'dist/**', 'node_modules/**', 'test-results/**', 'build/**', '.vae-studio/**'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  ...svelte.configs.recommended,
  {
    languageOptions: { globals: { ...globals.node }, ecmaVersion: 2023, sourceType: 'module' },
    rules: {
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      '@typescript-eslint/consistent-type-imports': 'error',
    },
  },
  {
    files: ['**/*.svelte', '**/*.svelte.ts'],
    languageOptions: { globals: { ...globals.browser }, parserOptions: { parser: tseslint.parser, extraFileExtensions: ['.svelte'] } },
  },
  { files: ['src-renderer/**'], languageOptions: { globals: { ...globals.browser } } },
  // Boundaries, innermost first.
  { files: ['src-main/contract/**'], rules: ban(['core', 'store', 'trainer', 'services', 'server', 'cli', 'electron', 'preload'], [nodeBuiltins]) },
  { files: ['src-main/core/**'], rules: ban(['store', 'trainer', 'services', 'server', 'cli', 'electron', 'preload']) },
  { files: ['src-main/store/**'], rules: ban(['trainer', 'services', 'server', 'cli', 'electron', 'preload']) },
  { files: ['src-main/trainer/**'], rules: ban(['store', 'services', 'server', 'cli', 'electron', 'preload']) },
  { files: ['src-main/services/**'], rules: ban(['server', 'cli', 'electron', 'preload']) },
  { files: ['src-main/server/**', 'src-main/cli/**'], rules: ban(['electron', 'preload']) },
  {
    files: ['src-renderer/**'],
    rules: ban(['core', 'store', 'trainer', 'services', 'server', 'cli', 'electron', 'preload'], [nodeBuiltins]),
  },
  { files: ['test/**', 'bench/**', 'scripts/**', 'bin/**'], rules: ban([]) },
);
