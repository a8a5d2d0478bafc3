// The Nephio fixtures (fixtures/nephio-*: real catalog packages as interface-fn and dnn-fn
// leave them) checked for what a Nephio pipeline needs, on the output the fixtures test
// compares kpt's against (.expected/package): no NetworkInstance or IPPrefix was added; every
// IP claim got an address inside a prefix of its Network's routing table, network claims with
// a gateway in the same subnet; each claim's condition is True with its reason kept; every
// other condition is as the package had it; and, once VLAN support is in (src/vlan), every
// VLANClaim has a VLAN id.
import { test } from '../support/uvu.js';
import * as assert from 'uvu/assert';
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseAllDocuments } from 'yaml';
import { contains, parseCidr } from '../../src/ipam/addr.js';

const root = fileURLToPath(new URL('../..', import.meta.url));
const VLAN_SUPPORT = existsSync(join(root, 'src/vlan'));

interface Obj {
  apiVersion?: string;
  kind?: string;
  metadata?: { name?: string; annotations?: Record<string, string> };
  spec?: Record<string, unknown>;
  status?: Record<string, unknown> & { conditions?: Condition[] };
}
interface Condition {
  type: string;
  status: string;
  reason?: string;
  message?: string;
}

function resources(dir: string): Obj[] {
  const out: Obj[] = [];
  for (const name of readdirSync(dir).sort()) {
    const p = join(dir, name);
    if (name === '.expected') continue;
    if (statSync(p).isDirectory()) out.push(...resources(p));
    else if (name.endsWith('.yaml') || name === 'Kptfile')
      for (const d of parseAllDocuments(readFileSync(p, 'utf8'))) out.push(d.toJS() as Obj);
  }
  return out;
}

const inside = (outer: string, inner: string): boolean => {
  const a = parseCidr(outer);
  const b = parseCidr(inner);
  return a.v6 === b.v6 && contains(a.w, 0, a.len, b.w, 0, b.len);
};

const cases = readdirSync(join(root, 'fixtures')).filter(
  (c) => c.startsWith('nephio-') && existsSync(join(root, 'fixtures', c, '.expected/package')),
);

test('there are Nephio fixtures', () => {
  for (const c of ['nephio-free5gc-upf', 'nephio-free5gc-amf', 'nephio-oai-cuup', 'nephio-ueransim']) assert.ok(cases.includes(c), c);
});

for (const name of cases) {
  test(`${name}: claims inside their Network, conditions True with reason kept, the rest untouched`, () => {
    const before = resources(join(root, 'fixtures', name));
    const after = resources(join(root, 'fixtures', name, '.expected/package'));
    if (!before.some((o) => o.kind === 'Network')) return; // a NetworkInstance-based package
    assert.not.ok(
      before.some((o) => o.kind === 'NetworkInstance' || o.kind === 'IPPrefix'),
      'no NetworkInstance or IPPrefix in the package',
    );
    const tables = new Map<string, string[]>();
    for (const n of before.filter((o) => o.kind === 'Network')) {
      for (const rt of (n.spec?.routingTables ?? []) as { name: string; prefixes: { prefix: string }[] }[])
        tables.set(
          rt.name,
          rt.prefixes.map((p) => p.prefix),
        );
    }
    const kptBefore = before.find((o) => o.kind === 'Kptfile')!;
    const kptAfter = after.find((o) => o.kind === 'Kptfile')!;
    const condBefore = new Map((kptBefore.status?.conditions ?? []).map((c) => [c.type, c]));
    const condAfter = new Map((kptAfter.status?.conditions ?? []).map((c) => [c.type, c]));
    const claimTypes = new Set<string>();
    let answered = 0;
    for (const c of after.filter((o) => o.kind === 'IPClaim')) {
      const type = `${c.apiVersion}.IPClaim.${c.metadata!.name}`;
      claimTypes.add(type);
      if (c.metadata?.annotations?.['nephio.org/action']) continue; // a lookup: its answer is another package's
      const prefix = c.status?.prefix as string | undefined;
      const ni = (c.spec?.networkInstance as { name: string }).name;
      assert.ok(prefix, `${c.metadata!.name} has status.prefix`);
      assert.ok(
        (tables.get(ni) ?? []).some((p) => inside(p, prefix!)),
        `${c.metadata!.name}: ${prefix} inside a prefix of routing table ${ni} (${tables.get(ni)})`,
      );
      if (c.spec?.kind === 'network') {
        const gw = c.status?.gateway as string | undefined;
        assert.ok(gw, `${c.metadata!.name} has a gateway`);
        assert.ok(inside(prefix!, `${gw}/${prefix!.includes(':') ? 128 : 32}`), `${c.metadata!.name}: gateway ${gw} in ${prefix}`);
        assert.is.not(gw, prefix!.split('/')[0]);
      }
      const cond = condAfter.get(type);
      assert.ok(cond, `condition ${type}`);
      assert.is(cond!.status, 'True', type);
      assert.is(cond!.reason, condBefore.get(type)?.reason, `${type}: reason kept`);
      answered++;
    }
    assert.ok(answered > 0, 'some claims answered');
    if (VLAN_SUPPORT) {
      for (const v of after.filter((o) => o.kind === 'VLANClaim')) {
        const id = v.status?.vlanID;
        assert.ok(typeof id === 'number' && id >= 2 && id <= 4094, `${v.metadata!.name} has status.vlanID (got ${String(id)})`);
        const type = `${v.apiVersion}.VLANClaim.${v.metadata!.name}`;
        claimTypes.add(type);
        assert.is(condAfter.get(type)?.status, 'True', type);
        assert.is(condAfter.get(type)?.reason, condBefore.get(type)?.reason, `${type}: reason kept`);
      }
    }
    for (const [type, c] of condBefore) if (!claimTypes.has(type)) assert.equal(condAfter.get(type), c, `${type} untouched`);
  });
}

test.run();
