-- wrk script: random request combinations, so a benchmark measures the shop
-- and not one cached URL (GUIDE §9). The data file (BENCH_DATA, a Lua table
-- written by scripts/bench.sh from the running shop) holds categories,
-- attribute values, search words, product slugs, SKUs and bearer tokens.
-- BENCH_MIX chooses the workload:
--   api      uncached-style faceted GET /api/v1/products
--   page     the same combinations as storefront listing pages (/products?...)
--   search   the search page (/products?q=…, sometimes with a category)
--   product  product pages (/p/{slug}) with their recommendation shelves
--   cart     POST /api/v1/cart/items with random customers and SKUs
--   friday   60 % listings/search (pages and API), 25 % product pages, 15 % cart adds
local data = dofile(os.getenv("BENCH_DATA"))
local mix = os.getenv("BENCH_MIX") or "api"
local sorts = { "relevance", "price_asc", "price_desc", "newest", "popular" }

local function pick(t) return t[math.random(#t)] end

local function enc(s)
  return (s:gsub("[^%w%-_%.~]", function(c) return string.format("%%%02X", string.byte(c)) end))
end

local function listing_query()
  local parts = {}
  if math.random() < 0.8 then parts[#parts + 1] = "category=" .. enc(pick(data.categories)) end
  if math.random() < 0.8 then
    local a = pick(data.attrs)
    parts[#parts + 1] = "attr." .. a[1] .. "=" .. enc(a[2])
  end
  if math.random() < 0.25 then parts[#parts + 1] = "q=" .. enc(pick(data.words)) end
  if math.random() < 0.15 then parts[#parts + 1] = "in_stock=true" end
  parts[#parts + 1] = "sort=" .. pick(sorts)
  parts[#parts + 1] = "page=" .. math.random(1, 3)
  return table.concat(parts, "&")
end

local function cart_add()
  local body = string.format('{"sku":"%s","quantity":1}', pick(data.skus))
  return wrk.format("POST", "/api/v1/cart/items", {
    ["Authorization"] = "Bearer " .. pick(data.tokens),
    ["Content-Type"] = "application/json",
  }, body)
end

function init(args)
  math.randomseed(os.time() + math.floor(os.clock() * 1e6) + (tonumber(tostring({}):match("0x(%x+)"), 16) or 0))
end

function request()
  if mix == "api" then
    return wrk.format("GET", "/api/v1/products?" .. listing_query())
  elseif mix == "page" then
    return wrk.format("GET", "/products?" .. listing_query())
  elseif mix == "search" then
    local q = "q=" .. enc(pick(data.words))
    if math.random() < 0.3 then q = q .. "&category=" .. enc(pick(data.categories)) end
    return wrk.format("GET", "/products?" .. q .. "&page=" .. math.random(1, 2))
  elseif mix == "product" then
    return wrk.format("GET", "/p/" .. pick(data.slugs))
  elseif mix == "cart" then
    return cart_add()
  else
    local r = math.random()
    if r < 0.30 then
      return wrk.format("GET", "/products?" .. listing_query())
    elseif r < 0.60 then
      return wrk.format("GET", "/api/v1/products?" .. listing_query())
    elseif r < 0.85 then
      return wrk.format("GET", "/p/" .. pick(data.slugs))
    else
      return cart_add()
    end
  end
end

-- the same report line as every other run (wrk runs from the repository root)
dofile("scripts/bench/report.lua")
