import { Arg, Ctx, Mutation, Query, Resolver } from 'type-graphql';
import { requireViewer, type RequestContext } from '../shared/request-context.js';
import { ProfileCustomFieldDefinitionInput } from './custom-field.inputs.js';
import { ProfileCustomFieldDefinition } from './custom-field.types.js';
import type { CustomFieldService } from './custom-field.service.js';

@Resolver(() => ProfileCustomFieldDefinition)
export class CustomFieldResolver {
  constructor(private readonly fields: CustomFieldService) {}

  @Query(() => [ProfileCustomFieldDefinition], {
    description:
      'The custom field registry, ordered by key. Any signed-in user may list the fields in use; ' +
      'includeRetired is for administrators.',
  })
  async profileCustomFieldDefinitions(
    @Arg('includeRetired', () => Boolean, {
      nullable: true,
      defaultValue: false,
      description: 'Also list retired fields (administrators only; FORBIDDEN otherwise).',
    })
    includeRetired: boolean | null,
    @Ctx() context: RequestContext,
  ): Promise<ProfileCustomFieldDefinition[]> {
    return this.fields.list(requireViewer(context), includeRetired === true);
  }

  @Mutation(() => ProfileCustomFieldDefinition, {
    description:
      'Administrators: creates a custom field definition, or changes the given attributes of an existing one. ' +
      'Creating one beyond the limit is BAD_USER_INPUT with reason LIMIT_REACHED.',
  })
  async defineProfileCustomField(
    @Arg('input', () => ProfileCustomFieldDefinitionInput, { description: 'The definition or the change.' })
    input: ProfileCustomFieldDefinitionInput,
    @Ctx() context: RequestContext,
  ): Promise<ProfileCustomFieldDefinition> {
    return this.fields.define(requireViewer(context), input);
  }

  @Mutation(() => ProfileCustomFieldDefinition, {
    description:
      'Administrators: retires a custom field. Its values are hidden everywhere and writes are refused ' +
      '(FIELD_RETIRED); the values are kept, so a restore brings them back. Retiring a retired field changes nothing.',
  })
  async retireProfileCustomField(
    @Arg('key', { description: 'The full key of a defined field.' }) key: string,
    @Ctx() context: RequestContext,
  ): Promise<ProfileCustomFieldDefinition> {
    return this.fields.setRetired(requireViewer(context), key, true);
  }

  @Mutation(() => ProfileCustomFieldDefinition, {
    description: 'Administrators: puts a retired custom field back in use, with the values it had.',
  })
  async restoreProfileCustomField(
    @Arg('key', { description: 'The full key of a defined field.' }) key: string,
    @Ctx() context: RequestContext,
  ): Promise<ProfileCustomFieldDefinition> {
    return this.fields.setRetired(requireViewer(context), key, false);
  }
}
