// The callback spool's PostgreSQL tables: migration steps (adapters/postgres/migrations.ts).
export const CALLBACK_TABLES_PG = `
CREATE TABLE callback_deliveries (
  id bigserial PRIMARY KEY,
  event_id text NOT NULL UNIQUE,
  app_id bigint NOT NULL,
  room_id text NOT NULL,
  seq bigint NOT NULL,
  command text NOT NULL,
  body text NOT NULL,
  created_at bigint NOT NULL,
  state text NOT NULL DEFAULT 'pending',
  attempts int NOT NULL DEFAULT 0,
  last_error text NOT NULL DEFAULT '',
  failed_at bigint NOT NULL DEFAULT 0
);
CREATE INDEX callback_deliveries_app ON callback_deliveries (app_id, state, id);
CREATE TABLE callback_state (key text PRIMARY KEY, value text NOT NULL);
`;

/** Given-up rows by the time they were given up, for the retention (pruneFailed); a pending row is not in it. */
export const CALLBACK_FAILED_INDEX_PG = `
CREATE INDEX callback_deliveries_failed_at ON callback_deliveries (failed_at) WHERE state = 'failed';
`;
