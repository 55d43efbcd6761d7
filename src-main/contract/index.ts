export * from './errors.ts';
export * from './config.ts';
export * from './types.ts';
export * from './commands.ts';
export * from './validate.ts';
export * from './wire.ts';
export * from './bridge.ts';
