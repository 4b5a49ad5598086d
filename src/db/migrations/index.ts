import type { MigrationObject } from '@mikro-orm/core';
import { Migration20261125131539_create_task } from './Migration20261125131539_create_task.ts';
import { Migration20261125140000_rate_limit } from './Migration20261125140000_rate_limit.ts';
import { Migration20261126020907_task_priority_tags_due } from './Migration20261126020907_task_priority_tags_due.ts';
import { Migration20261126053706_list_indexes } from './Migration20261126053706_list_indexes.ts';
import { Migration20261126054458_task_version } from './Migration20261126054458_task_version.ts';
import { Migration20261126064500_idempotency_key } from './Migration20261126064500_idempotency_key.ts';
import { Migration20261126072000_task_tombstone } from './Migration20261126072000_task_tombstone.ts';
import { Migration20261126120000_write_id } from './Migration20261126120000_write_id.ts';

// Every migration, oldest first. `npm run migration:create -- <name>` writes a new file; add it here.
export const migrationsList: MigrationObject[] = [
  { name: 'Migration20261125131539_create_task', class: Migration20261125131539_create_task },
  { name: 'Migration20261125140000_rate_limit', class: Migration20261125140000_rate_limit },
  { name: 'Migration20261126020907_task_priority_tags_due', class: Migration20261126020907_task_priority_tags_due },
  { name: 'Migration20261126053706_list_indexes', class: Migration20261126053706_list_indexes },
  { name: 'Migration20261126054458_task_version', class: Migration20261126054458_task_version },
  { name: 'Migration20261126064500_idempotency_key', class: Migration20261126064500_idempotency_key },
  { name: 'Migration20261126072000_task_tombstone', class: Migration20261126072000_task_tombstone },
  { name: 'Migration20261126120000_write_id', class: Migration20261126120000_write_id },
];
