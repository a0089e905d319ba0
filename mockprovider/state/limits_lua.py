"""The limit books in Redis as Lua scripts: each admission, rate token, charge and cancel is one atomic script,
so replicas sharing a Redis agree as one process does. The semantics are engine/limits.py's, line for line:
requests-per-minute and submissions-per-second sliding windows, concurrency slots taken in submission order
(the slot that frees first; a job holding several waits for all), re-planned after a cancel or a limit change,
daily caps per model and credits with refunds of planned failures.

Keys of one scope (a provider's account), all under SCOPE = KEYS[1]; a job counted in a window of its own
(JobRequest.limit_scope, e.g. per model) keeps slots, slim, lep, pz, :live and :sub under that window's key,
SLOTS, and everything else under its account's:
  SCOPE        hash: spent, day, d:<model> (daily counts), slots (the slot heap, "t1,t2,..."), slim (the limit
               the slots were built for), lep (the limits epoch they were built in), pz (live size when pruned)
  SCOPE:live   zset: the jobs holding or waiting for a slot, by submission order (score) -> job id
  SCOPE:rpm    zset: request times in the last 60 s      SCOPE:sub  zset: admissions in the last 1 s
  SCOPE:ref    zset: planned failures to refund (score: their natural end) -> "id|cost"
A job's times are fields of its hash (PREFIX job:<id>): a admitted, q queue, r run to its natural end after
it starts (-1: stuck), c cancelled_at ('' if not), s slots. Engine times are seconds; 1e300 stands for infinity.

The job store's bound (max_jobs) is kept with three sorted sets under PREFIX: jobs (every job by creation number),
jobs:ends (jobs not yet known to have finished, by when they end; stuck ones are in neither) and jobs:done
(finished jobs by creation number). Whoever moves an end (an admission re-planned, a cancel) moves it in
jobs:ends; what fell due moves to jobs:done, each job once; the oldest finished job is then the first of
jobs:done: eviction costs O(log n) whatever the store's size and however many live jobs are older.
"""

from __future__ import annotations

