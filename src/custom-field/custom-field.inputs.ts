import { Field, InputType, Int } from 'type-graphql';
import { CustomFieldRead, CustomFieldWrite } from './custom-field.enums.js';
import type { DefinitionInput } from './custom-field.rules.js';

@InputType({
  description:
    'Creates a custom field definition or changes an existing one. On an existing key only the attributes given ' +
    'change; a new key takes the defaults for the others. null is refused.',
})
export class ProfileCustomFieldDefinitionInput implements DefinitionInput {
  @Field({ description: '`Tag_Profile_Custom_` followed by 1 to 8 ASCII letters or digits, starting with a letter.' })
  key!: string;

  @Field({ nullable: true, description: 'What the field holds, at most 500 UTF-8 bytes (default "").' })
  description?: string;

  @Field(() => Int, { nullable: true, description: 'Longest value accepted, in UTF-8 bytes: 1 to 500 (default 500).' })
  maxBytes?: number;

  @Field(() => CustomFieldRead, { nullable: true, description: 'Who may read the values (default PUBLIC).' })
  read?: CustomFieldRead;

  @Field(() => CustomFieldWrite, { nullable: true, description: 'Who may write the values (default OWNER).' })
  write?: CustomFieldWrite;
}
