import { Migration } from '@mikro-orm/migrations';

// Priority, tags, due date and completion time (issue 8, item 1). Every new column has a default or
// is nullable, so adding them rewrites no row. Tasks completed before this release get the time of
// their last change as `completed_at` (the best the data knows), before the invariant
// "completed ⇔ completed_at is set" is enforced.
export class Migration20261126020907_task_priority_tags_due extends Migration {
  override name = 'Migration20261126020907_task_priority_tags_due';

  override up(): void | Promise<void> {
    this.addSql(
      `alter table "task" add "priority" smallint not null default 0, add "tags" varchar(32)[] not null default '{}', add "due_at" timestamptz(3) null, add "completed_at" timestamptz(3) null;`,
    );
    this.addSql(`update "task" set "completed_at" = "updated_at" where "completed";`);
    this.addSql(
      `alter table "task" add constraint "task_completed_at_check" check (completed = (completed_at is not null));`,
    );
    this.addSql(`alter table "task" add constraint "task_priority_check" check (priority >= 0 and priority <= 3);`);
    this.addSql(`alter table "task" add constraint "task_tags_check" check (cardinality(tags) <= 20);`);
  }

  override down(): void | Promise<void> {
    this.addSql(`alter table "task" drop constraint "task_completed_at_check";`);
    this.addSql(`alter table "task" drop constraint "task_priority_check";`);
    this.addSql(`alter table "task" drop constraint "task_tags_check";`);
    this.addSql(
      `alter table "task" drop column "priority", drop column "tags", drop column "due_at", drop column "completed_at";`,
    );
  }
}