COMMON = r"""
local P = ARGV[1]
local SCOPE = KEYS[1]
local SLOTS = SCOPE  -- where the concurrency slots and the submission window are kept (a script may move it)
local INF = 1e300
local DAY = 86400
local function num(x)
  if x == false or x == nil or x == '' then return nil end
  return tonumber(x)
end
local function natural_end(a, q, r)
  if r < 0 or a >= INF then return INF end
  return a + q + r
end
local function ends_of(j)
  local n = natural_end(j.a, j.q, j.r)
  if j.c ~= nil and j.c < n then return j.c end
  return n
end
local function read_job(id)
  local v = redis.call('HMGET', P .. 'job:' .. id, 'a', 'q', 'r', 'c', 's')
  if not v[1] then return nil end
  return {id = id, a = tonumber(v[1]), q = tonumber(v[2]), r = tonumber(v[3]), c = num(v[4]), s = tonumber(v[5])}
end
local function fmt(x)
  if x >= INF then return '1e300' end
  return string.format('%.17g', x)
end
local ENDS = P .. 'jobs:ends'
local DONE = P .. 'jobs:done'
local function set_ends(id, e)
  if e >= INF then redis.call('ZREM', ENDS, id) else redis.call('ZADD', ENDS, e, id) end
end
local function read_slots()
  local raw = redis.call('HGET', SLOTS, 'slots')
  local out = {}
  if raw and raw ~= '' then
    for part in string.gmatch(raw, '[^,]+') do out[#out + 1] = tonumber(part) end
  end
  return out
end
local function write_slots(slots)
  local parts = {}
  for i = 1, #slots do parts[i] = fmt(slots[i]) end
  redis.call('HSET', SLOTS, 'slots', table.concat(parts, ','))
end
local function take(slots, need)
  table.sort(slots)
  local last = -INF
  for _ = 1, need do last = table.remove(slots, 1) end
  return last
end
-- the live jobs in submission order, dropping those that ended or are gone
local function live(now)
  local ids = redis.call('ZRANGE', SLOTS .. ':live', 0, -1)
  local out = {}
  for _, id in ipairs(ids) do
    local j = read_job(id)
    if j == nil or ends_of(j) <= now then
      redis.call('ZREM', SLOTS .. ':live', id)
    else
      out[#out + 1] = j
    end
  end
  redis.call('HSET', SLOTS, 'pz', #out)
  return out
end
-- rebuild the slots from the live jobs, re-planning when waiting jobs start; returns {id, admitted, ...} moved
local function reschedule(limit, epoch, now)
  local jobs = live(now)
  local moved = {}
  redis.call('HSET', SLOTS, 'slim', limit, 'lep', epoch)
  if limit < 0 then
    write_slots({})
    for _, j in ipairs(jobs) do
      if j.a > now then
        redis.call('HSET', P .. 'job:' .. j.id, 'a', fmt(now))
        j.a = now
        set_ends(j.id, ends_of(j))
        moved[#moved + 1] = j.id
        moved[#moved + 1] = fmt(now)
      end
    end
    return moved
  end
  local slots = {}
  for i = 1, limit do slots[i] = now end
  for _, j in ipairs(jobs) do
    local need = 0
    if limit > 0 then need = math.min(j.s, limit) end
    if j.a > now and j.c == nil then
      local a = INF
      if #slots > 0 then a = math.max(now, take(slots, need)) end
      if a ~= j.a then
        j.a = a
        redis.call('HSET', P .. 'job:' .. j.id, 'a', fmt(a))
        set_ends(j.id, ends_of(j))
        moved[#moved + 1] = j.id
        moved[#moved + 1] = fmt(a)
      end
    elseif #slots > 0 then
      take(slots, need)
    end
    for _ = 1, need do slots[#slots + 1] = math.max(ends_of(j), now) end
  end
  if limit == 0 then slots = {INF} end
  write_slots(slots)
  return moved
end
local function ensure_slots(limit, epoch, now)
  local v = redis.call('HMGET', SLOTS, 'slim', 'lep')
  if tonumber(v[1]) ~= limit or v[2] ~= epoch then return reschedule(limit, epoch, now) end
  return {}
end
local function settle_refunds(now)
  local due = redis.call('ZRANGEBYSCORE', SCOPE .. ':ref', '-inf', now)
  if #due == 0 then return end
  local spent = tonumber(redis.call('HGET', SCOPE, 'spent') or '0') or 0
  for _, member in ipairs(due) do
    local cost = tonumber(string.match(member, '|([^|]*)$')) or 0
    spent = math.max(spent - cost, 0)
  end
  redis.call('HSET', SCOPE, 'spent', string.format('%.17g', spent))
  redis.call('ZREMRANGEBYSCORE', SCOPE .. ':ref', '-inf', now)
end
local function window(key, now, span, limit, member)
  redis.call('ZREMRANGEBYSCORE', key, '-inf', now - span)
  if limit < 0 then
    redis.call('DEL', key)
    return nil
  end
  local n = redis.call('ZCARD', key)
  if n >= limit then
    local first = redis.call('ZRANGE', key, 0, 0, 'WITHSCORES')
    if first[2] then return tonumber(first[2]) + span end
    return -1
  end
  redis.call('ZADD', key, now, member)
  return nil
end
local function touch(ttl)
  for _, suffix in ipairs({'', ':live', ':rpm', ':sub', ':ref'}) do
    redis.call('PEXPIRE', SCOPE .. suffix, ttl)
  end
  if SLOTS ~= SCOPE then
    for _, suffix in ipairs({'', ':live', ':sub'}) do redis.call('PEXPIRE', SLOTS .. suffix, ttl) end
  end
end
"""

# KEYS[1] scope; ARGV: prefix, now, limit (-1 none), member, ttl_ms
TAKE_REQUEST = COMMON + r"""
local now = tonumber(ARGV[2])
local frees = window(SCOPE .. ':rpm', now, 60, tonumber(ARGV[3]), ARGV[4])
touch(tonumber(ARGV[5]))
if frees == nil then return nil end
return fmt(frees)
"""

