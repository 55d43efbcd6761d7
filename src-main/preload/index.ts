/**
 * The preload of the studio window (built to out/preload/index.cjs: a sandboxed preload must be
 * CommonJS, and may require nothing but 'electron', so the contract code is bundled into it).
 */
import { contextBridge, ipcRenderer, webUtils } from 'electron';
import { exposeBridge } from './api.ts';

exposeBridge({ contextBridge, ipcRenderer, webUtils });
