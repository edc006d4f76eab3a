/**
 * Small, dependency-free SVG charts for the experiment report: grouped bars and lines, with
 * axes, "nice" ticks and a legend. Viewable in any browser and on GitHub.
 */

const WIDTH = 760;
const HEIGHT = 420;
const MARGIN = { top: 64, right: 24, bottom: 72, left: 72 };
const PLOT_WIDTH = WIDTH - MARGIN.left - MARGIN.right;
const PLOT_HEIGHT = HEIGHT - MARGIN.top - MARGIN.bottom;
export const PALETTE = ['#4e79a7', '#f28e2b', '#59a14f', '#e15759', '#76b7b2', '#edc948', '#b07aa1', '#9c755f'];

export interface BarSeries {
  name: string;
  values: (number | undefined)[];
}

export interface LineSeries {
  name: string;
  points: [number, number][];
}

function escapeXml(text: string): string {
  return text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');
}

/** Tick step of 1, 2 or 5 × 10^k giving about `count` ticks up to `max`. */
export function niceTicks(max: number, count = 5): number[] {
  if (!(max > 0)) return [0, 1];
  const raw = max / count;
  const magnitude = 10 ** Math.floor(Math.log10(raw));
  const step = ([1, 2, 5, 10].find((factor) => factor * magnitude >= raw) ?? 10) * magnitude;
  const ticks: number[] = [];
  for (let value = 0; value <= max + step * 0.999; value += step) ticks.push(Number(value.toPrecision(12)));
  return ticks;
}

function formatTick(value: number): string {
  if (value >= 10_000) return `${value / 1000}k`;
  return String(value);
}

function frame(title: string, yLabel: string, xLabel: string, body: string[], yTicks: number[], yMax: number): string {
  const y = (value: number) => MARGIN.top + PLOT_HEIGHT - (value / yMax) * PLOT_HEIGHT;
  const grid = yTicks.map(
    (tick) =>
      `<line x1="${MARGIN.left}" x2="${MARGIN.left + PLOT_WIDTH}" y1="${y(tick)}" y2="${y(tick)}" stroke="#e3e3e3"/>` +
      `<text x="${MARGIN.left - 8}" y="${y(tick) + 4}" text-anchor="end">${formatTick(tick)}</text>`,
  );
  return [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${WIDTH}" height="${HEIGHT}" viewBox="0 0 ${WIDTH} ${HEIGHT}" font-family="Helvetica, Arial, sans-serif" font-size="12" fill="#333">`,
    `<rect width="${WIDTH}" height="${HEIGHT}" fill="#fff"/>`,
    `<text x="${WIDTH / 2}" y="24" text-anchor="middle" font-size="16" font-weight="bold">${escapeXml(title)}</text>`,
    ...grid,
    `<line x1="${MARGIN.left}" x2="${MARGIN.left}" y1="${MARGIN.top}" y2="${MARGIN.top + PLOT_HEIGHT}" stroke="#333"/>`,
    `<line x1="${MARGIN.left}" x2="${MARGIN.left + PLOT_WIDTH}" y1="${MARGIN.top + PLOT_HEIGHT}" y2="${MARGIN.top + PLOT_HEIGHT}" stroke="#333"/>`,
    `<text transform="translate(18 ${MARGIN.top + PLOT_HEIGHT / 2}) rotate(-90)" text-anchor="middle">${escapeXml(yLabel)}</text>`,
    `<text x="${MARGIN.left + PLOT_WIDTH / 2}" y="${HEIGHT - 12}" text-anchor="middle">${escapeXml(xLabel)}</text>`,
    ...body,
    '</svg>',
  ].join('\n');
}

/** Approximate width of a legend entry: the swatch, its name at about 7 px a character, and a gap. */
const legendEntryWidth = (name: string) => 16 + name.length * 7 + 18;

/**
 * Where each legend entry goes: side by side, as wide as its name, wrapping to a new row when
 * the next would pass the plot's right edge; the rows sit above the plot, the last one just
 * above it.
 */
export function legendLayout(names: string[]): { x: number; y: number }[] {
  const rows: number[] = [];
  let x = MARGIN.left + 8;
  let row = 0;
  for (const name of names) {
    const width = legendEntryWidth(name);
    if (x > MARGIN.left + 8 && x + width - 18 > MARGIN.left + PLOT_WIDTH) {
      row += 1;
      x = MARGIN.left + 8;
    }
    rows.push(row);
    x += width;
  }
  const rowCount = row + 1;
  let position = MARGIN.left + 8;
  return names.map((name, index) => {
    if (index > 0 && rows[index] !== rows[index - 1]) position = MARGIN.left + 8;
    const at = { x: position, y: MARGIN.top - 18 - (rowCount - 1 - (rows[index] ?? 0)) * 16 };
    position += legendEntryWidth(name);
    return at;
  });
}

