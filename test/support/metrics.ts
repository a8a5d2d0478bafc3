// A server's Prometheus /metrics, as the tests and benchmarks read it.
import { get } from 'node:http';

/** The text of http://127.0.0.1:<port>/metrics. */
export function scrapeMetrics(port: number | undefined): Promise<string> {
  return new Promise((ok, ko) =>
    get(`http://127.0.0.1:${port}/metrics`, (r) => {
      let s = '';
      r.on('data', (d) => (s += d));
      r.on('end', () => ok(s));
    }).on('error', ko),
  );
}

const escapeRegExp = (s: string): string => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

/** One sample's value, or NaN: the series with exactly `labels` (as written, e.g.
 *  `quantile="0.5"`), else the first series of that name whatever its labels. */
export const metricValue = (text: string, name: string, labels?: string): number => {
  const series = labels === undefined ? '(?:\\{[^}]*\\})?' : escapeRegExp(`{${labels}}`);
  return Number(new RegExp(`^${name}${series} (\\S+)$`, 'm').exec(text)?.[1] ?? NaN);
};
