package store

import (
	"context"
	"strconv"
	"time"

	"github.com/redis/go-redis/v9"
)

// A limit's key on Redis: <prefix>{<group>}gcra:<key>, holding its TAT in
// microseconds since the Unix epoch, with a TTL to just past it (a TAT in
// the past is the same as none). The group is the hash tag, so a cluster
// keeps a group's cells in one slot and admitScript touches one slot.
func (r *Redis) cellKey(group, key string) string { return r.prefix + "{" + group + "}gcra:" + key }

// cellLua begins both limit scripts: now is ARGV[1], microseconds since
// the Unix epoch, or the server's clock when that is "" (TIME: one clock
// for every instance of the fleet); settat stores a cell's TAT with a TTL
// to a second past it (rounded up to the millisecond).
const cellLua = `
local now = tonumber(ARGV[1])
if not now then
  local t = redis.call('TIME')
  now = tonumber(t[1]) * 1000000 + tonumber(t[2])
end
local function settat(key, tat)
  redis.call('SET', key, string.format('%.0f', tat), 'PX', string.format('%.0f', math.ceil((tat - now) / 1000) + 1000))
end
`

// admitScript is gcra (admit.go) over every cell at once, all or nothing.
// KEYS are the cells; ARGV[1] is now (see cellLua); then, per cell, Every, Burst-1 and MaxWait, the durations in microseconds. It
// returns {1, 0, wait} when every cell allows (and counts) the event, or
// {0, index of the refusing cell, its wait} when one refuses. Lua numbers
// are doubles: microseconds since 1970 (about 1.8e15) are exact up to 9e15.
var admitScript = redis.NewScript(cellLua + `
local tats, go = {}, 0
for i = 1, #KEYS do
  local every, extra, maxwait = tonumber(ARGV[3*i-1]), tonumber(ARGV[3*i]), tonumber(ARGV[3*i+1])
  local tat = tonumber(redis.call('GET', KEYS[i]) or '0')
  if tat < now then tat = now end
  local wait = tat - extra * every - now
  if wait < 0 then wait = 0 end
  if wait > maxwait then return {0, i - 1, wait} end
  if wait > go then go = wait end
  tats[i] = tat + every
end
for i = 1, #KEYS do
  settat(KEYS[i], tats[i])
end
return {1, 0, go}`)

// giveBackScript moves each cell's TAT back by its Every (ARGV[i+1], µs);
// ARGV[1] is now as for admitScript. A TAT that falls to now or before is
// deleted: the cell is then as if unused.
var giveBackScript = redis.NewScript(cellLua + `
for i = 1, #KEYS do
  local tat = tonumber(redis.call('GET', KEYS[i]) or '0')
  if tat > now then
    tat = tat - tonumber(ARGV[i+1])
    if tat > now then
      settat(KEYS[i], tat)
    else
      redis.call('DEL', KEYS[i])
    end
  end
end
return 1`)

// clockArg is ARGV[1] of the limit scripts: the driver's clock when
// Options set one (the conformance suite), else "" (the server's TIME).
func (r *Redis) clockArg() string {
	if r.opt.Now == nil {
		return ""
	}
	return strconv.FormatInt(r.opt.Now().UnixMicro(), 10)
}

func micros(d time.Duration) string { return strconv.FormatInt(d.Microseconds(), 10) }

// Admit implements Admitter: one script, one round trip.
func (r *Redis) Admit(ctx context.Context, group string, cells []Cell) (Admission, error) {
	cells, err := checkCells(group, cells)
	if err != nil {
		return Admission{}, err
	}
	keys := make([]string, len(cells))
	args := make([]any, 1, 1+3*len(cells))
	args[0] = r.clockArg()
	for i, c := range cells {
		keys[i] = r.cellKey(group, c.Key)
		args = append(args, micros(c.Every), strconv.FormatInt(c.Burst-1, 10), micros(c.MaxWait))
	}
	v, err := admitScript.Run(ctx, r.c, keys, args...).Int64Slice()
	if err != nil || len(v) != 3 {
		return Admission{}, unavailable("redis admit", err)
	}
	return Admission{OK: v[0] == 1, Refused: int(v[1]), Wait: time.Duration(v[2]) * time.Microsecond}, nil
}

// GiveBack implements Admitter.
func (r *Redis) GiveBack(ctx context.Context, group string, cells []Cell) error {
	cells, err := checkCells(group, cells)
	if err != nil {
		return err
	}
	keys := make([]string, len(cells))
	args := make([]any, 1, 1+len(cells))
	args[0] = r.clockArg()
	for i, c := range cells {
		keys[i] = r.cellKey(group, c.Key)
		args = append(args, micros(c.Every))
	}
	return unavailableIf("redis give back", giveBackScript.Run(ctx, r.c, keys, args...).Err())
}
