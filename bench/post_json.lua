-- wrk script: POSTs JSON requests read from a file, one per line as "<header value>\t<body>",
-- each thread cycling through its own share (so every request of a run can be unique).
-- Arguments: <file> <threads> <header name>, e.g. Gigcover-Signature or Authorization.
local counter = 0

function setup(thread)
  thread:set("id", counter)
  counter = counter + 1
end

function init(args)
  local file, nthreads, header = args[1], tonumber(args[2]), args[3]
  reqs = {}
  local n = 0
  for line in io.lines(file) do
    if n % nthreads == id then
      local value, body = line:match("([^\t]+)\t(.*)")
      reqs[#reqs + 1] = wrk.format("POST", nil, {["Content-Type"] = "application/json", [header] = value}, body)
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
