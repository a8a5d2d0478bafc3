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

/** One sample's value (the first series of that name, whatever its labels), or NaN. */
export const metricValue = (text: string, name: string): number =>
  Number(new RegExp(`^${name}(?:\\{[^}]*\\})? (\\S+)$`, 'm').exec(text)?.[1] ?? NaN);
