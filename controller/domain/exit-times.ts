/**
 * Person → the time of their last recorded exit through one door, for anti-passback.
 *
 * It holds an entry for everyone who ever left through the door — 100,000 people after a few years —
 * and the derived state is never modified once handed out, so recording one exit must not copy the
 * whole map (that copy was the slowest step on the door path). The map is split into shards by a hash
 * of the person id: recording an exit copies one shard (a few hundred entries) and the list of shard
 * references.
 */

type Dict<T> = Record<string, T>;

const SHARD_BITS = 8;
const SHARDS = 1 << SHARD_BITS;

/** FNV-1a over the UTF-16 code units, reduced to a shard index. */
export function shardOf(personId: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < personId.length; i++) {
    h ^= personId.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  return (h ^ (h >>> SHARD_BITS) ^ (h >>> 16) ^ (h >>> 24)) & (SHARDS - 1);
}

type Shards = readonly (Readonly<Dict<number>> | undefined)[];

function emptyDict(): Dict<number> {
  return Object.create(null) as Dict<number>;
}

export class ExitTimes {
  static readonly EMPTY = new ExitTimes(new Array(SHARDS).fill(undefined), 0);

  private constructor(
    /** @internal */ readonly shards: Shards,
    readonly size: number,
  ) {}

  /** @internal Used by `ExitTimesDraft`. */
  static of(shards: Shards, size: number): ExitTimes {
    return new ExitTimes(shards, size);
  }

  static fromEntries(entries: Iterable<readonly [string, number]>): ExitTimes {
    const d = new ExitTimesDraft(ExitTimes.EMPTY);
    for (const [person, at] of entries) d.set(person, at);
    return d.result();
  }

  get(personId: string): number | undefined {
    const shard = this.shards[shardOf(personId)];
    return shard !== undefined && Object.hasOwn(shard, personId) ? shard[personId] : undefined;
  }

  /** All entries, ordered by person id (so a snapshot's bytes do not depend on the shard layout). */
  entries(): [string, number][] {
    const out: [string, number][] = [];
    for (const shard of this.shards) if (shard !== undefined) for (const k in shard) out.push([k, shard[k]!]);
    return out.sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0));
  }
}

/** A working copy: copies the shard list once, and each shard on its first change. */
export class ExitTimesDraft {
  private shards: (Readonly<Dict<number>> | undefined)[];
  private readonly owned = new Set<number>();
  private size: number;

  constructor(base: ExitTimes) {
    this.shards = [...base.shards];
    this.size = base.size;
  }

  set(personId: string, at: number): void {
    const i = shardOf(personId);
    let shard = this.shards[i] as Dict<number> | undefined;
    if (!this.owned.has(i)) {
      shard = Object.assign(emptyDict(), shard);
      this.shards[i] = shard;
      this.owned.add(i);
    }
    if (!Object.hasOwn(shard!, personId)) this.size++;
    shard![personId] = at;
  }

  /** The map as it is now; later changes to this draft do not affect it. */
  result(): ExitTimes {
    const done = ExitTimes.of(this.shards, this.size);
    this.shards = [...this.shards];
    this.owned.clear();
    return done;
  }
}
