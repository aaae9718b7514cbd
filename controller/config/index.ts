export * from './access.js';
export * from './load.js';
export * from './power.js';
export * from './schema.js';
