import { Migration } from '@mikro-orm/migrations';

// Idempotency keys (issue 8, item 7): one row per user and key, holding a fingerprint of the request
// and the task row it answered with, so a retry is answered from here. Written by the same statement
// as the task change it belongs to (src/tasks/idempotency.sql.ts), never on its own. Not an entity,
// so the schema generator leaves it alone (skipTables in src/db/orm.ts).
export class Migration20261126064500_idempotency_key extends Migration {
  override name = 'Migration20261126064500_idempotency_key';

  override up(): void {
    this.addSql(
      `create table "idempotency_key" ("user_id" varchar(255) not null, "key" varchar(255) not null, "fingerprint" char(64) not null, "task" json not null, "created_at" timestamptz(3) not null default now(), "expires_at" timestamptz(3) not null, primary key ("user_id", "key"));`,
    );
    // Serves the sweep of expired keys.
    this.addSql(`create index "idempotency_key_expires_at_idx" on "idempotency_key" ("expires_at");`);
  }

  override down(): void {
    this.addSql(`drop table if exists "idempotency_key";`);
  }
}
