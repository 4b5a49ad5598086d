import { Migration } from '@mikro-orm/migrations';

// The indexes behind listTasks' sorts, keyset pages and search (issue 8, items 2 and 3): one
// (user_id, key, id) per sort key, and trigram indexes for `q`. pg_trgm ships with PostgreSQL
// (contrib) and is a trusted extension, so the database owner may create it; PGlite loads it
// as a bundled extension (src/db/orm.ts).
export class Migration20261126053706_list_indexes extends Migration {
  override name = 'Migration20261126053706_list_indexes';

  override up(): void | Promise<void> {
    this.addSql(`create extension if not exists pg_trgm;`);
    this.addSql(`create index "task_user_id_updated_at_id_idx" on "task" ("user_id", "updated_at", "id");`);
    this.addSql(`create index "task_user_id_priority_id_idx" on "task" ("user_id", "priority", "id");`);
    this.addSql(`create index "task_user_id_title_id_idx" on "task" ("user_id", "title", "id");`);
    this.addSql(
      `create index "task_user_id_due_at_asc_id_idx" on "task" ("user_id", coalesce("due_at", 'infinity'::timestamptz), "id");`,
    );
    this.addSql(
      `create index "task_user_id_due_at_desc_id_idx" on "task" ("user_id", coalesce("due_at", '-infinity'::timestamptz), "id");`,
    );
    this.addSql(`create index "task_title_trgm_idx" on "task" using gin ("title" gin_trgm_ops);`);
    this.addSql(`create index "task_description_trgm_idx" on "task" using gin ("description" gin_trgm_ops);`);
  }

  override down(): void | Promise<void> {
    this.addSql(`drop index "task_user_id_updated_at_id_idx";`);
    this.addSql(`drop index "task_user_id_priority_id_idx";`);
    this.addSql(`drop index "task_user_id_title_id_idx";`);
    this.addSql(`drop index "task_user_id_due_at_asc_id_idx";`);
    this.addSql(`drop index "task_user_id_due_at_desc_id_idx";`);
    this.addSql(`drop index "task_title_trgm_idx";`);
    this.addSql(`drop index "task_description_trgm_idx";`);
  }
}
