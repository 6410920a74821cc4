import { CreateUserProfile1795633623376 } from './1795633623376-create-user-profile.js';
import { CreateCustomFieldRegistryAndAdminAudit1795634908826 } from './1795634908826-create-custom-field-registry-and-admin-audit.js';
import { CreateProfileEvent1795634884962 } from './1795634884962-create-profile-event.js';
import { CreateRateLimitCounter1795634874233 } from './1795634874233-create-rate-limit-counter.js';
import { CountRepeatedAdminRefusals1795635731409 } from './1795635731409-count-repeated-admin-refusals.js';
import { WebhookLeasesAndDeadLetters1796159583227 } from './1796159583227-webhook-leases-and-dead-letters.js';
import { AccountLifecycle1796174052038 } from './1796174052038-account-lifecycle.js';
import { OutboxIndexes1796176237395 } from './1796176237395-outbox-indexes.js';
import { UserSearch1796185000000 } from './1796185000000-user-search.js';
import { Presence1796186026922 } from './1796186026922-presence.js';

// Every migration, in order. Listed explicitly so the app, the tests and the CLI load the same set
// whether they run from TypeScript sources or compiled output.
export const MIGRATIONS = [
  CreateUserProfile1795633623376,
  CreateRateLimitCounter1795634874233,
  CreateProfileEvent1795634884962,
  CreateCustomFieldRegistryAndAdminAudit1795634908826,
  CountRepeatedAdminRefusals1795635731409,
  WebhookLeasesAndDeadLetters1796159583227,
  AccountLifecycle1796174052038,
  OutboxIndexes1796176237395,
  UserSearch1796185000000,
  Presence1796186026922,
];
