import { Migration } from '@mikro-orm/migrations';

// Which write last changed a task, and which deleted it: every write statement stamps its own
// random id, so a write whose connection broke before its answer arrived can look for that stamp
// and tell a commit from a loss before it is run again (src/db/availability.ts). Nullable, no
// default: adding the columns rewrites nothing, and rows written before have no stamp to look for.
export class Migration20261126120000_write_id extends Migration {
  override name = 'Migration20261126120000_write_id';

  override up(): void {
    this.addSql(`alter table "task" add "write_id" uuid null;`);
    this.addSql(`alter table "task_tombstone" add "write_id" uuid null;`);
  }

  override down(): void {
    this.addSql(`alter table "task_tombstone" drop column "write_id";`);
    this.addSql(`alter table "task" drop column "write_id";`);
  }
}
