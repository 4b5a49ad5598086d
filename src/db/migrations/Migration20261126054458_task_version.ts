import { Migration } from '@mikro-orm/migrations';

// Task versions for ETags and If-Match (issue 8, item 5). Existing rows start at 1, as a new task
// does; a constant default adds the column without rewriting the table.
export class Migration20261126054458_task_version extends Migration {
  override name = 'Migration20261126054458_task_version';

  override up(): void | Promise<void> {
    this.addSql(`alter table "task" add "version" int not null default 1;`);
  }

  override down(): void | Promise<void> {
    this.addSql(`alter table "task" drop column "version";`);
  }
}