# KEYS[1] scope, KEYS[2] the job index (zset), KEYS[3] the evicted counter, KEYS[4] the index counter,
# KEYS[5] the scope of the job's slots and submission window (KEYS[1] unless the job has a limit scope)
# ARGV: prefix, now, epoch, concurrent (-1 none), credits (-1 none), daily (-1 none), per_second (-1 none),
#       cost, model, slots, queue_when_busy (0/1), refund_failures (0/1), mode ('admit' | 'probe'), member,
#       scope_ttl_ms, max_jobs, retention, job id, seq, queue, rest (-1 stuck), frozen, data, ms_per_second,
#       fails (1 if the plan fails)
# -> {'over', limit, frees_at ('' never), allowed} | {'full'} | {'dup'} | {'ok', admitted, moved...}
ADMIT = COMMON + r"""
local now = tonumber(ARGV[2])
local epoch = ARGV[3]
local concurrent = tonumber(ARGV[4])
local credits = tonumber(ARGV[5])
local daily = tonumber(ARGV[6])
local per_second = tonumber(ARGV[7])
local cost = tonumber(ARGV[8])
local model = ARGV[9]
local want = tonumber(ARGV[10])
local queue_when_busy = ARGV[11] == '1'
local refund_failures = ARGV[12] == '1'
local mode = ARGV[13]
local ttl = tonumber(ARGV[15])
local max_jobs = tonumber(ARGV[16])
local retention = tonumber(ARGV[17])
local INDEX = KEYS[2]
SLOTS = KEYS[5]
touch(ttl)
settle_refunds(now)
-- make room in the job store as the memory one does (engine/store.py): expire what finished more than
-- `retention` ago (a few, oldest first, stopping at the first that has not); if full, evict the oldest finished job
local function job_ends(id)
  local j = read_job(id)
  if j == nil then return nil end
  return ends_of(j)
end
local function drop(id, e)
  redis.call('ZREM', INDEX, id)
  redis.call('ZREM', ENDS, id)
  redis.call('ZREM', DONE, id)
  if e ~= nil then  -- nil: its hash already expired (the TTL safety net), nothing to count
    redis.call('DEL', P .. 'job:' .. id)
    redis.call('INCR', KEYS[3])
  end
end
local function expire_some()
  for _, id in ipairs(redis.call('ZRANGE', INDEX, 0, 63)) do
    local e = job_ends(id)
    if e ~= nil and e >= now - retention then break end
    drop(id, e)
  end
end
-- jobs whose end has come join the finished ones (by creation number); at most `budget` (nil: all of them)
local function settle_ends(budget)
  while budget == nil or budget > 0 do
    local due = redis.call('ZRANGEBYSCORE', ENDS, '-inf', now, 'LIMIT', 0, 256)
    if #due == 0 then return end
    for _, id in ipairs(due) do
      redis.call('ZREM', ENDS, id)
      local n = redis.call('ZSCORE', INDEX, id)
      if n then redis.call('ZADD', DONE, n, id) end
    end
    if budget ~= nil then budget = budget - #due end
  end
end
expire_some()
settle_ends(128)  -- a few every time, so a full store seldom has many to move
if redis.call('ZCARD', INDEX) >= max_jobs then
  settle_ends(nil)
  local oldest = redis.call('ZRANGE', DONE, 0, 0)[1]
  if not oldest then return {'over', 'capacity', '', ''} end
  drop(oldest, job_ends(oldest))
end
-- quotas
local spent = tonumber(redis.call('HGET', SCOPE, 'spent') or '0') or 0
if credits >= 0 and spent + cost > credits + 1e-9 then return {'over', 'credits', '', ARGV[5]} end
local today = math.floor(now / DAY)
local day = tonumber(redis.call('HGET', SCOPE, 'day') or '-1')
if daily >= 0 then
  local total = 0
  if day == today then
    local all = redis.call('HGETALL', SCOPE)
    for i = 1, #all, 2 do
      if string.sub(all[i], 1, 2) == 'd:' then total = total + tonumber(all[i + 1]) end
    end
  end
  if total >= daily then return {'over', 'daily', fmt((today + 1) * DAY), ARGV[6]} end
end
local moved = {}
if not queue_when_busy and concurrent >= 0 then
  local frees
  if concurrent == 0 or want > concurrent then
    frees = INF
  else
    moved = ensure_slots(concurrent, epoch, now)
    local slots = read_slots()
    table.sort(slots)
    frees = math.max(now, slots[math.max(want, 1)])
  end
  if frees > now then
    local at = ''
    if frees < INF then at = fmt(frees) end
    return {'over', 'concurrency', at, ARGV[4]}
  end
end
local frees = window(SLOTS .. ':sub', now, 1, per_second, ARGV[14])
if frees ~= nil then
  local at = ''
  if frees >= 0 then at = fmt(frees) end
  return {'over', 'submission_rate', at, ARGV[7]}
end
if mode == 'probe' then return {'ok', ''} end
local id = ARGV[18]
local JOB = P .. 'job:' .. id
if redis.call('EXISTS', JOB) == 1 then return {'dup'} end
-- admit: the slot that frees first (it waits, throttled, until then)
local j = {id = id, a = now, q = tonumber(ARGV[20]), r = tonumber(ARGV[21]), c = nil, s = want}
if concurrent < 0 then
  -- the limit was lifted (or the profile changed): jobs still waiting start now
  local v = redis.call('HMGET', SLOTS, 'slim', 'lep')
  if v[1] ~= '-1' or v[2] ~= epoch then
    for _, x in ipairs(reschedule(-1, epoch, now)) do moved[#moved + 1] = x end
  end
elseif concurrent == 0 then
  j.a = INF
elseif concurrent > 0 then
  local more = ensure_slots(concurrent, epoch, now)
  for _, x in ipairs(more) do moved[#moved + 1] = x end
  local slots = read_slots()
  local need = math.min(want, concurrent)
  j.a = math.max(now, take(slots, need))
  local e = ends_of(j)
  for _ = 1, need do slots[#slots + 1] = e end
  write_slots(slots)
end
expire_some()  -- as the memory store does once more when it adds the job
local n = redis.call('INCR', KEYS[4])
redis.call('HSET', JOB, 'f', ARGV[22], 'd', ARGV[23], 'v', 0, 'a', fmt(j.a), 'q', ARGV[20], 'r', ARGV[21],
           'c', '', 's', want, 'n', n)
redis.call('ZADD', INDEX, n, id)
local e = ends_of(j)
set_ends(id, e)
if e < INF then
  redis.call('PEXPIRE', JOB, math.floor((math.max(e - now, 0) + retention) * tonumber(ARGV[24])) + 60000)
end
redis.call('ZADD', SLOTS .. ':live', tonumber(ARGV[19]), id)
local pz = tonumber(redis.call('HGET', SLOTS, 'pz') or '0') or 0
if redis.call('ZCARD', SLOTS .. ':live') > 2 * pz + 64 then live(now) end
-- charge
if day ~= today then
  local all = redis.call('HKEYS', SCOPE)
  for _, f in ipairs(all) do
    if string.sub(f, 1, 2) == 'd:' then redis.call('HDEL', SCOPE, f) end
  end
  redis.call('HSET', SCOPE, 'day', today)
end
redis.call('HINCRBY', SCOPE, 'd:' .. model, 1)
redis.call('HSET', SCOPE, 'spent', string.format('%.17g', spent + cost))
local natural = natural_end(j.a, j.q, j.r)
if refund_failures and ARGV[25] == '1' and cost ~= 0 then
  local member = id .. '|' .. string.format('%.17g', cost)
  redis.call('ZADD', SCOPE .. ':ref', natural, member)
  redis.call('HSET', JOB, 'rm', member)
end
local out = {'ok', fmt(j.a)}
for _, x in ipairs(moved) do out[#out + 1] = x end
return out
"""

