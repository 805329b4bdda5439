-- GET a path with a random id: BENCH_PATH is a template such as "/v1/items/%d",
-- ids are drawn uniformly from 1..BENCH_ITEMS.
local template = os.getenv("BENCH_PATH") or "/v1/items/%d"
local items = tonumber(os.getenv("BENCH_ITEMS") or "100000")
local threads = 0

function setup(thread)
   threads = threads + 1
   thread:set("thread_number", threads)
end

function init(args)
   math.randomseed(os.time() * 1000 + (thread_number or 0))
end

function request()
   return wrk.format("GET", string.format(template, math.random(items)))
end
