import { Field, Int, ObjectType } from 'type-graphql';
import { CustomFieldRead, CustomFieldWrite } from './custom-field.enums.js';
import type { CustomFieldDefinitionRecord } from './custom-field.model.js';

@ObjectType({ description: 'A custom profile field declared in the registry.', simpleResolvers: true })
export class ProfileCustomFieldDefinition implements CustomFieldDefinitionRecord {
  @Field({ description: 'The full key, `Tag_Profile_Custom_` followed by 1 to 8 ASCII letters or digits.' })
  key!: string;

  @Field({ description: 'What the field holds, for people building front ends; "" when not given.' })
  description!: string;

  @Field(() => Int, { description: 'Longest value accepted, in UTF-8 bytes (1 to 500).' })
  maxBytes!: number;

  @Field(() => CustomFieldRead, { description: 'Who may read the values.' })
  read!: CustomFieldRead;

  @Field(() => CustomFieldWrite, { description: 'Who may write the values.' })
  write!: CustomFieldWrite;

  @Field({
    description: 'A retired field is hidden everywhere and refuses writes; its values are kept for a restore.',
  })
  retired!: boolean;
}
