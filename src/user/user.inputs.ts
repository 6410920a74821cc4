import { Field, InputType } from 'type-graphql';
import { STANDARD_FIELDS, specOf } from './profile-fields.js';
import type { CustomFieldEntry, ProfileUpdateInput } from './user.rules.js';
import { graphqlTypeOf } from './user.types.js';

@InputType({ description: 'A custom field to set. An empty value removes the field.' })
export class ProfileCustomFieldInput implements CustomFieldEntry {
  @Field({ description: 'A declared key, `Tag_Profile_Custom_` followed by its name.' })
  key!: string;

  @Field({ description: 'The new value, at most 500 UTF-8 bytes; "" removes the field.' })
  value!: string;
}

/** Every standard field of profile-fields.ts, optional, declared on the class below. */
// eslint-disable-next-line @typescript-eslint/no-unsafe-declaration-merging, @typescript-eslint/no-empty-object-type
export interface UpdateMyProfileInput extends Omit<ProfileUpdateInput, 'profileCustomField'> {}

@InputType({
  description:
    'A partial profile update. Omitted fields are left alone; clear a field with "" or 0. ' +
    'null is refused. At least one field is required.',
})
// eslint-disable-next-line @typescript-eslint/no-unsafe-declaration-merging
export class UpdateMyProfileInput {
  profileCustomField?: ProfileCustomFieldInput[];
}

for (const field of STANDARD_FIELDS) {
  const spec = specOf(field);
  Field(() => graphqlTypeOf(spec), { nullable: true, description: spec.inputDescription })(
    UpdateMyProfileInput.prototype,
    field,
  );
}
Field(() => [ProfileCustomFieldInput], {
  nullable: true,
  description:
    'Custom fields to set or remove, merged by key; other custom fields are left alone. Each key at most once.',
})(UpdateMyProfileInput.prototype, 'profileCustomField');
