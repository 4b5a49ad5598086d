import { Migration } from '@mikro-orm/migrations';

// Request counters for rate limiting (src/http/rate-limit.ts). UNLOGGED: losing them in a crash is
// harmless, and skipping the WAL keeps the per-request UPSERT cheap. Not an entity, so the schema
// generator is told to leave it alone (skipTables in src/db/orm.ts).
export class Migration20261125140000_rate_limit extends Migration {
  override name = 'Migration20261125140000_rate_limit';

  override up(): void {
    this.addSql(
      `create unlogged table "rate_limit" ("key" varchar(320) not null, "window_id" bigint not null, "hits" integer not null, primary key ("key"));`,
    );
    this.addSql(`create index "rate_limit_window_id_idx" on "rate_limit" ("window_id");`);
  }

  override down(): void {
    this.addSql(`drop table if exists "rate_limit";`);
  }
}
