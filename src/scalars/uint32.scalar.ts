import { GraphQLError, GraphQLScalarType, Kind } from 'graphql';
import { ErrorCode, ErrorReason } from '../errors.js';

export const UINT32_MAX = 4_294_967_295;

function invalid(value: unknown): GraphQLError {
  return new GraphQLError(`UInt32 must be a whole number from 0 to ${UINT32_MAX}; got ${String(value)}`, {
    extensions: { code: ErrorCode.BAD_USER_INPUT, reason: ErrorReason.INVALID_VALUE },
  });
}

function toUInt32(value: unknown): number {
  if (typeof value !== 'number' || !Number.isInteger(value) || value < 0 || value > UINT32_MAX) throw invalid(value);
  return value;
}

export const UInt32 = new GraphQLScalarType<number, number>({
  name: 'UInt32',
  description: `An unsigned 32-bit integer: a whole number from 0 to ${UINT32_MAX}. Anything else is refused.`,
  serialize: (value) => toUInt32(value),
  parseValue: (value) => toUInt32(value),
  parseLiteral(ast) {
    // An Int literal may be any length of digits; only ones that fit are accepted.
    if (ast.kind !== Kind.INT) throw invalid(ast.kind === Kind.STRING ? JSON.stringify(ast.value) : ast.kind);
    return toUInt32(Number(ast.value));
  },
});
