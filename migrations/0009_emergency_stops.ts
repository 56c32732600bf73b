import { type Kysely, sql } from 'kysely';

// Frozen in time: never imports application code.
//
// Emergency stops of all sending (ops): the send queues are paused in BullMQ; this is the record of
// who stopped and resumed sending and when, so the state can be read back (and re-applied to Redis
// if it lost the pause). At most one stop is open at a time.

export async function up(db: Kysely<unknown>): Promise<void> {
  await sql`
    CREATE TABLE emergency_stops (
      id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
      stopped_at timestamptz NOT NULL DEFAULT now(),
      stopped_by text NOT NULL CHECK (length(stopped_by) BETWEEN 1 AND 200),
      reason text CHECK (length(reason) <= 2000),
      resumed_at timestamptz,
      resumed_by text CHECK (length(resumed_by) BETWEEN 1 AND 200),
      CONSTRAINT emergency_stops_resume_complete CHECK ((resumed_at IS NULL) = (resumed_by IS NULL))
    )
  `.execute(db);
  await sql`CREATE UNIQUE INDEX emergency_stops_one_open ON emergency_stops ((true)) WHERE resumed_at IS NULL`.execute(
    db,
  );
  await sql`GRANT SELECT, INSERT, UPDATE ON emergency_stops TO consentcast_app`.execute(db);
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await sql`DROP TABLE emergency_stops`.execute(db);
}
