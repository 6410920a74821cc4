import { registerEnumType } from 'type-graphql';

export enum CustomFieldRead {
  PUBLIC = 'PUBLIC',
  PRIVATE = 'PRIVATE',
}

export enum CustomFieldWrite {
  OWNER = 'OWNER',
  ADMIN = 'ADMIN',
}

registerEnumType(CustomFieldRead, {
  name: 'CustomFieldRead',
  description: "Who may read a custom field's values.",
  valuesConfig: {
    PUBLIC: { description: 'Every signed-in user (the default).' },
    PRIVATE: { description: 'Only the profile owner and administrators.' },
  },
});

registerEnumType(CustomFieldWrite, {
  name: 'CustomFieldWrite',
  description: "Who may write a custom field's values.",
  valuesConfig: {
    OWNER: { description: 'The profile owner, through updateMyProfile (the default); administrators too.' },
    ADMIN: {
      description: "Only administrators: through setUserProfile, or updateMyProfile on an administrator's own profile.",
    },
  },
});
