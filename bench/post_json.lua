-- wrk script: POSTs JSON bodies read from a file (one per line) with a bearer token, each
-- thread cycling through its own share. Arguments: <file> <threads> <token>.
local counter = 0

function setup(thread)
  thread:set("id", counter)
  counter = counter + 1
end

function init(args)
  local file, nthreads, token = args[1], tonumber(args[2]), args[3]
  reqs = {}
  local n = 0
  for line in io.lines(file) do
    if n % nthreads == id then
      reqs[#reqs + 1] = wrk.format("POST", nil,
        {["Content-Type"] = "application/json", ["Authorization"] = "Bearer " .. token}, line)
    end
    n = n + 1
  end
  i = 0
end

function request()
  i = i + 1
  if i > #reqs then i = 1 end
  return reqs[i]
end