# KEYS[1] scope, KEYS[2] the scope of the job's slots; ARGV: prefix, now, epoch, concurrent (-1 none), job id,
# scope_ttl_ms, ms_per_second, retention -> {0} (already ended or gone) | {1, moved...}
CANCEL = COMMON + r"""
SLOTS = KEYS[2]
local now = tonumber(ARGV[2])
local id = ARGV[5]
local j = read_job(id)
if j == nil or ends_of(j) <= now then return {0} end
local JOB = P .. 'job:' .. id
redis.call('HSET', JOB, 'c', fmt(now))
set_ends(id, now)
if natural_end(j.a, j.q, j.r) > now then
  local member = redis.call('HGET', JOB, 'rm')
  if member then redis.call('ZREM', SCOPE .. ':ref', member) end
end
redis.call('PEXPIRE', JOB, math.floor(tonumber(ARGV[8]) * tonumber(ARGV[7])) + 60000)
touch(tonumber(ARGV[6]))
local out = {1}
for _, x in ipairs(reschedule(tonumber(ARGV[4]), ARGV[3], now)) do out[#out + 1] = x end
return out
"""

# KEYS[1] scope; ARGV: prefix, cost
REFUND = COMMON + r"""
local spent = tonumber(redis.call('HGET', SCOPE, 'spent') or '0') or 0
redis.call('HSET', SCOPE, 'spent', string.format('%.17g', math.max(spent - tonumber(ARGV[2]), 0)))
return 1
"""

# KEYS[1] scope; ARGV: prefix, now -> {spent, day, model, count, model, count...}
USAGE = COMMON + r"""
settle_refunds(tonumber(ARGV[2]))
local v = redis.call('HMGET', SCOPE, 'spent', 'day')
local out = {v[1] or '0', v[2] or '-1'}
local all = redis.call('HGETALL', SCOPE)
for i = 1, #all, 2 do
  if string.sub(all[i], 1, 2) == 'd:' then
    out[#out + 1] = string.sub(all[i], 3)
    out[#out + 1] = all[i + 1]
  end
end
return out
"""

# KEYS[1] scope; ARGV: prefix, now -> the live job ids in submission order
LIVE = COMMON + r"""
local out = {}
for _, j in ipairs(live(tonumber(ARGV[2]))) do out[#out + 1] = j.id end
return out
"""

# KEYS[1] the sequence hash, KEYS[2] the generations counter; ARGV: ttl_ms -> {n, generation}
SEQUENCE = r"""
local n = redis.call('HINCRBY', KEYS[1], 'n', 1)
local g
if n == 1 then
  g = redis.call('INCR', KEYS[2]) - 1
  redis.call('HSET', KEYS[1], 'g', g)
else
  g = tonumber(redis.call('HGET', KEYS[1], 'g'))
end
redis.call('PEXPIRE', KEYS[1], tonumber(ARGV[1]))
return {n - 1, g}
"""
