import { Field, InputType, Int } from 'type-graphql';
import { UInt32 } from '../scalars/uint32.scalar.js';
import { Gender } from '../user/user.enums.js';
import { KeywordMatch } from './search.enums.js';
import { SEARCH_LIMITS, type SearchUsersRequest } from './search.rules.js';

@InputType({
  description:
    'What searchUsers looks for. A keyword matches a user whose user ID equals it, or whose nickname contains it ' +
    '(case-insensitively, after Unicode NFKC normalization, in any script; one CJK character is a keyword). ' +
    'Filters narrow the matches; a user without a birthday matches no birthday bound.',
})
export class SearchUsersInput implements SearchUsersRequest {
  @Field(() => [String], {
    description:
      `1 to ${SEARCH_LIMITS.keywords} keywords, each 1 to ${SEARCH_LIMITS.keywordBytes} UTF-8 bytes after trimming; ` +
      'repeats count once.',
  })
  keywords!: string[];

  @Field(() => KeywordMatch, {
    nullable: true,
    defaultValue: KeywordMatch.ANY,
    description: 'ANY: a user matches one keyword; ALL: every keyword.',
  })
  match?: KeywordMatch | null;

  @Field(() => [Gender], { nullable: true, description: 'Only users of one of these genders (omitted: any gender).' })
  genders?: Gender[] | null;

  @Field(() => UInt32, {
    nullable: true,
    description: 'Only users born on or after this day, written YYYYMMDD (e.g. 19900101).',
  })
  minBirthday?: number | null;

  @Field(() => UInt32, { nullable: true, description: 'Only users born on or before this day, written YYYYMMDD.' })
  maxBirthday?: number | null;

  @Field(() => Int, {
    nullable: true,
    defaultValue: SEARCH_LIMITS.defaultPageSize,
    description: `Users per page, 1 to ${SEARCH_LIMITS.pageSize}.`,
  })
  first?: number | null;

  @Field(() => String, {
    nullable: true,
    description:
      "The previous page's nextCursor, for the page after it; only with the same keywords, match and filters.",
  })
  after?: string | null;
}
