/**
 * Lua scripts: each runs atomically on the server, so a check and the write it guards cannot be
 * split by another client.
 */

/** KEYS[1] dedup key, KEYS[2] stream; ARGV: window ms, payload, max length (0: none). */
export const publishScript = `
if redis.call('SET', KEYS[1], '1', 'NX', 'PX', ARGV[1]) == false then return false end
if tonumber(ARGV[3]) > 0 then
  return redis.call('XADD', KEYS[2], 'MAXLEN', '~', ARGV[3], '*', 'e', ARGV[2])
end
return redis.call('XADD', KEYS[2], '*', 'e', ARGV[2])`;

/** KEYS[1] lease key; ARGV: member, ttl ms. Takes a free lease or renews one's own: 1, else 0. */
export const claimScript = `
local holder = redis.call('GET', KEYS[1])
if holder == false or holder == ARGV[1] then
  redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])
  return 1
end
return 0`;

/** KEYS[1] lease key; ARGV: member. Deletes the lease only if still this member's. */
export const releaseScript = `
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0`;

/**
 * KEYS[1] members sorted set; ARGV: member, ttl ms. Records a beat at the server's clock (no
 * reliance on members' clocks), drops members silent for longer than the TTL, returns the rest.
 */
export const beatScript = `
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
redis.call('ZADD', KEYS[1], now, ARGV[1])
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now - tonumber(ARGV[2]))
redis.call('PEXPIRE', KEYS[1], tonumber(ARGV[2]) * 10)
return redis.call('ZRANGE', KEYS[1], 0, -1)`;
