// What a failed transaction's answer means (readAnswer), without etcd: the answers are the
// ranges etcd sends back on a failed compare, one per instance then one per owner compared.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { readAnswer, type Round } from '../../src/server/store/etcd/txn.js';
import type { TxnAnswer } from '../../src/server/store/etcd/txn-codec.js';

const round = (id: string, basis: string, owner?: [string, number]): Round => ({
  id,
  seq: Number(id.split(':')[1]),
  items: [],
  basis: new Map([['default/vpc', basis]]),
  ownerBasis: new Map(owner ? [owner] : []),
  partial: false,
});

/** etcd's answer to a failed compare: the instance's revision key now, then the owner key. */
function failed(revNow: string, revMod: number, ownerMod?: number): TxnAnswer {
  const range = (value: string, modRevision: number) => (value || modRevision ? { value, modRevision } : undefined);
  const ranges = [range(revNow, revMod), ...(ownerMod === undefined ? [] : [range('{}', ownerMod)])];
  return { succeeded: false, revision: 99, ranges };
}

const recentOf = (...rounds: Round[]) => new Map(rounds.map((r) => [r.id, r.basis]));

test('an attempt whose first try landed (its answer lost) is recognised by its own id', () => {
  const t1 = round('a:1', 'b:7', ['o1', 0]);
  assert.equal(readAnswer(failed('a:1', 40, 40), t1, recentOf(t1)), { ok: true, revision: 40 });
});

test('...and by the id of a later transaction of ours made from it, which could only land after it', () => {
  // t1's answer was lost (a deadline) and it is sent again; meanwhile t2 and t3, made from t1,
  // landed. t1 landed too: undoing it would free addresses etcd still holds.
  const t1 = round('a:1', 'b:7', ['o1', 0]);
  const t2 = round('a:2', 'a:1');
  const t3 = round('a:3', 'a:2');
  assert.equal(readAnswer(failed('a:3', 52, 40), t1, recentOf(t1, t2, t3)), { ok: true, revision: 0 });
});

test("another replica's transaction is a conflict; one of ours not yet landed that it builds on is early", () => {
  const t1 = round('a:1', 'b:7');
  const t2 = round('a:2', 'a:1');
  const lost = readAnswer(failed('b:8', 45), t2, recentOf(t1, t2));
  assert.is(lost.ok, false);
  assert.equal(lost.ok === false && !lost.early ? [...lost.conflicts] : [], ['i:default/vpc']);
  // t2 reached etcd before t1: the key still holds t1's basis
  assert.equal(readAnswer(failed('b:7', 44), t2, recentOf(t1, t2)), { ok: false, early: true });
});

test("a retried transaction whose revision key holds another replica's id may have landed: the conflict is uncertain", () => {
  // t1's first attempt failed (its answer lost) and may have landed; another replica's
  // transaction made from it would hold the key now. Undoing t1 here would free addresses
  // etcd still holds.
  const t1 = round('a:1', 'b:7', ['o1', 0]);
  const retried = readAnswer(failed('c:3', 52, 52), t1, recentOf(t1), true);
  assert.equal(retried.ok === false && !retried.early ? [retried.uncertain, [...retried.conflicts]] : [], [
    true,
    ['i:default/vpc', 'o:o1'],
  ]);
  const once = readAnswer(failed('c:3', 52, 52), t1, recentOf(t1), false);
  assert.is(once.ok === false && !once.early && once.uncertain, false);
  // the revision key still holds t1's basis: t1 did not land, whatever changed the owner key
  const ownerOnly = readAnswer(failed('b:7', 44, 52), t1, recentOf(t1), true);
  assert.equal(ownerOnly.ok === false && !ownerOnly.early ? [ownerOnly.uncertain, [...ownerOnly.conflicts]] : [], [false, ['o:o1']]);
});

test.run();
