// zod/mini: the same validation as classic zod, tree-shakable, so the Lambda bundle stays small
// (classic zod was about 450 KiB of a 513 KiB bundle, and most of its cold-start import).
import * as z from 'zod/mini';
import { InvalidOrderError, type FieldIssue } from './errors.ts';

/**
 * Limits of an order. Generous for real orders, tight enough that one request cannot ask for
 * unbounded work or overflow a total. Unknown fields are rejected, not dropped: a misspelt
 * field (`quantiy`) is a client bug that should surface, not an item silently ordered once.
 */
export const ORDER_LIMITS = {
  idMaxLength: 64,
  maxItems: 100,
  maxQuantity: 1000,
  maxPrice: 1_000_000,
} as const;

/** Type errors say "is required" when the field is absent, otherwise what it must be. */
const typeError = (expected: string) => (issue: { input?: unknown }) =>
  issue.input === undefined ? 'is required' : `must be ${expected}`;

const identifier = z.string({ error: typeError('a string') }).check(
  z.minLength(1, { error: 'must not be empty' }),
  z.maxLength(ORDER_LIMITS.idMaxLength, { error: `must be at most ${ORDER_LIMITS.idMaxLength} characters` }),
  z.regex(/^[A-Za-z0-9._:-]*$/, { error: 'may hold only letters, digits and . _ : -' }),
);

/**
 * An integer a JavaScript number holds exactly. Beyond 2^53 JSON numbers lose digits
 * (9007199254740993 parses as ...992), so such a value is refused, saying so rather than
 * "must be an integer".
 */
const integer = () =>
  z.number({ error: typeError('an integer') }).check(
    z.refine(Number.isInteger, { error: 'must be an integer', abort: true }),
    z.refine((value: number) => value <= Number.MAX_SAFE_INTEGER, {
      error: `must be a safe integer (at most ${Number.MAX_SAFE_INTEGER})`,
      abort: true,
    }),
  );

const hasAtMostTwoDecimals = (value: number) => Math.abs(Math.round(value * 100) - value * 100) < 1e-6;

export const orderItemSchema = z.strictObject(
  {
    product_id: identifier,
    quantity: integer().check(
      z.gte(1, { error: 'must be at least 1' }),
      z.lte(ORDER_LIMITS.maxQuantity, { error: `must be at most ${ORDER_LIMITS.maxQuantity}` }),
    ),
    price: z.number({ error: typeError('a number') }).check(
      z.gte(0, { error: 'must not be negative' }),
      z.lte(ORDER_LIMITS.maxPrice, { error: `must be at most ${ORDER_LIMITS.maxPrice}` }),
      z.refine(hasAtMostTwoDecimals, { error: 'must have at most two decimal places' }),
    ),
  },
  { error: typeError('an object') },
);

export const orderSchema = z.strictObject(
  {
    order_id: identifier,
    customer_id: integer().check(z.gte(1, { error: 'must be a positive integer' })),
    items: z.array(orderItemSchema, { error: typeError('an array of items') }).check(
      z.minLength(1, { error: 'must hold at least one item' }),
      z.maxLength(ORDER_LIMITS.maxItems, { error: `must hold at most ${ORDER_LIMITS.maxItems} items` }),
    ),
  },
  { error: 'must be a JSON object' },
);

export type Order = z.infer<typeof orderSchema>;
export type OrderItem = z.infer<typeof orderItemSchema>;

function toFieldIssues(error: z.core.$ZodError): FieldIssue[] {
  return error.issues.flatMap((issue): FieldIssue[] => {
    const base = issue.path.map(String).join('.');
    if (issue.code === 'unrecognized_keys') {
      return issue.keys.map((key) => ({
        field: base ? `${base}.${key}` : key,
        message: 'is not a known field',
      }));
    }
    return [{ field: base || '(root)', message: issue.message }];
  });
}

/** Validates an untrusted payload. Throws InvalidOrderError naming every offending field. */
export function parseOrder(payload: unknown): Order {
  const result = orderSchema.safeParse(payload);
  if (!result.success) throw new InvalidOrderError(toFieldIssues(result.error));
  return result.data;
}
