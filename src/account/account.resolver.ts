import { GraphQLID } from 'graphql';
import { Arg, Ctx, Mutation, Query, Resolver } from 'type-graphql';
import { AccountCheck } from '../admin/admin.types.js';
import { LIMITS } from '../shared/input-rules.js';
import { requireViewer, type RequestContext } from '../shared/request-context.js';
import type { ProfileLoaderOf } from '../user/user.loaders.js';
import type { AccountLifecycleService } from './account.service.js';
import { AccountDeletion, PersonalDataExport } from './account.types.js';

const ids = (what: string) =>
  Arg('ids', () => [GraphQLID], {
    description: `${what}: at most ${LIMITS.userIDsPerRequest} distinct ones; repeats count once.`,
  });

const listRule =
  `One answer per ID in the order given. At most ${LIMITS.userIDsPerRequest} distinct IDs ` +
  '(more is BAD_USER_INPUT with reason TOO_MANY). Audited.';

@Resolver()
export class AccountLifecycleResolver {
  constructor(
    private readonly accounts: AccountLifecycleService,
    private readonly loaderOf: ProfileLoaderOf,
  ) {}

  @Query(() => [AccountCheck], {
    description: `Administrators: whether each account exists and whether it is deactivated. ${listRule}`,
  })
  async checkAccounts(@ids('Account IDs') userIDs: string[], @Ctx() context: RequestContext): Promise<AccountCheck[]> {
    return this.accounts.checkAccounts(requireViewer(context), userIDs);
  }

  @Mutation(() => [AccountCheck], {
    description:
      'Administrators: deactivates accounts. A deactivated account keeps its data but reads as missing ' +
      '(users, _entities, search), its owner is refused with FORBIDDEN / ACCOUNT_DEACTIVATED, and ' +
      'profileUpdated subscribers receive it with accountStatus DEACTIVATED; administrators still read it ' +
      `with userProfile. Deactivating a deactivated account changes nothing. ${listRule}`,
  })
  async deactivateAccounts(
    @ids('The accounts to deactivate') userIDs: string[],
    @Ctx() context: RequestContext,
  ): Promise<AccountCheck[]> {
    return this.accounts.deactivateAccounts(requireViewer(context), userIDs);
  }

  @Mutation(() => [AccountCheck], {
    description:
      'Administrators: reactivates deactivated accounts, with the data they had; profileUpdated subscribers ' +
      `receive the profile again. ${listRule}`,
  })
  async reactivateAccounts(
    @ids('The accounts to reactivate') userIDs: string[],
    @Ctx() context: RequestContext,
  ): Promise<AccountCheck[]> {
    return this.accounts.reactivateAccounts(requireViewer(context), userIDs);
  }

  @Mutation(() => [AccountDeletion], {
    description:
      'Administrators: erases accounts: the profile, its custom values and its retained history, everything ' +
      "but the audit rows of administrators' actions. Cannot be undone. Tokens issued before the deletion are " +
      'refused (UNAUTHENTICATED / ACCOUNT_DELETED); the ID may be imported, or signed in with a later token, as a ' +
      `new empty account. Subscribers receive it with accountStatus DELETED. ${listRule}`,
  })
  async deleteAccounts(
    @ids('The accounts to erase') userIDs: string[],
    @Ctx() context: RequestContext,
  ): Promise<AccountDeletion[]> {
    return this.accounts.deleteAccounts(requireViewer(context), userIDs);
  }

  @Mutation(() => Boolean, {
    description:
      "Erases the caller's own account, as deleteAccounts does; false when there was none. The token used, and " +
      'every other issued until then, is refused afterwards (UNAUTHENTICATED / ACCOUNT_DELETED); a token issued ' +
      'in a later second starts a new, empty account.',
  })
  async deleteMyAccount(@Ctx() context: RequestContext): Promise<boolean> {
    return this.accounts.deleteOwnAccount(requireViewer(context));
  }

  @Query(() => PersonalDataExport, {
    description:
      'Everything the service holds about the caller: the profile as its owner sees it, every stored custom ' +
      'value, and the retained change history.',
  })
  async exportMyData(@Ctx() context: RequestContext): Promise<PersonalDataExport> {
    return this.accounts.exportOwnData(requireViewer(context), this.loaderOf(context));
  }
}