function legend(names: string[]): string[] {
  const layout = legendLayout(names);
  return names.map((name, index) => {
    const { x, y } = layout[index] ?? { x: MARGIN.left + 8, y: MARGIN.top - 18 };
    return (
      `<rect x="${x}" y="${y}" width="12" height="12" fill="${PALETTE[index % PALETTE.length]}"/>` +
      `<text x="${x + 16}" y="${y + 10}">${escapeXml(name)}</text>`
    );
  });
}

/**
 * Grouped bars: one group per category, one bar per series; a missing value leaves a gap. With
 * `clipAbove`, the scale ends there and taller bars stop at the top, labelled with their value
 * (so one huge capacity does not flatten every other bar).
 */
export function barChart(options: {
  title: string;
  yLabel: string;
  xLabel: string;
  categories: string[];
  series: BarSeries[];
  clipAbove?: number;
}): string {
  const { categories, series } = options;
  const values = series.flatMap((entry) => entry.values.filter((value): value is number => value !== undefined));
  const max = Math.max(1, ...values.map((value) => Math.min(value, options.clipAbove ?? value)));
  const ticks = niceTicks(max);
  const yMax = ticks.at(-1) ?? max;
  const groupWidth = PLOT_WIDTH / Math.max(1, categories.length);
  const barWidth = (groupWidth * 0.8) / Math.max(1, series.length);
  const body: string[] = [];
  categories.forEach((category, group) => {
    const groupX = MARGIN.left + group * groupWidth + groupWidth * 0.1;
    series.forEach((entry, index) => {
      const value = entry.values[group];
      if (value === undefined) return;
      const clipped = value > yMax;
      const height = (Math.min(value, yMax) / yMax) * PLOT_HEIGHT;
      const x = groupX + index * barWidth;
      if (clipped) {
        body.push(`<text x="${(x + barWidth / 2).toFixed(1)}" y="${MARGIN.top + 14}" text-anchor="middle" fill="#fff" font-weight="bold">↑${formatTick(value)}</text>`);
      }
      body.unshift(
        `<rect x="${x.toFixed(1)}" y="${(MARGIN.top + PLOT_HEIGHT - height).toFixed(1)}" width="${(barWidth - 2).toFixed(1)}" height="${height.toFixed(1)}" fill="${PALETTE[index % PALETTE.length]}"><title>${escapeXml(`${category} · ${entry.name}: ${value}`)}</title></rect>`,
      );
    });
    body.push(`<text x="${(groupX + groupWidth * 0.4).toFixed(1)}" y="${MARGIN.top + PLOT_HEIGHT + 18}" text-anchor="middle">${escapeXml(category)}</text>`);
  });
  return frame(options.title, options.yLabel, options.xLabel, [...body, ...legend(series.map((entry) => entry.name))], ticks, yMax);
}

/** Lines over a shared numeric x axis. */
export function lineChart(options: { title: string; yLabel: string; xLabel: string; series: LineSeries[] }): string {
  const { series } = options;
  const xMax = Math.max(1, ...series.flatMap((entry) => entry.points.map(([x]) => x)));
  const yMaxValue = Math.max(1, ...series.flatMap((entry) => entry.points.map(([, y]) => y)));
  const yTicks = niceTicks(yMaxValue);
  const xTicks = niceTicks(xMax, 8);
  const yMax = yTicks.at(-1) ?? yMaxValue;
  const xTop = xTicks.at(-1) ?? xMax;
  const px = (x: number) => MARGIN.left + (x / xTop) * PLOT_WIDTH;
  const py = (y: number) => MARGIN.top + PLOT_HEIGHT - (y / yMax) * PLOT_HEIGHT;
  const body = xTicks.map(
    (tick) => `<text x="${px(tick).toFixed(1)}" y="${MARGIN.top + PLOT_HEIGHT + 18}" text-anchor="middle">${formatTick(tick)}</text>`,
  );
  series.forEach((entry, index) => {
    if (entry.points.length === 0) return;
    const path = entry.points.map(([x, y], point) => `${point === 0 ? 'M' : 'L'}${px(x).toFixed(1)},${py(y).toFixed(1)}`).join(' ');
    body.push(`<path d="${path}" fill="none" stroke="${PALETTE[index % PALETTE.length]}" stroke-width="2"/>`);
  });
  return frame(options.title, options.yLabel, options.xLabel, [...body, ...legend(series.map((entry) => entry.name))], yTicks, yMax);
}
