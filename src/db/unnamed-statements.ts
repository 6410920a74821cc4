import { Client } from 'pg';

/**
 * A pg Client that sends every statement unnamed: the `name` of a query config is dropped before
 * it is sent, so Postgres parses and plans it each time instead of keeping it per connection.
 *
 * For a pooler that hands each transaction a different server connection (PgBouncer in transaction
 * mode before 1.21, which is what Debian 12 ships): a statement prepared on one server connection
 * is unknown on the next ("prepared statement ... does not exist") or clashes with one another
 * client prepared there ("already exists"). The pool is given this class (DATABASE_PREPARED_STATEMENTS
 * =false) so no statement has to know; unnamed statements still use the extended protocol, with
 * parameters sent apart from the text.
 */
export class UnnamedStatementClient extends Client {}

const namedQuery = Client.prototype.query as (this: Client, ...args: unknown[]) => unknown;

UnnamedStatementClient.prototype.query = function (this: Client, config: unknown, ...rest: unknown[]) {
  // A Submittable (a cursor, COPY) carries its own protocol: passed on as it is.
  if (
    config !== null &&
    typeof config === 'object' &&
    typeof (config as { submit?: unknown }).submit !== 'function' &&
    (config as { name?: unknown }).name !== undefined
  ) {
    const { name: _name, ...unnamed } = config as { name?: unknown };
    return namedQuery.call(this, unnamed, ...rest);
  }
  return namedQuery.call(this, config, ...rest);
} as typeof Client.prototype.query;
