/**
 * A value carried on a request's context object under its own symbol, out of the Context type every
 * resolver sees. Apollo hands plugins and the executor a shallow copy of the context; the property
 * is enumerable, so Object.assign copies it with the rest.
 */
export interface ContextSlot<T> {
  attach<C extends object>(context: C, value: T): C;
  of(context: object): T | undefined;
}

export function contextSlot<T>(description: string): ContextSlot<T> {
  const key = Symbol(description);
  return {
    attach(context, value) {
      Object.defineProperty(context, key, { value, enumerable: true });
      return context;
    },
    of(context) {
      return (context as { [key]?: T })[key];
    },
  };
}
