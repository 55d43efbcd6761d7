// First: configures zod before any schema in the contract is used (see the file).
import './lib/zod-setup.ts';
import { mount } from 'svelte';
import App from './App.svelte';
import { createClient } from './lib/api/index.ts';
import './styles/app.css';

const { client, missingToken } = createClient();
const target = document.getElementById('app');
if (!target) throw new Error('#app element missing from index.html');
mount(App, { target, props: { client, missingToken } });
