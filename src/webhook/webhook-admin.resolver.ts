import { GraphQLID } from 'graphql';
import { Arg, Ctx, Int, Mutation, Query, Resolver } from 'type-graphql';
import { requireViewer, type RequestContext } from '../shared/request-context.js';
import { WEBHOOK_ADMIN_LIMITS } from './webhook-admin.service.js';
import { WebhookDeadLetter } from './webhook-admin.types.js';
import type { WebhookAdminService } from './webhook-admin.service.js';

const { perRequest, defaultPage } = WEBHOOK_ADMIN_LIMITS;

@Resolver()
export class WebhookAdminResolver {
  constructor(private readonly webhooks: WebhookAdminService) {}

  @Query(() => [WebhookDeadLetter], {
    description:
      "Administrators: the webhook's dead letters, profile changes it gave up on, oldest first; " +
      'send them again with retryWebhookDeliveries. ' +
      `first above ${perRequest} is BAD_USER_INPUT with reason TOO_MANY, below 1 with reason INVALID_VALUE.`,
  })
  async webhookDeadLetters(
    @Arg('first', () => Int, { defaultValue: defaultPage, description: `How many to list, 1 to ${perRequest}.` })
    first: number,
    @Arg('after', () => GraphQLID, {
      nullable: true,
      description: 'Only those with a larger eventID: the last eventID of the previous page.',
    })
    after: string | null | undefined,
    @Ctx() context: RequestContext,
  ): Promise<WebhookDeadLetter[]> {
    return this.webhooks.listDeadLetters(requireViewer(context), first, after ?? undefined);
  }

  @Mutation(() => Int, {
    description:
      'Administrators: sends the given dead letters again, each from its first attempt and before its ' +
      "user's changes still waiting (those already delivered are not sent again). IDs that are not dead " +
      `letters are ignored. Returns how many were re-queued. At most ${perRequest} IDs (more is ` +
      'BAD_USER_INPUT with reason TOO_MANY).',
  })
  async retryWebhookDeliveries(
    @Arg('eventIDs', () => [GraphQLID], { description: `The dead letters' eventIDs, at most ${perRequest}.` })
    eventIDs: string[],
    @Ctx() context: RequestContext,
  ): Promise<number> {
    return this.webhooks.retryDeliveries(requireViewer(context), eventIDs);
  }
}
