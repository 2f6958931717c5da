//! The protocol's Redis side: the key names, the one Lua script every transition runs, and the
//! parsing of its reply and of the grant messages it publishes. Pure: no I/O here.
//!
//! Keys of the limiter `key` (one hash tag, so Redis Cluster puts them on one node):
//! - `async-shape:{key}:holders`: ZSET, process id → lease expiry (Redis time, ms).
//! - `async-shape:{key}:permits`: HASH, process id → permits it holds (absent when none).
//! - `async-shape:{key}:queue`: ZSET, process id → `(PRIORITY_BIAS - priority) · 2^32 + ticket`.
//! - `async-shape:{key}:wants`: HASH, process id → permits it still waits for.
//! - `async-shape:{key}:meta`: HASH, `used` (permits held fleet-wide), `ticket`, `seq`, `limit`
//!   (the fleet's concurrency: a call that gives another one while other processes hold live
//!   leases is refused with an `ASYNCSHAPE_LIMIT` error, permanent for that process).
//! - channel `async-shape:{key}:grants`: one message per script call that granted permits to
//!   other processes or queued this one: `seq qlen (pid count queued)*` (space separated).

/// The one script. KEYS: holders, permits, queue, wants, meta. ARGV: pid, limit, lease ms,
/// release (permits given back), want (total permits wanted after the release), priority,
/// requeue (1: take a new ticket), leave (1: give back everything and unregister), channel,
/// count (1: count the holders, for the statistics; the heartbeat asks).
///
/// Written for few calls inside: a typical call is about 10 Redis calls plus 5 per process it
/// serves (`INFO commandstats` counts them). Invariant: a process is in `queue` exactly when it
/// has a `wants` entry.
///
/// In order: reap the holders whose lease ran out (their permits return, their queue entries
/// go); release; renew this process's lease (unless leaving); queue it for `want - held` more
/// (keeping its ticket unless `requeue`); serve the queue head-first while permits are free
/// (never above `limit`); bump `seq`; publish the grants made to others (and this process's
/// queueing, so holders learn that someone waits). Replies
/// `{held, seq, queue length, queued (0/1), holders (-1 unless counted), used, existed (0/1),
/// redis time ms}`,
/// `existed` being 0 when this process had no live lease before the call (first call, reaped,
/// or Redis restarted without state).
pub const SYNC_LUA: &str = r#"
local pid = ARGV[1]
local limit = tonumber(ARGV[2])
local lease = tonumber(ARGV[3])
local release = tonumber(ARGV[4])
local want_total = tonumber(ARGV[5])
local prio = tonumber(ARGV[6])
local requeue = ARGV[7] == '1'
local leave = ARGV[8] == '1'
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local meta = redis.call('HMGET', KEYS[5], 'used', 'seq', 'limit')
local used = tonumber(meta[1] or '0')
local seq = tonumber(meta[2] or '0') + 1
local stored = tonumber(meta[3] or '0')
local dead = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', now)
for _, d in ipairs(dead) do
  used = used - tonumber(redis.call('HGET', KEYS[2], d) or '0')
  redis.call('HDEL', KEYS[2], d)
  if redis.call('HDEL', KEYS[4], d) == 1 then
    redis.call('ZREM', KEYS[3], d)
  end
end
if #dead > 0 then
  redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now)
end
if stored > 0 and stored ~= limit and not leave then
  local others = redis.call('ZCARD', KEYS[1])
  if redis.call('ZSCORE', KEYS[1], pid) then others = others - 1 end
  if others > 0 then
    return redis.error_reply('ASYNCSHAPE_LIMIT the fleet of this key runs with concurrency ' .. stored .. ', this process asked for ' .. limit .. ': every process of one key must give the same concurrency')
  end
end
local existed
if leave then
  existed = redis.call('ZREM', KEYS[1], pid)
else
  existed = 1 - redis.call('ZADD', KEYS[1], now + lease, pid)
end
local held = tonumber(redis.call('HGET', KEYS[2], pid) or '0')
local mine = held
if release > mine then release = mine end
mine = mine - release
used = used - release
local wanted = tonumber(redis.call('HGET', KEYS[4], pid) or '0')
local inq = wanted > 0
local joined = false
if leave then
  used = used - mine
  mine = 0
  want_total = 0
end
local want = want_total - mine
if want > 0 then
  if want ~= wanted then
    redis.call('HSET', KEYS[4], pid, want)
  end
  if requeue or not inq then
    local ticket = redis.call('HINCRBY', KEYS[5], 'ticket', 1) % 4294967296
    redis.call('ZADD', KEYS[3], (32768 - prio) * 4294967296 + ticket, pid)
    joined = true
  end
  inq = true
elseif inq then
  redis.call('HDEL', KEYS[4], pid)
  redis.call('ZREM', KEYS[3], pid)
  inq = false
