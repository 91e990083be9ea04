-- wrk script: each thread sends its own share of pre-signed webhook requests, each event
-- unique (so every request is a real write, not a replay). Lines: "<signature>\t<body>".
local threads = {}
local counter = 0

function setup(thread)
  thread:set("id", counter)
  counter = counter + 1
  table.insert(threads, thread)
end

function init(args)
  local file, nthreads = args[1], tonumber(args[2])
  reqs = {}
  local n = 0
  for line in io.lines(file) do
    if n % nthreads == id then
      local sig, body = line:match("([^\t]+)\t(.*)")
      reqs[#reqs + 1] = wrk.format("POST", nil, {["Content-Type"] = "application/json", ["Gigcover-Signature"] = sig}, body)
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
