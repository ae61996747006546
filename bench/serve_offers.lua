-- wrk script for `make bench`: each request posts a new ~600-byte JSON
-- offer to /v1/ingest/api-offers (references unique across wrk's threads:
-- DEV-YYYY-NNNN, a block of a million offers per thread, for one thread
-- sends more than 100,000 in 10 s at 20,000/s; a 25 % discount, so each
-- offer waits for approval and no PDF is printed), and done() prints one line:
--   wrk: requests=N non2xx=N errors=N rps=R p50_ms=X p99_ms=Y
local counter = 0
local block = 0
local threads = {}

function setup(thread)
  thread:set("block", #threads)
  table.insert(threads, thread)
end

function init(args)
  block = tonumber(wrk.thread:get("block")) or 0
end

local tpl = '{"reference":"%s","date":"2026-11-02","valid_until":"2026-11-30",' ..
  '"customer":{"name":"Fran\195\167ois Lef\195\168vre","email":"client%d@example.fr",' ..
  '"phone":"+33478123456","address":{"street":"14 chemin des \195\137coliers",' ..
  '"postcode":"69005","city":"Lyon"}},"salesperson":"Marc Lef\195\168vre",' ..
  '"lines":[{"sku":"CHD-200","description":"Chaudi\195\168re gaz \195\160 condensation 24 kW",' ..
  '"quantity":1,"unit_price":"2450.00","vat_rate":"5.5"},{"sku":"POSE-CHD",' ..
  '"description":"Pose et mise en service chaudi\195\168re","quantity":1,' ..
  '"unit_price":"890.00","vat_rate":"10.0"}],"discount_pct":25,"currency":"EUR",' ..
  '"notes":"D\195\169pose de l\226\128\153ancienne chaudi\195\168re incluse."}'

function request()
  counter = counter + 1
  local n = block * 1000000 + counter
  local ref = string.format("DEV-%04d-%04d", 1000 + math.floor(n / 10000), n % 10000)
  local body = string.format(tpl, ref, n % 5000)
  return wrk.format("POST", "/v1/ingest/api-offers",
    { ["Content-Type"] = "application/json" }, body)
end

function done(summary, latency, requests)
  local e = summary.errors
  io.write(string.format("wrk: requests=%d non2xx=%d errors=%d rps=%.0f p50_ms=%.2f p99_ms=%.2f\n",
    summary.requests, e.status, e.connect + e.read + e.write + e.timeout,
    summary.requests / (summary.duration / 1e6),
    latency:percentile(50) / 1000, latency:percentile(99) / 1000))
end
