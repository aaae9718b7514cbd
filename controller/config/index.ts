export * from './access.js';
export * from './load.js';
export * from './schema.js';
