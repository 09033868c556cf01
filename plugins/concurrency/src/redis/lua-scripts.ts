// Why this file exists: every change to the shared limiter state — take a ticket, take a slot,
// give it back, keep a lease alive — must be atomic across processes, so each is one Lua script run
// by Redis. They live together here, with the key layout they assume, so the protocol can be read
// (and changed) in one place.
//
// Key layout under the prefix `p` (default `sluice:concurrency:`), per limit key `k`
// (`tenant:t_1`, `model:gpt-4.1-mini`, `global`):
//   p + 'k:' + k + ':holders'  ZSET  call id → lease expiry (ms, Redis clock)
//   p + 'k:' + k + ':waiters'  ZSET  '<16-digit ticket>:<call id>' → -priority   (rank = place in line)
//   p + 'k:' + k + ':alive'    ZSET  waiter member → heartbeat expiry          (crashed waiters leave)
//   p + 'k:' + k + ':starts'   ZSET  waiter member → start time                (sliding rate window)
//   p + 'ticket'               STRING counter of tickets (INCR)
//   p + 'calls:running'        ZSET  call id → expiry   (admitted calls, for stats)
//   p + 'calls:queued'         ZSET  call id → expiry   (calls still waiting, for stats)
//   channel p + 'released'     message = k, published when a slot of k is freed or a waiter leaves k
// Equal scores sort by member, so the zero-padded ticket keeps arrival order within a priority.
// Every key gets an expiry that renewals push forward, so keys of a vanished deployment disappear.
import { createHash } from 'node:crypto';
import type { Redis } from 'ioredis';

const PRELUDE = `
local function nowMs()
  local t = redis.call('TIME')
  return tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
end
local function extend(key, ms)
  local current = redis.call('PTTL', key)
  if current == -1 or (current >= 0 and current < ms) then redis.call('PEXPIRE', key, ms) end
end
local function zremAll(key, members)
  for i = 1, #members, 500 do
    redis.call('ZREM', key, unpack(members, i, math.min(i + 499, #members)))
  end
end
`;

/**
 * Try to take a slot of one key.
 * KEYS: holders, waiters, alive, starts, ticket, calls:queued, calls:running
 * ARGV: member ('' = first attempt: check maxQueue and take a ticket), call id, score (-priority),
 *       concurrency (-1 = unlimited), lease TTL ms, interval ms (0 = no rate limit), interval cap,
 *       maxQueue (-1 = unbounded), '1' when this is the call's last key
 * Returns {1, member, 0} acquired · {0, member, gap} wait for ≥ gap releases of this key ·
 *         {3, member, ms} rate-limited: retry in ms · {2, '', waiting} queue full
 */
const ACQUIRE = `${PRELUDE}
local now = nowMs()
local holders, waiters, alive, starts = KEYS[1], KEYS[2], KEYS[3], KEYS[4]
local member, callId, score = ARGV[1], ARGV[2], ARGV[3]
local limit, ttl = tonumber(ARGV[4]), tonumber(ARGV[5])
local interval, cap, maxQueue = tonumber(ARGV[6]), tonumber(ARGV[7]), tonumber(ARGV[8])
-- Leases and waiters of crashed processes end here.
redis.call('ZREMRANGEBYSCORE', holders, '-inf', now)
local dead = redis.call('ZRANGEBYSCORE', alive, '-inf', now)
if #dead > 0 then
  zremAll(waiters, dead)
  redis.call('ZREMRANGEBYSCORE', alive, '-inf', now)
end
redis.call('ZREMRANGEBYSCORE', KEYS[6], '-inf', now)
redis.call('ZREMRANGEBYSCORE', KEYS[7], '-inf', now)
local held = redis.call('ZCARD', holders)
if member == '' then
  local waiting = redis.call('ZCARD', waiters)
  if maxQueue >= 0 and waiting >= maxQueue and (waiting > 0 or (limit >= 0 and held >= limit)) then
    return {2, '', waiting}
  end
  member = string.format('%016d', redis.call('INCR', KEYS[5])) .. ':' .. callId
end
-- (Re-)enter the line. The member carries the ticket, so a waiter whose heartbeat lapsed while its
-- process stalled comes back at its old place.
redis.call('ZADD', waiters, score, member)
redis.call('ZADD', alive, now + ttl, member)
redis.call('ZADD', KEYS[6], now + ttl, callId)
extend(waiters, ttl * 2)
extend(alive, ttl * 2)
extend(KEYS[6], ttl * 2)
local rank = redis.call('ZRANK', waiters, member)
-- Only the first (limit - held) waiters may take the free slots: FIFO across processes.
if limit >= 0 and held + rank >= limit then
  return {0, member, held + rank - limit + 1}
end
if interval > 0 then
  redis.call('ZREMRANGEBYSCORE', starts, '-inf', now - interval)
  local started = redis.call('ZCARD', starts)
  if started + rank >= cap then
    local oldest = redis.call('ZRANGE', starts, 0, 0, 'WITHSCORES')
    local retry = interval
    if oldest[2] then retry = tonumber(oldest[2]) + interval - now end
    if retry < 1 then retry = 1 end
    return {3, member, retry}
  end
  redis.call('ZADD', starts, now, member)
  extend(starts, interval + 1000)
end
redis.call('ZREM', waiters, member)
redis.call('ZREM', alive, member)
redis.call('ZADD', holders, now + ttl, callId)
extend(holders, ttl * 2)
if ARGV[9] == '1' then
  redis.call('ZREM', KEYS[6], callId)
  redis.call('ZADD', KEYS[7], now + ttl, callId)
  extend(KEYS[7], ttl * 2)
end
return {1, member, 0}
`;

