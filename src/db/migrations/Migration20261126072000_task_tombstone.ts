import { Migration } from '@mikro-orm/migrations';

// Tombstones of deleted tasks (issue 8, item 8): what an incremental sync with include_deleted lists,
// so clients learn which tasks to drop. Written by the delete statement itself
// (src/tasks/task.sql.ts), purged after TOMBSTONE_RETENTION_DAYS. Not an entity, so the schema
// generator leaves it alone (skipTables in src/db/orm.ts).
export class Migration20261126072000_task_tombstone extends Migration {
  override name = 'Migration20261126072000_task_tombstone';

  override up(): void {
    this.addSql(
      `create table "task_tombstone" ("id" uuid not null, "user_id" varchar(255) not null, "deleted_at" timestamptz(3) not null default now(), primary key ("id"));`,
    );
    // Serves a user's deletions after an instant, in (deleted_at, id) order, as a range.
    this.addSql(
      `create index "task_tombstone_user_id_deleted_at_id_idx" on "task_tombstone" ("user_id", "deleted_at", "id");`,
    );
    // Serves the purge of tombstones past the retention, across users.
    this.addSql(`create index "task_tombstone_deleted_at_idx" on "task_tombstone" ("deleted_at");`);
  }

  override down(): void {
    this.addSql(`drop table if exists "task_tombstone";`);
  }
}