end
if used < 0 then used = 0 end
local grants = {}
local free = limit - used
while free > 0 do
  local head = redis.call('ZRANGE', KEYS[3], 0, 0)[1]
  if not head then break end
  local w = tonumber(redis.call('HGET', KEYS[4], head) or '0')
  local g = math.min(w, free)
  local queued = 1
  if g >= w then
    redis.call('ZREM', KEYS[3], head)
    redis.call('HDEL', KEYS[4], head)
    queued = 0
  else
    redis.call('HSET', KEYS[4], head, w - g)
  end
  if head == pid then
    mine = mine + g
    inq = queued == 1
  elseif g > 0 then
    redis.call('HINCRBY', KEYS[2], head, g)
    grants[#grants + 1] = head .. ' ' .. g .. ' ' .. queued
  end
  used = used + g
  free = free - g
end
if mine ~= held then
  if mine > 0 then
    redis.call('HSET', KEYS[2], pid, mine)
  else
    redis.call('HDEL', KEYS[2], pid)
  end
end
redis.call('HSET', KEYS[5], 'used', used, 'seq', seq, 'limit', limit)
local qlen = redis.call('ZCARD', KEYS[3])
if #grants > 0 or (joined and inq) then
  local msg = seq .. ' ' .. qlen
  if #grants > 0 then msg = msg .. ' ' .. table.concat(grants, ' ') end
  redis.call('PUBLISH', ARGV[9], msg)
end
local holders = -1
if ARGV[10] == '1' then holders = redis.call('HLEN', KEYS[2]) end
return {mine, seq, qlen, inq and 1 or 0, holders, used, existed, now}
"#;

/// Priorities are clamped to ±`PRIORITY_BIAS - 1` so a queue score stays an exact double.
pub const PRIORITY_BIAS: i32 = 32768;

/// The keys and channel of one limiter.
#[derive(Clone, Debug)]
pub struct Keys {
  /// KEYS of [`SYNC_LUA`], in order.
  pub keys: [String; 5],
  pub channel: String,
}

impl Keys {
  pub fn new(key: &str) -> Keys {
    let k = |part: &str| format!("async-shape:{{{key}}}:{part}");
    Keys { keys: [k("holders"), k("permits"), k("queue"), k("wants"), k("meta")], channel: k("grants") }
  }
}

/// What one call of the script asks.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub struct Request {
  /// Permits given back.
  pub release: u32,
  /// Permits wanted in all, after the release (0: leave the queue).
  pub want: u32,
  pub priority: i32,
  /// Take a new ticket (after giving permits back while others wait: fairness).
  pub requeue: bool,
  /// Give back everything and unregister.
  pub leave: bool,
  /// Count the holders (for the statistics): the heartbeat asks.
  pub count: bool,
}

/// The script's reply.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub struct Reply {
  pub held: u32,
  pub seq: u64,
  pub queue: u32,
  pub queued: bool,
  /// The processes holding permits, when counted.
  pub holders: Option<u32>,
  pub used: u32,
  pub existed: bool,
  pub redis_ms: u64,
}

impl Reply {
  /// Parses the script's reply (8 integers), or None.
  pub fn parse(v: &[i64]) -> Option<Reply> {
    let &[held, seq, queue, queued, holders, used, existed, now] = v else {
      return None;
    };
    let u = |x: i64| u32::try_from(x).ok();
    Some(Reply {
      held: u(held)?,
      seq: u64::try_from(seq).ok()?,
      queue: u(queue)?,
      queued: queued == 1,
      holders: if holders < 0 { None } else { Some(u(holders)?) },
      used: u(used)?,
      existed: existed == 1,
      redis_ms: u64::try_from(now).ok()?,
    })
  }
}

/// A published message: the state's `seq` after the call, the queue's length, and the grants
/// made to processes (pid, count, whether it still waits for more).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Message<'a> {
  pub seq: u64,
  pub queue: u32,
  pub grants: Vec<(&'a str, u32, bool)>,
}

impl<'a> Message<'a> {
  pub fn parse(text: &'a str) -> Option<Message<'a>> {
    let mut parts = text.split(' ');
    let seq = parts.next()?.parse().ok()?;
    let queue = parts.next()?.parse().ok()?;
    let mut grants = Vec::new();
    while let Some(pid) = parts.next() {
      let count = parts.next()?.parse().ok()?;
      let queued = parts.next()? == "1";
      grants.push((pid, count, queued));
    }
    Some(Message { seq, queue, grants })
  }
}

#[cfg(test)]
mod tests {
  use super::*;

  #[test]
  fn keys_share_one_hash_tag() {
    let k = Keys::new("payments");
    for key in k.keys.iter().chain([&k.channel]) {
      assert!(key.starts_with("async-shape:{payments}:"), "{key}");
    }
  }

  #[test]
  fn messages_and_replies_parse() {
    let m = Message::parse("42 3 abc 2 0 def 1 1").unwrap();
    assert_eq!(m, Message { seq: 42, queue: 3, grants: vec![("abc", 2, false), ("def", 1, true)] });
    assert_eq!(Message::parse("7 1").unwrap().grants, vec![]);
    assert!(Message::parse("7").is_none());
    assert!(Message::parse("7 1 abc").is_none());
    let r = Reply::parse(&[2, 9, 1, 0, 3, 8, 1, 1_700_000_000_000]).unwrap();
    assert_eq!((r.held, r.seq, r.queue, r.queued, r.existed), (2, 9, 1, false, true));
    assert!(Reply::parse(&[1, 2]).is_none());
    assert!(Reply::parse(&[-1, 9, 1, 0, 3, 8, 1, 0]).is_none());
  }
}
