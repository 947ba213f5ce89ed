-- Requests of one benchmark run, for wrk:
--   wrk ... -s load.lua URL -- get <file of ids> <random seed> [<collection>, default products]
--   wrk ... -s load.lua URL -- list <offset> <limit>
--   wrk ... -s load.lua URL -- create <unique prefix> <category id> <tag id> <tag id>
-- Ids are JSON literals for create (3 or "..."), plain text for get.
-- done() prints one line, BENCH {...}: counts and a latency quantile grid (microseconds).

local mode
local ids = {}
local path
local collection
local prefix, category, tag1, tag2
local counter = 0
local headers = {["Content-Type"] = "application/json"}
local threads = 0

-- Runs in the main state before init(): numbers the threads, so each has its own ids and names.
function setup(thread)
  thread:set("thread_number", threads)
  threads = threads + 1
end

function init(args)
  mode = args[1]
  if mode == "get" then
    for line in io.lines(args[2]) do
      ids[#ids + 1] = line
    end
    math.randomseed(tonumber(args[3]) + thread_number)
    collection = args[4] or "products"
  elseif mode == "list" then
    path = "/api/v1/products?limit=" .. args[3] .. "&offset=" .. args[2]
  elseif mode == "create" then
    prefix, category, tag1, tag2 = args[2] .. "-" .. thread_number, args[3], args[4], args[5]
  else
    error("unknown mode " .. tostring(mode))
  end
end

function request()
  if mode == "get" then
    return wrk.format("GET", "/api/v1/" .. collection .. "/" .. ids[math.random(#ids)])
  elseif mode == "list" then
    return wrk.format("GET", path)
  end
  counter = counter + 1
  local body = string.format(
    '{"name":"Bench %s-%d","description":"Made by the benchmark.","price":"19.90",' ..
    '"category_id":%s,"tag_ids":[%s,%s]}',
    prefix, counter, category, tag1, tag2)
  return wrk.format("POST", "/api/v1/products", headers, body)
end

function done(summary, latency, requests)
  local grid = {}
  -- Quantiles at the middle of 1 % bins up to 98 %, then of 0.1 % bins: enough to merge runs
  -- and read the median and the 99th percentile of the merged distribution.
  for i = 0, 97 do
    grid[#grid + 1] = string.format("[%.2f,%d]", i + 0.5, latency:percentile(i + 0.5))
  end
  for i = 0, 19 do
    local p = 98.05 + i * 0.1
    grid[#grid + 1] = string.format("[%.2f,%d]", p, latency:percentile(p))
  end
  local e = summary.errors
  io.write(string.format(
    'BENCH {"requests":%d,"duration_us":%d,"connect_errors":%d,"read_errors":%d,' ..
    '"write_errors":%d,"status_errors":%d,"timeouts":%d,"quantiles":[%s]}\n',
    summary.requests, summary.duration, e.connect, e.read, e.write, e.status, e.timeout,
    table.concat(grid, ",")))
end
