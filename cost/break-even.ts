import { estimateCosts, type CostInputs } from './model.ts';
import type { Prices } from './prices.ts';

export type Cheaper = 'ecs' | 'lambda' | 'equal';

/** A volume at which the cheaper path changes. */
export interface Crossing {
  /** The lowest orders/month at which `above` holds (the one below it still has `below`). */
  orders: number;
  below: Cheaper;
  above: Cheaper;
}

export interface BreakEven {
  range: { min: number; max: number };
  crossings: Crossing[];
  /** The path cheaper over the whole range, when no crossing was found. */
  throughout: Cheaper | undefined;
  /** How it was found, in one sentence. */
  method: string;
}

export interface BreakEvenOptions {
  minOrders?: number;
  maxOrders?: number;
  /** Grid points per factor of ten in the scan. */
  pointsPerDecade?: number;
}

export const BREAK_EVEN_RANGE = { min: 1_000, max: 10_000_000_000 };

/** Which path costs less at a volume, everything else as in `inputs`. */
export function cheaperPath(inputs: CostInputs, prices: Prices, orders: number): Cheaper {
  const { totals } = estimateCosts({ ...inputs, ordersPerMonth: orders }, prices);
  const difference = totals.ecs - totals.lambda;
  if (Math.abs(difference) < 1e-9) return 'equal';
  return difference < 0 ? 'ecs' : 'lambda';
}

/**
 * The volumes (orders/month) where the two paths cost the same, or where the cheaper one changes
 * (task counts step, so the difference can jump across zero). Scans the range on a logarithmic
 * grid, then bisects each change down to a single order. Two changes closer together than one
 * grid step would be missed; the method string says how fine the grid was.
 */
export function findBreakEven(inputs: CostInputs, prices: Prices, options: BreakEvenOptions = {}): BreakEven {
  const min = options.minOrders ?? BREAK_EVEN_RANGE.min;
  const max = options.maxOrders ?? BREAK_EVEN_RANGE.max;
  const perDecade = options.pointsPerDecade ?? 50;
  if (!(min >= 1 && max > min)) throw new RangeError(`break-even range must satisfy 1 <= min < max (got ${min} to ${max})`);
  const steps = Math.ceil(Math.log10(max / min) * perDecade);
  const grid = [...new Set(Array.from({ length: steps + 1 }, (_, index) => Math.round(min * (max / min) ** (index / steps))))];
  const at = (orders: number) => cheaperPath(inputs, prices, orders);

  const crossings: Crossing[] = [];
  let lower = grid[0] ?? min;
  let lowerSide = at(lower);
  for (const upper of grid.slice(1)) {
    const upperSide = at(upper);
    if (upperSide !== lowerSide) {
      let lo = lower;
      let hi = upper;
      while (hi - lo > 1) {
        const mid = Math.floor((lo + hi) / 2);
        if (at(mid) === lowerSide) lo = mid;
        else hi = mid;
      }
      crossings.push({ orders: hi, below: lowerSide, above: at(hi) });
    }
    lower = upper;
    lowerSide = upperSide;
  }
  const ratio = (10 ** (1 / perDecade) - 1) * 100;
  return {
    range: { min, max },
    crossings,
    throughout: crossings.length === 0 ? lowerSide : undefined,
    method: `compared the two totals at ${grid.length} volumes from ${min.toLocaleString('en-US')} to ${max.toLocaleString('en-US')} orders/month (${perDecade} per factor of ten, each ${ratio.toFixed(1)}% above the last), then bisected every change of the cheaper path to one order`,
  };
}
