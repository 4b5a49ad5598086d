import { Migration } from '@mikro-orm/migrations';

export class Migration20261125131539_create_task extends Migration {
  override name = 'Migration20261125131539_create_task';

  override up(): void | Promise<void> {
    this.addSql(
      `create table "task" ("id" uuid not null, "user_id" varchar(255) not null, "title" varchar(200) not null, "description" varchar(1000) null, "completed" boolean not null default false, "created_at" timestamptz(3) not null default now(), "updated_at" timestamptz(3) not null default now(), primary key ("id"));`,
    );
    this.addSql(`create index "task_user_id_created_at_id_idx" on "task" ("user_id", "created_at", "id");`);
  }

  override down(): void | Promise<void> {
    this.addSql(`drop table if exists "task" cascade;`);
  }
}
