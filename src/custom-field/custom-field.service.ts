import type { Viewer } from '../auth/viewer.js';
import { ErrorReason } from '../errors.js';
import type { AdminAudit } from '../admin/admin-audit.js';
import { badInput } from '../shared/input-rules.js';
import type { CustomFieldRegistry } from './custom-field.registry.js';
import type { CustomFieldRepository } from './custom-field.repository.js';
import {
  buildDefinitionChange,
  checkCustomFieldKey,
  givenAttributes,
  type DefinitionInput,
} from './custom-field.rules.js';
import type { CustomFieldDefinitionRecord } from './custom-field.model.js';

/** Manages the registry: listing for everyone, changes for administrators (audited). */
export class CustomFieldService {
  constructor(
    private readonly repository: CustomFieldRepository,
    private readonly registry: CustomFieldRegistry,
    private readonly audit: AdminAudit,
    private readonly maxDefinitions: number,
  ) {}

  /** Non-retired definitions for any signed-in user; retired ones too for administrators (audited). */
  async list(viewer: Viewer, includeRetired: boolean): Promise<CustomFieldDefinitionRecord[]> {
    if (!includeRetired) return this.registry.list(false);
    return this.audit.run(
      viewer,
      { operation: 'profileCustomFieldDefinitions', subjects: [], fields: ['includeRetired'] },
      async () => this.registry.list(true),
    );
  }

  async define(viewer: Viewer, input: DefinitionInput): Promise<CustomFieldDefinitionRecord> {
    const action = { operation: 'defineProfileCustomField', subjects: [input.key], fields: givenAttributes(input) };
    return this.audit.run(viewer, action, async (scope) => {
      const change = buildDefinitionChange(input);
      const result = await this.repository.define(change, this.maxDefinitions, scope);
      if ('limitReached' in result) {
        throw badInput(
          'key',
          ErrorReason.LIMIT_REACHED,
          `cannot be added: the registry holds its limit of ${this.maxDefinitions} definitions (retired ones count)`,
        );
      }
      // Once committed: the registry reads outside the transaction, and a rolled-back change must not show.
      scope.afterCommit(() => this.registry.refresh());
      return result.definition;
    });
  }

  async setRetired(viewer: Viewer, key: string, retired: boolean): Promise<CustomFieldDefinitionRecord> {
    const operation = retired ? 'retireProfileCustomField' : 'restoreProfileCustomField';
    return this.audit.run(viewer, { operation, subjects: [key], fields: ['retired'] }, async (scope) => {
      checkCustomFieldKey(key);
      const definition = await this.repository.setRetired(key, retired, scope);
      if (definition === undefined) throw badInput('key', ErrorReason.UNKNOWN_CUSTOM_FIELD);
      // Once committed: the registry reads outside the transaction, and a rolled-back change must not show.
      scope.afterCommit(() => this.registry.refresh());
      return definition;
    });
  }
}
