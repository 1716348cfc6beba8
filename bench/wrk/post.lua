-- POST with the given headers (bench/tools.py sets both variables). WRK_BODY names one body file, or
-- several separated by ":"; with several, each connection cycles through them so the rows differ.
wrk.method = "POST"
for line in string.gmatch(os.getenv("WRK_HEADERS") or "", "[^\n]+") do
  local name, value = line:match("^([^:]+):%s*(.*)$")
  wrk.headers[name] = value
end

local bodies = {}
for path in string.gmatch(os.getenv("WRK_BODY"), "[^:]+") do
  local f = assert(io.open(path, "rb"))
  bodies[#bodies + 1] = f:read("*a")
  f:close()
end
wrk.body = bodies[1]

if #bodies > 1 then
  local requests = {}
  -- Formatted in init(): only then has wrk set the Host header (a server may refuse requests without one).
  init = function(args)
    for i, body in ipairs(bodies) do
      requests[i] = wrk.format(nil, nil, nil, body)
    end
  end
  local next_one = 0
  request = function()
    next_one = next_one % #requests + 1
    return requests[next_one]
  end
end
