export { PostgresStore, parseUrl, type PostgresStoreOptions } from './store.js';
export { MIGRATIONS, migrate, type Migration } from './migrations.js';
