/**
 * The flag handling every command here shares: `--help` prints the usage and exits 0; a bad
 * flag prints its plain message and the usage, and exits 2 (no stack trace).
 */
export function parseFlagsOrExit<T>(parse: () => T | 'help', usage: string): T {
  let parsed: T | 'help';
  try {
    parsed = parse();
  } catch (error) {
    process.stderr.write(`${(error as Error).message}\n\n${usage}\n`);
    process.exit(2);
  }
  if (parsed === 'help') {
    process.stdout.write(`${usage}\n`);
    process.exit(0);
  }
  return parsed;
}
