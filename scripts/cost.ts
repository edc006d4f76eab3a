import { findBreakEven } from '../cost/break-even.ts';
import { formatReport } from '../cost/format.ts';
import { estimateCosts } from '../cost/model.ts';
import { parseCostArgs, USAGE, type CostCommand } from '../cost/options.ts';
import { DEFAULT_PRICES_PATH, loadPrices, type Prices } from '../cost/prices.ts';
import { ConfigError } from '../lib/errors.ts';
import { parseFlagsOrExit } from './cli.ts';

/**
 * npm run cost -- [options]: the monthly cost of both processing paths for one workload, the
 * break-even volume and the prices used. The model is in cost/; this file only reads flags and prints.
 */
function fail(message: string): never {
  process.stderr.write(`${message}\n`);
  process.exit(2);
}

const command: CostCommand = parseFlagsOrExit(() => {
  const parsed = parseCostArgs(process.argv.slice(2));
  return parsed.help ? 'help' : parsed;
}, USAGE);
let prices: Prices;
const pricesPath = command.pricesPath ?? DEFAULT_PRICES_PATH;
try {
  prices = loadPrices(pricesPath);
} catch (error) {
  if (error instanceof ConfigError) fail(error.message);
  throw error;
}

const report = estimateCosts(command.inputs, prices);
const breakEven = findBreakEven(command.inputs, prices);
const shownPath = command.pricesPath ?? 'cost/prices.json';
process.stdout.write(command.json ? `${JSON.stringify({ pricesPath: shownPath, prices, report, breakEven }, null, 2)}\n` : formatReport(report, breakEven, prices, shownPath));
