import { GraphQLError } from 'graphql';
import { loadConfig } from '../../src/config';
import { CustomFieldRead, CustomFieldWrite } from '../../src/custom-field/custom-field.enums';
import { buildDefinitionChange } from '../../src/custom-field/custom-field.rules';
import type { CustomFieldDefinitionRecord } from '../../src/custom-field/custom-field.model';
import { DEFAULT_STANDARD_VALUES } from '../../src/user/profile-fields';
import { presentProfile, ProfileAudience } from '../../src/user/user.presenter';
import type { ProfileRecord } from '../../src/user/user.repository';
import { buildProfilePatch, type PatchPolicy } from '../../src/user/user.rules';

const definition = (
  key: string,
  overrides: Partial<CustomFieldDefinitionRecord> = {},
): CustomFieldDefinitionRecord => ({
  key,
  description: '',
  maxBytes: 500,
  read: CustomFieldRead.PUBLIC,
  write: CustomFieldWrite.OWNER,
  retired: false,
  ...overrides,
});

const registry = new Map(
  [
    definition('Tag_Profile_Custom_Pub'),
    definition('Tag_Profile_Custom_Priv', { read: CustomFieldRead.PRIVATE }),
    definition('Tag_Profile_Custom_Adm', { write: CustomFieldWrite.ADMIN }),
    definition('Tag_Profile_Custom_Old', { retired: true }),
    definition('Tag_Profile_Custom_Short', { maxBytes: 3 }),
  ].map((d) => [d.key, d]),
);

const policy = (isAdmin: boolean): PatchPolicy => ({ isAdmin, customField: (key) => registry.get(key) });

function errorOf(run: () => unknown): Record<string, unknown> {
  try {
    run();
  } catch (error) {
    expect(error).toBeInstanceOf(GraphQLError);
    return (error as GraphQLError).extensions;
  }
  throw new Error('expected an error');
}

const custom = (key: string, value: string) => ({ profileCustomField: [{ key, value }] });

describe('buildProfilePatch with the registry', () => {
  it('accepts an OWNER field from anyone and an ADMIN field only from an administrator', () => {
    expect(buildProfilePatch(custom('Tag_Profile_Custom_Pub', 'x'), policy(false)).customSet).toEqual({
      Tag_Profile_Custom_Pub: 'x',
    });
    expect(buildProfilePatch(custom('Tag_Profile_Custom_Adm', 'x'), policy(true)).customSet).toEqual({
      Tag_Profile_Custom_Adm: 'x',
    });
    expect(errorOf(() => buildProfilePatch(custom('Tag_Profile_Custom_Adm', ''), policy(false)))).toEqual({
      code: 'FORBIDDEN',
      reason: 'ADMIN_ONLY',
      field: 'profileCustomField[0].key',
    });
  });

  it('refuses a retired field, for administrators too, and an undeclared one', () => {
    for (const isAdmin of [false, true]) {
      expect(errorOf(() => buildProfilePatch(custom('Tag_Profile_Custom_Old', 'x'), policy(isAdmin)))).toEqual({
        code: 'BAD_USER_INPUT',
        reason: 'FIELD_RETIRED',
        field: 'profileCustomField[0].key',
      });
    }
    expect(errorOf(() => buildProfilePatch(custom('Tag_Profile_Custom_None', 'x'), policy(true)))).toMatchObject({
      reason: 'UNKNOWN_CUSTOM_FIELD',
    });
  });

  it("enforces the definition's maxBytes in UTF-8 bytes", () => {
    expect(buildProfilePatch(custom('Tag_Profile_Custom_Short', 'abc'), policy(false)).customSet).toEqual({
      Tag_Profile_Custom_Short: 'abc',
    });
    expect(errorOf(() => buildProfilePatch(custom('Tag_Profile_Custom_Short', 'éé'), policy(false)))).toEqual({
      code: 'BAD_USER_INPUT',
      reason: 'TOO_LONG',
      field: 'profileCustomField[0].value',
    });
  });
});

describe('presentProfile by audience', () => {
  const record: ProfileRecord = {
    userID: 'u1',
    ...DEFAULT_STANDARD_VALUES,
    customFields: {
      Tag_Profile_Custom_Pub: 'p',
      Tag_Profile_Custom_Priv: 's',
      Tag_Profile_Custom_Old: 'o',
      Tag_Profile_Custom_Gone: 'g',
    },
    lastUpdatedTime: new Date(0),
    deactivatedAt: null,
  };
  const catalog = { get: (key: string) => registry.get(key) };
  const keys = (audience: ProfileAudience) =>
    presentProfile(record, catalog, audience).profileCustomField.map((field) => field.key);

  it('shows PUBLIC and PRIVATE to the owner and administrators, PUBLIC to others, never retired or undeclared', () => {
    expect(keys(ProfileAudience.OWNER)).toEqual(['Tag_Profile_Custom_Priv', 'Tag_Profile_Custom_Pub']);
    expect(keys(ProfileAudience.ADMIN)).toEqual(['Tag_Profile_Custom_Priv', 'Tag_Profile_Custom_Pub']);
    expect(keys(ProfileAudience.OTHER)).toEqual(['Tag_Profile_Custom_Pub']);
  });
});

describe('buildDefinitionChange', () => {
  it('keeps only the attributes given', () => {
    expect(buildDefinitionChange({ key: 'Tag_Profile_Custom_A1' })).toEqual({ key: 'Tag_Profile_Custom_A1' });
    expect(
      buildDefinitionChange({
        key: 'Tag_Profile_Custom_A1',
        maxBytes: 500,
        read: CustomFieldRead.PRIVATE,
        description: 'd',
      }),
    ).toEqual({ key: 'Tag_Profile_Custom_A1', maxBytes: 500, read: 'PRIVATE', description: 'd' });
  });

  it.each([
    [{ key: 'Tag_Profile_Custom_9a' }, 'key'],
    [{ key: 'Tag_Profile_Custom_A', maxBytes: 1.5 }, 'maxBytes'],
    [{ key: 'Tag_Profile_Custom_A', write: 'ANYONE' as CustomFieldWrite }, 'write'],
  ])('refuses %j naming %s', (input, field) => {
    expect(errorOf(() => buildDefinitionChange(input))).toMatchObject({ code: 'BAD_USER_INPUT', field });
  });
});

describe('registry configuration', () => {
  it('defaults to a cap of 20 and a 5 s re-read, and lists every problem', () => {
    expect(loadConfig({}).customFieldRegistry).toEqual({ maxDefinitions: 20, refreshMs: 5000 });
    expect(() =>
      loadConfig({
        PROFILE_CUSTOM_FIELD_LIMIT: '1',
        PROFILE_CUSTOM_FIELD_REFRESH_MS: '10',
        PROFILE_CUSTOM_FIELDS: 'Tag_Profile_Custom_A,Tag_Profile_Custom_B',
      }),
    ).toThrow(
      /PROFILE_CUSTOM_FIELD_REFRESH_MS[\s\S]*more than PROFILE_CUSTOM_FIELD_LIMIT|more than PROFILE_CUSTOM_FIELD_LIMIT[\s\S]*PROFILE_CUSTOM_FIELD_REFRESH_MS/,
    );
  });
});
