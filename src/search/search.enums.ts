import { registerEnumType } from 'type-graphql';

/** How a search combines its keywords. */
export enum KeywordMatch {
  ANY = 'ANY',
  ALL = 'ALL',
}

registerEnumType(KeywordMatch, {
  name: 'KeywordMatch',
  description: 'How the keywords of searchUsers combine.',
  valuesConfig: {
    ANY: { description: 'A user matches when one keyword matches (the default).' },
    ALL: { description: 'A user matches when every keyword matches.' },
  },
});

/**
 * The three groups results come in, in this order: the user ID equals a keyword, the nickname
 * starts with a keyword, the nickname contains a keyword elsewhere.
 */
export enum SearchTier {
  USER_ID = 0,
  PREFIX = 1,
  CONTAINS = 2,
}
