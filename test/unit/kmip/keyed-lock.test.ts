import { describe, expect, it } from 'vitest';
import { KeyedLock } from '../../../server/kmip/keyed-lock.js';

describe('keyed lock', () => {
  it('lets holders of one key take turns in arrival order, other keys run freely', async () => {
    const lock = new KeyedLock(1000);
    const order: string[] = [];
    const hold = async (key: string, name: string, ms: number) => {
      const release = await lock.acquire(key);
      order.push(`${name}+`);
      await new Promise((r) => setTimeout(r, ms));
      order.push(`${name}-`);
      release();
    };
    await Promise.all([hold('a', 'a1', 30), hold('a', 'a2', 1), hold('b', 'b1', 1)]);
    expect(order.indexOf('a1-')).toBeLessThan(order.indexOf('a2+'));
    expect(order.indexOf('b1+')).toBeLessThan(order.indexOf('a1-'));
    expect(lock.size).toBe(0);
  });

  it('gives up after the timeout with a conflict, without blocking those behind', async () => {
    const lock = new KeyedLock(50);
    const release = await lock.acquire('k');
    await expect(lock.acquire('k')).rejects.toMatchObject({ code: 'STORE_ERR_CONFLICT' });
    release();
    const again = await lock.acquire('k');
    again();
    expect(lock.size).toBe(0);
  });
});
