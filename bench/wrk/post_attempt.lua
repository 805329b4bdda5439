-- POST /v1/attempts: a random item of 1..BENCH_ITEMS and one of a few typed answers.
local items = tonumber(os.getenv("BENCH_ITEMS") or "100000")
local texts = {
   "minä asun Helsingissä",
   "mina asun helsingisa",
   "Lause numero kaksi: minä asun",
   "I live in Helsinki.",
   "jag bor i Helsingfors",
}
local threads = 0

function setup(thread)
   threads = threads + 1
   thread:set("thread_number", threads)
end

function init(args)
   math.randomseed(os.time() * 1000 + (thread_number or 0))
   wrk.headers["Content-Type"] = "application/json"
end

function request()
   local body = string.format(
      '{"item_id": %d, "text": "%s", "duration_ms": %d}',
      math.random(items), texts[math.random(#texts)], math.random(1000, 20000)
   )
   return wrk.format("POST", "/v1/attempts", nil, body)
end