/**
 * Give back a call's slots and, if it was waiting, its place in line; publish each freed key.
 * KEYS: calls:running, calls:queued, holders of each held key (n), then waiters and alive of the
 *       key it waited for (when a member is given)
 * ARGV: call id, channel, n, waiting member ('' = none), the n held key names, the waited key name
 * Returns the number of slots freed.
 */
const RELEASE = `
local callId, channel, n, member = ARGV[1], ARGV[2], tonumber(ARGV[3]), ARGV[4]
redis.call('ZREM', KEYS[1], callId)
redis.call('ZREM', KEYS[2], callId)
local freed = 0
for i = 1, n do
  if redis.call('ZREM', KEYS[2 + i], callId) == 1 then
    freed = freed + 1
    redis.call('PUBLISH', channel, ARGV[4 + i])
  end
end
if member ~= '' then
  redis.call('ZREM', KEYS[4 + n], member)
  if redis.call('ZREM', KEYS[3 + n], member) == 1 then redis.call('PUBLISH', channel, ARGV[5 + n]) end
end
return freed
`;

/**
 * Push a call's leases forward by the TTL. A lease already purged (the process stalled past its TTL
 * and another call may hold the slot now) is not recreated: it is counted as lost.
 * KEYS: calls:running, holders of each held key
 * ARGV: call id, lease TTL ms, '1' when the call is admitted
 * Returns the number of leases lost.
 */
const RENEW = `${PRELUDE}
local now = nowMs()
local callId, ttl = ARGV[1], tonumber(ARGV[2])
local lost = 0
for i = 2, #KEYS do
  if redis.call('ZSCORE', KEYS[i], callId) then
    redis.call('ZADD', KEYS[i], now + ttl, callId)
    extend(KEYS[i], ttl * 2)
  else
    lost = lost + 1
  end
end
if ARGV[3] == '1' then
  redis.call('ZADD', KEYS[1], now + ttl, callId)
  extend(KEYS[1], ttl * 2)
end
return lost
`;

/** A Lua script run by SHA (`EVALSHA`), loaded with `EVAL` the first time a server does not know it. */
export class LuaScript {
  readonly source: string;
  readonly sha: string;

  constructor(source: string) {
    this.source = source;
    this.sha = createHash('sha1').update(source).digest('hex');
  }

  async run(redis: Redis, keys: readonly string[], args: ReadonlyArray<string | number>): Promise<unknown> {
    try {
      return await redis.evalsha(this.sha, keys.length, ...keys, ...args);
    } catch (error) {
      if (!(error instanceof Error) || !error.message.startsWith('NOSCRIPT')) throw error;
      return redis.eval(this.source, keys.length, ...keys, ...args);
    }
  }
}

/** The limiter's scripts. */
export const SCRIPTS = {
  acquire: new LuaScript(ACQUIRE),
  release: new LuaScript(RELEASE),
  renew: new LuaScript(RENEW),
} as const;

/** What {@link SCRIPTS.acquire} answered. */
export const ACQUIRED = 1;
export const WAIT_FOR_RELEASE = 0;
export const QUEUE_IS_FULL = 2;
export const RATE_LIMITED = 3;
