import { GraphQLID } from 'graphql';
import { Field, Int, ObjectType } from 'type-graphql';
import type { DeadLetter } from './webhook-delivery.repository.js';

@ObjectType({
  description:
    'A profile change the webhook gave up on after PROFILE_WEBHOOK_MAX_ATTEMPTS failed attempts. It no longer holds ' +
    "back the user's later changes, and stays until an administrator retries it.",
  simpleResolvers: true,
})
export class WebhookDeadLetter implements DeadLetter {
  @Field(() => GraphQLID, { description: 'The event, as sent in the payload and the X-Profile-Event-Id header.' })
  eventID!: string;

  @Field(() => GraphQLID, { description: 'Whose profile changed.' })
  userID!: string;

  @Field(() => GraphQLID, { description: 'Who made the change: the owner, or an administrator.' })
  operator!: string;

  @Field({ description: 'When the change committed.' })
  eventTime!: Date;

  @Field(() => Int, { description: 'Attempts made since the change was written or last retried.' })
  attempts!: number;

  @Field({
    description:
      'Why the last attempt failed, e.g. `HTTP 500`, `timeout`, `ECONNREFUSED`, or that its instance stopped ' +
      'before recording an outcome.',
  })
  lastError!: string;

  @Field({ description: 'When the webhook gave up on it.' })
  deadAt!: Date;
}
